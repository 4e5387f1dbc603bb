//! Top-up requests: the only way real money reaches a live wallet, after ops approve.

use std::fmt;

use super::{Email, KeyId, Mode, Money, OperatorName, PartnerId, PaymentReference, Timestamp, TopUpId, TopUpNote};

/// A top-up amount: 10.00 to 100000.00 USD, at most two decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopUpAmount(Money);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopUpAmountError {
    #[error("is required")]
    Missing,
    #[error("must be a decimal string such as \"250.00\": digits, no leading zero, at most 2 decimal places")]
    NotAnAmount,
    #[error("must be from 10.00 to 100000.00")]
    OutOfRange,
}

impl TopUpAmount {
    pub fn parse(raw: Option<&str>) -> Result<Self, TopUpAmountError> {
        let money = Money::parse(raw.ok_or(TopUpAmountError::Missing)?).map_err(|_| TopUpAmountError::NotAnAmount)?;
        if money < Money::dollars(10) || money > Money::dollars(100_000) {
            return Err(TopUpAmountError::OutOfRange);
        }
        Ok(TopUpAmount(money))
    }

    pub fn money(self) -> Money {
        self.0
    }
}

/// The only currency Steller holds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be \"USD\"")]
pub struct UnsupportedCurrency;

pub fn parse_currency(raw: Option<&str>) -> Result<&'static str, UnsupportedCurrency> {
    match raw {
        Some("USD") => Ok("USD"),
        _ => Err(UnsupportedCurrency),
    }
}

/// Where a request is in its life: pending until ops decide (live), or approved at once
/// (sandbox).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TopUpStatus {
    Pending,
    Approved,
    Rejected,
}

impl TopUpStatus {
    pub const ALL: [TopUpStatus; 3] = [TopUpStatus::Pending, TopUpStatus::Approved, TopUpStatus::Rejected];

    pub fn as_str(self) -> &'static str {
        match self {
            TopUpStatus::Pending => "pending",
            TopUpStatus::Approved => "approved",
            TopUpStatus::Rejected => "rejected",
        }
    }
}

/// The text is not a top-up status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be \"pending\", \"approved\" or \"rejected\"")]
pub struct UnknownStatus;

impl std::str::FromStr for TopUpStatus {
    type Err = UnknownStatus;
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|status| status.as_str() == raw).ok_or(UnknownStatus)
    }
}

/// Who decided a top-up request: the audit trail of every credit that reaches a live
/// wallet, kept on the request itself so it cannot be lost apart from the decision.
///
/// Stored and shown to ops as one string, `<kind>` or `<kind>:<who>`:
/// `ops_key:key_01…` (an ops key through the admin API, by its id, never the key),
/// `cli:alice` (an operator with `steller-ops`, by the name they gave),
/// `console:ops@steller.example` (an operator in the ops console, signed in with a code
/// sent to that address) and `sandbox`
/// (Steller itself, approving a sandbox request as it is made). Everything after the
/// first `:` is the who, so an operator's name may itself hold a `:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decider {
    OpsKey(KeyId),
    Cli(OperatorName),
    Console(Email),
    Sandbox,
}

impl Decider {
    const OPS_KEY: &'static str = "ops_key";
    const CLI: &'static str = "cli";
    const CONSOLE: &'static str = "console";
    const SANDBOX: &'static str = "sandbox";
}

impl fmt::Display for Decider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Decider::OpsKey(key_id) => write!(f, "{}:{key_id}", Self::OPS_KEY),
            Decider::Cli(name) => write!(f, "{}:{name}", Self::CLI),
            Decider::Console(email) => write!(f, "{}:{email}", Self::CONSOLE),
            Decider::Sandbox => f.write_str(Self::SANDBOX),
        }
    }
}

/// The text is not a decider in the stored format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be \"ops_key:<key id>\", \"cli:<name>\", \"console:<email>\" or \"sandbox\"")]
pub struct UnknownDecider;

impl std::str::FromStr for Decider {
    type Err = UnknownDecider;
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw.split_once(':') {
            Some((Self::OPS_KEY, key_id)) => KeyId::parse(key_id).map(Decider::OpsKey).map_err(|_| UnknownDecider),
            // Stored names were trimmed when parsed, so reading one back keeps it as is.
            Some((Self::CLI, name)) => OperatorName::parse(Some(name)).map(Decider::Cli).map_err(|_| UnknownDecider),
            Some((Self::CONSOLE, email)) => Email::kept(email).map(Decider::Console).map_err(|_| UnknownDecider),
            None if raw == Self::SANDBOX => Ok(Decider::Sandbox),
            _ => Err(UnknownDecider),
        }
    }
}

/// A top-up request as stored and shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopUpRequest {
    pub id: TopUpId,
    pub partner_id: PartnerId,
    pub mode: Mode,
    pub amount: Money,
    pub status: TopUpStatus,
    pub payment_reference: Option<String>,
    pub note: Option<String>,
    pub created_at: Timestamp,
    pub decided_at: Option<Timestamp>,
    /// None while pending, and for requests decided before deciders were recorded.
    pub decided_by: Option<Decider>,
    pub reason: Option<String>,
}

/// What a partner asks to top up: the amount and what helps ops match the payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopUpDetails {
    pub amount: TopUpAmount,
    pub payment_reference: Option<PaymentReference>,
    pub note: Option<TopUpNote>,
}

/// The request-a-top-up command.
#[derive(Debug, Clone)]
pub struct RequestTopUp {
    pub partner_id: PartnerId,
    pub mode: Mode,
    pub amount: TopUpAmount,
    pub payment_reference: Option<PaymentReference>,
    pub note: Option<TopUpNote>,
}

impl RequestTopUp {
    /// `details` asked for by `partner_id`, for the wallet of `mode`.
    pub fn new(partner_id: PartnerId, mode: Mode, details: TopUpDetails) -> Self {
        let TopUpDetails { amount, payment_reference, note } = details;
        RequestTopUp { partner_id, mode, amount, payment_reference, note }
    }

    /// The request as first written: live ones wait for ops; sandbox ones are approved
    /// at once with fake money, so integrations can exercise the whole flow.
    pub fn request(&self) -> TopUpRequest {
        let created_at = Timestamp::now();
        let sandbox = self.mode == Mode::Sandbox;
        TopUpRequest {
            id: TopUpId::generate_at(created_at),
            partner_id: self.partner_id,
            mode: self.mode,
            amount: self.amount.money(),
            status: if sandbox { TopUpStatus::Approved } else { TopUpStatus::Pending },
            payment_reference: self.payment_reference.as_ref().map(|r| r.to_string()),
            note: self.note.as_ref().map(|n| n.to_string()),
            decided_at: sandbox.then_some(created_at),
            decided_by: sandbox.then_some(Decider::Sandbox),
            created_at,
            reason: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_up_amounts_are_10_to_100000_with_two_decimals() {
        assert_eq!(TopUpAmount::parse(Some("10")).map(|a| a.money().to_string()), Ok("10.00".into()));
        assert_eq!(TopUpAmount::parse(Some("100000.00")).map(|a| a.money().to_string()), Ok("100000.00".into()));
        assert_eq!(TopUpAmount::parse(Some("9.99")), Err(TopUpAmountError::OutOfRange));
        assert_eq!(TopUpAmount::parse(Some("100000.01")), Err(TopUpAmountError::OutOfRange));
        assert_eq!(TopUpAmount::parse(Some("12.345")), Err(TopUpAmountError::NotAnAmount));
        assert_eq!(TopUpAmount::parse(Some("-50")), Err(TopUpAmountError::NotAnAmount));
        assert_eq!(TopUpAmount::parse(Some("010.00")), Err(TopUpAmountError::NotAnAmount));
        assert_eq!(TopUpAmount::parse(None), Err(TopUpAmountError::Missing));
    }

    #[test]
    fn only_usd_is_accepted() {
        assert_eq!(parse_currency(Some("USD")), Ok("USD"));
        for bad in [None, Some("usd"), Some("EUR"), Some("")] {
            assert_eq!(parse_currency(bad), Err(UnsupportedCurrency), "{bad:?}");
        }
    }

    #[test]
    fn a_sandbox_request_is_approved_at_once_and_a_live_one_waits() {
        let command = |mode| RequestTopUp {
            partner_id: PartnerId::generate(),
            mode,
            amount: TopUpAmount::parse(Some("50")).expect("valid"),
            payment_reference: None,
            note: None,
        };
        let sandbox = command(Mode::Sandbox).request();
        assert_eq!((sandbox.status, sandbox.decided_at.is_some()), (TopUpStatus::Approved, true));
        assert_eq!(sandbox.decided_by, Some(Decider::Sandbox), "Steller itself decided");
        let live = command(Mode::Live).request();
        for request in [&sandbox, &live] {
            assert_eq!(request.id.time(), Some(request.created_at), "listed by id, in created_at order");
        }
        assert_eq!((live.status, live.decided_at, live.decided_by), (TopUpStatus::Pending, None, None));
        assert_eq!("rejected".parse(), Ok(TopUpStatus::Rejected));
    }

    #[test]
    fn a_decider_is_written_as_one_string_and_read_back_as_the_same_decider() {
        let key_id = KeyId::generate();
        let operator = |name| Decider::Cli(OperatorName::parse(Some(name)).expect("a valid name"));
        for (decider, written) in [
            (Decider::OpsKey(key_id), format!("ops_key:{key_id}")),
            (operator("alice"), "cli:alice".to_owned()),
            (operator("Ada Lovelace: on call"), "cli:Ada Lovelace: on call".to_owned()),
            (
                Decider::Console(Email::parse(Some("ops@steller.example")).expect("valid")),
                "console:ops@steller.example".into(),
            ),
            (Decider::Sandbox, "sandbox".to_owned()),
        ] {
            assert_eq!(decider.to_string(), written);
            assert_eq!(written.parse(), Ok(decider), "{written}");
        }
    }

    #[test]
    fn text_that_names_no_decider_is_refused() {
        for bad in [
            "",
            "alice",
            "cli:",
            "cli:  ",
            "ops_key:",
            "ops_key:alice",
            "ops_key:ptn_01JD2X8Q9V4K7M3N5P6R8S0T2W",
            "sandbox:x",
        ] {
            assert_eq!(bad.parse::<Decider>(), Err(UnknownDecider), "{bad:?}");
        }
        assert!(format!("cli:{}", "o".repeat(65)).parse::<Decider>().is_err(), "names are at most 64 characters");
    }
}
