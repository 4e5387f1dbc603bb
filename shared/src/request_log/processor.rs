//! The analytics processor: drains the request-log queue into the request-log table
//! and its daily roll-ups within a time budget, with several pipelines at once. The
//! scheduled analytics Lambda and the local server both run it.
//!
//! ```text
//! each of DRAIN_WORKERS workers, until an empty receive or the budget:
//! receive 10 ─► parse ─┬─ malformed: counted, left on the queue (it comes back, and after
//!                      │  maxReceiveCount it moves to the dead-letter queue)
//!                      └─ rows ─► TransactWriteItems: new rows + their roll-ups ─►
//!                                 DeleteMessageBatch (only once the transaction committed)
//! ```

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::watch;

use super::row::LogRow;
use super::table::RequestLogTable;
use super::{MAX_BATCH, QueuedMessage, RequestLogSource};
use crate::telemetry::chain;

/// How many receive → record → delete pipelines one run keeps going at once. Each takes
/// three calls per 10 messages, so at 20 ms a call one pipeline moves about 160 records
/// a second; twelve move about 2,000, and keep up with 1,000 a second even when SQS hands
/// out fewer than 10 messages per receive, or a call takes longer. (Eight measured 906 a
/// second in `make bench`'s debug run at 20 ms a call, below the 1,000 it must reach.)
pub const DRAIN_WORKERS: usize = 12;

/// Calls made through the ports during a run, summed over its workers: on AWS, one SQS
/// or DynamoDB request each.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DrainCalls {
    /// `ReceiveMessage`.
    pub receive: usize,
    /// `TransactWriteItems`, retries included.
    pub transact_write: usize,
    /// `DeleteMessageBatch`.
    pub delete: usize,
    /// `GetQueueAttributes`, asked once per run for `remaining`.
    pub remaining: usize,
}

impl DrainCalls {
    pub fn total(&self) -> usize {
        self.receive + self.transact_write + self.delete + self.remaining
    }

    fn add(&mut self, other: &DrainCalls) {
        self.receive += other.receive;
        self.transact_write += other.transact_write;
        self.delete += other.delete;
        self.remaining += other.remaining;
    }
}

/// What one run did, summed over its workers. `received = written + duplicates +
/// malformed` unless the run stopped on a `failure`, in which case the messages not
/// recorded come back on a later run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DrainSummary {
    /// Messages received.
    pub received: usize,
    /// Rows written, each added to its roll-up (one per distinct request id).
    pub written: usize,
    /// Messages whose request id was already recorded, in this run or an earlier one (its
    /// first delete was lost), or that came twice in one receive: deleted without being
    /// counted again.
    pub duplicates: usize,
    /// Messages that are not a request-log record: left on the queue for the DLQ.
    pub malformed: usize,
    /// About how many messages are still waiting, when the source can tell.
    pub remaining: Option<usize>,
    pub calls: DrainCalls,
    /// Why the run stopped early (a queue or table call failed), if it did.
    pub failure: Option<String>,
}

impl DrainSummary {
    fn add(&mut self, worker: &DrainSummary) {
        self.received += worker.received;
        self.written += worker.written;
        self.duplicates += worker.duplicates;
        self.malformed += worker.malformed;
        self.calls.add(&worker.calls);
    }
}

/// Drains `source` into `table` with `DRAIN_WORKERS` pipelines (`drain_with`).
pub async fn drain(source: &dyn RequestLogSource, table: &RequestLogTable, budget: Duration) -> DrainSummary {
    drain_with(source, table, budget, DRAIN_WORKERS).await
}

/// Drains `source` into `table` until the queue looks empty or `budget` is nearly spent,
/// with up to `workers` (at least one) pipelines at once, each: receive up to 10 → record
/// the new rows and their roll-ups in one transaction → delete those messages.
///
/// One worker starts; the others join once a receive comes back full (a backlog), so a
/// run over an all but empty queue makes one or two receives, not one per worker. The
/// first empty receive ends the run: every worker finishes the batch in hand and stops.
/// New receives stop a little before the budget ends (a fifth of it, at most 5 s), so a
/// batch in hand can still be recorded and deleted. After a failed call no worker
/// receives again. Logs one summary line.
pub async fn drain_with(
    source: &dyn RequestLogSource,
    table: &RequestLogTable,
    budget: Duration,
    workers: usize,
) -> DrainSummary {
    let (phase, _) = watch::channel(Phase::Alone);
    let run = Run {
        source,
        table,
        receive_until: Instant::now() + budget.saturating_sub((budget / 5).min(Duration::from_secs(5))),
        failure: Mutex::new(None),
        drained: AtomicBool::new(false),
        phase,
    };
    let first = async {
        let summary = run.worker().await;
        // Workers still waiting to join have nothing left to do.
        run.phase.send_if_modified(|phase| phase.advance(Phase::Ended));
        summary
    };
    let others = (1..workers.max(1)).map(|_| run.joining_worker());
    // Boxed: the workers' future is deep, and a caller's async main would otherwise
    // overflow the compiler's layout depth limit.
    let (first, others) = Box::pin(futures::future::join(first, futures::future::join_all(others))).await;
    let mut summary = first;
    for worker in &others {
        summary.add(worker);
    }
    summary.failure = run.failure.into_inner().unwrap_or_else(PoisonError::into_inner);
    summary.calls.remaining += 1;
    summary.remaining = match source.remaining().await {
        Ok(remaining) => remaining,
        Err(error) => {
            tracing::warn!(error = %chain(&error), "could not tell how many request-log messages remain");
            None
        }
    };
    log(&summary);
    summary
}

/// Whether the workers beyond the first run: not until the queue shows a backlog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Only the first worker runs.
    Alone,
    /// A receive came back full: every worker runs.
    Together,
    /// The first worker stopped before any backlog showed: the others never start.
    Ended,
}

impl Phase {
    /// Leaves `Alone` for `next`; any other phase is final. Says whether it changed.
    fn advance(&mut self, next: Phase) -> bool {
        let alone = *self == Phase::Alone;
        if alone {
            *self = next;
        }
        alone
    }
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
            transact_write_calls = calls.transact_write,
            delete_calls = calls.delete,
            "request log drained"
        );
    }
}

/// What the workers of one run share: the ports, the time to stop receiving, the first
/// failure (after which no worker receives again), whether a receive came back empty,
/// and whether the workers beyond the first may start.
struct Run<'a> {
    source: &'a dyn RequestLogSource,
    table: &'a RequestLogTable,
    receive_until: Instant,
    failure: Mutex<Option<String>>,
    drained: AtomicBool,
    phase: watch::Sender<Phase>,
}

/// One received batch, sorted.
#[derive(Debug, Default)]
struct Batch {
    /// Distinct request ids, each with its row.
    rows: Vec<LogRow>,
    /// Receipts of the messages holding those rows, copies included: deleted once the
    /// rows are recorded.
    receipts: Vec<String>,
}

impl Run<'_> {
    fn failed(&self) -> bool {
        self.failure.lock().unwrap_or_else(PoisonError::into_inner).is_some()
    }

    fn fail(&self, failure: String) {
        self.failure.lock().unwrap_or_else(PoisonError::into_inner).get_or_insert(failure);
    }

    /// A worker beyond the first: waits for a backlog to show, then runs.
    async fn joining_worker(&self) -> DrainSummary {
        let mut phase = self.phase.subscribe();
        match phase.wait_for(|phase| *phase != Phase::Alone).await.map(|phase| *phase) {
            Ok(Phase::Together) => self.worker().await,
            _ => DrainSummary::default(),
        }
    }

    /// One pipeline: receive, record, delete, until the queue looks empty, the time is
    /// up, or any worker's call failed. Returns what this worker did.
    async fn worker(&self) -> DrainSummary {
        let mut summary = DrainSummary::default();
        while !self.failed() && !self.drained.load(Ordering::SeqCst) && Instant::now() < self.receive_until {
            summary.calls.receive += 1;
            let messages = match self.source.receive(MAX_BATCH).await {
                Ok(messages) if messages.is_empty() => {
                    self.drained.store(true, Ordering::SeqCst);
                    break;
                }
                Ok(messages) => {
                    if messages.len() == MAX_BATCH {
                        self.phase.send_if_modified(|phase| phase.advance(Phase::Together));
                    }
                    messages
                }
                Err(error) => {
                    self.fail(chain(&error));
                    break;
                }
            };
            summary.received += messages.len();
            let batch = sort(messages, &mut summary);
            if !batch.rows.is_empty() {
                match self.table.record(&batch.rows).await {
                    Ok(recorded) => {
                        summary.calls.transact_write += recorded.calls;
                        summary.written += recorded.written;
                        summary.duplicates += recorded.duplicates;
                    }
                    Err(error) => {
                        summary.calls.transact_write += error.calls;
                        // Nothing of this batch was written: its messages come back.
                        self.fail(chain(&error));
                        break;
                    }
                }
            }
            if batch.receipts.is_empty() {
                continue;
            }
            summary.calls.delete += 1;
            if let Err(error) = self.source.delete(&batch.receipts).await {
                // The rows are recorded; the messages come back and are seen as duplicates.
                self.fail(chain(&error));
                break;
            }
        }
        summary
    }
}

/// Parses a received batch: malformed messages are counted and left on the queue; a
/// request id that comes twice is recorded once (a transaction may not name one item
/// twice) and both messages are deleted with it.
fn sort(messages: Vec<QueuedMessage>, summary: &mut DrainSummary) -> Batch {
    let mut batch = Batch::default();
    let mut seen = HashSet::new();
    for QueuedMessage { receipt, body } in messages {
        let row = match LogRow::parse(&body) {
            Ok(row) => row,
            Err(error) => {
                // Not deleted: SQS shows it again after the visibility timeout and moves it
                // to the dead-letter queue after maxReceiveCount receives.
                summary.malformed += 1;
                tracing::warn!(
                    error = %error,
                    bytes = body.len(),
                    "malformed request-log message left for the dead-letter queue"
                );
                continue;
            }
        };
        if seen.insert(row.request_id().to_owned()) {
            batch.rows.push(row);
        } else {
            summary.duplicates += 1;
        }
        batch.receipts.push(receipt);
    }
    batch
}
