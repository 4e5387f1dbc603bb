//! The in-process request-log queue of the local server and the tests: a sink and a
//! source on one shared buffer, with the SQS semantics the processor relies on.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;

use super::{QueuedMessage, RequestLogError, RequestLogRecord, RequestLogSink, RequestLogSource, check_batch};

/// How often a message may be received before it is dead-lettered instead: the
/// `maxReceiveCount` of template.yaml's redrive policy.
pub const MAX_RECEIVES: u32 = 5;

/// A queue in memory that behaves like SQS where it matters: a received message is
/// invisible until it is deleted or `redeliver_unacked` is called (what a visibility
/// timeout expiring does), and a message received `MAX_RECEIVES` times goes to the
/// dead letters on its next receive. Clones share one queue.
#[derive(Debug, Clone, Default)]
pub struct InProcessQueue {
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    /// Waiting to be received, oldest first.
    visible: VecDeque<Message>,
    /// Received and not yet deleted, by receipt.
    in_flight: Vec<(u64, Message)>,
    dead_letters: Vec<String>,
    /// The receipt the next receive hands out: every receive gets a new one, as in SQS.
    next_receipt: u64,
    /// The position of the next message sent, so redelivered messages keep their order.
    next_position: u64,
}

#[derive(Debug, Clone)]
struct Message {
    position: u64,
    body: String,
    receives: u32,
}

const RECEIPT_PREFIX: &str = "in-process-";

impl InProcessQueue {
    pub fn new() -> Self {
        InProcessQueue::default()
    }

    /// Puts `body` on the queue as it is: how tests deliver a malformed message.
    pub fn push_raw(&self, body: &str) {
        let mut state = self.lock();
        let position = state.next_position;
        state.next_position += 1;
        state.visible.push_back(Message { position, body: body.to_owned(), receives: 0 });
    }

    /// Messages not yet deleted (nor dead-lettered): waiting or received.
    pub fn len(&self) -> usize {
        let state = self.lock();
        state.visible.len() + state.in_flight.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Messages received and not yet deleted, which `redeliver_unacked` would bring back.
    pub fn in_flight(&self) -> usize {
        self.lock().in_flight.len()
    }

    /// The bodies of every message not yet deleted, oldest first, without receiving them.
    pub fn bodies(&self) -> Vec<String> {
        let state = self.lock();
        let mut messages: Vec<&Message> =
            state.visible.iter().chain(state.in_flight.iter().map(|(_, message)| message)).collect();
        messages.sort_by_key(|message| message.position);
        messages.into_iter().map(|message| message.body.clone()).collect()
    }

    /// The bodies of the messages received too often, oldest first: the dead-letter queue.
    pub fn dead_letters(&self) -> Vec<String> {
        self.lock().dead_letters.clone()
    }

    /// Makes every received, undeleted message visible again, in its original order:
    /// what the visibility timeout expiring does on SQS. The local server calls it before
    /// each processor run; tests call it to deliver the same messages twice.
    pub fn redeliver_unacked(&self) {
        let mut state = self.lock();
        let mut returning: Vec<Message> = state.in_flight.drain(..).map(|(_, message)| message).collect();
        returning.extend(state.visible.drain(..));
        returning.sort_by_key(|message| message.position);
        state.visible = returning.into();
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every change under the lock is a single push or move, so a panic elsewhere
        // cannot leave the queue half-changed; recover it rather than fail every caller.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl RequestLogSink for InProcessQueue {
    async fn send(&self, record: &RequestLogRecord) -> Result<(), RequestLogError> {
        let body = serde_json::to_string(record).map_err(|error| RequestLogError::new("send", error))?;
        self.push_raw(&body);
        Ok(())
    }
}

#[async_trait]
impl RequestLogSource for InProcessQueue {
    async fn receive(&self, max: usize) -> Result<Vec<QueuedMessage>, RequestLogError> {
        check_batch("receive", max, 1)?;
        let mut state = self.lock();
        let mut received = Vec::new();
        while received.len() < max {
            let Some(mut message) = state.visible.pop_front() else { break };
            if message.receives >= MAX_RECEIVES {
                state.dead_letters.push(message.body);
                continue;
            }
            message.receives += 1;
            let receipt = state.next_receipt;
            state.next_receipt += 1;
            received.push(QueuedMessage { receipt: format!("{RECEIPT_PREFIX}{receipt}"), body: message.body.clone() });
            state.in_flight.push((receipt, message));
        }
        Ok(received)
    }

    async fn delete(&self, receipts: &[String]) -> Result<(), RequestLogError> {
        check_batch("delete", receipts.len(), 0)?;
        let mut state = self.lock();
        let mut numbers = Vec::with_capacity(receipts.len());
        for receipt in receipts {
            // A receipt this queue never handed out is a caller's bug, as SQS's
            // ReceiptHandleIsInvalid says; an old one (the message was redelivered since,
            // or already deleted) deletes nothing, as in SQS.
            let number = receipt
                .strip_prefix(RECEIPT_PREFIX)
                .and_then(|n| n.parse::<u64>().ok())
                .filter(|n| *n < state.next_receipt)
                .ok_or_else(|| RequestLogError::new("delete", format!("the receipt {receipt:?} is invalid")))?;
            numbers.push(number);
        }
        state.in_flight.retain(|(receipt, _)| !numbers.contains(receipt));
        Ok(())
    }

    /// The messages waiting to be received, as SQS's `ApproximateNumberOfMessages` counts.
    async fn remaining(&self) -> Result<Option<usize>, RequestLogError> {
        Ok(Some(self.lock().visible.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(request_id: &str) -> RequestLogRecord {
        RequestLogRecord {
            request_id: request_id.into(),
            timestamp: "2026-01-01T00:00:00.000Z".parse().expect("a time"),
            partner_id: None,
            mode: None,
            method: "GET".into(),
            route: "/api/wallet".into(),
            status: 200,
            latency_ms: 3,
            user_agent: None,
        }
    }

    async fn receipts(queue: &InProcessQueue, max: usize) -> Vec<String> {
        queue.receive(max).await.expect("received").into_iter().map(|m| m.receipt).collect()
    }

    #[tokio::test]
    async fn a_sent_record_is_received_as_its_json() {
        let queue = InProcessQueue::new();

        queue.send(&record("req_1")).await.expect("sent");

        let received = queue.receive(10).await.expect("received");
        let [message] = &received[..] else { panic!("one message: {received:?}") };
        let parsed: RequestLogRecord = serde_json::from_str(&message.body).expect("the body is a record");
        assert_eq!(parsed, record("req_1"));
    }

    #[tokio::test]
    async fn a_received_message_stays_invisible_until_redelivered_and_is_gone_once_deleted() {
        let queue = InProcessQueue::new();
        queue.push_raw("first");
        queue.push_raw("second");

        let first = receipts(&queue, 1).await;
        assert_eq!(queue.receive(10).await.expect("received").len(), 1, "only the second is visible");
        assert_eq!((queue.len(), queue.in_flight()), (2, 2));

        queue.delete(&first).await.expect("deleted");
        queue.redeliver_unacked();

        let again = queue.receive(10).await.expect("received");
        assert_eq!(again.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(), ["second"]);
        queue.delete(&[again[0].receipt.clone()]).await.expect("deleted");
        assert!(queue.is_empty());
    }

    #[tokio::test]
    async fn redelivered_messages_come_back_in_their_original_order() {
        let queue = InProcessQueue::new();
        for body in ["a", "b", "c"] {
            queue.push_raw(body);
        }
        receipts(&queue, 2).await;

        queue.redeliver_unacked();

        assert_eq!(queue.bodies(), ["a", "b", "c"]);
        let bodies: Vec<String> = queue.receive(10).await.expect("received").into_iter().map(|m| m.body).collect();
        assert_eq!(bodies, ["a", "b", "c"]);
    }

    #[tokio::test]
    async fn a_message_received_five_times_is_dead_lettered_on_the_sixth() {
        let queue = InProcessQueue::new();
        queue.push_raw("{not json");

        for _ in 0..MAX_RECEIVES {
            assert_eq!(receipts(&queue, 10).await.len(), 1);
            queue.redeliver_unacked();
        }

        assert!(queue.receive(10).await.expect("received").is_empty());
        assert_eq!(queue.dead_letters(), ["{not json"]);
        assert!(queue.is_empty());
    }

    #[tokio::test]
    async fn an_old_receipt_deletes_nothing_and_a_foreign_one_is_refused() {
        let queue = InProcessQueue::new();
        queue.push_raw("kept");
        let old = receipts(&queue, 1).await;
        queue.redeliver_unacked();
        receipts(&queue, 1).await;

        queue.delete(&old).await.expect("an old receipt is no error");
        assert_eq!(queue.len(), 1, "the message was received again since, so it stays");

        let foreign = queue.delete(&["AQEB-sqs-handle".to_owned()]).await;
        assert!(foreign.is_err());
    }

    #[tokio::test]
    async fn batches_are_held_to_sqs_limits() {
        let queue = InProcessQueue::new();

        assert!(queue.receive(0).await.is_err());
        assert!(queue.receive(11).await.is_err());
        assert!(queue.delete(&vec!["in-process-0".to_owned(); 11]).await.is_err());
        assert!(queue.delete(&[]).await.is_ok());
    }
}
