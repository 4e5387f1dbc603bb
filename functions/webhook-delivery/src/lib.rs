//! The two Lambdas between a committed event and a partner's endpoint.
//!
//! - **Dispatch** is fed by the domain table's DynamoDB stream, filtered to new event
//!   items: for each it queues one delivery per endpoint that wants it
//!   (`steller::webhooks::dispatch`). A record that fails is reported back, and the
//!   stream gives it again.
//! - **Delivery** is fed by the delivery queue. Each message is one attempt
//!   (`Deliverer::attempt`); its receive count is the attempt number. A failed attempt
//!   sets the message's visibility to the next pause of the retry schedule and reports it
//!   as a batch item failure, so only it comes back, then; after the eighth, the queue's
//!   redrive policy moves it to the dead-letter queue. The attempts of one batch run side
//!   by side, so a slow endpoint holds up no other.

use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use lambda_runtime::{LambdaEvent, service_fn};
use serde::Deserialize;
use serde_json::{Value, json};
use steller::config::{SENDER_EMAIL_VAR, TABLE_VAR, WEBHOOK_QUEUE_URL_VAR};
use steller::webhooks::address::UrlPolicy;
use steller::webhooks::delivery::{Deliverer, Outcome, Schedule};
use steller::webhooks::dispatch::{Delivery, DeliveryQueue, SqsDeliveryQueue, dispatch};
use steller::webhooks::send::Sender;
use steller::{Config, Store, aws};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// JSON logs, set up at the first event (not before the first poll, as the HTTP
/// functions' are).
static LOGS: std::sync::Once = std::sync::Once::new();

/// The variables the dispatch function reads: the table, and the queue it fills.
pub const DISPATCH_VARIABLES: &[&str] = &[TABLE_VAR, WEBHOOK_QUEUE_URL_VAR];

/// The variables the delivery function reads: the table, the sender of the email that
/// tells a partner their endpoint was disabled, and the queue whose messages' visibility
/// it sets for each retry.
pub const DELIVERY_VARIABLES: &[&str] = &[TABLE_VAR, SENDER_EMAIL_VAR, WEBHOOK_QUEUE_URL_VAR];

/// `{"batchItemFailures": [...]}`: the records or messages to be given again.
fn failures(ids: Vec<String>) -> Value {
    json!({ "batchItemFailures": ids.into_iter().map(|id| json!({ "itemIdentifier": id })).collect::<Vec<_>>() })
}

// ─── Dispatch ────────────────────────────────────────────────────────────────────────

#[derive(Debug, Deserialize)]
struct StreamEvent {
    #[serde(rename = "Records", default)]
    records: Vec<StreamRecord>,
}

#[derive(Debug, Deserialize)]
struct StreamRecord {
    #[serde(rename = "eventName", default)]
    event_name: String,
    dynamodb: StreamImage,
}

#[derive(Debug, Deserialize)]
struct StreamImage {
    #[serde(rename = "Keys")]
    keys: StreamKeys,
    #[serde(rename = "SequenceNumber")]
    sequence_number: String,
}

#[derive(Debug, Deserialize)]
struct StreamKeys {
    pk: StringValue,
    sk: StringValue,
}

#[derive(Debug, Deserialize)]
struct StringValue {
    #[serde(rename = "S")]
    s: String,
}

/// The store and queue dispatch works with.
#[derive(Debug, Clone)]
pub struct Dispatcher {
    pub store: Store,
    pub queue: Arc<dyn DeliveryQueue>,
}

impl Dispatcher {
    /// One batch of stream records. Records of other items, and events already dispatched
    /// (a batch given again), are passed by; a record that could not be dispatched is
    /// reported, with every one after it, so the stream gives them again in order.
    pub async fn handle(&self, event: Value) -> Result<Value, BoxError> {
        let batch: StreamEvent = serde_json::from_value(event)?;
        let mut failed = Vec::new();
        for record in batch.records {
            let sequence = record.dynamodb.sequence_number.clone();
            if !failed.is_empty() {
                failed.push(sequence);
                continue;
            }
            if record.event_name != "INSERT" {
                continue;
            }
            let keys = &record.dynamodb.keys;
            let dispatched = match self.store.event_at(&keys.pk.s, &keys.sk.s).await {
                Ok(Some(found)) if !found.dispatched => {
                    dispatch(&self.store, self.queue.as_ref(), &found.event).await.map(drop).map_err(BoxError::from)
                }
                Ok(_) => Ok(()),
                Err(error) => Err(error.into()),
            };
            if let Err(error) = dispatched {
                tracing::error!(%error, sequence, "an event could not be dispatched; the stream gives it again");
                failed.push(sequence);
            }
        }
        Ok(failures(failed))
    }
}

/// Serves the dispatch function; clients are made at the first event.
pub async fn serve_dispatch() -> Result<(), lambda_runtime::Error> {
    let config = Config::from_env(DISPATCH_VARIABLES)?;
    let url = config.webhook_queue_url.clone().ok_or(steller::config::ConfigError::Missing(WEBHOOK_QUEUE_URL_VAR))?;
    let dispatcher = async move {
        let sdk = aws::from_environment().await;
        let queue: Arc<dyn DeliveryQueue> = Arc::new(SqsDeliveryQueue::new(aws::sqs(&sdk), url));
        Dispatcher { store: Store::new(aws::dynamodb(&sdk), &config.table), queue }
    }
    .boxed()
    .shared();
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let dispatcher = dispatcher.clone();
        // Boxed: the store's futures nest too deep for the runtime's own layout otherwise.
        async move {
            LOGS.call_once(steller::telemetry::init_json);
            dispatcher.await.handle(event.payload).await
        }
        .boxed()
    }))
    .await
}

// ─── Delivery ────────────────────────────────────────────────────────────────────────

#[derive(Debug, Deserialize)]
struct QueueEvent {
    #[serde(rename = "Records", default)]
    records: Vec<QueueMessage>,
}

#[derive(Debug, Deserialize)]
struct QueueMessage {
    #[serde(rename = "messageId")]
    message_id: String,
    #[serde(rename = "receiptHandle")]
    receipt_handle: String,
    body: String,
    #[serde(default)]
    attributes: MessageAttributes,
}

#[derive(Debug, Default, Deserialize)]
struct MessageAttributes {
    #[serde(rename = "ApproximateReceiveCount")]
    receive_count: Option<String>,
}

/// What delivery works with: the deliverer, and the queue whose messages' visibility
/// schedules the retries.
#[derive(Debug, Clone)]
pub struct Courier {
    pub deliverer: Deliverer,
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: Option<String>,
}

impl Courier {
    /// One batch of deliveries, attempted side by side. Returns the messages to be given
    /// again: each after its retry pause, or at once to go to the dead-letter queue.
    pub async fn handle(&self, event: Value) -> Result<Value, BoxError> {
        let batch: QueueEvent = serde_json::from_value(event)?;
        let attempts = batch.records.iter().map(|message| self.attempt(message));
        let failed = futures::future::join_all(attempts).await.into_iter().flatten().collect();
        Ok(failures(failed))
    }

    /// One message's attempt: `Some(message id)` when it must come back.
    async fn attempt(&self, message: &QueueMessage) -> Option<String> {
        let delivery: Delivery = match serde_json::from_str(&message.body) {
            Ok(delivery) => delivery,
            Err(error) => {
                // Nothing will make it readable: the dead-letter queue keeps it for a look.
                tracing::error!(%error, message_id = message.message_id, "a delivery message is malformed");
                return self.again(message, Duration::ZERO).await;
            }
        };
        let attempt = message.attributes.receive_count.as_deref().and_then(|count| count.parse().ok()).unwrap_or(1);
        let pause = match self.deliverer.attempt(&delivery, attempt).await {
            Ok(Outcome::Delivered | Outcome::Dropped(_)) => return None,
            Ok(Outcome::RetryAfter(pause)) => pause,
            Ok(Outcome::Exhausted) => {
                tracing::warn!(event_id = %delivery.event_id, endpoint_id = %delivery.endpoint_id,
                    "the last attempt failed: the delivery goes to the dead-letter queue");
                Duration::ZERO
            }
            Err(error) => {
                tracing::error!(%error, event_id = %delivery.event_id, "a delivery attempt could not be recorded");
                self.deliverer.schedule.after(attempt).unwrap_or_default()
            }
        };
        self.again(message, pause).await
    }

    /// Reports `message` failed, to come back after `pause` (SQS allows at most 12 h).
    async fn again(&self, message: &QueueMessage, pause: Duration) -> Option<String> {
        if let Some(url) = &self.queue_url {
            let seconds = i32::try_from(pause.as_secs().min(12 * 3600)).unwrap_or(12 * 3600);
            let changed = self
                .sqs
                .change_message_visibility()
                .queue_url(url)
                .receipt_handle(&message.receipt_handle)
                .visibility_timeout(seconds)
                .send()
                .await;
            if let Err(error) = changed {
                // It comes back after the queue's own visibility timeout instead.
                tracing::warn!(error = %steller::telemetry::chain(&error), "the retry pause could not be set");
            }
        }
        Some(message.message_id.clone())
    }
}

/// Serves the delivery function; clients are made at the first event.
pub async fn serve_delivery() -> Result<(), lambda_runtime::Error> {
    let config = Config::from_env(DELIVERY_VARIABLES)?;
    let courier = async move {
        let sdk = aws::from_environment().await;
        let store = Store::new(aws::dynamodb(&sdk), &config.table);
        let email = Arc::new(steller::email::SesSender::new(aws::ses(&sdk)));
        // Fails only on a TLS set-up fault: every invocation then reports it.
        let sender = Sender::new(UrlPolicy::PublicOnly).map_err(|error| steller::telemetry::chain(&error))?;
        let queue_url = config.webhook_queue_url.clone();
        let deliverer = Deliverer { store, sender, email, config: Arc::new(config), schedule: Schedule::standard() };
        Ok::<_, String>(Courier { deliverer, sqs: aws::sqs(&sdk), queue_url })
    }
    .boxed()
    .shared();
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let courier = courier.clone();
        async move {
            LOGS.call_once(steller::telemetry::init_json);
            courier.await?.handle(event.payload).await
        }
        .boxed()
    }))
    .await
}
