//! The analytics processor: drains the request-log queue into the request-log table
//! within a time budget. The scheduled analytics Lambda and the local server both run it.
//!
//! ```text
//! receive 10 ─► parse ─┬─ malformed: counted, left on the queue (it comes back, and after
//!                      │  maxReceiveCount it moves to the dead-letter queue)
//!                      └─ rows ─► BatchWriteItem 25 ─► DeleteMessageBatch 10 (only messages
//!                                 whose rows are written)
//! ```

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::row::LogRow;
use super::table::{RequestLogTable, WRITE_BATCH};
use super::{MAX_BATCH, QueuedMessage, RequestLogSource};
use crate::telemetry::chain;

/// Calls made through the ports during a run: on AWS, one SQS or DynamoDB request each.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DrainCalls {
    /// `ReceiveMessage`.
    pub receive: usize,
    /// `BatchWriteItem`, retries of unprocessed items included.
    pub batch_write: usize,
    /// `DeleteMessageBatch`.
    pub delete: usize,
    /// `GetQueueAttributes`, asked once per run for `remaining`.
    pub remaining: usize,
}

impl DrainCalls {
    pub fn total(&self) -> usize {
        self.receive + self.batch_write + self.delete + self.remaining
    }
}

/// What one run did. `received = written + duplicates + malformed` unless the run
/// stopped on a `failure`, in which case the messages not written come back on a later run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DrainSummary {
    /// Messages received.
    pub received: usize,
    /// Rows written (one per distinct request id).
    pub written: usize,
    /// Messages whose request id was already received in this run: deleted without a
    /// second write. A message redelivered in a *later* run (its first delete was lost)
    /// cannot be told apart cheaply: its row is overwritten with the same content and it
    /// counts as written. Either way, no duplicate row exists.
    pub duplicates: usize,
    /// Messages that are not a request-log record: left on the queue for the DLQ.
    pub malformed: usize,
    /// About how many messages are still waiting, when the source can tell.
    pub remaining: Option<usize>,
    pub calls: DrainCalls,
    /// Why the run stopped early (a queue or table call failed), if it did.
    pub failure: Option<String>,
}

/// A row waiting to be written, and the messages to delete once it is.
#[derive(Debug)]
struct Pending {
    row: LogRow,
    receipts: Vec<String>,
}

/// Drains `source` into `table` until the queue looks empty or `budget` is nearly spent.
/// New receives stop a little before the budget ends (a fifth of it, at most 5 s), so the
/// rows in hand can still be written and their messages deleted. Logs one summary line.
pub async fn drain(source: &dyn RequestLogSource, table: &RequestLogTable, budget: Duration) -> DrainSummary {
    let receive_until = Instant::now() + budget.saturating_sub((budget / 5).min(Duration::from_secs(5)));
    let mut run = Run {
        source,
        table,
        summary: DrainSummary::default(),
        seen: HashSet::new(),
        unwritten: Vec::new(),
        written: Vec::new(),
        write_failed: false,
        delete_failed: false,
    };
    while run.summary.failure.is_none() && Instant::now() < receive_until {
        match run.receive().await {
            Ok(0) => break,
            Ok(_) => run.flush(false).await,
            Err(failure) => run.summary.failure = Some(failure),
        }
    }
    run.flush(true).await;
    run.summary.calls.remaining += 1;
    run.summary.remaining = match source.remaining().await {
        Ok(remaining) => remaining,
        Err(error) => {
            tracing::warn!(error = %chain(&error), "could not tell how many request-log messages remain");
            None
        }
    };
    log(&run.summary);
    run.summary
}

fn log(summary: &DrainSummary) {
    let DrainSummary { received, written, duplicates, malformed, remaining, calls, failure } = summary;
    if let Some(failure) = failure {
        tracing::error!(
            received,
            written,
            duplicates,
            malformed,
            remaining,
            calls = calls.total(),
            failure,
            "request log drain stopped early"
        );
    } else {
        tracing::info!(
            received,
            written,
            duplicates,
            malformed,
            remaining,
            receive_calls = calls.receive,
            batch_write_calls = calls.batch_write,
            delete_calls = calls.delete,
            "request log drained"
        );
    }
}

struct Run<'a> {
    source: &'a dyn RequestLogSource,
    table: &'a RequestLogTable,
    summary: DrainSummary,
    /// Request ids received in this run, written or not.
    seen: HashSet<String>,
    unwritten: Vec<Pending>,
    /// Receipts of messages whose rows are written: safe to delete.
    written: Vec<String>,
    write_failed: bool,
    delete_failed: bool,
}

impl Run<'_> {
    /// Receives one batch and sorts it; returns how many messages came.
    async fn receive(&mut self) -> Result<usize, String> {
        self.summary.calls.receive += 1;
        let messages = self.source.receive(MAX_BATCH).await.map_err(|error| chain(&error))?;
        self.summary.received += messages.len();
        let count = messages.len();
        for message in messages {
            self.sort(message);
        }
        Ok(count)
    }

    fn sort(&mut self, QueuedMessage { receipt, body }: QueuedMessage) {
        let row = match LogRow::parse(&body) {
            Ok(row) => row,
            Err(error) => {
                // Not deleted: SQS shows it again after the visibility timeout and moves it
                // to the dead-letter queue after maxReceiveCount receives.
                self.summary.malformed += 1;
                tracing::warn!(
                    error = %error,
                    bytes = body.len(),
                    "malformed request-log message left for the dead-letter queue"
                );
                return;
            }
        };
        if self.seen.insert(row.request_id().to_owned()) {
            self.unwritten.push(Pending { row, receipts: vec![receipt] });
            return;
        }
        self.summary.duplicates += 1;
        // The same request again: its row is written, or will be with the first copy's batch
        // (a batch may not name one key twice), and this message goes with it.
        match self.unwritten.iter_mut().find(|pending| pending.row.request_id() == row.request_id()) {
            Some(pending) => pending.receipts.push(receipt),
            None => self.written.push(receipt),
        }
    }

    /// Writes full batches of rows and deletes full batches of messages; with `all`, the
    /// partial ones too. A failed write stops the writes and a failed delete the deletes,
    /// but each side goes on with what the other has done: rows in hand are still written
    /// after a failed receive, written rows' messages still deleted after a failed write.
    async fn flush(&mut self, all: bool) {
        while !self.write_failed && (self.unwritten.len() >= WRITE_BATCH || (all && !self.unwritten.is_empty())) {
            let batch: Vec<Pending> = self.unwritten.drain(..self.unwritten.len().min(WRITE_BATCH)).collect();
            let rows: Vec<LogRow> = batch.iter().map(|pending| pending.row.clone()).collect();
            match self.table.write_rows(&rows).await {
                Ok(calls) => {
                    self.summary.calls.batch_write += calls;
                    self.summary.written += rows.len();
                    self.written.extend(batch.into_iter().flat_map(|pending| pending.receipts));
                }
                Err(error) => {
                    self.summary.calls.batch_write += error.calls;
                    self.summary.failure.get_or_insert(chain(&error));
                    self.write_failed = true;
                }
            }
        }
        while !self.delete_failed && (self.written.len() >= MAX_BATCH || (all && !self.written.is_empty())) {
            let receipts: Vec<String> = self.written.drain(..self.written.len().min(MAX_BATCH)).collect();
            self.summary.calls.delete += 1;
            if let Err(error) = self.source.delete(&receipts).await {
                // The rows are written; the messages come back and overwrite them.
                self.summary.failure.get_or_insert(chain(&error));
                self.delete_failed = true;
            }
        }
    }
}
