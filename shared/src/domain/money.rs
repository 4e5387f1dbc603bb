//! Money: USD amounts as exact decimals with at most two places, exchanged as strings.

use std::fmt;
use std::ops::{Add, Neg, Sub};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The largest magnitude Steller handles (a trillion USD); anything larger is a typo
/// or an attack, and refusing it keeps every sum far from Decimal's limits.
const LIMIT: Decimal = Decimal::from_parts(0xD4A5_1000, 0xE8, 0, false, 0); // 1_000_000_000_000

/// Why a text is not an amount of money.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("must be a decimal number as a string of digits, such as \"12.50\"")]
    NotANumber,
    #[error("must not start with a redundant zero (\"10.00\", not \"010.00\")")]
    LeadingZero,
    #[error("must have at most 2 decimal places")]
    TooPrecise,
    #[error("must not be negative")]
    Negative,
    #[error("is too large")]
    TooLarge,
}

/// A USD amount, signed, with exactly two decimal places once built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Money(Decimal);

impl Money {
    pub const ZERO: Money = Money(Decimal::ZERO);

    /// Parses a non-negative amount a partner sent, in canonical form only: digits, then
    /// optionally `.` and one or two digits (`^\d+(\.\d{1,2})?$`), with no redundant
    /// leading zero (`"0.50"` but not `"00.5"` or `"010.00"`). Anything a lenient parser
    /// would guess at (`" 10"`, `"1e1"`, `"10."`, `"+5"`, `"10.000"`) is refused, so one
    /// amount has one spelling and what a partner sent is exactly what is kept.
    pub fn parse(raw: &str) -> Result<Self, MoneyError> {
        match raw.strip_prefix('-') {
            Some(magnitude) if canonical(magnitude).is_ok() => Err(MoneyError::Negative),
            _ => Self::from_decimal(canonical(raw)?),
        }
    }

    /// Builds an amount (possibly negative, as in a debit) from an exact decimal.
    pub fn from_decimal(value: Decimal) -> Result<Self, MoneyError> {
        let value = value.normalize();
        if value.scale() > 2 {
            return Err(MoneyError::TooPrecise);
        }
        if value.abs() >= LIMIT {
            return Err(MoneyError::TooLarge);
        }
        let mut value = value;
        value.rescale(2);
        Ok(Money(value))
    }

    /// A whole number of dollars; infallible because every u32 is far below the limit.
    pub fn dollars(amount: u32) -> Self {
        let mut value = Decimal::from(amount);
        value.rescale(2);
        Money(value)
    }

    /// This amount times `count` (a unit price times a quantity), refused above the limit.
    pub fn times(self, count: u32) -> Result<Self, MoneyError> {
        Self::from_decimal(self.0 * Decimal::from(count))
    }

    pub fn decimal(self) -> Decimal {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    pub fn is_negative(self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }
}

/// Sums and differences are checked: a result beyond the amount limit is `TooLarge`, so
/// no balance or ledger sum can ever leave the range every amount is held to.
impl Add for Money {
    type Output = Result<Money, MoneyError>;
    fn add(self, other: Money) -> Self::Output {
        // Both sides are below LIMIT, so the exact sum cannot overflow a Decimal.
        Self::from_decimal(self.0 + other.0)
    }
}

impl Sub for Money {
    type Output = Result<Money, MoneyError>;
    fn sub(self, other: Money) -> Self::Output {
        Self::from_decimal(self.0 - other.0)
    }
}

impl Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money(-self.0)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut value = self.0;
        if value.is_zero() {
            value = Decimal::ZERO; // never "-0.00"
        }
        value.rescale(2);
        write!(f, "{value}")
    }
}

/// Reads money back as `Display` writes it: the canonical form, negative for a debit.
impl TryFrom<String> for Money {
    type Error = MoneyError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        match raw.strip_prefix('-') {
            Some(magnitude) => Self::from_decimal(-canonical(magnitude)?),
            None => Self::from_decimal(canonical(&raw)?),
        }
    }
}

/// The value of an unsigned amount in canonical form (see `Money::parse`). Only ASCII
/// digits count: `char::is_numeric` would take `"١٠"`, which Decimal cannot read.
fn canonical(raw: &str) -> Result<Decimal, MoneyError> {
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit());
    let (whole, fraction) = match raw.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (raw, None),
    };
    if !digits(whole) || !fraction.is_none_or(digits) {
        return Err(MoneyError::NotANumber);
    }
    if whole.len() > 1 && whole.starts_with('0') {
        return Err(MoneyError::LeadingZero);
    }
    if fraction.is_some_and(|fraction| fraction.len() > 2) {
        return Err(MoneyError::TooPrecise);
    }
    // More whole digits than the limit has can only be too large, and would overflow a
    // Decimal long before that showed.
    if whole.len() > 12 {
        return Err(MoneyError::TooLarge);
    }
    raw.parse().map_err(|_| MoneyError::NotANumber)
}

impl From<Money> for String {
    fn from(money: Money) -> String {
        money.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_shown_with_two_decimal_places() {
        assert_eq!(Money::parse("1000").map(|m| m.to_string()), Ok("1000.00".into()));
        assert_eq!(Money::parse("12.5").map(|m| m.to_string()), Ok("12.50".into()));
        assert_eq!(Money::parse("0.01").map(|m| m.to_string()), Ok("0.01".into()));
    }

    #[test]
    fn canonical_amounts_are_accepted() {
        for (raw, shown) in [
            ("0", "0.00"),
            ("0.5", "0.50"),
            ("0.50", "0.50"),
            ("10", "10.00"),
            ("10.0", "10.00"),
            ("10.05", "10.05"),
            ("100000", "100000.00"),
            ("999999999999.99", "999999999999.99"),
        ] {
            assert_eq!(Money::parse(raw).map(|m| m.to_string()), Ok(shown.into()), "{raw:?}");
        }
    }

    #[test]
    fn amounts_not_in_canonical_form_are_refused() {
        for (raw, why) in [
            ("10.000", MoneyError::TooPrecise),
            ("12.345", MoneyError::TooPrecise),
            ("12.500", MoneyError::TooPrecise),
            ("010.00", MoneyError::LeadingZero),
            ("00.5", MoneyError::LeadingZero),
            ("00", MoneyError::LeadingZero),
            ("-1", MoneyError::Negative),
            ("-1.00", MoneyError::Negative),
            ("1000000000000", MoneyError::TooLarge),
            ("99999999999999999999999999999999999999", MoneyError::TooLarge),
            ("", MoneyError::NotANumber),
            (" 10", MoneyError::NotANumber),
            ("10 ", MoneyError::NotANumber),
            ("1e1", MoneyError::NotANumber),
            ("10.", MoneyError::NotANumber),
            (".5", MoneyError::NotANumber),
            ("+5", MoneyError::NotANumber),
            ("--1", MoneyError::NotANumber),
            ("-", MoneyError::NotANumber),
            ("1_0", MoneyError::NotANumber),
            ("1,000.00", MoneyError::NotANumber),
            ("1.2.3", MoneyError::NotANumber),
            ("\u{661}\u{660}", MoneyError::NotANumber),   // Arabic-Indic "10"
            ("\u{ff11}\u{ff10}", MoneyError::NotANumber), // full-width "10"
            ("abc", MoneyError::NotANumber),
            ("NaN", MoneyError::NotANumber),
        ] {
            assert_eq!(Money::parse(raw), Err(why), "{raw:?}");
        }
    }

    #[test]
    fn sums_and_differences_are_exact_and_debits_are_signed() {
        let a = Money::parse("0.10").expect("valid");
        let b = Money::parse("0.20").expect("valid");
        assert_eq!((a + b).map(|m| m.to_string()), Ok("0.30".into()));
        assert_eq!((a - b).map(|m| m.to_string()), Ok("-0.10".into()));
        assert_eq!((-a).to_string(), "-0.10");
        assert!((-a).is_negative());
        assert_eq!((a - a).map(|m| m.to_string()), Ok("0.00".into()));
    }

    #[test]
    fn a_sum_or_difference_beyond_the_limit_is_refused() {
        let most = Money::parse("999999999999.99").expect("valid");
        let cent = Money::parse("0.01").expect("valid");
        assert_eq!(most + cent, Err(MoneyError::TooLarge));
        assert_eq!(-most - cent, Err(MoneyError::TooLarge));
        assert_eq!((most + -cent).map(|m| m.to_string()), Ok("999999999999.98".into()));
    }

    #[test]
    fn a_price_times_a_quantity_is_exact_and_bounded() {
        let price = Money::parse("58.00").expect("valid");
        assert_eq!(price.times(17).map(|m| m.to_string()), Ok("986.00".into()));
        assert_eq!(Money::parse("0.10").expect("valid").times(3).map(|m| m.to_string()), Ok("0.30".into()));
        assert_eq!(Money::parse("999999999999.99").expect("valid").times(2), Err(MoneyError::TooLarge));
    }

    #[test]
    fn money_travels_as_a_json_string() {
        let money = Money::parse("5").expect("valid");
        assert_eq!(serde_json::to_string(&money).expect("serialises"), "\"5.00\"");
        let back: Money = serde_json::from_str("\"-7.25\"").expect("parses");
        assert_eq!(back.to_string(), "-7.25");
        assert!(serde_json::from_str::<Money>("7.25").is_err(), "a JSON number is not money");
        assert!(serde_json::from_str::<Money>("\" 7.25\"").is_err(), "only the form money is written in");
    }
}
