//! Points in time, as the API and the store exchange them: RFC 3339 in UTC with
//! milliseconds (`2026-11-23T10:00:00.123Z`), so that timestamps sort as text.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// A point in time, always UTC and whole milliseconds, so that the text it is written
/// as parses back to the same value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Timestamp(OffsetDateTime);

/// A text that is not an RFC 3339 time within the years Steller writes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("is not an RFC 3339 time, such as \"2026-11-23T10:00:00.000Z\"")]
pub struct TimestampError;

impl Timestamp {
    pub fn now() -> Self {
        Self::from_datetime(OffsetDateTime::now_utc()).unwrap_or(Timestamp(OffsetDateTime::UNIX_EPOCH))
    }

    /// Parses RFC 3339 in any offset, normalised to UTC and cut to milliseconds.
    pub fn parse(raw: &str) -> Result<Self, TimestampError> {
        Self::parse_written(raw).or_else(|_| {
            let at = OffsetDateTime::parse(raw, &Rfc3339).map_err(|_| TimestampError)?;
            Self::from_datetime(at)
        })
    }

    /// Parses exactly the form a `Timestamp` is written in, `YYYY-MM-DDTHH:MM:SS.mmmZ`,
    /// as the store reads it back. Kept apart from `parse` so that a Lambda that only
    /// reads its own timestamps carries no general RFC 3339 parser.
    pub fn parse_written(raw: &str) -> Result<Self, TimestampError> {
        let bytes = raw.as_bytes();
        let separators = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':'), (19, b'.'), (23, b'Z')];
        if bytes.len() != 24 || separators.iter().any(|&(at, separator)| bytes.get(at) != Some(&separator)) {
            return Err(TimestampError);
        }
        let number = |from: usize, to: usize| -> Result<u16, TimestampError> {
            let digits = raw.get(from..to).filter(|digits| digits.bytes().all(|b| b.is_ascii_digit()));
            digits.and_then(|digits| digits.parse().ok()).ok_or(TimestampError)
        };
        let small = |from, to| number(from, to).and_then(|n| u8::try_from(n).map_err(|_| TimestampError));
        let month = Month::try_from(small(5, 7)?).map_err(|_| TimestampError)?;
        let date =
            Date::from_calendar_date(i32::from(number(0, 4)?), month, small(8, 10)?).map_err(|_| TimestampError)?;
        let time = Time::from_hms_milli(small(11, 13)?, small(14, 16)?, small(17, 19)?, number(20, 23)?)
            .map_err(|_| TimestampError)?;
        Self::from_datetime(PrimitiveDateTime::new(date, time).assume_utc())
    }

    /// `at` in UTC, cut to milliseconds. Years before 1970 or after 9999 are refused: the
    /// text form has four-digit years, and nothing Steller records is older than Unix.
    pub fn from_datetime(at: OffsetDateTime) -> Result<Self, TimestampError> {
        let at = at.to_offset(UtcOffset::UTC);
        if !(1970..=9999).contains(&at.year()) {
            return Err(TimestampError);
        }
        at.replace_nanosecond(u32::from(at.millisecond()) * 1_000_000).map(Timestamp).map_err(|_| TimestampError)
    }

    pub fn datetime(self) -> OffsetDateTime {
        self.0
    }

    /// The time `seconds` later (earlier when negative); the same time if that leaves the
    /// years a timestamp can hold.
    pub fn plus_seconds(self, seconds: i64) -> Self {
        Self::from_datetime(self.0 + time::Duration::seconds(seconds)).unwrap_or(self)
    }

    /// Seconds since the Unix epoch (DynamoDB's TTL attributes count in these).
    pub fn unix_seconds(self) -> i64 {
        self.0.unix_timestamp()
    }

    /// The UTC day, `YYYY-MM-DD`.
    pub fn date(self) -> String {
        let layout = format_description!("[year]-[month]-[day]");
        self.0.format(&layout).unwrap_or_default()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let layout = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
        // Formatting fails only outside years 0..=9999, which `from_datetime` refuses.
        let text = self.0.format(&layout).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

impl FromStr for Timestamp {
    type Err = TimestampError;
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Self::parse(raw)
    }
}

impl TryFrom<String> for Timestamp {
    type Error = TimestampError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<Timestamp> for String {
    fn from(at: Timestamp) -> String {
        at.to_string()
    }
}

impl utoipa::PartialSchema for Timestamp {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .description(Some("RFC 3339 in UTC, with milliseconds"))
            .examples([serde_json::json!("2026-11-23T10:00:00.000Z")])
            .into()
    }
}

impl utoipa::ToSchema for Timestamp {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Timestamp")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timestamp_is_written_in_utc_with_milliseconds_and_parses_back_to_itself() {
        let now = Timestamp::now();
        let text = now.to_string();
        assert!(text.ends_with('Z') && text.len() == 24, "{text}");
        assert_eq!(Timestamp::parse(&text), Ok(now));
        let shifted = Timestamp::parse("2026-11-23T23:30:00.123456+01:00").expect("valid");
        assert_eq!(shifted.to_string(), "2026-11-23T22:30:00.123Z");
        assert_eq!(shifted.date(), "2026-11-23");
    }

    #[test]
    fn text_that_is_not_a_time_of_the_unix_era_is_refused() {
        for bad in ["yesterday", "2026-11-23", "2026-11-23T10:00:00", "1969-12-31T23:59:59Z", ""] {
            assert_eq!(Timestamp::parse(bad), Err(TimestampError), "{bad:?}");
        }
    }

    #[test]
    fn the_written_form_reads_back_without_the_general_parser_and_nothing_else_does() {
        let at = Timestamp::parse_written("2026-02-28T23:59:59.999Z").expect("the written form");
        assert_eq!(at.to_string(), "2026-02-28T23:59:59.999Z");
        assert_eq!(Ok(at), Timestamp::parse("2026-02-28T23:59:59.999Z"));
        for other in [
            "2026-02-29T10:00:00.000Z",
            "2026-13-01T10:00:00.000Z",
            "2026-11-23T24:00:00.000Z",
            "2026-11-23T10:00:00Z",
            "2026-11-23T10:00:00.000+00:00",
            "2026-11-23 10:00:00.000Z",
            "+026-11-23T10:00:00.000Z",
            "1969-12-31T23:59:59.999Z",
        ] {
            assert_eq!(Timestamp::parse_written(other), Err(TimestampError), "{other:?}");
        }
    }

    #[test]
    fn timestamps_order_as_their_text_does() {
        let earlier = Timestamp::parse("2026-11-23T09:59:59.999Z").expect("valid");
        let later = Timestamp::parse("2026-11-23T10:00:00.000Z").expect("valid");
        assert!(earlier < later && earlier.to_string() < later.to_string());
        assert_eq!(serde_json::to_string(&later).expect("serialises"), "\"2026-11-23T10:00:00.000Z\"");
    }
}
