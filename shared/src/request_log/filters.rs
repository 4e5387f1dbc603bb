//! What a partner asks the request log for: the filters of a list (`?status=`, `?route=`)
//! and a request's id, each parsed at the edge so the reads in `requests.rs` only see
//! valid ones, and the sort keys an id allows its row.

use std::fmt;
use std::str::FromStr;

use crate::domain::Timestamp;

/// How long after its id's time a request's row may be stamped and still be found by
/// id. Only the edge's `ulid::Ulid::new()` and the request-log layer's `Timestamp::now()`
/// separate them (microseconds); the margin covers a busy scheduler and any layer added
/// between them later.
pub const ARRIVAL_WINDOW_MS: i64 = 5_000;

/// The route the request-log layer logs for a request no route matched
/// (`http::UNMATCHED_ROUTE`, which sits above this module; a test holds the two equal).
const UNMATCHED: &str = "unmatched";

/// The longest `route` filter: as long as a logged route can be.
pub const MAX_ROUTE_CHARS: usize = 256;

/// Why a filter was refused; the API names the query parameter it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("must be a status class (1xx to 5xx) or a status code (100 to 599)")]
    Status,
    #[error("must be a route template such as /api/orders/{{id}} (at most 256 characters), or unmatched")]
    Route,
}

/// `?status=`: a class (`4xx`) or one code (`404`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    /// `1`..=`5`: the hundreds digit.
    Class(u16),
    Code(u16),
}

impl StatusFilter {
    pub fn parse(raw: &str) -> Result<Self, FilterError> {
        let bytes = raw.as_bytes();
        match bytes {
            [digit @ b'1'..=b'5', b'x' | b'X', b'x' | b'X'] => Ok(StatusFilter::Class(u16::from(digit - b'0'))),
            [b'1'..=b'5', b'0'..=b'9', b'0'..=b'9'] => {
                raw.parse().map(StatusFilter::Code).map_err(|_| FilterError::Status)
            }
            _ => Err(FilterError::Status),
        }
    }

    /// The statuses it admits, both ends included.
    pub(super) fn bounds(self) -> (u16, u16) {
        match self {
            StatusFilter::Class(hundreds) => (hundreds * 100, hundreds * 100 + 99),
            StatusFilter::Code(code) => (code, code),
        }
    }

    pub fn admits(self, status: u16) -> bool {
        let (low, high) = self.bounds();
        (low..=high).contains(&status)
    }
}

impl fmt::Display for StatusFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatusFilter::Class(hundreds) => write!(f, "{hundreds}xx"),
            StatusFilter::Code(code) => write!(f, "{code}"),
        }
    }
}

/// `?route=`: a route template as the log holds it (`/api/orders/{id}`), or `unmatched`
/// (requests no route matched).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteFilter(String);

impl RouteFilter {
    pub fn parse(raw: &str) -> Result<Self, FilterError> {
        let template = raw.starts_with('/') && raw.bytes().all(|b| b.is_ascii_graphic());
        let fits = raw.len() <= MAX_ROUTE_CHARS;
        if fits && (template || raw == UNMATCHED) { Ok(RouteFilter(raw.to_owned())) } else { Err(FilterError::Route) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Which of the partition's requests a list shows; the default shows all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestFilter {
    pub status: Option<StatusFilter>,
    pub route: Option<RouteFilter>,
}

impl RequestFilter {
    pub(super) fn is_empty(&self) -> bool {
        self.status.is_none() && self.route.is_none()
    }
}

/// A request id as the edge makes them, `req_<ULID>`, with the time its ULID holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequestId {
    text: String,
    made_at_ms: u64,
}

/// A text that is not `req_` and a ULID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("is not a request id (req_ and a ULID)")]
pub struct InvalidRequestId;

impl LoggedRequestId {
    pub fn parse(raw: &str) -> Result<Self, InvalidRequestId> {
        let text = raw.strip_prefix("req_").filter(|ulid| ulid.len() == 26).ok_or(InvalidRequestId)?;
        let ulid = ulid::Ulid::from_string(text).map_err(|_| InvalidRequestId)?;
        // The decoder drops the bits above 128 (`8…` reads as `0…`): such a text names
        // another request, never this one.
        let written = ulid.to_string();
        if !written.eq_ignore_ascii_case(text) {
            return Err(InvalidRequestId);
        }
        // Stored as the edge writes it (upper case), so the filter compares equal.
        Ok(LoggedRequestId { text: format!("req_{written}"), made_at_ms: ulid.timestamp_ms() })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The sort keys a row of this id can have: from the id's millisecond to
    /// `ARRIVAL_WINDOW_MS` later, every request id of that last millisecond included
    /// (`$` is the character after `#`). `None` when the id's time is outside the years
    /// a timestamp holds: no row can have it.
    pub(super) fn sort_key_range(&self) -> Option<(String, String)> {
        let at = |ms: i128| {
            time::OffsetDateTime::from_unix_timestamp_nanos(ms * 1_000_000)
                .ok()
                .and_then(|at| Timestamp::from_datetime(at).ok())
        };
        let made = i128::from(self.made_at_ms);
        let (low, high) = (at(made)?, at(made + i128::from(ARRIVAL_WINDOW_MS))?);
        Some((low.to_string(), format!("{high}$")))
    }
}

#[cfg(feature = "test-support")]
impl LoggedRequestId {
    /// An id the edge could have made at `at`, `random` its random part: for tests that
    /// write rows of their own and look them up.
    pub fn made_at(at: Timestamp, random: u128) -> Self {
        let made_at_ms = u64::try_from(at.datetime().unix_timestamp_nanos() / 1_000_000).unwrap_or_default();
        LoggedRequestId { text: format!("req_{}", ulid::Ulid::from_parts(made_at_ms, random)), made_at_ms }
    }
}

impl FromStr for LoggedRequestId {
    type Err = InvalidRequestId;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Self::parse(raw)
    }
}

impl fmt::Display for LoggedRequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_a_class_or_a_code_of_http() {
        assert_eq!(StatusFilter::parse("2xx"), Ok(StatusFilter::Class(2)));
        assert_eq!(StatusFilter::parse("5XX"), Ok(StatusFilter::Class(5)));
        assert_eq!(StatusFilter::parse("404"), Ok(StatusFilter::Code(404)));
        assert_eq!(StatusFilter::parse("100"), Ok(StatusFilter::Code(100)));
        assert_eq!(StatusFilter::parse("599"), Ok(StatusFilter::Code(599)));
        for bad in ["", "6xx", "0xx", "abc", "99", "600", "2x", "2xxx", "4 4", "+404", " 404", "４04"] {
            assert_eq!(StatusFilter::parse(bad), Err(FilterError::Status), "{bad:?}");
        }
        assert!(StatusFilter::Class(4).admits(400) && StatusFilter::Class(4).admits(499));
        assert!(!StatusFilter::Class(4).admits(500) && !StatusFilter::Code(404).admits(405));
        assert_eq!(StatusFilter::Class(4).to_string(), "4xx");
    }

    #[test]
    fn routes_are_templates_or_unmatched_and_no_longer_than_a_logged_one() {
        for good in ["/api/orders/{id}", "/api/usage", "/", "unmatched"] {
            assert!(RouteFilter::parse(good).is_ok(), "{good:?}");
        }
        let long = format!("/{}", "a".repeat(MAX_ROUTE_CHARS));
        for bad in ["", "api/orders", "/api/orders/{id} ", "/api/\u{7f}", "anything", long.as_str()] {
            assert_eq!(RouteFilter::parse(bad), Err(FilterError::Route), "{bad:?}");
        }
        assert!(RouteFilter::parse(&long[..MAX_ROUTE_CHARS]).is_ok());
        assert_eq!(UNMATCHED, crate::http::UNMATCHED_ROUTE);
    }

    #[test]
    fn a_request_id_is_req_and_a_ulid_and_bounds_the_sort_keys_of_its_row() {
        let id = LoggedRequestId::parse("req_01JD2X8Q9V4K7M3N5P6R8S0T2W").expect("a request id");
        let (low, high) = id.sort_key_range().expect("a range");
        let made = Timestamp::parse("2024-11-19T19:09:25.691Z").expect("a time");
        assert_eq!(low, made.to_string(), "the ULID's millisecond");
        assert_eq!(high, format!("{}$", made.plus_seconds(5)));
        let row = |at: Timestamp| format!("{at}#{id}");
        assert!(low <= row(made) && row(made) <= high);
        assert!(row(made.plus_seconds(5)) <= high, "the window's last millisecond is in");
        assert!(row(made.plus_seconds(6)) > high && row(made.plus_seconds(-1)) < low);
        assert_eq!(id.to_string(), "req_01JD2X8Q9V4K7M3N5P6R8S0T2W");
        let lower = LoggedRequestId::parse("req_01jd2x8q9v4k7m3n5p6r8s0t2w").expect("case-insensitive");
        assert_eq!(lower, id);
        for bad in [
            "",
            "req_",
            "01JD2X8Q9V4K7M3N5P6R8S0T2W",
            "ord_01JD2X8Q9V4K7M3N5P6R8S0T2W",
            "req_01JD2X8Q9V4K7M3N5P6R8S0T2",
            "req_81JD2X8Q9V4K7M3N5P6R8S0T2W",
        ] {
            assert_eq!(LoggedRequestId::parse(bad), Err(InvalidRequestId), "{bad:?}");
        }
    }
}
