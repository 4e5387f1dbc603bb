//! The request log: one record per API request, sent by the request-log layer to a
//! `RequestLogSink` (SQS in AWS), drained by the analytics processor from a
//! `RequestLogSource` into the request-log table, and read back as a partner's usage and
//! requests.
//!
//! ```text
//! router ─ request-log layer ─► RequestLogSink ─► queue ─► RequestLogSource ─► processor ─► table ─► /api/usage, /api/requests
//! ```

mod filters;
#[cfg(feature = "tooling")]
mod in_process;
#[cfg(feature = "tooling")]
mod log_queue;
mod processor;
mod requests;
mod rollup;
mod row;
mod sqs;
mod table;
mod usage;

use serde::{Deserialize, Serialize};

pub use self::filters::{
    ARRIVAL_WINDOW_MS, FilterError, InvalidRequestId, LoggedRequestId, MAX_ROUTE_CHARS, RequestFilter, RouteFilter,
    StatusFilter,
};
#[cfg(feature = "tooling")]
pub use self::in_process::{InProcessQueue, MAX_RECEIVES};
#[cfg(feature = "tooling")]
pub use self::log_queue::LogQueue;
pub use self::processor::{DRAIN_WORKERS, DrainCalls, DrainSummary, drain, drain_with};
pub use self::requests::{LoggedRequest, MAX_EXAMINED};
pub use self::rollup::{BUCKET_BOUNDS, BUCKETS, Histogram};
pub use self::row::{LogRow, MalformedRecord, ROW_TTL_DAYS};
pub use self::sqs::SqsQueue;
pub use self::table::{RECORD_BATCH, RecordError, Recorded, RequestLogTable};
pub use self::usage::{DayUsage, MAX_RANGE_DAYS, RangeError, RouteUsage, Usage, UsageRange, parse_date};
use crate::domain::{Mode, PartnerId, Timestamp};

/// The most messages one receive or one delete may take: SQS's limit for
/// `ReceiveMessage` and `DeleteMessageBatch`, which every adapter holds callers to.
pub const MAX_BATCH: usize = 10;

/// One API request, as logged. Never a key, a body or a query string: the route is the
/// matched template (`/api/orders/{id}`), not the path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestLogRecord {
    /// `req_<ULID>`, the response's `X-Request-Id`; the row key, so a redelivery is no duplicate.
    pub request_id: String,
    /// When the request arrived. The queue carries it as RFC 3339 text; any offset is
    /// read and normalised to UTC with milliseconds, so sort keys compare as time.
    pub timestamp: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<PartnerId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    pub method: String,
    /// The route template that matched, or `unmatched` for unknown routes.
    pub route: String,
    pub status: u16,
    pub latency_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

/// Why a log record could not be sent or received. Never reaches a client.
#[derive(Debug, thiserror::Error)]
#[error("request log {operation} failed")]
pub struct RequestLogError {
    pub operation: &'static str,
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

impl RequestLogError {
    pub fn new(operation: &'static str, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        RequestLogError { operation, source: source.into() }
    }
}

/// Holds a receive or a delete of `count` messages to `min..=MAX_BATCH`, so a caller
/// that would break SQS's limits fails on the in-process queue too.
fn check_batch(operation: &'static str, count: usize, min: usize) -> Result<(), RequestLogError> {
    if (min..=MAX_BATCH).contains(&count) {
        Ok(())
    } else {
        Err(RequestLogError::new(operation, format!("{count} messages is outside {min}..={MAX_BATCH}")))
    }
}

/// Where the request-log layer puts records: one call per request, at most.
#[async_trait::async_trait]
pub trait RequestLogSink: Send + Sync + std::fmt::Debug {
    async fn send(&self, record: &RequestLogRecord) -> Result<(), RequestLogError>;
}

/// The sink when no queue is configured: records go nowhere, and no call is made.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLog;

#[async_trait::async_trait]
impl RequestLogSink for NoLog {
    async fn send(&self, _record: &RequestLogRecord) -> Result<(), RequestLogError> {
        Ok(())
    }
}

/// A message received from the queue, not yet deleted. `body` is the record's JSON (or
/// whatever arrived, for a malformed message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMessage {
    /// What deleting the message needs (an SQS receipt handle).
    pub receipt: String,
    pub body: String,
}

/// Where the analytics processor reads records from. Messages not deleted come back
/// (SQS: after the visibility timeout; after `maxReceiveCount` they go to the DLQ).
#[async_trait::async_trait]
pub trait RequestLogSource: Send + Sync + std::fmt::Debug {
    /// Up to `max` (≤ 10) messages; an empty batch means the queue looks empty.
    async fn receive(&self, max: usize) -> Result<Vec<QueuedMessage>, RequestLogError>;
    /// Deletes the messages with these receipts (≤ 10 per call).
    async fn delete(&self, receipts: &[String]) -> Result<(), RequestLogError>;
    /// About how many messages are waiting (SQS: `ApproximateNumberOfMessages`), for the
    /// processor's summary; `None` when the source cannot tell.
    async fn remaining(&self) -> Result<Option<usize>, RequestLogError> {
        Ok(None)
    }
}
