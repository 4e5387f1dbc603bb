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
//! `<ULID time>` and `<ULID time + ARRIVAL_WINDOW_MS>` in the sort key (`filters.rs`). One `Query` of that
//! range, filtered on `request_id`, finds it, reading a few seconds of the partner's
//! traffic at most (and usually stopping on the first page, as the row sorts near the
//! start). Adding the id to the sort key's front would find it with a `GetItem` but loses
//! the time order every list relies on; a secondary index by id would cost a write per
//! request for a rare read. A clock stepped back between the two stamps (never seen
//! within one request) would hide that request from this lookup, not from the list.

use aws_sdk_dynamodb::types::AttributeValue;

use super::RequestLogTable;
use super::filters::{LoggedRequestId, RequestFilter};
use crate::domain::{Mode, PartnerId, Timestamp};
use crate::store::item::{Item, read};
use crate::store::layout::{self, PK, SK};
use crate::store::{Cursor, Page, PageError, PageRequest, StoreError};

/// The most rows one page of a filtered list examines (DynamoDB reads them, the filter
/// drops them): about 200 KB of rows, a bound on what one request costs.
pub const MAX_EXAMINED: usize = 1_000;

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
