//! The request-log drain's throughput: a backlog of records put through
//! `steller::request_log::drain` in process, on the AWS emulator, and with every queue
//! and table call held 20 ms, standing in for AWS's round trips.

use std::time::{Duration, Instant};

use anyhow::Context;
use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use steller::domain::{PartnerId, Timestamp};
use steller::request_log::{
    DrainCalls, InProcessQueue, QueuedMessage, RequestLogError, RequestLogSink, RequestLogSource, RequestLogTable,
    SqsQueue, drain,
};

use crate::embedded::{AWS_LATENCY, Engine};
use crate::stats::{per_second, round2};
use crate::usage_query::logged_request;

/// The target of issue 12: records per second at 20 ms per AWS call.
pub const DRAIN_TARGET: f64 = 1_000.0;

/// The drain's budget: the analytics Lambda's, well beyond what a run here needs.
const BUDGET: Duration = Duration::from_secs(5 * 60);

/// The emulator's backlog and budget: moto answers one call at a time and slowly (a
/// debug run drained 1,000 records in over 3 minutes), so its run is bounded and its
/// rate is what it wrote in that time.
const EMULATOR_RECORDS: usize = 300;
const EMULATOR_BUDGET: Duration = Duration::from_secs(30);

/// Partners the backlog's records belong to: several roll-ups per batch, as in production.
const PARTNERS: usize = 10;

/// One drain run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DrainRow {
    pub setting: String,
    pub records: usize,
    pub written: usize,
    pub seconds: f64,
    pub records_per_second: Option<f64>,
    pub calls: DrainCalls,
    /// Whether the target applies to this setting (the 20 ms one).
    pub against_target: bool,
    pub failure: Option<String>,
}

/// A request-log source whose every call is held `delay` first, as SQS's round trip.
#[derive(Debug)]
pub struct Delayed<S> {
    pub inner: S,
    pub delay: Duration,
}

#[async_trait]
impl<S: RequestLogSource> RequestLogSource for Delayed<S> {
    async fn receive(&self, max: usize) -> Result<Vec<QueuedMessage>, RequestLogError> {
        tokio::time::sleep(self.delay).await;
        self.inner.receive(max).await
    }

    async fn delete(&self, receipts: &[String]) -> Result<(), RequestLogError> {
        tokio::time::sleep(self.delay).await;
        self.inner.delete(receipts).await
    }

    async fn remaining(&self) -> Result<Option<usize>, RequestLogError> {
        tokio::time::sleep(self.delay).await;
        self.inner.remaining().await
    }
}

/// Drains `records` records in process, at 20 ms per call, and on the emulator at
/// `emulator` when there is one.
pub async fn measure(records: usize, emulator: Option<&str>) -> anyhow::Result<Vec<DrainRow>> {
    let mut rows = Vec::new();

    let engine = Engine::start(Duration::ZERO).await?;
    let queue = InProcessQueue::new();
    fill(&queue, records).await?;
    let table = engine.request_log_table();
    rows.push(run("in process (embedded engine)", records, &queue, &table, BUDGET, false).await);

    let engine = Engine::start(AWS_LATENCY).await?;
    let queue = InProcessQueue::new();
    fill(&queue, records).await?;
    let source = Delayed { inner: queue, delay: AWS_LATENCY };
    let setting = format!("{} ms per call", AWS_LATENCY.as_millis());
    rows.push(run(&setting, records, &source, &engine.request_log_table(), BUDGET, true).await);

    if let Some(emulator) = emulator {
        let (queue, table) = on_emulator(emulator).await?;
        let records = records.min(EMULATOR_RECORDS);
        fill(&queue, records).await?;
        rows.push(run("AWS emulator (moto)", records, &queue, &table, EMULATOR_BUDGET, false).await);
    }
    Ok(rows)
}

async fn run(
    setting: &str,
    records: usize,
    source: &dyn RequestLogSource,
    table: &RequestLogTable,
    budget: Duration,
    against_target: bool,
) -> DrainRow {
    let started = Instant::now();
    let summary = drain(source, table, budget).await;
    let elapsed = started.elapsed();
    DrainRow {
        setting: setting.to_owned(),
        records,
        written: summary.written,
        seconds: round2(elapsed.as_secs_f64()),
        records_per_second: per_second(summary.written, elapsed),
        calls: summary.calls,
        against_target,
        failure: summary.failure,
    }
}

/// Puts `records` records on `queue`, a few sends at once (moto answers one at a time
/// slowly; the fill is not what is measured).
async fn fill(queue: &(impl RequestLogSink + ?Sized), records: usize) -> anyhow::Result<()> {
    let partners: Vec<PartnerId> = (0..PARTNERS).map(|_| PartnerId::generate()).collect();
    let at = Timestamp::now();
    futures::stream::iter(0..records)
        .map(|index| {
            let record = logged_request(index, partners[index % PARTNERS], at);
            async move { queue.send(&record).await }
        })
        .buffer_unordered(16)
        .try_collect::<Vec<()>>()
        .await
        .context("filling the request-log queue")?;
    Ok(())
}

/// A fresh request-log queue and table on the emulator.
async fn on_emulator(emulator: &str) -> anyhow::Result<(SqsQueue, RequestLogTable)> {
    let sdk = steller::aws::for_endpoint(emulator).await;
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis();
    let names = steller::schema::TableNames::new(format!("bench-drain-{stamp}"));
    let dynamodb = steller::aws::dynamodb(&sdk);
    steller::schema::bootstrap(&dynamodb, &names).await.context("creating the tables on the emulator")?;
    let queues =
        steller::schema::bootstrap_queues(&steller::aws::sqs(&sdk), &names).await.context("creating the queues")?;
    let url = queues.request_log_url().context("template.yaml has a request-log queue")?;
    Ok((SqsQueue::new(steller::aws::sqs(&sdk), url), RequestLogTable::new(dynamodb, names.request_log())))
}

/// The drain table as printed: one line per setting with its calls, and a verdict on
/// the 20 ms one.
pub fn drain_table(rows: &[DrainRow]) -> String {
    let mut table = format!(
        "{:<30} {:>7} {:>7} {:>8} {:>10} {:>6} {:>8} {:>8} {:>6}  {}\n",
        "setting",
        "backlog",
        "written",
        "seconds",
        "records/s",
        "calls",
        "receive",
        "transact",
        "delete",
        "≥ 1,000 records/s"
    );
    for row in rows {
        let verdict = match (&row.failure, row.records_per_second) {
            (Some(failure), _) => format!("FAILED: {failure}"),
            _ if !row.against_target => "-".to_owned(),
            (None, Some(rate)) if rate >= DRAIN_TARGET => "met".to_owned(),
            (None, _) => "NOT MET".to_owned(),
        };
        table.push_str(&format!(
            "{:<30} {:>7} {:>7} {:>8.2} {:>10} {:>6} {:>8} {:>8} {:>6}  {}\n",
            row.setting,
            row.records,
            row.written,
            row.seconds,
            row.records_per_second.map_or_else(|| "-".to_owned(), |rate| format!("{rate:.0}")),
            row.calls.total(),
            row.calls.receive,
            row.calls.transact_write,
            row.calls.delete,
            verdict
        ));
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(setting: &str, rate: f64, against_target: bool) -> DrainRow {
        DrainRow {
            setting: setting.to_owned(),
            records: 2_000,
            written: 2_000,
            seconds: 2_000.0 / rate,
            records_per_second: Some(rate),
            calls: DrainCalls { receive: 201, transact_write: 200, delete: 200, remaining: 1 },
            against_target,
            failure: None,
        }
    }

    #[test]
    fn only_the_20_ms_setting_is_held_to_the_target() {
        let table = drain_table(&[row("in process", 500.0, false), row("20 ms per call", 1_300.0, true)]);
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[1].ends_with(" -") && lines[1].contains(" 602 "), "{table}");
        assert!(lines[2].contains(" 1300 ") && lines[2].ends_with("met"), "{table}");
        assert!(drain_table(&[row("20 ms per call", 900.0, true)]).ends_with("NOT MET\n"));
    }

    #[test]
    fn a_failed_run_says_why() {
        let failed = DrainRow { failure: Some("throttled".to_owned()), ..row("moto", 10.0, false) };
        assert!(drain_table(&[failed]).contains("FAILED: throttled"));
    }

    #[tokio::test]
    async fn a_delayed_source_holds_each_call_and_passes_it_on() {
        let queue = InProcessQueue::new();
        queue.push_raw("one");
        let source = Delayed { inner: queue, delay: Duration::from_millis(20) };
        let started = Instant::now();
        let received = source.receive(10).await.expect("received");
        assert!(started.elapsed() >= Duration::from_millis(20));
        assert_eq!(received.len(), 1);
    }
}
