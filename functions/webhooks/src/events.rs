//! `GET /api/events`, `GET /api/events/{id}` and `POST /api/events/{id}/redeliver`: every
//! change reported to the caller's endpoints, with each delivery attempt.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use steller::AppState;
use steller::domain::{DeliveryAttempt, EventId, EventRecord, EventType, Mode, Timestamp};
use steller::http::openapi::NotFound;
use steller::http::{ApiError, Json, List, ListParams, ListQuery, PartnerCaller, PathId};
use steller::webhooks::dispatch::{DispatchError, redeliver};
use utoipa::ToSchema;

/// One delivery attempt.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AttemptView {
    #[schema(example = "we_01JD2X8Q9V4K7M3N5P6R8S0T2W")]
    endpoint_id: String,
    at: Timestamp,
    /// The status the endpoint answered; null when it did not answer.
    #[schema(example = 200)]
    status: Option<u16>,
    /// Why it did not answer (timed out after 15 s, could not connect); null when it did.
    error: Option<String>,
    #[schema(example = 84)]
    duration_ms: u64,
}

impl From<&DeliveryAttempt> for AttemptView {
    fn from(attempt: &DeliveryAttempt) -> Self {
        AttemptView {
            endpoint_id: attempt.endpoint_id.to_string(),
            at: attempt.at,
            status: attempt.status,
            error: attempt.error.clone(),
            duration_ms: attempt.duration_ms,
        }
    }
}

/// An event as it is delivered (`id`, `type`, `created_at`, `mode`, `data`), with its
/// delivery attempts, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EventView {
    /// The `webhook-id` of every delivery of this event: de-duplicate on it.
    #[schema(example = "evt_01JD2X8Q9V4K7M3N5P6R8S0T2W")]
    id: String,
    #[serde(rename = "type")]
    kind: EventType,
    created_at: Timestamp,
    mode: Mode,
    /// The changed object as the API shows it: an order, a top-up request, or (for
    /// `wallet.credited`) the ledger entry of the credit.
    #[schema(value_type = Object)]
    data: serde_json::Value,
    attempts: Vec<AttemptView>,
}

impl From<EventRecord> for EventView {
    fn from(record: EventRecord) -> Self {
        let event = record.event;
        EventView {
            id: event.id.to_string(),
            kind: event.kind,
            created_at: event.created_at,
            mode: event.mode,
            data: event.data,
            attempts: record.attempts.iter().map(AttemptView::from).collect(),
        }
    }
}

/// The caller's events of the calling key's mode, newest first.
#[utoipa::path(
    get,
    path = "/api/events",
    tag = "webhooks",
    security(("bearer" = []), ("api_key" = [])),
    params(ListParams),
    responses((status = 200, body = List<EventView>)),
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn list_events(
    State(state): State<AppState>,
    caller: PartnerCaller,
    ListQuery(page): ListQuery,
) -> Result<Json<List<EventView>>, ApiError> {
    let events = state.store.list_events(&caller.partner_id, caller.mode, &page).await?;
    Ok(Json(List::from_page(events, EventView::from)))
}

/// One of the caller's events; another partner's or mode's is 404.
#[utoipa::path(
    get,
    path = "/api/events/{id}",
    tag = "webhooks",
    security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The event's id (`evt_…`)")),
    responses((status = 200, body = EventView), NotFound),
)]
#[tracing::instrument(skip_all, fields(event_id = %id))]
pub(crate) async fn get_event(
    State(state): State<AppState>,
    caller: PartnerCaller,
    PathId(id): PathId<EventId>,
) -> Result<Json<EventView>, ApiError> {
    Ok(Json(state.store.event(&caller.partner_id, caller.mode, &id).await?.into()))
}

/// What a redelivery queued.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Redelivery {
    #[schema(example = "evt_01JD2X8Q9V4K7M3N5P6R8S0T2W")]
    event_id: String,
    /// How many endpoints it was queued for: those enabled now that take its type.
    #[schema(example = 1)]
    endpoints: usize,
}

/// Sends the event again, under the same `webhook-id`, to every enabled endpoint that
/// takes its type now, each with a retry schedule of its own. The attempts appear on the
/// event.
#[utoipa::path(
    post,
    path = "/api/events/{id}/redeliver",
    tag = "webhooks",
    security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The event's id (`evt_…`)")),
    responses((status = 202, description = "Queued for delivery", body = Redelivery), NotFound),
)]
#[tracing::instrument(skip_all, fields(event_id = %id))]
pub(crate) async fn redeliver_event(
    State(state): State<AppState>,
    caller: PartnerCaller,
    PathId(id): PathId<EventId>,
) -> Result<(StatusCode, Json<Redelivery>), ApiError> {
    let Some(queue) = state.webhooks.as_deref() else {
        return Err(ApiError::Unavailable("no webhook delivery queue is configured".into()));
    };
    let endpoints = match redeliver(&state.store, queue, &caller.partner_id, caller.mode, &id).await {
        Ok(endpoints) => endpoints,
        Err(DispatchError::Store(error)) => return Err(error.into()),
        Err(DispatchError::Queue(error)) => return Err(ApiError::Unavailable(error)),
    };
    tracing::info!(endpoints, "event queued for redelivery");
    Ok((StatusCode::ACCEPTED, Json(Redelivery { event_id: id.to_string(), endpoints })))
}
