//! Webhook endpoints, their signing secrets, and the events delivered to them.

use std::fmt;

use base64::Engine;
use rand::RngCore;
use serde::Serialize;
use utoipa::ToSchema;

use super::{EndpointDescription, EndpointId, EventId, Mode, PartnerId, Timestamp};

/// What a change is called in an event's `type`, and in an endpoint's `events`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, ToSchema)]
pub enum EventType {
    #[serde(rename = "order.created")]
    OrderCreated,
    #[serde(rename = "order.cancelled")]
    OrderCancelled,
    #[serde(rename = "top_up.requested")]
    TopUpRequested,
    #[serde(rename = "top_up.approved")]
    TopUpApproved,
    #[serde(rename = "top_up.rejected")]
    TopUpRejected,
    #[serde(rename = "wallet.credited")]
    WalletCredited,
}

impl EventType {
    pub const ALL: [EventType; 6] = [
        EventType::OrderCreated,
        EventType::OrderCancelled,
        EventType::TopUpRequested,
        EventType::TopUpApproved,
        EventType::TopUpRejected,
        EventType::WalletCredited,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::OrderCreated => "order.created",
            EventType::OrderCancelled => "order.cancelled",
            EventType::TopUpRequested => "top_up.requested",
            EventType::TopUpApproved => "top_up.approved",
            EventType::TopUpRejected => "top_up.rejected",
            EventType::WalletCredited => "wallet.credited",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, UnknownEventType> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == raw).ok_or(UnknownEventType)
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for EventType {
    type Err = UnknownEventType;
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Self::parse(raw)
    }
}

/// The text names no event type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "is not an event type (one of order.created, order.cancelled, top_up.requested, top_up.approved, top_up.rejected, wallet.credited)"
)]
pub struct UnknownEventType;

/// An endpoint's signing secret: `whsec_` and the base64 of 32 random bytes, the form
/// Standard Webhooks libraries take. Unlike an API key it is kept as it is, since every
/// delivery is signed with it; its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

/// How long a rotated-out secret still signs deliveries beside the new one.
pub const SECRET_OVERLAP_HOURS: i64 = 24;

const SECRET_PREFIX: &str = "whsec_";
const SECRET_BYTES: usize = 32;

impl WebhookSecret {
    /// A new random secret.
    pub fn generate() -> Self {
        let mut bytes = [0u8; SECRET_BYTES];
        rand::rng().fill_bytes(&mut bytes);
        WebhookSecret(format!("{SECRET_PREFIX}{}", base64::engine::general_purpose::STANDARD.encode(bytes)))
    }

    /// A stored secret, checked for its form.
    pub fn parse(raw: &str) -> Result<Self, SecretError> {
        let encoded = raw.strip_prefix(SECRET_PREFIX).ok_or(SecretError)?;
        let bytes = base64::engine::general_purpose::STANDARD.decode(encoded).map_err(|_| SecretError)?;
        if bytes.len() != SECRET_BYTES {
            return Err(SecretError);
        }
        Ok(WebhookSecret(raw.to_owned()))
    }

    /// The secret as the partner is shown it once, and as it is stored.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(whsec_…)")
    }
}

/// The text is not a `whsec_` secret of 32 bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("is not a webhook secret (whsec_ and 32 bytes in base64)")]
pub struct SecretError;

/// Whether an endpoint is sent events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EndpointStatus {
    Enabled,
    /// Failed every delivery for five days: no longer sent anything. The partner was emailed.
    Disabled,
}

impl EndpointStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointStatus::Enabled => "enabled",
            EndpointStatus::Disabled => "disabled",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [EndpointStatus::Enabled, EndpointStatus::Disabled].into_iter().find(|status| status.as_str() == raw)
    }
}

/// What a partner asks for when registering an endpoint, already checked.
#[derive(Debug, Clone)]
pub struct NewEndpoint {
    pub partner_id: PartnerId,
    pub mode: Mode,
    /// Checked against the URL rules (`webhooks::address`).
    pub url: String,
    /// Never empty, without repeats, in `EventType` order.
    pub events: Vec<EventType>,
    pub description: Option<EndpointDescription>,
}

/// A registered endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub id: EndpointId,
    pub partner_id: PartnerId,
    pub mode: Mode,
    pub url: String,
    pub events: Vec<EventType>,
    pub description: Option<String>,
    pub status: EndpointStatus,
    pub created_at: Timestamp,
    pub secret: WebhookSecret,
    /// The secret rotated out, and until when it still signs deliveries.
    pub previous_secret: Option<(WebhookSecret, Timestamp)>,
    /// Since when every delivery to it has failed; `None` after a success.
    pub failing_since: Option<Timestamp>,
}

impl Endpoint {
    /// Whether it is sent events of `kind`.
    pub fn wants(&self, kind: EventType) -> bool {
        self.status == EndpointStatus::Enabled && self.events.contains(&kind)
    }

    /// The secrets a delivery made at `now` is signed with: the current one, and the
    /// rotated-out one during its overlap.
    pub fn signing_secrets(&self, now: Timestamp) -> Vec<&WebhookSecret> {
        let previous = self.previous_secret.iter().filter(|(_, until)| now < *until).map(|(secret, _)| secret);
        std::iter::once(&self.secret).chain(previous).collect()
    }
}

/// One committed change, as delivered: `data` is the object as the API shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: EventId,
    pub partner_id: PartnerId,
    pub kind: EventType,
    pub created_at: Timestamp,
    pub mode: Mode,
    pub data: serde_json::Value,
}

impl Event {
    /// A new event of a change made at `at`.
    pub fn new(partner_id: PartnerId, mode: Mode, kind: EventType, at: Timestamp, data: serde_json::Value) -> Self {
        Event { id: EventId::generate_at(at), partner_id, kind, created_at: at, mode, data }
    }

    /// The body every endpoint is sent: `{"id", "type", "created_at", "mode", "data"}`,
    /// the same bytes on every attempt.
    pub fn body(&self) -> String {
        serde_json::json!({
            "id": self.id.to_string(),
            "type": self.kind.as_str(),
            "created_at": self.created_at.to_string(),
            "mode": self.mode.as_str(),
            "data": self.data,
        })
        .to_string()
    }
}

/// One try at delivering an event to an endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAttempt {
    pub endpoint_id: EndpointId,
    pub at: Timestamp,
    /// The status code the endpoint answered with; null when it did not answer.
    pub status: Option<u16>,
    /// Why it did not answer (timed out, could not connect); null when it did.
    pub error: Option<String>,
    pub duration_ms: u64,
}

impl DeliveryAttempt {
    /// A 2xx.
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|status| (200..300).contains(&status))
    }
}

/// An event with what became of it.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    pub event: Event,
    /// Oldest first; the first `MAX_ATTEMPTS_KEPT` are kept.
    pub attempts: Vec<DeliveryAttempt>,
    /// Whether it has been handed to the delivery queue.
    pub dispatched: bool,
}

/// How many delivery attempts an event keeps: eight tries to each of a few endpoints, and
/// redeliveries.
pub const MAX_ATTEMPTS_KEPT: usize = 100;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_type_reads_back_from_its_name() {
        for kind in EventType::ALL {
            assert_eq!(EventType::parse(kind.as_str()), Ok(kind));
            assert_eq!(serde_json::to_value(kind).expect("serialises"), kind.as_str());
        }
        assert_eq!(EventType::parse("order.updated"), Err(UnknownEventType));
    }

    #[test]
    fn a_secret_is_whsec_and_32_bytes_and_never_printed() {
        let secret = WebhookSecret::generate();
        assert!(secret.expose().starts_with("whsec_"));
        assert_eq!(WebhookSecret::parse(secret.expose()), Ok(secret.clone()));
        assert_ne!(WebhookSecret::generate(), secret);
        assert!(!format!("{secret:?}").contains(&secret.expose()[6..]));
        assert_eq!(WebhookSecret::parse("whsec_c2hvcnQ="), Err(SecretError));
        assert_eq!(WebhookSecret::parse("sk_abc"), Err(SecretError));
    }

    #[test]
    fn the_rotated_out_secret_signs_only_until_its_overlap_ends() {
        let at = |raw: &str| raw.parse::<Timestamp>().expect("a time");
        let endpoint = Endpoint {
            id: EndpointId::generate(),
            partner_id: PartnerId::generate(),
            mode: Mode::Sandbox,
            url: "https://example.com/hook".into(),
            events: vec![EventType::OrderCreated],
            description: None,
            status: EndpointStatus::Enabled,
            created_at: at("2026-11-01T00:00:00.000Z"),
            secret: WebhookSecret::generate(),
            previous_secret: Some((WebhookSecret::generate(), at("2026-11-02T00:00:00.000Z"))),
            failing_since: None,
        };
        assert_eq!(endpoint.signing_secrets(at("2026-11-01T12:00:00.000Z")).len(), 2);
        assert_eq!(endpoint.signing_secrets(at("2026-11-02T00:00:00.000Z")), vec![&endpoint.secret]);
        assert!(endpoint.wants(EventType::OrderCreated) && !endpoint.wants(EventType::WalletCredited));
    }
}
