//! The analytics function: every 2 minutes EventBridge invokes it, and it drains the
//! request-log queue into the request-log table within the invocation's remaining time
//! (`steller::request_log::drain`, which the local server runs too).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::FutureExt;
use lambda_runtime::{LambdaEvent, service_fn};
use steller::aws;
use steller::config::DrainConfig;
use steller::request_log::{DrainSummary, RequestLogSource, RequestLogTable, SqsQueue, drain};

/// The variables this function reads: the queue it drains and the table it fills.
/// template.yaml gives it exactly these.
pub const VARIABLES: &[&str] = &DrainConfig::VARIABLES;

/// Time kept back from the invocation's deadline for logging the summary and answering
/// the runtime, so a long drain never ends as a timeout.
pub const MARGIN: Duration = Duration::from_secs(5);

/// The queue to drain and the table to fill, built once per cold start.
#[derive(Debug, Clone)]
pub struct Analytics {
    source: Arc<dyn RequestLogSource>,
    table: RequestLogTable,
}

impl Analytics {
    pub fn new(source: Arc<dyn RequestLogSource>, table: RequestLogTable) -> Self {
        Analytics { source, table }
    }

    /// The Lambda's: SQS at `STELLER_REQUEST_LOG_QUEUE_URL`, the table named by
    /// `STELLER_REQUEST_LOG_TABLE` (both required, in `config`), clients from the
    /// default chain.
    pub async fn on_aws(config: DrainConfig) -> Self {
        let sdk = aws::from_environment().await;
        let queue = SqsQueue::new(aws::sqs(&sdk), config.request_log_queue_url);
        Analytics::new(Arc::new(queue), RequestLogTable::new(aws::dynamodb(&sdk), config.request_log_table))
    }

    /// One scheduled run. The event's content does not matter (EventBridge's "Scheduled
    /// Event", or anything an operator sends to drain by hand). A run that stopped on a
    /// failed call is an invocation error, so it shows in the function's error metric;
    /// its messages stay on the queue for the next run.
    pub async fn handle(&self, event: LambdaEvent<serde_json::Value>) -> Result<DrainSummary, lambda_runtime::Error> {
        let budget = budget(event.context.deadline(), SystemTime::now());
        let summary = drain(self.source.as_ref(), &self.table, budget).await;
        match &summary.failure {
            Some(failure) => Err(failure.clone().into()),
            None => Ok(summary),
        }
    }
}

/// The time a run may take: until the deadline, less `MARGIN`; nothing once past it.
pub fn budget(deadline: SystemTime, now: SystemTime) -> Duration {
    deadline.duration_since(now).unwrap_or_default().saturating_sub(MARGIN)
}

/// Serves scheduled invocations until the runtime stops. Only the variables are read
/// before the runtime asks for the first event, so a misconfigured function still fails
/// its init; the AWS clients are made when the first event arrives, as the HTTP
/// functions' are (`steller::lambda::run`).
pub async fn serve() -> Result<(), lambda_runtime::Error> {
    let config = DrainConfig::from_env()?;
    let analytics = Analytics::on_aws(config).boxed().shared();
    lambda_runtime::run(service_fn(move |event| {
        let analytics = analytics.clone();
        async move { analytics.await.handle(event).await }
    }))
    .await
}
