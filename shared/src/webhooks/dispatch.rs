//! From a committed event to one delivery per endpoint that wants it. The same code runs
//! behind DynamoDB Streams on AWS (the dispatch function) and behind the store's outbox
//! tap in process (the local server).

use std::fmt;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::Store;
use crate::domain::{EndpointId, Event, EventId, Mode, PartnerId, Timestamp};
use crate::store::StoreError;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One event for one endpoint: the message of the delivery queue. It names them rather
/// than carrying them, so each attempt reads the endpoint as it is then (its URL, its
/// secrets, whether it still exists).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub partner_id: PartnerId,
    pub mode: Mode,
    pub event_id: EventId,
    pub endpoint_id: EndpointId,
}

/// Where deliveries wait for their attempts: SQS on AWS, tasks in process locally.
#[async_trait]
pub trait DeliveryQueue: Send + Sync + fmt::Debug {
    /// Queues every delivery, or fails: a failed dispatch is tried again whole, and an
    /// endpoint told twice sees the same `webhook-id`.
    async fn enqueue(&self, deliveries: &[Delivery]) -> Result<(), BoxError>;
}

/// Why an event could not be dispatched; the caller tries again.
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the delivery queue refused the deliveries")]
    Queue(#[source] BoxError),
}

/// Queues a delivery of `event` to every enabled endpoint of its partner and mode that
/// subscribed to its type, then marks it dispatched. Returns how many were queued.
pub async fn dispatch(store: &Store, queue: &dyn DeliveryQueue, event: &Event) -> Result<usize, DispatchError> {
    let queued = queue_deliveries(store, queue, event).await?;
    store.mark_dispatched(event, Timestamp::now()).await?;
    tracing::info!(event_id = %event.id, kind = %event.kind, endpoints = queued, "event dispatched");
    Ok(queued)
}

/// Sends one of the partner's events again to every endpoint that wants it now, each with
/// a retry schedule of its own. `NotFound` for another partner's or mode's event. The
/// event was dispatched when it was committed: it is not marked again.
pub async fn redeliver(
    store: &Store,
    queue: &dyn DeliveryQueue,
    partner: &PartnerId,
    mode: Mode,
    id: &EventId,
) -> Result<usize, DispatchError> {
    let record = store.event(partner, mode, id).await?;
    queue_deliveries(store, queue, &record.event).await
}

/// One delivery of `event` queued for each enabled endpoint that takes its type.
async fn queue_deliveries(store: &Store, queue: &dyn DeliveryQueue, event: &Event) -> Result<usize, DispatchError> {
    let endpoints = store.endpoints(&event.partner_id, event.mode).await?;
    let deliveries: Vec<Delivery> = endpoints
        .iter()
        .filter(|endpoint| endpoint.wants(event.kind))
        .map(|endpoint| Delivery {
            partner_id: event.partner_id,
            mode: event.mode,
            event_id: event.id,
            endpoint_id: endpoint.id,
        })
        .collect();
    if !deliveries.is_empty() {
        queue.enqueue(&deliveries).await.map_err(DispatchError::Queue)?;
    }
    Ok(deliveries.len())
}

/// The SQS queue deliveries go through on AWS. Its messages' receive count is the attempt
/// number; its redrive policy moves a delivery to the dead-letter queue after the last.
#[derive(Debug, Clone)]
pub struct SqsDeliveryQueue {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsDeliveryQueue {
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> Self {
        SqsDeliveryQueue { client, queue_url: queue_url.into() }
    }

    pub fn client(&self) -> &aws_sdk_sqs::Client {
        &self.client
    }

    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }
}

#[async_trait]
impl DeliveryQueue for SqsDeliveryQueue {
    async fn enqueue(&self, deliveries: &[Delivery]) -> Result<(), BoxError> {
        use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
        // SendMessageBatch takes ten messages at most.
        for batch in deliveries.chunks(10) {
            let entries = batch
                .iter()
                .enumerate()
                .map(|(index, delivery)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(index.to_string())
                        .message_body(serde_json::to_string(delivery)?)
                        .build()
                        .map_err(BoxError::from)
                })
                .collect::<Result<Vec<_>, BoxError>>()?;
            let sent =
                self.client.send_message_batch().queue_url(&self.queue_url).set_entries(Some(entries)).send().await?;
            if !sent.failed().is_empty() {
                return Err(format!("SQS refused {} of {} deliveries", sent.failed().len(), batch.len()).into());
            }
        }
        Ok(())
    }
}
