//! The local server's request-log queue: in process on the embedded engine, SQS at the
//! endpoint with `--aws-endpoint` (the queue bootstrapped there from template.yaml), or
//! in process again where that endpoint has no SQS.

use anyhow::Context;
use steller::aws;
use steller::request_log::{InProcessQueue, LogQueue, SqsQueue};
use steller::schema::{SchemaError, TableNames, bootstrap_queues};

use crate::Engine;

/// The queue the request-log layer sends to and the analytics processor drains, and how
/// the banner describes it.
pub(crate) async fn log_queue(
    engine: &Engine,
    sdk: &aws::SdkConfig,
    names: &TableNames,
) -> anyhow::Result<(LogQueue, String)> {
    let Engine::Endpoint(endpoint) = engine else {
        let queue = LogQueue::InProcess(InProcessQueue::new());
        let described = queue.to_string();
        return Ok((queue, described));
    };
    let client = aws::sqs(sdk);
    match bootstrap_queues(&client, names).await {
        Ok(queues) => {
            let url = queues.request_log_url().context("template.yaml declares no request-log queue")?;
            let queue = LogQueue::Sqs(SqsQueue::new(client, url));
            let described = queue.to_string();
            Ok((queue, described))
        }
        Err(SchemaError::NoSqs(_)) => {
            tracing::warn!("no SQS at {endpoint}; the request log is kept in process instead");
            let queue = LogQueue::InProcess(InProcessQueue::new());
            let described = format!("{queue} (no SQS at {endpoint})");
            Ok((queue, described))
        }
        Err(error) => Err(anyhow::Error::new(error).context(format!("creating the queues on {endpoint}"))),
    }
}
