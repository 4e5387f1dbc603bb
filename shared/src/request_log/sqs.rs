//! The SQS adapter of the request log: the layer's `SendMessage`, and the processor's
//! `ReceiveMessage` / `DeleteMessageBatch`, on one queue.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, QueueAttributeName};

use super::{QueuedMessage, RequestLogError, RequestLogRecord, RequestLogSink, RequestLogSource, check_batch};

/// How long one send may take. The layer awaits the send before the response goes out
/// (a Lambda is frozen once it answers, so a background send might never finish), so
/// this is the most a slow SQS can add to any response; the SDK's own 20 s budget would
/// outlast the function's 10 s timeout. It still covers a cold start's TLS handshake.
const SEND_BUDGET: Duration = Duration::from_secs(2);

/// How long a receive waits for messages when the queue looks empty. One second of long
/// polling asks every SQS server (a zero wait samples only some, and can answer empty
/// while messages wait), yet lets a drain loop notice an empty queue quickly.
const RECEIVE_WAIT_SECONDS: i32 = 1;

/// One SQS queue (or an emulator's), as both the layer's sink and the processor's source.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsQueue {
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> Self {
        SqsQueue { client, queue_url: queue_url.into() }
    }

    /// The queue's URL, as `SendMessage` and the banner name it.
    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }
}

#[async_trait]
impl RequestLogSink for SqsQueue {
    async fn send(&self, record: &RequestLogRecord) -> Result<(), RequestLogError> {
        let body = serde_json::to_string(record).map_err(|error| RequestLogError::new("send", error))?;
        let request = self.client.send_message().queue_url(&self.queue_url).message_body(body).send();
        match tokio::time::timeout(SEND_BUDGET, request).await {
            Ok(Ok(_sent)) => Ok(()),
            Ok(Err(error)) => Err(RequestLogError::new("send", error)),
            Err(elapsed) => Err(RequestLogError::new("send", elapsed)),
        }
    }
}

#[async_trait]
impl RequestLogSource for SqsQueue {
    async fn receive(&self, max: usize) -> Result<Vec<QueuedMessage>, RequestLogError> {
        check_batch("receive", max, 1)?;
        // At most MAX_BATCH (10), as just checked, so the conversion cannot fail.
        let max = i32::try_from(max).map_err(|error| RequestLogError::new("receive", error))?;
        let received = self
            .client
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(max)
            .wait_time_seconds(RECEIVE_WAIT_SECONDS)
            .send()
            .await
            .map_err(|error| RequestLogError::new("receive", error))?;
        // A message without a receipt handle could never be deleted; SQS always sends one.
        Ok(received
            .messages
            .unwrap_or_default()
            .into_iter()
            .filter_map(|message| {
                let receipt = message.receipt_handle?;
                Some(QueuedMessage { receipt, body: message.body.unwrap_or_default() })
            })
            .collect())
    }

    async fn delete(&self, receipts: &[String]) -> Result<(), RequestLogError> {
        check_batch("delete", receipts.len(), 0)?;
        if receipts.is_empty() {
            return Ok(());
        }
        let entries = receipts
            .iter()
            .enumerate()
            .map(|(index, receipt)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(index.to_string())
                    .receipt_handle(receipt)
                    .build()
                    .map_err(|error| RequestLogError::new("delete", error))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let deleted = self
            .client
            .delete_message_batch()
            .queue_url(&self.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|error| RequestLogError::new("delete", error))?;
        // A batch call succeeds even when some of its entries fail; those messages stay on
        // the queue and would come back, so the caller must hear about them.
        let failed = deleted.failed();
        if failed.is_empty() {
            return Ok(());
        }
        let reasons: Vec<String> = failed
            .iter()
            .map(|entry| format!("entry {}: {} {}", entry.id(), entry.code(), entry.message().unwrap_or_default()))
            .collect();
        Err(RequestLogError::new(
            "delete",
            format!("{} of {} messages were not deleted ({})", failed.len(), receipts.len(), reasons.join("; ")),
        ))
    }

    /// `ApproximateNumberOfMessages`: the messages waiting, not those received and not
    /// yet deleted. Approximate, as SQS says; fine for a run's summary.
    async fn remaining(&self) -> Result<Option<usize>, RequestLogError> {
        let attributes = self
            .client
            .get_queue_attributes()
            .queue_url(&self.queue_url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .map_err(|error| RequestLogError::new("count", error))?;
        Ok(attributes
            .attributes()
            .and_then(|attributes| attributes.get(&QueueAttributeName::ApproximateNumberOfMessages))
            .and_then(|count| count.parse().ok()))
    }
}
