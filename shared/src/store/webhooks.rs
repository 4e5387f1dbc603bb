//! Webhook endpoints and events. An event is an item in the same transaction as the
//! change it reports (`push_event`): it exists exactly when the change committed. The
//! dispatcher finds it (through DynamoDB Streams on AWS, by `undispatched_events` in
//! process), and each delivery attempt is appended to it for the partner to read.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::item::{Item, item, read};
use super::transaction::{Slot, Transaction};
use super::{Once, Page, PageError, PageRequest, Store, StoreError, layout};
use crate::domain::{
    DeliveryAttempt, Endpoint, EndpointId, EndpointStatus, Event, EventId, EventRecord, EventType, MAX_ATTEMPTS_KEPT,
    Mode, NewEndpoint, PartnerId, SECRET_OVERLAP_HOURS, Timestamp, WebhookSecret,
};

/// How many endpoints a partner may register in one mode.
pub const MAX_ENDPOINTS: usize = 16;

fn endpoint_item(endpoint: &Endpoint) -> Item {
    let events: Vec<&str> = endpoint.events.iter().map(|kind| kind.as_str()).collect();
    let builder = item(&layout::webhook_endpoint(&endpoint.partner_id, endpoint.mode, &endpoint.id))
        .s("endpoint_id", endpoint.id.to_string())
        .s("partner_id", endpoint.partner_id.to_string())
        .s("mode", endpoint.mode.as_str())
        .s("url", &endpoint.url)
        .s("events", events.join(" "))
        .s_opt("description", endpoint.description.clone())
        .s("status", endpoint.status.as_str())
        .time("created_at", endpoint.created_at)
        .s("secret", endpoint.secret.expose())
        .time_opt("failing_since", endpoint.failing_since);
    match &endpoint.previous_secret {
        Some((secret, until)) => builder.s("previous_secret", secret.expose()).time("previous_secret_until", *until),
        None => builder,
    }
    .build()
}

fn endpoint_from(item: &Item) -> Result<Endpoint, StoreError> {
    let item = read(item);
    let secret = |name: &str| {
        item.s_opt(name)?
            .map(|raw| WebhookSecret::parse(raw).map_err(|_| item.corrupt(format!("{name} is not a webhook secret"))))
            .transpose()
    };
    let previous = match (secret("previous_secret")?, item.time_opt("previous_secret_until")?) {
        (Some(secret), Some(until)) => Some((secret, until)),
        _ => None,
    };
    let events = item
        .s("events")?
        .split(' ')
        .map(|name| EventType::parse(name).map_err(|_| item.corrupt(format!("events holds {name:?}"))))
        .collect::<Result<_, _>>()?;
    Ok(Endpoint {
        id: item.parsed("endpoint_id")?,
        partner_id: item.parsed("partner_id")?,
        mode: item.parsed("mode")?,
        url: item.s("url")?.to_owned(),
        events,
        description: item.s_opt("description")?.map(str::to_owned),
        status: item.parsed_with("status", EndpointStatus::parse)?,
        created_at: item.time("created_at")?,
        secret: secret("secret")?.ok_or_else(|| item.corrupt("secret is missing".into()))?,
        previous_secret: previous,
        failing_since: item.time_opt("failing_since")?,
    })
}

/// Puts the event reporting a change in the change's own transaction: `data` is the
/// changed object as the API shows it (`crate::views`).
pub(crate) fn push_event_of(
    transaction: &mut Transaction,
    partner: &PartnerId,
    mode: Mode,
    kind: EventType,
    at: Timestamp,
    data: &impl serde::Serialize,
) -> Result<Slot, StoreError> {
    let data = serde_json::to_value(data).map_err(StoreError::Unrecordable)?;
    let event = Event::new(*partner, mode, kind, at, data);
    let slot = push_event(transaction, &event)?;
    transaction.carries(event);
    Ok(slot)
}

/// Puts `event` in `transaction`: the outbox item the dispatcher delivers from.
fn push_event(transaction: &mut Transaction, event: &Event) -> Result<Slot, StoreError> {
    let item = item(&layout::event(&event.partner_id, event.mode, &event.id))
        .s("event_id", event.id.to_string())
        .s("partner_id", event.partner_id.to_string())
        .s("mode", event.mode.as_str())
        .s("type", event.kind.as_str())
        .time("created_at", event.created_at)
        .s("data", event.data.to_string())
        .build();
    transaction.put_new(item)
}

fn event_from(item: &Item) -> Result<EventRecord, StoreError> {
    let reader = read(item);
    let data = serde_json::from_str(reader.s("data")?).map_err(|_| reader.corrupt("data is not JSON".into()))?;
    let event = Event {
        id: reader.parsed("event_id")?,
        partner_id: reader.parsed("partner_id")?,
        kind: reader.parsed("type")?,
        created_at: reader.time("created_at")?,
        mode: reader.parsed("mode")?,
        data,
    };
    let attempts = match item.get("attempts") {
        None => Some(Vec::new()),
        Some(AttributeValue::L(list)) => list.iter().map(attempt_from).collect::<Option<_>>(),
        Some(_) => None,
    }
    .ok_or_else(|| reader.corrupt("attempts is not a list of attempts".into()))?;
    Ok(EventRecord { event, attempts, dispatched: reader.s_opt("dispatched_at")?.is_some() })
}

fn attempt_value(attempt: &DeliveryAttempt) -> AttributeValue {
    let mut fields = Item::from([
        ("endpoint_id".to_owned(), AttributeValue::S(attempt.endpoint_id.to_string())),
        ("at".to_owned(), AttributeValue::S(attempt.at.to_string())),
        ("duration_ms".to_owned(), AttributeValue::N(attempt.duration_ms.to_string())),
    ]);
    if let Some(status) = attempt.status {
        fields.insert("status".to_owned(), AttributeValue::N(status.to_string()));
    }
    if let Some(error) = &attempt.error {
        fields.insert("error".to_owned(), AttributeValue::S(error.clone()));
    }
    AttributeValue::M(fields)
}

fn attempt_from(value: &AttributeValue) -> Option<DeliveryAttempt> {
    let fields = value.as_m().ok()?;
    let text = |name: &str| fields.get(name).and_then(|value| value.as_s().ok());
    let number = |name: &str| fields.get(name).and_then(|value| value.as_n().ok());
    Some(DeliveryAttempt {
        endpoint_id: text("endpoint_id")?.parse().ok()?,
        at: text("at")?.parse().ok()?,
        status: match number("status") {
            Some(raw) => Some(raw.parse().ok()?),
            None => None,
        },
        error: text("error").cloned(),
        duration_ms: number("duration_ms")?.parse().ok()?,
    })
}

fn too_many_endpoints() -> StoreError {
    StoreError::InvalidState(format!("a partner may register at most {MAX_ENDPOINTS} webhook endpoints in each mode"))
}

/// Adds `change` (1 or -1) to the count of the partner's endpoints in `mode`, in the
/// transaction that creates or deletes one; a rise is conditioned on the count being
/// below `MAX_ENDPOINTS`. A mode whose endpoints were made before the count was kept
/// has none: the first change writes it from `present`, the endpoints counted just
/// before. That is exact, since any other change committed in between wrote the count,
/// and `if_not_exists` then ignores `present`.
fn count_endpoints(
    transaction: &mut Transaction,
    partner: &PartnerId,
    mode: Mode,
    present: usize,
    change: i8,
) -> Result<Slot, StoreError> {
    let number = |value: String| AttributeValue::N(value);
    transaction.update(&layout::webhook_endpoint_count(partner, mode), |update| {
        let update = update
            .update_expression("SET endpoint_count = if_not_exists(endpoint_count, :present) + :change")
            .expression_attribute_values(":present", number(present.to_string()))
            .expression_attribute_values(":change", number(change.to_string()));
        if change > 0 {
            update
                .condition_expression("attribute_not_exists(endpoint_count) OR endpoint_count < :max")
                .expression_attribute_values(":max", number(MAX_ENDPOINTS.to_string()))
        } else {
            update
        }
    })
}

impl Store {
    /// Registers an endpoint with a fresh secret. A partner has at most `MAX_ENDPOINTS`
    /// in a mode (`InvalidState` beyond), however many are made at once.
    pub async fn create_endpoint(&self, new: &NewEndpoint) -> Result<Endpoint, StoreError> {
        self.create_endpoint_once(new, None).await
    }

    /// [`Store::create_endpoint`], recording `once`'s form token or `Idempotency-Key` in
    /// the same transaction: one already used is `KeyUsed` (with the first request's
    /// answer, to replay), and no endpoint is made.
    pub async fn create_endpoint_once(
        &self,
        new: &NewEndpoint,
        once: Option<Once<'_, Endpoint>>,
    ) -> Result<Endpoint, StoreError> {
        let present = self.endpoints(&new.partner_id, new.mode).await?.len();
        if present >= MAX_ENDPOINTS {
            // A form or request sent again after its first sending made the 16th
            // endpoint: say so (or replay it), not that there is no room.
            if let Some(once) = once
                && let Some(prior) = self.prior_use(once.scope()).await?
            {
                return Err(StoreError::KeyUsed(prior));
            }
            return Err(too_many_endpoints());
        }
        let endpoint = Endpoint {
            id: EndpointId::generate(),
            partner_id: new.partner_id,
            mode: new.mode,
            url: new.url.clone(),
            events: new.events.clone(),
            description: new.description.as_ref().map(|text| text.as_str().to_owned()),
            status: EndpointStatus::Enabled,
            created_at: Timestamp::now(),
            secret: WebhookSecret::generate(),
            previous_secret: None,
            failing_since: None,
        };
        let mut transaction = self.transaction("webhook endpoint");
        transaction.put_new(endpoint_item(&endpoint))?;
        // The count read above is only a quick refusal: creations at the same moment all
        // read 15. The mode's count, raised in the endpoint's own transaction on condition
        // that it is below the cap, is what holds the cap.
        let counted = count_endpoints(&mut transaction, &new.partner_id, new.mode, present, 1)?;
        self.transact_once(transaction, once, &endpoint, |cancelled| {
            if cancelled.failed(counted) { too_many_endpoints() } else { cancelled.unexpected() }
        })
        .await?;
        Ok(endpoint)
    }

    /// Every endpoint of the partner in `mode` (at most `MAX_ENDPOINTS`): what an event is
    /// dispatched to.
    pub async fn endpoints(&self, partner: &PartnerId, mode: Mode) -> Result<Vec<Endpoint>, StoreError> {
        let mut page = PageRequest { limit: super::Limit::LARGEST, after: None };
        let mut all = Vec::new();
        loop {
            let listed = self.list_endpoints(partner, mode, &page).await.map_err(|error| match error {
                PageError::Store(error) => error,
                PageError::Cursor(error) => StoreError::dynamo(error),
            })?;
            all.extend(listed.items);
            match listed.next {
                Some(next) => page.after = Some(next),
                None => return Ok(all),
            }
        }
    }

    /// A page of the partner's endpoints in `mode`, newest first.
    pub async fn list_endpoints(
        &self,
        partner: &PartnerId,
        mode: Mode,
        page: &PageRequest,
    ) -> Result<Page<Endpoint>, PageError> {
        self.newest_first(&layout::webhook_endpoints(partner, mode), page, endpoint_from).await
    }

    /// One endpoint of the partner in `mode`; another partner's or mode's is `NotFound`.
    pub async fn endpoint(&self, partner: &PartnerId, mode: Mode, id: &EndpointId) -> Result<Endpoint, StoreError> {
        endpoint_from(&self.existing(&layout::webhook_endpoint(partner, mode, id)).await?)
    }

    /// Removes an endpoint: nothing more is sent to it. `NotFound` if there is none.
    pub async fn delete_endpoint(&self, partner: &PartnerId, mode: Mode, id: &EndpointId) -> Result<(), StoreError> {
        let present = self.endpoints(partner, mode).await?.len();
        let mut transaction = self.transaction("webhook endpoint removal");
        let removed = transaction.delete_existing(&layout::webhook_endpoint(partner, mode, id))?;
        count_endpoints(&mut transaction, partner, mode, present, -1)?;
        self.transact(transaction, |cancelled| {
            if cancelled.failed(removed) { StoreError::NotFound } else { cancelled.unexpected() }
        })
        .await
    }

    /// Gives the endpoint a new secret. The one it replaces keeps signing, beside the new
    /// one, for `SECRET_OVERLAP_HOURS`, so a receiver can switch without missing a delivery.
    pub async fn rotate_secret(
        &self,
        partner: &PartnerId,
        mode: Mode,
        id: &EndpointId,
    ) -> Result<Endpoint, StoreError> {
        self.rotate_secret_once(partner, mode, id, None).await
    }

    /// [`Store::rotate_secret`], recording `once`'s form token or `Idempotency-Key` in the
    /// rotation's transaction: the same form or request sent again (a reload of the
    /// answer, a retry after a lost response) is `KeyUsed` and rotates nothing, so the
    /// secret the receiver holds keeps signing, and a retried request gets the first
    /// rotation's answer.
    pub async fn rotate_secret_once(
        &self,
        partner: &PartnerId,
        mode: Mode,
        id: &EndpointId,
        once: Option<Once<'_, Endpoint>>,
    ) -> Result<Endpoint, StoreError> {
        // A failed condition means a parallel rotation won: rotate again from its secret.
        loop {
            let current = self.endpoint(partner, mode, id).await?;
            let now = Timestamp::now();
            let rotated = Endpoint {
                secret: WebhookSecret::generate(),
                previous_secret: Some((current.secret.clone(), now.plus_seconds(SECRET_OVERLAP_HOURS * 3600))),
                ..current.clone()
            };
            let text = |value: &str| AttributeValue::S(value.to_owned());
            let (previous, until) = rotated.previous_secret.as_ref().map(|(s, u)| (s.expose(), u.to_string())).unzip();
            let mut transaction = self.transaction("webhook secret rotation");
            let unchanged = transaction.update(&layout::webhook_endpoint(partner, mode, id), |update| {
                update
                    .update_expression("SET secret = :new, previous_secret = :old, previous_secret_until = :until")
                    .condition_expression("secret = :old")
                    .expression_attribute_values(":new", text(rotated.secret.expose()))
                    .expression_attribute_values(":old", text(previous.unwrap_or_default()))
                    .expression_attribute_values(":until", text(&until.unwrap_or_default()))
            })?;
            let written = self
                .transact_once(transaction, once, &rotated, |cancelled| {
                    if cancelled.failed(unchanged) { StoreError::Contended } else { cancelled.unexpected() }
                })
                .await;
            match written {
                Ok(()) => return Ok(rotated),
                Err(StoreError::Contended) => continue,
                Err(other) => return Err(other),
            }
        }
    }

    /// Notes a failed delivery: the endpoint has been failing since its first failure
    /// after its last success. Returns the endpoint as it now is.
    pub async fn endpoint_failed(&self, endpoint: &Endpoint, at: Timestamp) -> Result<Endpoint, StoreError> {
        let output = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(layout::webhook_endpoint(&endpoint.partner_id, endpoint.mode, &endpoint.id).item()))
            .update_expression("SET failing_since = if_not_exists(failing_since, :at)")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":at", AttributeValue::S(at.to_string()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|error| error.condition_failed().err().unwrap_or(StoreError::NotFound))?;
        endpoint_from(&output.attributes.unwrap_or_default())
    }

    /// Notes a successful delivery after failures: the endpoint is no longer failing.
    pub async fn endpoint_recovered(&self, endpoint: &Endpoint) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(layout::webhook_endpoint(&endpoint.partner_id, endpoint.mode, &endpoint.id).item()))
            .update_expression("REMOVE failing_since")
            .condition_expression("attribute_exists(pk)")
            .send()
            .await
            .map_err(|error| error.condition_failed().err().unwrap_or(StoreError::NotFound))?;
        Ok(())
    }

    /// Disables an enabled endpoint. `false` when it already was disabled (or is gone), so
    /// exactly one caller goes on to tell the partner.
    pub async fn disable_endpoint(&self, endpoint: &Endpoint) -> Result<bool, StoreError> {
        let text = |value: &str| AttributeValue::S(value.to_owned());
        let mut transaction = self.transaction("webhook endpoint disabling");
        let was_enabled = transaction.update(
            &layout::webhook_endpoint(&endpoint.partner_id, endpoint.mode, &endpoint.id),
            |update| {
                update
                    .update_expression("SET #status = :disabled")
                    .condition_expression("#status = :enabled")
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":disabled", text(EndpointStatus::Disabled.as_str()))
                    .expression_attribute_values(":enabled", text(EndpointStatus::Enabled.as_str()))
            },
        )?;
        let written = self
            .transact(transaction, |cancelled| {
                if cancelled.failed(was_enabled) { StoreError::Contended } else { cancelled.unexpected() }
            })
            .await;
        match written {
            Ok(()) => Ok(true),
            Err(StoreError::Contended) => Ok(false),
            Err(other) => Err(other),
        }
    }

    /// One of the partner's events in `mode`, with its delivery attempts.
    pub async fn event(&self, partner: &PartnerId, mode: Mode, id: &EventId) -> Result<EventRecord, StoreError> {
        event_from(&self.existing(&layout::event(partner, mode, id)).await?)
    }

    /// The event a DynamoDB stream record's keys name, or `None` when they name another item.
    pub async fn event_at(&self, pk: &str, sk: &str) -> Result<Option<EventRecord>, StoreError> {
        let Some((partner, mode, id)) = layout::event_of(pk, sk) else { return Ok(None) };
        match self.event(&partner, mode, &id).await {
            Ok(record) => Ok(Some(record)),
            Err(StoreError::NotFound) => Ok(None),
            Err(other) => Err(other),
        }
    }

    /// A page of the partner's events in `mode`, newest first.
    pub async fn list_events(
        &self,
        partner: &PartnerId,
        mode: Mode,
        page: &PageRequest,
    ) -> Result<Page<EventRecord>, PageError> {
        self.newest_first(&layout::events(partner, mode), page, event_from).await
    }

    /// Appends a delivery attempt to its event. Past `MAX_ATTEMPTS_KEPT` the attempt is
    /// only logged: the event item stays small.
    pub async fn record_attempt(&self, event: &Event, attempt: &DeliveryAttempt) -> Result<(), StoreError> {
        let written = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(layout::event(&event.partner_id, event.mode, &event.id).item()))
            .update_expression("SET attempts = list_append(if_not_exists(attempts, :none), :attempt)")
            .condition_expression("attribute_exists(pk) AND (attribute_not_exists(attempts) OR size(attempts) < :max)")
            .expression_attribute_values(":none", AttributeValue::L(Vec::new()))
            .expression_attribute_values(":attempt", AttributeValue::L(vec![attempt_value(attempt)]))
            .expression_attribute_values(":max", AttributeValue::N(MAX_ATTEMPTS_KEPT.to_string()))
            .send()
            .await;
        match written.map_err(ConditionFailure::condition_failed) {
            Ok(_) => Ok(()),
            Err(Ok(())) => {
                tracing::info!(event_id = %event.id, "the event holds all the attempts it keeps; this one is not recorded");
                Ok(())
            }
            Err(Err(error)) => Err(error),
        }
    }

    /// Every event not yet handed to the delivery queue, oldest first: what the local
    /// server's sweep delivers after a restart. A scan of the whole table, so tooling only.
    #[cfg(feature = "tooling")]
    pub async fn undispatched_events(&self) -> Result<Vec<EventRecord>, StoreError> {
        let mut found = Vec::new();
        self.scan_each(
            |scan| {
                scan.filter_expression("begins_with(sk, :event) AND attribute_not_exists(dispatched_at)")
                    .expression_attribute_values(":event", AttributeValue::S(layout::EVENT.to_owned()))
            },
            |item| {
                found.push(event_from(item)?);
                Ok(())
            },
        )
        .await?;
        found.sort_by_key(|record| record.event.id);
        Ok(found)
    }

    /// Marks the event handed to the delivery queue, so the in-process sweep passes it by.
    pub async fn mark_dispatched(&self, event: &Event, at: Timestamp) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(layout::event(&event.partner_id, event.mode, &event.id).item()))
            .update_expression("SET dispatched_at = :at")
            .expression_attribute_values(":at", AttributeValue::S(at.to_string()))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }
}

/// What an `UpdateItem` failure means: `Ok(())` when its condition failed, otherwise the
/// store's error for it.
trait ConditionFailure {
    fn condition_failed(self) -> Result<(), StoreError>;
}

impl<R> ConditionFailure
    for aws_sdk_dynamodb::error::SdkError<aws_sdk_dynamodb::operation::update_item::UpdateItemError, R>
where
    R: std::fmt::Debug + Send + Sync + 'static,
{
    fn condition_failed(self) -> Result<(), StoreError> {
        if self.as_service_error().is_some_and(|error| error.is_conditional_check_failed_exception()) {
            Ok(())
        } else {
            Err(StoreError::from_sdk(self))
        }
    }
}
