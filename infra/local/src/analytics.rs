//! The local stand-in for the analytics Lambda and its EventBridge schedule: the same
//! `drain`, over the server's request-log queue into its request-log table, every
//! `--analytics-interval` seconds, so `/api/usage` works locally.

use std::time::Duration;

use steller::request_log::{LogQueue, RequestLogTable, drain};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

/// Every 2 minutes, as in production.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(120);
/// What one run may take: the Lambda's 60 s timeout less its margin.
const RUN_BUDGET: Duration = Duration::from_secs(55);
/// The run at shutdown, so what was logged since the last run reaches the table (an
/// in-process queue is gone once the server stops); short, not to hold up Ctrl-C.
const FINAL_RUN_BUDGET: Duration = Duration::from_secs(5);

/// The running schedule; `stop` ends it after one last run.
#[derive(Debug)]
pub(crate) struct Schedule {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Schedule {
    /// Runs the processor every `interval`, the first run one interval from now. A run
    /// that outlasts the interval delays the next instead of stacking runs up.
    pub(crate) fn start(queue: LogQueue, table: RequestLogTable, interval: Duration) -> Self {
        let (stop, mut stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval_at(Instant::now() + interval, interval);
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticks.tick() => run(&queue, &table, RUN_BUDGET).await,
                    _ = &mut stopped => break,
                }
            }
            run(&queue, &table, FINAL_RUN_BUDGET).await;
        });
        Schedule { stop, task }
    }

    /// Waits for a run in progress, does the last one, and ends.
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(());
        if let Err(error) = self.task.await {
            tracing::warn!(%error, "the analytics schedule ended abnormally");
        }
    }
}

async fn run(queue: &LogQueue, table: &RequestLogTable, budget: Duration) {
    // Between two Lambda runs SQS's visibility timeout brings back what the previous run
    // received and left (malformed messages); the in-process queue needs telling.
    queue.redeliver_unacked();
    drain(queue, table, budget).await;
}
