//! The request-log table: each new row written with its request added to its daily
//! roll-up, in one transaction, by the analytics processor; roll-ups read back by
//! partition and date range for `GET /api/usage`. Row keys are in `row.rs`, roll-up keys
//! in `store::layout`, the roll-ups' arithmetic in `rollup.rs`.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

use super::rollup::{self, BUCKETS, Histogram, RouteDayCounts, RouteDayKey};
use super::row::{LogRow, ROW_TTL_DAYS};
use super::usage::{Tally, Usage, UsageRange};
use crate::domain::{Mode, PartnerId};
use crate::store::item::{Item, item, read};
use crate::store::layout::{self, PK, SK};
use crate::store::retry::TransactFailure;
use crate::store::transaction::{Cancelled, Slot, Transaction};
use crate::store::{RetryPolicy, StoreError};

/// The most rows one `record` call takes: with one roll-up update per row at most, a
/// transaction holds at most 20 items, within DynamoDB's 100.
pub const RECORD_BATCH: usize = 10;

/// What one `record` call did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recorded {
    /// Rows new to the table, each counted in its roll-up.
    pub written: usize,
    /// Rows already in the table: counted when they were first written, so skipped.
    pub duplicates: usize,
    /// `TransactWriteItems` calls made, retries included.
    pub calls: usize,
}

/// Rows that were not recorded. Nothing of the failed transaction was written, and every
/// row it held is recorded exactly once when its message comes back.
#[derive(Debug, thiserror::Error)]
#[error("recording {rows} request-log rows failed after {calls} TransactWriteItems calls")]
pub struct RecordError {
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
    /// For conflicts and throttling: the drain's workers add to the same roll-ups at once,
    /// so conflicts are expected and retried more patiently than a money movement; still
    /// bounded, so a throttled table ends the run (its messages come back later) instead
    /// of spending the Lambda's whole time on one batch.
    retry: RetryPolicy,
}

impl RequestLogTable {
    pub fn new(client: Client, name: impl Into<String>) -> Self {
        let retry = RetryPolicy { attempts: 10, base: Duration::from_millis(20), cap: Duration::from_secs(1) };
        RequestLogTable { client, name: name.into(), retry }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Writes each of `rows` (at most `RECORD_BATCH`, distinct request ids) that is not in
    /// the table yet, and adds it to its roll-up, in one `TransactWriteItems`: each row a
    /// Put on condition that it does not exist, each roll-up one Update adding the new
    /// rows' counts. A row already there was counted by the transaction that wrote it, so
    /// when DynamoDB cancels on such rows, they are dropped and the rest tried again:
    /// counts stay exact however often a message is delivered. Conflicts and throttling
    /// are retried (bounded, jittered) by the store's policy.
    pub async fn record(&self, rows: &[LogRow]) -> Result<Recorded, RecordError> {
        let mut recorded = Recorded::default();
        let mut pending: Vec<&LogRow> = rows.iter().collect();
        let fail = |recorded: &Recorded, source| RecordError { rows: rows.len(), calls: recorded.calls, source };
        if rows.len() > RECORD_BATCH {
            let reason = format!("{} rows is more than {RECORD_BATCH} in one transaction", rows.len());
            return Err(fail(&recorded, StoreError::Dynamo(reason.into())));
        }
        while !pending.is_empty() {
            let (transaction, slots) = self.transaction(&pending).map_err(|error| fail(&recorded, error))?;
            let items = transaction.items().to_vec();
            let outcome = self
                .retry
                .run(|| {
                    recorded.calls += 1;
                    self.client.transact_write_items().set_transact_items(Some(items.clone())).send()
                })
                .await;
            match outcome {
                Ok(_) => {
                    recorded.written += pending.len();
                    return Ok(recorded);
                }
                Err(TransactFailure::Cancelled(reasons)) => {
                    let cancelled = Cancelled::new(&transaction, reasons);
                    let before = pending.len();
                    let mut slots = slots.iter();
                    pending.retain(|_| slots.next().is_some_and(|slot| !cancelled.failed(*slot)));
                    if pending.len() == before {
                        return Err(fail(&recorded, cancelled.unexpected()));
                    }
                    recorded.duplicates += before - pending.len();
                }
                Err(failure) => {
                    let error = failure.into_store_error(|reasons| Cancelled::new(&transaction, reasons).unexpected());
                    return Err(fail(&recorded, error));
                }
            }
        }
        Ok(recorded)
    }

    /// The transaction recording `rows`, and the slot of each row's Put, in order.
    fn transaction(&self, rows: &[&LogRow]) -> Result<(Transaction, Vec<Slot>), StoreError> {
        let mut transaction = Transaction::new("record-request-log", &self.name);
        let slots = rows.iter().map(|row| transaction.put_new(row_item(row))).collect::<Result<Vec<_>, _>>()?;
        for (key, counts) in rollup::changes(rows.iter().copied()) {
            add_to_route_day(&mut transaction, &key, &counts)?;
        }
        Ok((transaction, slots))
    }

    /// `partner`'s usage in `mode` over `range`: one `Query` of its roll-ups of those days
    /// (one item per day and route, so the cost is bounded by days × routes, never by the
    /// number of requests), every page, eventually consistent (usage trails the queue by
    /// minutes anyway, and it halves the read cost).
    pub async fn usage(&self, partner: &PartnerId, mode: Mode, range: UsageRange) -> Result<Usage, StoreError> {
        let (pk, low, high) =
            layout::route_days_between(partner, mode, &range.from().to_string(), &range.to().to_string());
        let mut tally = Tally::new(range);
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.name)
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :low AND :high")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#sk", SK)
                .expression_attribute_values(":pk", AttributeValue::S(pk.clone()))
                .expression_attribute_values(":low", AttributeValue::S(low.clone()))
                .expression_attribute_values(":high", AttributeValue::S(high.clone()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(StoreError::from_sdk)?;
            for route_day in page.items() {
                let reader = read(route_day);
                let counts = route_day_counts(route_day)?;
                tally.add(reader.s(DATE)?, reader.s(METHOD)?, reader.s(ROUTE)?, &counts);
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(tally.finish());
            }
        }
    }
}

const DATE: &str = "date";
const METHOD: &str = "method";
const ROUTE: &str = "route";
const REQUESTS: &str = "requests";
const ERRORS: &str = "errors";

/// The attribute counting a histogram bucket's requests: `latency_00` … `latency_27`.
fn bucket_attribute(bucket: usize) -> String {
    format!("latency_{bucket:02}")
}

/// Adds `counts` to the roll-up at `key`, creating it if this is its first request. ADD
/// is commutative, so concurrent drains add up; the transaction's row Puts make sure
/// each request is added once.
fn add_to_route_day(
    transaction: &mut Transaction,
    key: &RouteDayKey,
    counts: &RouteDayCounts,
) -> Result<Slot, StoreError> {
    let item_key = layout::route_day(&key.partner, key.mode, &key.date, &key.method, &key.route);
    let number = |value: u64| AttributeValue::N(value.to_string());
    let buckets: Vec<(usize, u64)> = counts.latency.counts().collect();
    let mut additions = vec!["#requests :requests".to_owned(), "#errors :errors".to_owned()];
    additions.extend(buckets.iter().map(|(bucket, _)| format!("#b{bucket} :b{bucket}")));
    let expression = format!(
        "SET #date = :date, #method = :method, #route = :route, #expires = :expires ADD {}",
        additions.join(", ")
    );
    let expires = route_day_expiry(&key.date);
    transaction.update(&item_key, |update| {
        let mut update = update
            .update_expression(expression)
            .expression_attribute_names("#date", DATE)
            .expression_attribute_names("#method", METHOD)
            .expression_attribute_names("#route", ROUTE)
            .expression_attribute_names("#expires", "expires_at")
            .expression_attribute_names("#requests", REQUESTS)
            .expression_attribute_names("#errors", ERRORS)
            .expression_attribute_values(":date", AttributeValue::S(key.date.clone()))
            .expression_attribute_values(":method", AttributeValue::S(key.method.clone()))
            .expression_attribute_values(":route", AttributeValue::S(key.route.clone()))
            .expression_attribute_values(":expires", AttributeValue::N(expires.to_string()))
            .expression_attribute_values(":requests", number(counts.requests))
            .expression_attribute_values(":errors", number(counts.errors));
        for (bucket, count) in &buckets {
            update = update
                .expression_attribute_names(format!("#b{bucket}"), bucket_attribute(*bucket))
                .expression_attribute_values(format!(":b{bucket}"), number(*count));
        }
        update
    })
}

/// When DynamoDB's TTL removes a roll-up: a day after its last rows would go, so usage
/// never shows a day's counts without the rows behind them for longer than that day.
fn route_day_expiry(date: &str) -> i64 {
    let midnight = super::usage::parse_date(Some(date))
        .map(|day| day.midnight().assume_utc().unix_timestamp())
        .unwrap_or_default();
    midnight + (ROW_TTL_DAYS + 1) * 24 * 60 * 60
}

fn route_day_counts(route_day: &Item) -> Result<RouteDayCounts, StoreError> {
    let reader = read(route_day);
    let count = |name: &str| -> Result<u64, StoreError> {
        if !route_day.contains_key(name) {
            return Ok(0);
        }
        u64::try_from(reader.number(name)?).map_err(|_| reader.corrupt(format!("{name} is negative")))
    };
    let mut latency = Histogram::default();
    for bucket in 0..BUCKETS {
        latency.add_to(bucket, count(&bucket_attribute(bucket))?);
    }
    Ok(RouteDayCounts { requests: count(REQUESTS)?, errors: count(ERRORS)?, latency })
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
