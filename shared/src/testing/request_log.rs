//! Reading back what a test app logged: its request-log queue (in process on dynoxide,
//! SQS on the AWS emulator), and a sink that always fails and counts its calls.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;

use crate::request_log::{
    LogQueue, MAX_BATCH, RequestLogError, RequestLogRecord, RequestLogSink, RequestLogSource, SqsQueue,
};
use crate::schema::{TableNames, bootstrap_queues};
use crate::{aws, testing::unique_prefix};

/// The template's queues on the AWS emulator at `endpoint`, under a prefix of their own,
/// as the request-log queue of one test app (or one analytics Lambda).
pub async fn emulator_queue(endpoint: &str) -> LogQueue {
    let client = aws::sqs(&aws::for_endpoint(endpoint).await);
    let queues = bootstrap_queues(&client, &TableNames::new(unique_prefix()))
        .await
        .expect("the emulator's SQS creates the template's queues");
    let url = queues.request_log_url().expect("template.yaml declares the request-log queue");
    LogQueue::Sqs(SqsQueue::new(client, url))
}

/// Receives every message on `source` and deletes it, until a receive finds none: the
/// bodies, oldest first as far as the queue keeps order.
pub async fn drain_bodies(source: &dyn RequestLogSource) -> Vec<String> {
    let mut bodies = Vec::new();
    loop {
        let batch = source.receive(MAX_BATCH).await.expect("the request-log queue answers");
        if batch.is_empty() {
            return bodies;
        }
        let receipts: Vec<String> = batch.iter().map(|message| message.receipt.clone()).collect();
        source.delete(&receipts).await.expect("the messages are deleted");
        bodies.extend(batch.into_iter().map(|message| message.body));
    }
}

/// A request-log sink whose every send fails, as an SQS outage would; counts the sends.
#[derive(Debug, Clone, Default)]
pub struct FailingRequestLog {
    calls: Arc<AtomicUsize>,
}

impl FailingRequestLog {
    pub fn new() -> Self {
        FailingRequestLog::default()
    }

    /// How many records were handed to it.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl RequestLogSink for FailingRequestLog {
    async fn send(&self, _record: &RequestLogRecord) -> Result<(), RequestLogError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Err(RequestLogError::new("send", std::io::Error::other("SQS is unreachable (FailingRequestLog)")))
    }
}
