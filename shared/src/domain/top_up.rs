//! Top-up requests: the only way real money reaches a live wallet, after ops approve.

use super::{Mode, Money, PartnerId, PaymentReference, Timestamp, TopUpId, TopUpNote, now};

/// A top-up amount: 10.00 to 100000.00 USD, at most two decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopUpAmount(Money);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopUpAmountError {
    #[error("is required")]
    Missing,
    #[error("must be a decimal string with at most 2 decimal places, such as \"250.00\"")]
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
    pub reason: Option<String>,
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
    /// The request as first written: live ones wait for ops; sandbox ones are approved
    /// at once with fake money, so integrations can exercise the whole flow.
    pub fn request(&self) -> TopUpRequest {
        let created_at = now();
        let sandbox = self.mode == Mode::Sandbox;
        TopUpRequest {
            id: TopUpId::generate(),
            partner_id: self.partner_id,
            mode: self.mode,
            amount: self.amount.money(),
            status: if sandbox { TopUpStatus::Approved } else { TopUpStatus::Pending },
            payment_reference: self.payment_reference.as_ref().map(|r| r.to_string()),
            note: self.note.as_ref().map(|n| n.to_string()),
            decided_at: sandbox.then(|| created_at.clone()),
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
        let live = command(Mode::Live).request();
        assert_eq!((live.status, live.decided_at), (TopUpStatus::Pending, None));
        assert_eq!("rejected".parse(), Ok(TopUpStatus::Rejected));
    }
}
