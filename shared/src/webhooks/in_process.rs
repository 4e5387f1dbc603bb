//! The local server's webhooks: the store's outbox tap stands in for DynamoDB Streams and
//! a task per delivery for the SQS queue, around the same `dispatch` and
//! `Deliverer::attempt` the Lambdas run. An event committed while no dispatcher listened
//! (a crash between commit and dispatch) is found by the sweep at start and every
//! `SWEEP_EVERY`. Retries waiting in a task are lost with the process; on AWS they wait in
//! SQS.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc;

use super::delivery::{Deliverer, Outcome};
use super::dispatch::{Delivery, DeliveryQueue, dispatch};
use crate::domain::Event;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How often the sweep looks for events no dispatcher was told of.
pub const SWEEP_EVERY: Duration = Duration::from_secs(30);

/// Deliveries run as tasks of this process, each waiting out its own retry pauses, so a
/// slow or failing endpoint never holds up another's.
#[derive(Debug, Clone)]
pub struct InProcessDeliveries {
    deliverer: Arc<Deliverer>,
}

#[async_trait]
impl DeliveryQueue for InProcessDeliveries {
    async fn enqueue(&self, deliveries: &[Delivery]) -> Result<(), BoxError> {
        for delivery in deliveries {
            tokio::spawn(deliver(self.deliverer.clone(), delivery.clone()));
        }
        Ok(())
    }
}

/// Every attempt of one delivery, until it is delivered, dropped or out of attempts.
async fn deliver(deliverer: Arc<Deliverer>, delivery: Delivery) {
    let mut attempt = 1;
    loop {
        let pause = match deliverer.attempt(&delivery, attempt).await {
            Ok(Outcome::RetryAfter(pause)) => pause,
            Ok(Outcome::Exhausted) => {
                tracing::warn!(event_id = %delivery.event_id, endpoint_id = %delivery.endpoint_id,
                    "the last attempt failed: the delivery is dead-lettered");
                return;
            }
            Ok(Outcome::Delivered | Outcome::Dropped(_)) => return,
            // The store failed around the attempt: wait as after a failed attempt.
            Err(error) => {
                tracing::error!(%error, event_id = %delivery.event_id, "a delivery attempt could not be recorded");
                match deliverer.schedule.after(attempt) {
                    Some(pause) => pause,
                    None => return,
                }
            }
        };
        tokio::time::sleep(pause).await;
        attempt += 1;
    }
}

/// The running in-process dispatcher: what `redeliver` queues to.
#[derive(Debug, Clone)]
pub struct LocalWebhooks {
    pub queue: Arc<InProcessDeliveries>,
}

impl LocalWebhooks {
    /// Taps the store's outbox, and dispatches every event committed from now on, within
    /// moments, and every event a sweep finds undispatched (at once, then every
    /// `sweep_every`).
    pub fn start(deliverer: Deliverer, sweep_every: Duration) -> Self {
        let store = deliverer.store.clone();
        let queue = Arc::new(InProcessDeliveries { deliverer: Arc::new(deliverer) });
        let (tap, mut committed) = mpsc::unbounded_channel::<Event>();
        store.tap_outbox(tap);
        let dispatcher = queue.clone();
        tokio::spawn(async move {
            let mut sweep = tokio::time::interval(sweep_every);
            loop {
                // A failed dispatch leaves the event unmarked: the next sweep finds it again.
                let dispatch_logged = |event: Event| {
                    let (store, dispatcher) = (store.clone(), dispatcher.clone());
                    async move {
                        if let Err(error) = dispatch(&store, dispatcher.as_ref(), &event).await {
                            tracing::error!(%error, event_id = %event.id, "an event could not be dispatched");
                        }
                    }
                };
                tokio::select! {
                    Some(event) = committed.recv() => dispatch_logged(event).await,
                    _ = sweep.tick() => match store.undispatched_events().await {
                        Ok(found) => {
                            for record in found {
                                dispatch_logged(record.event).await;
                            }
                        }
                        Err(error) => tracing::error!(%error, "the outbox sweep could not read the table"),
                    },
                }
            }
        });
        LocalWebhooks { queue }
    }
}
