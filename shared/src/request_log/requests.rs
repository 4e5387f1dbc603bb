//! A partner's logged requests read back one by one: `GET /api/requests` (newest first,
//! filtered by status and route, paged) and `GET /api/requests/{request_id}`, from the
//! rows the analytics drain wrote (so a request shows up once the drain has run: every
//! 2 minutes on AWS, every `--analytics-interval` seconds on the local server).
//!
//! Both read the caller's partition, `USAGE#<partner_id>#<mode>`, whose sort keys are
//! `<timestamp>#<request_id>`, so another partner's rows and the other mode's are out of
//! reach whatever the parameters; eventually consistent, as nothing here is urgent.
//!
//! **A list** is one `Query` of the partition backwards, with the filters as a
//! `FilterExpression`. DynamoDB applies `Limit` before the filter, so the read goes on
//! from where the last one stopped until it has `limit` matches (plus one, to know
//! whether there is more) or the partition ends, but never examines more than
//! `MAX_EXAMINED` rows for one page: a filter matching nothing in a long history answers
//! a short (even empty) page whose cursor continues after the last row examined, instead
//! of reading the whole partition at once.
//!
//! **One request by id** needs no index. The id is `req_<ULID>`, made by the edge layer
//! just before the request-log layer stamps the timestamp, on the same clock; the ULID's
//! millisecond time is therefore at most the row's timestamp, and the row sits between
//! `<ULID time>` and `<ULID time + ARRIVAL_WINDOW>` in the sort key. One `Query` of that
//! range, filtered on `request_id`, finds it, reading a few seconds of the partner's
//! traffic at most (and usually stopping on the first page, as the row sorts near the
//! start). Adding the id to the sort key's front would find it with a `GetItem` but loses
//! the time order every list relies on; a secondary index by id would cost a write per
//! request for a rare read. A clock stepped back between the two stamps (never seen
//! within one request) would hide that request from this lookup, not from the list.

use std::fmt;
use std::str::FromStr;

use aws_sdk_dynamodb::types::AttributeValue;

use super::RequestLogTable;
use crate::domain::{Mode, PartnerId, Timestamp};
use crate::store::item::{Item, read};
use crate::store::layout::{self, PK, SK};
use crate::store::{Cursor, Page, PageError, PageRequest, StoreError};

/// The most rows one page of a filtered list examines (DynamoDB reads them, the filter
/// drops them): about 200 KB of rows, a bound on what one request costs.
pub const MAX_EXAMINED: usize = 1_000;

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

/// A filtered read asks DynamoDB for at least this many rows at a time, so a selective
/// filter takes a few reads of a page, not one per match.
const FILTERED_READ: usize = 100;

/// One logged request, as partners see it: no partner, mode or user agent (the caller
/// knows them), nothing that was not logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    pub request_id: String,
    /// When the request arrived, UTC with milliseconds.
    pub timestamp: Timestamp,
    pub method: String,
    /// The route template that matched, or `unmatched`.
    pub route: String,
    pub status: u16,
    pub latency_ms: u64,
}

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
    fn bounds(self) -> (u16, u16) {
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
    fn is_empty(&self) -> bool {
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
        let ulid = raw.strip_prefix("req_").filter(|ulid| ulid.len() == 26).ok_or(InvalidRequestId)?;
        let ulid = ulid::Ulid::from_string(ulid).map_err(|_| InvalidRequestId)?;
        // Stored as the edge writes it (upper case), so the filter compares equal.
        Ok(LoggedRequestId { text: format!("req_{ulid}"), made_at_ms: ulid.timestamp_ms() })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The sort keys a row of this id can have: from the id's millisecond to
    /// `ARRIVAL_WINDOW_MS` later, every request id of that last millisecond included
    /// (`$` is the character after `#`). `None` when the id's time is outside the years
    /// a timestamp holds: no row can have it.
    fn sort_key_range(&self) -> Option<(String, String)> {
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

const REQUEST_ID: &str = "request_id";
const STATUS: &str = "status";
const ROUTE: &str = "route";

impl RequestLogTable {
    /// One page of `partner`'s requests in `mode` that `filter` admits, newest first.
    /// A page can hold fewer than `limit` requests (none, even) and still have a next
    /// one, when `MAX_EXAMINED` rows were read first; a cursor of another partition is
    /// refused.
    pub async fn requests(
        &self,
        partner: &PartnerId,
        mode: Mode,
        filter: &RequestFilter,
        page: &PageRequest,
    ) -> Result<Page<LoggedRequest>, PageError> {
        let pk = layout::usage(partner, mode);
        let mut start = page.after.as_ref().map(|cursor| cursor.start_key_in(&pk)).transpose()?;
        let limit = page.limit.get();
        let mut matches: Vec<Item> = Vec::new();
        let mut examined = 0;
        // Stops at `limit` + 1 matches (another page exists), the partition's end, or the
        // examined bound, whichever comes first.
        let next = loop {
            let wanted = limit + 1 - matches.len();
            let read = if filter.is_empty() { wanted } else { wanted.max(FILTERED_READ) };
            let read = read.min(MAX_EXAMINED - examined);
            let output = self.newest_first(&pk, filter, read, start).await?;
            // A page cut at 1 MB still counts what it read; at least one, so the loop ends.
            examined += usize::try_from(output.scanned_count).unwrap_or(read).max(1);
            matches.extend(output.items.unwrap_or_default());
            start = output.last_evaluated_key;
            if matches.len() > limit {
                matches.truncate(limit);
                break matches.last().and_then(Cursor::at_key);
            }
            match &start {
                None => break None,
                Some(last_read) if examined >= MAX_EXAMINED => break Cursor::at_key(last_read),
                Some(_) => {}
            }
        };
        let items = matches.iter().map(logged_request).collect::<Result<_, _>>()?;
        Ok(Page { items, next })
    }

    /// One `Query` of the partition, newest first, reading at most `read` rows from `start`.
    async fn newest_first(
        &self,
        pk: &str,
        filter: &RequestFilter,
        read: usize,
        start: Option<Item>,
    ) -> Result<aws_sdk_dynamodb::operation::query::QueryOutput, StoreError> {
        let mut conditions = Vec::new();
        let mut query = self
            .client()
            .query()
            .table_name(self.name())
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()));
        if let Some(status) = filter.status {
            let (low, high) = status.bounds();
            conditions.push("#status BETWEEN :low AND :high");
            query = query
                .expression_attribute_names("#status", STATUS)
                .expression_attribute_values(":low", AttributeValue::N(low.to_string()))
                .expression_attribute_values(":high", AttributeValue::N(high.to_string()));
        }
        if let Some(route) = &filter.route {
            conditions.push("#route = :route");
            query = query
                .expression_attribute_names("#route", ROUTE)
                .expression_attribute_values(":route", AttributeValue::S(route.as_str().to_owned()));
        }
        if !conditions.is_empty() {
            query = query.filter_expression(conditions.join(" AND "));
        }
        query
            .scan_index_forward(false)
            .consistent_read(false)
            .limit(i32::try_from(read).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(StoreError::from_sdk)
    }

    /// `partner`'s request `id` in `mode`, if its row is there: one `Query` of the sort
    /// keys its id's time allows (module docs), filtered on the id, oldest first so the
    /// row (stamped right after its id) is on the first page.
    pub async fn request(
        &self,
        partner: &PartnerId,
        mode: Mode,
        id: &LoggedRequestId,
    ) -> Result<Option<LoggedRequest>, StoreError> {
        let Some((low, high)) = id.sort_key_range() else {
            return Ok(None);
        };
        let pk = layout::usage(partner, mode);
        let mut start: Option<Item> = None;
        loop {
            let output = self
                .client()
                .query()
                .table_name(self.name())
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :low AND :high")
                .filter_expression("#id = :id")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#sk", SK)
                .expression_attribute_names("#id", REQUEST_ID)
                .expression_attribute_values(":pk", AttributeValue::S(pk.clone()))
                .expression_attribute_values(":low", AttributeValue::S(low.clone()))
                .expression_attribute_values(":high", AttributeValue::S(high.clone()))
                .expression_attribute_values(":id", AttributeValue::S(id.as_str().to_owned()))
                .consistent_read(false)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(StoreError::from_sdk)?;
            if let Some(row) = output.items().first() {
                return logged_request(row).map(Some);
            }
            start = output.last_evaluated_key;
            if start.is_none() {
                return Ok(None);
            }
        }
    }
}

fn logged_request(row: &Item) -> Result<LoggedRequest, StoreError> {
    let reader = read(row);
    let status = reader.number(STATUS)?;
    let latency = reader.number("latency_ms")?;
    Ok(LoggedRequest {
        request_id: reader.s(REQUEST_ID)?.to_owned(),
        timestamp: reader.time("timestamp")?,
        method: reader.s("method")?.to_owned(),
        route: reader.s(ROUTE)?.to_owned(),
        status: u16::try_from(status).map_err(|_| reader.corrupt(format!("{STATUS} is not an HTTP status")))?,
        latency_ms: u64::try_from(latency).map_err(|_| reader.corrupt("latency_ms is negative".to_owned()))?,
    })
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
        let made = Timestamp::parse("2024-11-19T16:50:09.307Z").expect("a time");
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
