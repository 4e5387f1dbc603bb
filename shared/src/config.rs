//! Configuration, read once at start-up from the environment (or any lookup, in tests).

use crate::domain::{Money, MoneyError};

/// The domain table's name (template.yaml passes the deployed table's name).
pub const TABLE_VAR: &str = "STELLER_TABLE";
/// Fake USD credited to a new partner's sandbox wallet; defaults to 1000.00.
pub const SANDBOX_CREDIT_VAR: &str = "STELLER_SANDBOX_CREDIT";

const DEFAULT_SANDBOX_DOLLARS: u32 = 1000;

/// Why the configuration could not be read. Names the variable, never its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {name} is malformed: {reason}")]
    Malformed { name: &'static str, reason: String },
}

/// Everything a function needs to know about its deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub table: String,
    pub sandbox_credit: Money,
}

impl Config {
    /// The variables every function reads; template.yaml sets exactly these.
    pub const VARIABLES: [&'static str; 2] = [TABLE_VAR, SANDBOX_CREDIT_VAR];

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, so tests never touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let table = lookup(TABLE_VAR).ok_or(ConfigError::Missing(TABLE_VAR))?;
        let table = parse_table_name(&table)
            .map_err(|reason| ConfigError::Malformed { name: TABLE_VAR, reason: reason.into() })?;
        let sandbox_credit = match lookup(SANDBOX_CREDIT_VAR) {
            None => Money::dollars(DEFAULT_SANDBOX_DOLLARS),
            Some(credit) => Money::parse(&credit).map_err(|error: MoneyError| ConfigError::Malformed {
                name: SANDBOX_CREDIT_VAR,
                reason: format!("the amount {error}"),
            })?,
        };
        Ok(Config { table, sandbox_credit })
    }

    /// A configuration for `table` with every other value at its default.
    pub fn for_table(table: impl Into<String>) -> Self {
        Config { table: table.into(), sandbox_credit: Money::dollars(DEFAULT_SANDBOX_DOLLARS) }
    }
}

/// DynamoDB's rule: 3–255 characters of `a-z A-Z 0-9 _ - .`.
fn parse_table_name(raw: &str) -> Result<String, &'static str> {
    let ok_chars = raw.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if (3..=255).contains(&raw.len()) && ok_chars {
        Ok(raw.to_owned())
    } else {
        Err("a DynamoDB table name is 3-255 characters of letters, digits, '_', '-' and '.'")
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn a_missing_table_is_named() {
        let error = config(&[]).expect_err("the table is required");
        assert_eq!(error, ConfigError::Missing(TABLE_VAR));
        assert!(error.to_string().contains("STELLER_TABLE"));
    }

    #[test]
    fn the_sandbox_credit_defaults_to_a_thousand_dollars() {
        let config = config(&[(TABLE_VAR, "steller-dev")]).expect("valid");
        assert_eq!(config.sandbox_credit.to_string(), "1000.00");
        assert_eq!(config, Config::for_table("steller-dev"));
    }

    #[test]
    fn malformed_values_name_their_variable() {
        let error = config(&[(TABLE_VAR, "t"), (SANDBOX_CREDIT_VAR, "5")]).expect_err("bad table");
        assert!(matches!(error, ConfigError::Malformed { name: TABLE_VAR, .. }));
        let error = config(&[(TABLE_VAR, "steller"), (SANDBOX_CREDIT_VAR, "lots")]).expect_err("bad credit");
        assert!(matches!(error, ConfigError::Malformed { name: SANDBOX_CREDIT_VAR, .. }), "{error}");
        assert!(error.to_string().contains(SANDBOX_CREDIT_VAR));
        let ok = config(&[(TABLE_VAR, "steller"), (SANDBOX_CREDIT_VAR, "25.5")]).expect("valid");
        assert_eq!(ok.sandbox_credit.to_string(), "25.50");
    }
}
