//! `LogQueue`: the request-log queue the local server and the tests pick at start-up (in
//! process, or SQS at an endpoint), one value that is both the layer's sink and the
//! processor's source.

use std::sync::Arc;

use async_trait::async_trait;

use super::{
    InProcessQueue, QueuedMessage, RequestLogError, RequestLogRecord, RequestLogSink, RequestLogSource, SqsQueue,
};

/// Where the request log goes when the process picks its queue itself. A Lambda needs no
/// such choice: its sink is SQS or nothing (`AppState::on_aws`).
#[derive(Debug, Clone)]
pub enum LogQueue {
    /// In memory: the embedded engine's, and any endpoint's without SQS.
    InProcess(InProcessQueue),
    /// SQS at an endpoint (moto, LocalStack or AWS), on the queue bootstrapped there.
    Sqs(SqsQueue),
}

impl LogQueue {
    /// The queue as the request-log layer's sink.
    pub fn sink(&self) -> Arc<dyn RequestLogSink> {
        Arc::new(self.clone())
    }

    /// The queue as the processor's source.
    pub fn source(&self) -> Arc<dyn RequestLogSource> {
        Arc::new(self.clone())
    }

    /// Makes received, undeleted messages visible again (`InProcessQueue::redeliver_unacked`).
    /// SQS does that itself when the visibility timeout expires, so there it does nothing.
    pub fn redeliver_unacked(&self) {
        if let LogQueue::InProcess(queue) = self {
            queue.redeliver_unacked();
        }
    }

    pub fn in_process(&self) -> Option<&InProcessQueue> {
        match self {
            LogQueue::InProcess(queue) => Some(queue),
            LogQueue::Sqs(_) => None,
        }
    }

    pub fn sqs(&self) -> Option<&SqsQueue> {
        match self {
            LogQueue::Sqs(queue) => Some(queue),
            LogQueue::InProcess(_) => None,
        }
    }
}

/// `in-process queue` or `SQS <url>`, as the local server's banner says.
impl std::fmt::Display for LogQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LogQueue::InProcess(_) => f.write_str("in-process queue"),
            LogQueue::Sqs(queue) => write!(f, "SQS {}", queue.queue_url()),
        }
    }
}

#[async_trait]
impl RequestLogSink for LogQueue {
    async fn send(&self, record: &RequestLogRecord) -> Result<(), RequestLogError> {
        match self {
            LogQueue::InProcess(queue) => queue.send(record).await,
            LogQueue::Sqs(queue) => queue.send(record).await,
        }
    }
}

#[async_trait]
impl RequestLogSource for LogQueue {
    async fn receive(&self, max: usize) -> Result<Vec<QueuedMessage>, RequestLogError> {
        match self {
            LogQueue::InProcess(queue) => queue.receive(max).await,
            LogQueue::Sqs(queue) => queue.receive(max).await,
        }
    }

    async fn delete(&self, receipts: &[String]) -> Result<(), RequestLogError> {
        match self {
            LogQueue::InProcess(queue) => queue.delete(receipts).await,
            LogQueue::Sqs(queue) => queue.delete(receipts).await,
        }
    }

    async fn remaining(&self) -> Result<Option<usize>, RequestLogError> {
        match self {
            LogQueue::InProcess(queue) => queue.remaining().await,
            LogQueue::Sqs(queue) => queue.remaining().await,
        }
    }
}
