//! One attempt at delivering an event to an endpoint, and what follows it: the attempt
//! recorded on the event, the next try scheduled, or the endpoint disabled after five days
//! of failures. The delivery function on AWS and the local server's tasks both call
//! [`Deliverer::attempt`]; only how they wait between attempts differs.

use std::sync::Arc;
use std::time::Duration;

use super::dispatch::Delivery;
use super::send::Sender;
use super::signing;
use crate::domain::{DeliveryAttempt, Timestamp};
use crate::email::EmailSender;
use crate::store::StoreError;
use crate::{Config, Store, notices};

/// The pauses before each retry: about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h, so
/// eight attempts over about 28 hours, then the dead-letter queue.
pub const RETRY_SCHEDULE: [Duration; 7] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];

/// How long an endpoint may fail every delivery before it is disabled.
pub const DISABLE_AFTER: Duration = Duration::from_secs(5 * 24 * 3600);

/// The retry pauses in use: `RETRY_SCHEDULE`, or a shortened copy for tests.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pauses: Vec<Duration>,
}

impl Schedule {
    /// The production schedule.
    pub fn standard() -> Self {
        Schedule { pauses: RETRY_SCHEDULE.to_vec() }
    }

    /// The production schedule with every pause multiplied by `factor` (0.001 turns 10 h
    /// into 36 s): the local server's `--webhook-retry-scale`.
    pub fn scaled(factor: f64) -> Self {
        Schedule { pauses: RETRY_SCHEDULE.iter().map(|pause| pause.mul_f64(factor.max(0.0))).collect() }
    }

    /// The pause after attempt `attempt` (1 for the first) failed, or `None` when it was the
    /// last.
    pub fn after(&self, attempt: u32) -> Option<Duration> {
        let index = usize::try_from(attempt).ok()?.checked_sub(1)?;
        self.pauses.get(index).copied()
    }

    /// How many attempts a delivery gets: the first, and one per pause.
    pub fn attempts(&self) -> u32 {
        u32::try_from(self.pauses.len()).map_or(u32::MAX, |pauses| pauses + 1)
    }
}

/// What became of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The endpoint answered 2xx.
    Delivered,
    /// It did not; try again after this pause.
    RetryAfter(Duration),
    /// It did not, and that was the last attempt: the delivery goes to the dead-letter queue.
    Exhausted,
    /// Nothing to deliver any more: the endpoint was deleted or disabled, or the event is
    /// gone. Not an error; the delivery ends.
    Dropped(&'static str),
}

/// Everything an attempt needs.
#[derive(Clone)]
pub struct Deliverer {
    pub store: Store,
    pub sender: Sender,
    pub email: Arc<dyn EmailSender>,
    pub config: Arc<Config>,
    pub schedule: Schedule,
}

impl std::fmt::Debug for Deliverer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deliverer").field("schedule", &self.schedule).finish_non_exhaustive()
    }
}

impl Deliverer {
    /// Attempt number `attempt` (1 for the first) of `delivery`: reads the event and the
    /// endpoint as they are now, signs the body with the endpoint's current secrets, POSTs
    /// it, and records the attempt on the event.
    #[tracing::instrument(skip_all, fields(event_id = %delivery.event_id, endpoint_id = %delivery.endpoint_id, attempt))]
    pub async fn attempt(&self, delivery: &Delivery, attempt: u32) -> Result<Outcome, StoreError> {
        let (partner, mode) = (&delivery.partner_id, delivery.mode);
        let event = match self.store.event(partner, mode, &delivery.event_id).await {
            Ok(record) => record.event,
            Err(StoreError::NotFound) => return Ok(Outcome::Dropped("the event no longer exists")),
            Err(other) => return Err(other),
        };
        let endpoint = match self.store.endpoint(partner, mode, &delivery.endpoint_id).await {
            Ok(endpoint) if endpoint.status == crate::domain::EndpointStatus::Enabled => endpoint,
            Ok(_) => return Ok(Outcome::Dropped("the endpoint is disabled")),
            Err(StoreError::NotFound) => return Ok(Outcome::Dropped("the endpoint was deleted")),
            Err(other) => return Err(other),
        };
        let now = Timestamp::now();
        let body = event.body();
        let attempted =
            match signing::headers(&endpoint.signing_secrets(now), &event.id.to_string(), now.unix_seconds(), &body) {
                Ok(headers) => self.sender.send(&endpoint.url, &headers, &body).await,
                Err(error) => {
                    tracing::error!(%error, "the delivery could not be signed");
                    super::send::Attempted { status: None, error: Some("could not be signed".into()), duration_ms: 0 }
                }
            };
        let record = DeliveryAttempt {
            endpoint_id: endpoint.id,
            at: now,
            status: attempted.status,
            error: attempted.error.clone(),
            duration_ms: attempted.duration_ms,
        };
        self.store.record_attempt(&event, &record).await?;
        if record.succeeded() {
            if endpoint.failing_since.is_some() {
                self.store.endpoint_recovered(&endpoint).await?;
            }
            tracing::info!(status = attempted.status, duration_ms = attempted.duration_ms, "webhook delivered");
            return Ok(Outcome::Delivered);
        }
        tracing::info!(status = attempted.status, error = attempted.error, "webhook delivery failed");
        let failing = self.store.endpoint_failed(&endpoint, now).await?;
        let since = failing.failing_since.unwrap_or(now);
        let failing_for = (now.datetime() - since.datetime()).unsigned_abs();
        if failing_for >= DISABLE_AFTER {
            if self.store.disable_endpoint(&failing).await? {
                tracing::warn!(failing_since = %since, "the endpoint failed every delivery for five days: disabled");
                notices::webhook_endpoint_disabled(&*self.email, &self.config, &self.store, &failing).await;
            }
            return Ok(Outcome::Dropped("the endpoint was disabled"));
        }
        Ok(match self.schedule.after(attempt) {
            Some(pause) => Outcome::RetryAfter(pause),
            None => Outcome::Exhausted,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eight_attempts_over_about_28_hours() {
        let schedule = Schedule::standard();
        assert_eq!(schedule.attempts(), 8);
        assert_eq!(schedule.after(1), Some(Duration::from_secs(5)));
        assert_eq!(schedule.after(7), Some(Duration::from_secs(10 * 3600)));
        assert_eq!(schedule.after(8), None);
        assert_eq!(schedule.after(0), None);
        let total: Duration = RETRY_SCHEDULE.iter().sum();
        assert_eq!(total.as_secs(), 5 + 300 + 1800 + 7200 + 18000 + 36000 + 36000);
        assert_eq!(Schedule::scaled(0.001).after(7), Some(Duration::from_secs(36)));
    }
}
