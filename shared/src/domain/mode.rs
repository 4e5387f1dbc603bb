//! Sandbox or live: which wallet, orders and ledger a partner key sees.

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The mode of a partner key. The two modes' data never mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Sandbox,
    Live,
}

impl Mode {
    pub const ALL: [Mode; 2] = [Mode::Sandbox, Mode::Live];

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Sandbox => "sandbox",
            Mode::Live => "live",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|mode| mode.as_str() == raw)
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Mode {
    type Err = UnknownMode;
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Mode::parse(raw).ok_or(UnknownMode)
    }
}

/// The text is neither `sandbox` nor `live`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be \"sandbox\" or \"live\"")]
pub struct UnknownMode;
