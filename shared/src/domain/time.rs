//! RFC 3339 UTC timestamps, as the API and the store exchange them.

use time::OffsetDateTime;
use time::macros::format_description;

/// A point in time, always UTC, serialised as RFC 3339 with milliseconds
/// (`2026-11-23T10:00:00.123Z`), so timestamps sort as text.
pub type Timestamp = String;

/// The current time, formatted for the API and the store.
pub fn now() -> Timestamp {
    format(OffsetDateTime::now_utc())
}

pub(crate) fn format(at: OffsetDateTime) -> Timestamp {
    let layout = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    let at = at.to_offset(time::UtcOffset::UTC);
    // Only years outside 0..=9999 fail to format; fall back to seconds since the epoch.
    at.format(&layout).unwrap_or_else(|_| at.unix_timestamp().to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn now_is_rfc3339_utc() {
        let now = super::now();
        assert!(now.ends_with('Z'), "{now}");
        assert!(time::OffsetDateTime::parse(&now, &time::format_description::well_known::Rfc3339).is_ok());
    }
}
