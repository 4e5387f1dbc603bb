//! The request-log table: rows written in batches by the analytics processor, read back
//! by partition and date range for `GET /api/usage`. Its keys are in `row.rs`.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};

use super::row::LogRow;
use super::usage::{Logged, Tally, Usage, UsageRange};
use crate::domain::{Mode, PartnerId};
use crate::store::item::{Item, item, read};
use crate::store::layout::{self, PK, SK};
use crate::store::{RetryPolicy, StoreError};

/// The most rows one `BatchWriteItem` takes (DynamoDB's limit).
pub const WRITE_BATCH: usize = 25;

/// Rows that were not all written. The rows are keyed by request id, so writing them
/// again (their messages come back) is harmless.
#[derive(Debug, thiserror::Error)]
#[error("writing {rows} request-log rows failed after {calls} BatchWriteItem calls")]
pub struct WriteRowsError {
    pub rows: usize,
    /// Calls made before giving up, for the processor's count.
    pub calls: usize,
    #[source]
    pub source: StoreError,
}

/// The request-log table, reached through a shared SDK client.
#[derive(Debug, Clone)]
pub struct RequestLogTable {
    client: Client,
    name: String,
    /// For `UnprocessedItems`: bounded, so a throttled table ends the run (its messages
    /// come back later) instead of spending the Lambda's whole time on one batch.
    retry: RetryPolicy,
}

impl RequestLogTable {
    pub fn new(client: Client, name: impl Into<String>) -> Self {
        let retry = RetryPolicy { attempts: 6, base: Duration::from_millis(50), cap: Duration::from_secs(1) };
        RequestLogTable { client, name: name.into(), retry }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Puts `rows`, `WRITE_BATCH` per `BatchWriteItem`, retrying what DynamoDB leaves
    /// unprocessed with jittered backoff. Returns the number of calls made. Rows must
    /// have distinct keys within a batch: DynamoDB refuses a batch that repeats one.
    pub async fn write_rows(&self, rows: &[LogRow]) -> Result<usize, WriteRowsError> {
        let mut calls = 0;
        for batch in rows.chunks(WRITE_BATCH) {
            self.write_batch(batch, &mut calls).await.map_err(|source| WriteRowsError {
                rows: rows.len(),
                calls,
                source,
            })?;
        }
        Ok(calls)
    }

    async fn write_batch(&self, rows: &[LogRow], calls: &mut usize) -> Result<(), StoreError> {
        let mut pending = rows
            .iter()
            .map(|row| {
                let put = PutRequest::builder().set_item(Some(row_item(row))).build().map_err(StoreError::dynamo)?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let mut tries = 0;
        loop {
            tries += 1;
            *calls += 1;
            let output = self
                .client
                .batch_write_item()
                .request_items(&self.name, pending)
                .send()
                .await
                .map_err(StoreError::from_sdk)?;
            pending = output.unprocessed_items.and_then(|mut left| left.remove(&self.name)).unwrap_or_default();
            if pending.is_empty() {
                return Ok(());
            }
            if tries >= self.retry.attempts {
                let reason = format!("{} rows still unprocessed after {tries} BatchWriteItem calls", pending.len());
                return Err(StoreError::Unavailable(reason.into()));
            }
            tracing::info!(unprocessed = pending.len(), attempt = tries, "request-log rows unprocessed, retrying");
            tokio::time::sleep(self.retry.backoff(tries)).await;
        }
    }

    /// `partner`'s usage in `mode` over `range`: one `Query` of its partition between the
    /// range's sort-key bounds, every page, eventually consistent (usage trails the
    /// queue by minutes anyway, and it halves the read cost).
    pub async fn usage(&self, partner: &PartnerId, mode: Mode, range: UsageRange) -> Result<Usage, StoreError> {
        let (low, high) = range.sort_key_bounds();
        let mut tally = Tally::new(range);
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.name)
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :low AND :high")
                .projection_expression("#pk, #sk, #timestamp, #method, #route, #status, #latency")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#sk", SK)
                .expression_attribute_names("#timestamp", "timestamp")
                .expression_attribute_names("#method", "method")
                .expression_attribute_names("#route", "route")
                .expression_attribute_names("#status", "status")
                .expression_attribute_names("#latency", "latency_ms")
                .expression_attribute_values(":pk", AttributeValue::S(layout::usage(partner, mode)))
                .expression_attribute_values(":low", AttributeValue::S(low.clone()))
                .expression_attribute_values(":high", AttributeValue::S(high.clone()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(StoreError::from_sdk)?;
            for row in page.items() {
                tally.add(logged(row)?);
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(tally.finish());
            }
        }
    }
}

fn row_item(row: &LogRow) -> Item {
    let record = row.record();
    item(&row.key())
        .s("request_id", &record.request_id)
        .time("timestamp", record.timestamp)
        .s_opt("partner_id", record.partner_id.map(|id| id.to_string()))
        .s_opt("mode", record.mode.map(Mode::as_str))
        .s("method", &record.method)
        .s("route", &record.route)
        .n("status", i64::from(record.status))
        .n("latency_ms", i64::try_from(record.latency_ms).unwrap_or(i64::MAX))
        .s_opt("user_agent", record.user_agent.as_deref())
        .n("expires_at", row.expires_at())
        .build()
}

fn logged(row: &Item) -> Result<Logged, StoreError> {
    let row = read(row);
    let timestamp = row.s("timestamp")?;
    Ok(Logged {
        date: timestamp.get(..10).unwrap_or_default().to_owned(),
        method: row.s("method")?.to_owned(),
        route: row.s("route")?.to_owned(),
        status: u16::try_from(row.number("status")?).unwrap_or(u16::MAX),
        latency_ms: u64::try_from(row.number("latency_ms")?).unwrap_or_default(),
    })
}
