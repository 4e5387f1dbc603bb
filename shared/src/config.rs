//! Configuration, read once at start-up from the environment (or any lookup, in tests).

use crate::domain::{Email, Money, MoneyError};

/// The domain table's name (template.yaml passes the deployed table's name).
pub const TABLE_VAR: &str = "STELLER_TABLE";
/// Fake USD credited to a new partner's sandbox wallet; defaults to 1000.00.
pub const SANDBOX_CREDIT_VAR: &str = "STELLER_SANDBOX_CREDIT";
/// The address every email is sent from; SES must have it verified.
pub const SENDER_EMAIL_VAR: &str = "STELLER_SENDER_EMAIL";
/// Where ops are told about new live top-up requests; unset or blank, no one is.
pub const OPS_EMAIL_VAR: &str = "STELLER_OPS_EMAIL";
/// The request-log table's name: analytics writes it, usage reads it. Unset or blank,
/// `GET /api/usage` answers 503.
pub const REQUEST_LOG_TABLE_VAR: &str = "STELLER_REQUEST_LOG_TABLE";
/// The SQS queue every request's log record is sent to; unset or blank, none is sent.
pub const REQUEST_LOG_QUEUE_URL_VAR: &str = "STELLER_REQUEST_LOG_QUEUE_URL";
/// The SQS queue webhook deliveries go through (the dispatcher and redelivery send to it).
pub const WEBHOOK_QUEUE_URL_VAR: &str = "STELLER_WEBHOOK_QUEUE_URL";

const DEFAULT_SANDBOX_DOLLARS: u32 = 1000;
/// The sender of `Config::for_table`, the local server and the tests.
pub const DEFAULT_SENDER_EMAIL: &str = "no-reply@steller.example";
/// The ops address of `Config::for_table`, the local server and the tests.
pub const DEFAULT_OPS_EMAIL: &str = "ops@steller.example";

/// Why the configuration could not be read. Names the variable, never its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {name} is malformed: {reason}")]
    Malformed { name: &'static str, reason: String },
}

/// Everything an HTTP function needs to know about its deployment. Each function
/// declares the variables it reads (`catalog::VARIABLES`, …) and reads only those, and
/// template.yaml gives each function exactly its declared set (a test holds both to it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub table: String,
    pub sandbox_credit: Money,
    /// The address emails are sent from; `None` in a function that sends none.
    pub sender_email: Option<String>,
    pub ops_email: Option<String>,
    pub request_log_table: Option<String>,
    /// Where the request-log layer sends its records (`!Ref RequestLogQueue` on AWS).
    pub request_log_queue_url: Option<String>,
    pub webhook_queue_url: Option<String>,
}

impl Config {
    /// Every variable an HTTP function may declare.
    pub const VARIABLES: [&'static str; 7] = [
        TABLE_VAR,
        SANDBOX_CREDIT_VAR,
        SENDER_EMAIL_VAR,
        OPS_EMAIL_VAR,
        REQUEST_LOG_TABLE_VAR,
        REQUEST_LOG_QUEUE_URL_VAR,
        WEBHOOK_QUEUE_URL_VAR,
    ];

    /// A function's start-up: the variables it `declared`, from the process environment.
    pub fn from_env(declared: &[&str]) -> Result<Self, ConfigError> {
        Self::read(declared, |name| std::env::var(name).ok())
    }

    /// Every variable, through `lookup` (the local server, the ops CLI, the tests), so
    /// tests never touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::read(&Self::VARIABLES, lookup)
    }

    /// Reads the variables in `declared`, and only those, through `lookup`. The table and,
    /// when declared, the sender are required; an undeclared value takes its default
    /// (no sender, no ops address, no request-log table or queue, a $1000 credit).
    pub fn read(declared: &[&str], lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| if declared.contains(&name) { lookup(name) } else { None };
        // Blank counts as unset for the optional ones: template.yaml passes its empty
        // parameter defaults through as "".
        let optional = |name: &str| get(name).filter(|value| !value.trim().is_empty());
        let table = get(TABLE_VAR).ok_or(ConfigError::Missing(TABLE_VAR))?;
        let table = table_name(TABLE_VAR, &table)?;
        let sandbox_credit = match get(SANDBOX_CREDIT_VAR) {
            None => Money::dollars(DEFAULT_SANDBOX_DOLLARS),
            Some(credit) => Money::parse(&credit).map_err(|error: MoneyError| ConfigError::Malformed {
                name: SANDBOX_CREDIT_VAR,
                reason: format!("the amount {error}"),
            })?,
        };
        let sender_email = if declared.contains(&SENDER_EMAIL_VAR) {
            let sender = get(SENDER_EMAIL_VAR).ok_or(ConfigError::Missing(SENDER_EMAIL_VAR))?;
            Some(parse_email(SENDER_EMAIL_VAR, &sender)?)
        } else {
            None
        };
        let ops_email = optional(OPS_EMAIL_VAR).map(|ops| parse_email(OPS_EMAIL_VAR, &ops)).transpose()?;
        let request_log_table =
            optional(REQUEST_LOG_TABLE_VAR).map(|name| table_name(REQUEST_LOG_TABLE_VAR, &name)).transpose()?;
        let request_log_queue_url =
            optional(REQUEST_LOG_QUEUE_URL_VAR).map(|url| queue_url(REQUEST_LOG_QUEUE_URL_VAR, &url)).transpose()?;
        let webhook_queue_url =
            optional(WEBHOOK_QUEUE_URL_VAR).map(|url| queue_url(WEBHOOK_QUEUE_URL_VAR, &url)).transpose()?;
        Ok(Config {
            table,
            sandbox_credit,
            sender_email,
            ops_email,
            request_log_table,
            request_log_queue_url,
            webhook_queue_url,
        })
    }

    /// A configuration for `table` with every other value at its default (and no
    /// request-log table).
    pub fn for_table(table: impl Into<String>) -> Self {
        Config {
            table: table.into(),
            sandbox_credit: Money::dollars(DEFAULT_SANDBOX_DOLLARS),
            sender_email: Some(DEFAULT_SENDER_EMAIL.to_owned()),
            ops_email: Some(DEFAULT_OPS_EMAIL.to_owned()),
            request_log_table: None,
            request_log_queue_url: None,
            webhook_queue_url: None,
        }
    }
}

/// What the analytics function reads: the queue it drains and the table it fills, both
/// required. It has no domain table and sends no email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrainConfig {
    pub request_log_queue_url: String,
    pub request_log_table: String,
}

impl DrainConfig {
    /// The variables it reads; template.yaml gives the analytics function exactly these.
    pub const VARIABLES: [&'static str; 2] = [REQUEST_LOG_QUEUE_URL_VAR, REQUEST_LOG_TABLE_VAR];

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let required = |name: &'static str| {
            lookup(name).filter(|value| !value.trim().is_empty()).ok_or(ConfigError::Missing(name))
        };
        Ok(DrainConfig {
            request_log_queue_url: queue_url(REQUEST_LOG_QUEUE_URL_VAR, &required(REQUEST_LOG_QUEUE_URL_VAR)?)?,
            request_log_table: table_name(REQUEST_LOG_TABLE_VAR, &required(REQUEST_LOG_TABLE_VAR)?)?,
        })
    }
}

fn parse_email(name: &'static str, raw: &str) -> Result<String, ConfigError> {
    Email::parse(Some(raw))
        .map(|email| email.as_str().to_owned())
        .map_err(|error| ConfigError::Malformed { name, reason: format!("the address {error}") })
}

fn queue_url(name: &'static str, raw: &str) -> Result<String, ConfigError> {
    parse_queue_url(raw).map_err(|reason| ConfigError::Malformed { name, reason: reason.into() })
}

fn table_name(name: &'static str, raw: &str) -> Result<String, ConfigError> {
    parse_table_name(raw).map_err(|reason| ConfigError::Malformed { name, reason: reason.into() })
}

/// An SQS queue URL: `http(s)://host/…`, as SQS hands them out and emulators echo them.
fn parse_queue_url(raw: &str) -> Result<String, &'static str> {
    let url = raw.trim();
    let host = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://")).unwrap_or_default();
    let has_host = host.split('/').next().is_some_and(|host| !host.is_empty());
    if has_host && !url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Ok(url.to_owned())
    } else {
        Err("an SQS queue URL is https (or http, for an emulator) with a host, and has no spaces")
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
    use std::cell::RefCell;
    use std::collections::{BTreeSet, HashMap};
    use std::rc::Rc;

    use super::*;

    /// The lookup of `vars` plus a sender, which every valid configuration needs.
    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut all: HashMap<String, String> = HashMap::from([(SENDER_EMAIL_VAR.into(), DEFAULT_SENDER_EMAIL.into())]);
        all.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Config::from_lookup(|name| all.get(name).cloned())
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
        assert_eq!(config.sandbox_credit, Config::for_table("steller-dev").sandbox_credit);
    }

    #[test]
    fn a_missing_sender_email_is_named() {
        let error = Config::from_lookup(|name| (name == TABLE_VAR).then(|| "steller-dev".to_owned()))
            .expect_err("the sender is required");
        assert_eq!(error, ConfigError::Missing(SENDER_EMAIL_VAR));
        assert!(error.to_string().contains("STELLER_SENDER_EMAIL"));
    }

    #[test]
    fn the_sender_and_ops_addresses_are_read_and_trimmed() {
        let config = config(&[
            (TABLE_VAR, "steller-dev"),
            (SENDER_EMAIL_VAR, " hello@steller.example "),
            (OPS_EMAIL_VAR, "ops@steller.example"),
        ])
        .expect("valid");
        assert_eq!(config.sender_email.as_deref(), Some("hello@steller.example"));
        assert_eq!(config.ops_email.as_deref(), Some("ops@steller.example"));
    }

    #[test]
    fn without_an_ops_address_no_one_is_told_of_top_ups() {
        let unset = config(&[(TABLE_VAR, "steller-dev")]).expect("valid");
        assert_eq!(unset.ops_email, None);
        let blank = config(&[(TABLE_VAR, "steller-dev"), (OPS_EMAIL_VAR, "  ")]).expect("valid");
        assert_eq!(blank.ops_email, None, "a blank address is no address");
    }

    #[test]
    fn malformed_addresses_name_their_variable() {
        for name in [SENDER_EMAIL_VAR, OPS_EMAIL_VAR] {
            let error = config(&[(TABLE_VAR, "steller-dev"), (name, "not-an-address")]).expect_err("bad address");
            assert!(matches!(error, ConfigError::Malformed { name: n, .. } if n == name), "{error}");
            assert!(error.to_string().contains(name), "{error}");
            assert!(!error.to_string().contains("not-an-address"), "the value is never echoed: {error}");
        }
    }

    #[test]
    fn the_request_log_table_is_optional_and_checked_like_the_domain_table() {
        assert_eq!(config(&[(TABLE_VAR, "steller-dev")]).expect("valid").request_log_table, None);
        let blank = config(&[(TABLE_VAR, "steller-dev"), (REQUEST_LOG_TABLE_VAR, " ")]).expect("valid");
        assert_eq!(blank.request_log_table, None, "a blank name is no name");
        let set = config(&[(TABLE_VAR, "steller-dev"), (REQUEST_LOG_TABLE_VAR, "steller-dev-request-log")]);
        assert_eq!(set.expect("valid").request_log_table.as_deref(), Some("steller-dev-request-log"));
        let error = config(&[(TABLE_VAR, "steller-dev"), (REQUEST_LOG_TABLE_VAR, "no spaces")]).expect_err("bad");
        assert!(matches!(error, ConfigError::Malformed { name: REQUEST_LOG_TABLE_VAR, .. }), "{error}");
    }

    #[test]
    fn the_request_log_queue_is_optional_and_must_be_a_url() {
        assert_eq!(config(&[(TABLE_VAR, "steller-dev")]).expect("valid").request_log_queue_url, None);
        let blank = config(&[(TABLE_VAR, "steller-dev"), (REQUEST_LOG_QUEUE_URL_VAR, "")]).expect("valid");
        assert_eq!(blank.request_log_queue_url, None, "a blank URL is no queue");
        let url = "https://sqs.us-east-1.amazonaws.com/123456789012/steller-dev-RequestLogQueue-AbC";
        let set = config(&[(TABLE_VAR, "steller-dev"), (REQUEST_LOG_QUEUE_URL_VAR, url)]).expect("valid");
        assert_eq!(set.request_log_queue_url.as_deref(), Some(url));
        for bad in ["steller-dev-request-log", "https://", "http:///queue", "https://sqs.example/a queue"] {
            let error = config(&[(TABLE_VAR, "steller-dev"), (REQUEST_LOG_QUEUE_URL_VAR, bad)]).expect_err(bad);
            assert!(matches!(error, ConfigError::Malformed { name: REQUEST_LOG_QUEUE_URL_VAR, .. }), "{error}");
            assert!(!error.to_string().contains(bad), "the value is never echoed: {error}");
        }
    }

    /// The names a lookup was asked for.
    type Asked = Rc<RefCell<BTreeSet<String>>>;

    /// The lookup of `vars` that records every name it is asked for.
    fn recording(vars: &[(&str, &str)]) -> (impl Fn(&str) -> Option<String>, Asked) {
        let asked = Rc::new(RefCell::new(BTreeSet::new()));
        let all: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let record = asked.clone();
        let lookup = move |name: &str| {
            record.borrow_mut().insert(name.to_owned());
            all.get(name).cloned()
        };
        (lookup, asked)
    }

    const EVERY_VALUE: [(&str, &str); 6] = [
        (TABLE_VAR, "steller-dev"),
        (SANDBOX_CREDIT_VAR, "25.00"),
        (SENDER_EMAIL_VAR, "hello@steller.example"),
        (OPS_EMAIL_VAR, "ops@steller.example"),
        (REQUEST_LOG_TABLE_VAR, "steller-dev-request-log"),
        (REQUEST_LOG_QUEUE_URL_VAR, "https://sqs.us-east-1.amazonaws.com/123456789012/log"),
    ];

    #[test]
    fn a_function_reads_exactly_the_variables_it_declares() {
        let declared = [TABLE_VAR, OPS_EMAIL_VAR, REQUEST_LOG_QUEUE_URL_VAR];
        let (lookup, asked) = recording(&EVERY_VALUE);
        let config = Config::read(&declared, lookup).expect("valid");
        assert_eq!(*asked.borrow(), declared.iter().map(|name| name.to_string()).collect::<BTreeSet<_>>());
        // What it did not declare stays at its default, even though the environment has it.
        assert_eq!(config.sender_email, None, "no sender: this function sends no email");
        assert_eq!(config.sandbox_credit.to_string(), "1000.00");
        assert_eq!(config.request_log_table, None);
        assert_eq!(config.ops_email.as_deref(), Some("ops@steller.example"));
        assert!(config.request_log_queue_url.is_some());
    }

    #[test]
    fn a_declared_sender_is_required() {
        let error = Config::read(&[TABLE_VAR, SENDER_EMAIL_VAR], |name| (name == TABLE_VAR).then(|| "steller".into()))
            .expect_err("the declared sender is missing");
        assert_eq!(error, ConfigError::Missing(SENDER_EMAIL_VAR));
    }

    #[test]
    fn every_variable_is_read_when_every_one_is_declared() {
        let (lookup, asked) = recording(&EVERY_VALUE);
        let config = Config::from_lookup(lookup).expect("valid");
        assert_eq!(asked.borrow().len(), Config::VARIABLES.len());
        assert_eq!(config.sandbox_credit.to_string(), "25.00");
        assert_eq!(config.request_log_table.as_deref(), Some("steller-dev-request-log"));
    }

    #[test]
    fn the_drain_reads_exactly_its_queue_and_table_and_needs_both() {
        let (lookup, asked) = recording(&EVERY_VALUE);
        let config = DrainConfig::from_lookup(lookup).expect("valid");
        assert_eq!(*asked.borrow(), DrainConfig::VARIABLES.iter().map(|name| name.to_string()).collect());
        assert_eq!(config.request_log_table, "steller-dev-request-log");
        for missing in DrainConfig::VARIABLES {
            let error = DrainConfig::from_lookup(|name| {
                (name != missing).then(|| EVERY_VALUE.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string()))?
            })
            .expect_err("a missing variable");
            assert_eq!(error, ConfigError::Missing(missing));
        }
        let blank = DrainConfig::from_lookup(|name| {
            Some(if name == REQUEST_LOG_TABLE_VAR { " " } else { "https://q.example/1" }.into())
        });
        assert_eq!(blank, Err(ConfigError::Missing(REQUEST_LOG_TABLE_VAR)), "a blank table is no table");
    }

    #[test]
    fn the_defaults_send_from_no_reply_and_tell_ops() {
        let config = Config::for_table("steller-dev");
        assert_eq!(config.sender_email.as_deref(), Some("no-reply@steller.example"));
        assert_eq!(config.ops_email.as_deref(), Some("ops@steller.example"));
        assert!(Config::VARIABLES.contains(&SENDER_EMAIL_VAR) && Config::VARIABLES.contains(&OPS_EMAIL_VAR));
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
