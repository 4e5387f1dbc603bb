//! Rate limits: how many requests one API key may make in one second, and what a
//! response tells the caller about it (the `RateLimit-Policy` and `RateLimit` fields of
//! draft-ietf-httpapi-ratelimit-headers).
//!
//! The window is a fixed UTC second: every request made with a key in the same second
//! counts against the same quota, and the quota is whole again at the next second.
//! Partners get the defaults of their key's mode unless ops set an override for the
//! partner and mode (`docs/api.md`, "Rate limits").

use std::fmt;

use super::{KeyRole, Mode};

/// The window every quota counts over, in seconds.
pub const WINDOW_SECONDS: u64 = 1;

/// The name of Steller's one policy in the `RateLimit` fields.
pub const POLICY: &str = "per-key";

/// A quota: requests one key may make per second, 1 to 1,000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestsPerSecond(u32);

/// A number that is not a quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be a whole number of requests per second, {min} to {max}", min = RequestsPerSecond::MIN, max = RequestsPerSecond::MAX)]
pub struct BadQuota;

impl RequestsPerSecond {
    pub const MIN: u32 = 1;
    /// Far above anything a partner needs; a bound so a typo cannot switch limits off.
    pub const MAX: u32 = 1_000;
    /// Sandbox keys: as Stripe's test mode, enough to build and test against.
    pub const SANDBOX: RequestsPerSecond = RequestsPerSecond(25);
    /// Live keys.
    pub const LIVE: RequestsPerSecond = RequestsPerSecond(100);
    /// Ops keys: the console and scripts of Steller's own operators.
    pub const OPS: RequestsPerSecond = RequestsPerSecond(100);

    pub fn new(value: u64) -> Result<Self, BadQuota> {
        u32::try_from(value)
            .ok()
            .filter(|value| (Self::MIN..=Self::MAX).contains(value))
            .map(RequestsPerSecond)
            .ok_or(BadQuota)
    }

    /// The quota of a key of `role` when no override is set.
    pub fn default_for(role: KeyRole) -> Self {
        match role {
            KeyRole::Partner(mode) => Self::default_for_mode(mode),
            KeyRole::Ops => Self::OPS,
        }
    }

    pub fn default_for_mode(mode: Mode) -> Self {
        match mode {
            Mode::Sandbox => Self::SANDBOX,
            Mode::Live => Self::LIVE,
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for RequestsPerSecond {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Where a quota comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaSource {
    Default,
    Override,
}

impl QuotaSource {
    pub fn as_str(self) -> &'static str {
        match self {
            QuotaSource::Default => "default",
            QuotaSource::Override => "override",
        }
    }
}

/// One mode's quota for a partner's keys, and whether ops set it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModeQuota {
    pub requests_per_second: RequestsPerSecond,
    pub source: QuotaSource,
}

impl ModeQuota {
    /// The quota `overridden` sets for `mode`, or the mode's default.
    pub fn of(mode: Mode, overridden: Option<RequestsPerSecond>) -> Self {
        match overridden {
            Some(requests_per_second) => ModeQuota { requests_per_second, source: QuotaSource::Override },
            None => ModeQuota {
                requests_per_second: RequestsPerSecond::default_for_mode(mode),
                source: QuotaSource::Default,
            },
        }
    }
}

/// A partner's quotas, per mode: what `GET /api/admin/partners/{id}/rate-limits` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    pub sandbox: ModeQuota,
    pub live: ModeQuota,
}

impl RateLimits {
    pub fn of(&self, mode: Mode) -> ModeQuota {
        match mode {
            Mode::Sandbox => self.sandbox,
            Mode::Live => self.live,
        }
    }
}

/// Where a key stands in the current window, after counting this request (or, for a
/// refused one, without it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaUse {
    pub quota: RequestsPerSecond,
    /// Requests counted in this window, this one included when it was admitted.
    pub used: u32,
}

impl QuotaUse {
    /// Requests left in this window.
    pub fn remaining(&self) -> u32 {
        self.quota.get().saturating_sub(self.used)
    }

    /// `RateLimit-Policy`: the policy's name, quota and window, e.g. `"per-key";q=25;w=1`.
    pub fn policy_field(&self) -> String {
        format!("\"{POLICY}\";q={};w={WINDOW_SECONDS}", self.quota)
    }

    /// `RateLimit`: what is left and in how many seconds the quota is whole again, e.g.
    /// `"per-key";r=24;t=1`. A fixed one-second window always resets within a second;
    /// the field counts in whole seconds, so `t` is 1.
    pub fn limit_field(&self) -> String {
        format!("\"{POLICY}\";r={};t={WINDOW_SECONDS}", self.remaining())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas_are_bounded_whole_numbers() {
        assert_eq!(RequestsPerSecond::new(1).map(RequestsPerSecond::get), Ok(1));
        assert_eq!(RequestsPerSecond::new(1_000).map(RequestsPerSecond::get), Ok(1_000));
        for bad in [0, 1_001, u64::from(u32::MAX) + 1] {
            assert_eq!(RequestsPerSecond::new(bad), Err(BadQuota), "{bad}");
        }
    }

    #[test]
    fn defaults_are_25_in_sandbox_and_100_in_live() {
        assert_eq!(RequestsPerSecond::default_for(KeyRole::Partner(Mode::Sandbox)).get(), 25);
        assert_eq!(RequestsPerSecond::default_for(KeyRole::Partner(Mode::Live)).get(), 100);
        assert_eq!(RequestsPerSecond::default_for(KeyRole::Ops).get(), 100);
        assert_eq!(ModeQuota::of(Mode::Live, None).source, QuotaSource::Default);
        let raised = RequestsPerSecond::new(500).ok();
        assert_eq!(ModeQuota::of(Mode::Live, raised).requests_per_second.get(), 500);
    }

    #[test]
    fn the_fields_follow_the_ietf_draft() {
        let used = QuotaUse { quota: RequestsPerSecond::SANDBOX, used: 1 };
        assert_eq!(used.policy_field(), r#""per-key";q=25;w=1"#);
        assert_eq!(used.limit_field(), r#""per-key";r=24;t=1"#);
        let spent = QuotaUse { quota: RequestsPerSecond::SANDBOX, used: 30 };
        assert_eq!(spent.limit_field(), r#""per-key";r=0;t=1"#);
    }
}
