//! `GET/POST /api/webhook-endpoints`, `GET/DELETE /api/webhook-endpoints/{id}` and
//! `POST /api/webhook-endpoints/{id}/rotate-secret`: where a partner's events are sent.
//! An endpoint belongs to the calling key's mode; its secret is shown when it is made and
//! when it is rotated, never again.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use steller::AppState;
use steller::domain::{
    Endpoint, EndpointDescription, EndpointId, EndpointStatus, EventType, Mode, NewEndpoint, Timestamp,
};
use steller::http::openapi::NotFound;
use steller::http::{
    ApiError, IdempotencyHeader, Json, List, ListParams, ListQuery, NO_STORE, PartnerCaller, PathId, Problem,
    Validation, idempotency_scope, idempotent,
};
use steller::store::{Completion, IdempotencyScope, Once};
use steller::webhooks::address::{UrlError, UrlPolicy, check_url, check_url_resolved};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EndpointView {
    #[schema(example = "we_01JD2X8Q9V4K7M3N5P6R8S0T2W")]
    id: String,
    #[schema(example = "https://partner.example/steller/webhooks")]
    url: String,
    /// The event types it is sent.
    events: Vec<EventType>,
    description: Option<String>,
    mode: Mode,
    /// `disabled` after five days of failed deliveries (the partner is emailed).
    status: EndpointStatus,
    created_at: Timestamp,
    /// Until when the secret replaced by the last rotation still signs deliveries, beside
    /// the new one; null when there is none.
    previous_secret_expires_at: Option<Timestamp>,
}

impl From<&Endpoint> for EndpointView {
    fn from(endpoint: &Endpoint) -> Self {
        let now = Timestamp::now();
        EndpointView {
            id: endpoint.id.to_string(),
            url: endpoint.url.clone(),
            events: endpoint.events.clone(),
            description: endpoint.description.clone(),
            mode: endpoint.mode,
            status: endpoint.status,
            created_at: endpoint.created_at,
            previous_secret_expires_at: endpoint
                .previous_secret
                .as_ref()
                .map(|(_, until)| *until)
                .filter(|until| *until > now),
        }
    }
}

/// An endpoint with its signing secret: the answer to creating one and to rotating its
/// secret, the only two times the secret is shown.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EndpointWithSecret {
    #[serde(flatten)]
    endpoint: EndpointView,
    /// Verifies the `webhook-signature` of every delivery (Standard Webhooks). Shown only
    /// in this response: store it now.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwJYpsVnYbrSQ=")]
    secret: String,
}

impl From<&Endpoint> for EndpointWithSecret {
    fn from(endpoint: &Endpoint) -> Self {
        EndpointWithSecret { endpoint: endpoint.into(), secret: endpoint.secret.expose().to_owned() }
    }
}

/// An endpoint creation's `Idempotency-Key` is for this route and body.
const CREATE_ROUTE: &str = "POST /api/webhook-endpoints";

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct CreateEndpointRequest {
    /// Where events are POSTed: `https://`, to an address on the public internet (plain
    /// `http://` only on the local server, and only to `127.0.0.1`, `[::1]` or `localhost`).
    /// At most 2048 characters as stored: non-ASCII characters count percent-encoded.
    #[schema(required = true, value_type = String, example = "https://partner.example/steller/webhooks")]
    url: Option<String>,
    /// The event types to send it: at least one.
    #[schema(required = true, value_type = Vec<EventType>, example = json!(["order.created", "order.cancelled"]))]
    events: Option<Vec<String>>,
    /// A note for the partner's own use, up to 200 characters.
    #[schema(example = "order sync, production")]
    description: Option<String>,
}

/// The event types asked for: at least one, each known, in `EventType` order without
/// repeats.
fn event_types(raw: Option<&[String]>) -> Result<Vec<EventType>, String> {
    let raw = raw.unwrap_or_default();
    if raw.is_empty() {
        return Err("must name at least one event type".into());
    }
    let mut events = raw
        .iter()
        .map(|name| EventType::parse(name).map_err(|error| format!("holds {name:?}, which {error}")))
        .collect::<Result<Vec<_>, _>>()?;
    events.sort();
    events.dedup();
    Ok(events)
}

impl CreateEndpointRequest {
    /// The endpoint asked for, with every invalid field named at once. The URL is checked
    /// against `state`'s rules, after DNS resolution where they ask for public addresses.
    async fn checked(self, state: &AppState, caller: &PartnerCaller) -> Result<NewEndpoint, ApiError> {
        let url = match self.given_url() {
            Some(url) => Some(check_url_resolved(url, state.webhook_urls).await.map(|url| url.to_string())),
            None => None,
        };
        let (url, events, description) = self.fields(url)?;
        Ok(NewEndpoint { partner_id: caller.partner_id, mode: caller.mode, url, events, description })
    }

    /// The URL given, trimmed; none if blank.
    fn given_url(&self) -> Option<&str> {
        self.url.as_deref().map(str::trim).filter(|url| !url.is_empty())
    }

    /// The body's fields, every invalid one named at once; `url` is the given URL as
    /// checked, `None` when none was given.
    fn fields(&self, url: Option<Result<String, UrlError>>) -> Result<EndpointFields, ApiError> {
        let mut check = Validation::default();
        let url = match url {
            None => check.field("url", Err::<String, _>("is required")),
            Some(checked) => check.field("url", checked),
        };
        let events = check.field("events", event_types(self.events.as_deref()));
        let description = check.optional("description", self.description.as_deref(), EndpointDescription::parse);
        let (Some(url), Some(events), Some(description)) = (url, events, description) else {
            return Err(check.into_error());
        };
        Ok((url, events, description))
    }
}

/// A new endpoint's URL, event types and description, each checked.
type EndpointFields = (String, Vec<EventType>, Option<EndpointDescription>);

/// What the `Json` extractor names beside a field of the wrong JSON type. The extractor
/// has no state, so the URL's form is checked without DNS under the local server's rules,
/// the laxer ones: a URL they refuse is refused everywhere. The deployment's own rules
/// run in the handler once every field has its JSON type.
impl From<&CreateEndpointRequest> for Validation {
    fn from(body: &CreateEndpointRequest) -> Self {
        let url = body.given_url().map(|url| check_url(url, UrlPolicy::AllowLoopbackHttp).map(|url| url.to_string()));
        Validation::of(body.fields(url))
    }
}

/// The caller's endpoints of the calling key's mode, newest first.
#[utoipa::path(
    get,
    path = "/api/webhook-endpoints",
    tag = "webhooks",
    security(("bearer" = []), ("api_key" = [])),
    params(ListParams),
    responses((status = 200, body = List<EndpointView>)),
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn list_endpoints(
    State(state): State<AppState>,
    caller: PartnerCaller,
    ListQuery(page): ListQuery,
) -> Result<Json<List<EndpointView>>, ApiError> {
    let endpoints = state.store.list_endpoints(&caller.partner_id, caller.mode, &page).await?;
    Ok(Json(List::from_page(endpoints, |endpoint| EndpointView::from(&endpoint))))
}

/// Registers an endpoint in the calling key's mode. Its secret is in this response only.
///
/// Send an `Idempotency-Key` to retry safely: a retry gets the first answer, secret
/// included, and makes no second endpoint (which would be sent every event too).
#[utoipa::path(
    post,
    path = "/api/webhook-endpoints",
    tag = "webhooks",
    security(("bearer" = []), ("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "1–255 printable characters; retries with the same key and body are replayed")),
    request_body = CreateEndpointRequest,
    responses(
        (status = 201, description = "Created; the secret is shown only in this response and its replays", body = EndpointWithSecret,
            headers(("Idempotent-Replayed" = String, description = "`true` when this is a replay of the key's first answer"))),
        (status = 409, description = "`invalid_state`: the mode already has 16 endpoints", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn create_endpoint(
    State(state): State<AppState>,
    caller: PartnerCaller,
    IdempotencyHeader(key): IdempotencyHeader,
    Json(body): Json<CreateEndpointRequest>,
) -> Result<Response, ApiError> {
    let scope = idempotency_scope(&caller, key, CREATE_ROUTE, &body)?;
    let store = state.store.clone();
    with_secret_once(&store, scope, StatusCode::CREATED, |completion| async move {
        // Checked as part of the work: a refusal here still gets the key's first answer
        // (`idempotent`), so a retry whose URL stopped resolving is replayed, not refused.
        let new = body.checked(&state, &caller).await?;
        let endpoint = state.store.create_endpoint_once(&new, completion.as_ref().map(Once::Request)).await?;
        tracing::info!(endpoint_id = %endpoint.id, mode = %endpoint.mode, "webhook endpoint created");
        Ok(endpoint)
    })
    .await
}

/// Runs `work`, which makes or rotates an endpoint, at most once for `scope`'s key
/// (`idempotent`), and answers `status` with the endpoint and its secret. The secret is in
/// this body only (and its replays): no cache may keep it.
async fn with_secret_once<F, Fut>(
    store: &steller::Store,
    scope: Option<IdempotencyScope>,
    status: StatusCode,
    work: F,
) -> Result<Response, ApiError>
where
    F: FnOnce(Option<Completion<Endpoint>>) -> Fut,
    Fut: Future<Output = Result<Endpoint, ApiError>>,
{
    let answer =
        idempotent(store, scope, status, |endpoint: &Endpoint| EndpointWithSecret::from(endpoint), work).await?;
    Ok((NO_STORE, answer).into_response())
}

/// One of the caller's endpoints; another partner's or mode's is 404.
#[utoipa::path(
    get,
    path = "/api/webhook-endpoints/{id}",
    tag = "webhooks",
    security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The endpoint's id (`we_…`)")),
    responses((status = 200, body = EndpointView), NotFound),
)]
#[tracing::instrument(skip_all, fields(endpoint_id = %id))]
pub(crate) async fn get_endpoint(
    State(state): State<AppState>,
    caller: PartnerCaller,
    PathId(id): PathId<EndpointId>,
) -> Result<Json<EndpointView>, ApiError> {
    Ok(Json(EndpointView::from(&state.store.endpoint(&caller.partner_id, caller.mode, &id).await?)))
}

/// Removes one of the caller's endpoints: nothing more is sent to it, retries included.
#[utoipa::path(
    delete,
    path = "/api/webhook-endpoints/{id}",
    tag = "webhooks",
    security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The endpoint's id (`we_…`)")),
    responses((status = 204, description = "Removed"), NotFound),
)]
#[tracing::instrument(skip_all, fields(endpoint_id = %id))]
pub(crate) async fn delete_endpoint(
    State(state): State<AppState>,
    caller: PartnerCaller,
    PathId(id): PathId<EndpointId>,
) -> Result<StatusCode, ApiError> {
    state.store.delete_endpoint(&caller.partner_id, caller.mode, &id).await?;
    tracing::info!("webhook endpoint removed");
    Ok(StatusCode::NO_CONTENT)
}

/// Gives the endpoint a new secret, shown only in this response.
///
/// For 24 hours the old one signs every delivery too (two `v1,` signatures), so the
/// receiver can switch without missing one. Only the last secret replaced keeps signing:
/// a second rotation ends the first one's old secret at once. So retry a rotation whose
/// answer was lost with the same `Idempotency-Key`: the retry gets the first answer and
/// rotates nothing.
#[utoipa::path(
    post,
    path = "/api/webhook-endpoints/{id}/rotate-secret",
    tag = "webhooks",
    security(("bearer" = []), ("api_key" = [])),
    params(
        ("id" = String, Path, description = "The endpoint's id (`we_…`)"),
        ("Idempotency-Key" = Option<String>, Header, description = "1–255 printable characters; retries with the same key are replayed"),
    ),
    responses((status = 200, description = "Rotated; the new secret is shown only in this response and its replays", body = EndpointWithSecret,
        headers(("Idempotent-Replayed" = String, description = "`true` when this is a replay of the key's first answer"))), NotFound),
)]
#[tracing::instrument(skip_all, fields(endpoint_id = %id))]
pub(crate) async fn rotate_secret(
    State(state): State<AppState>,
    caller: PartnerCaller,
    IdempotencyHeader(key): IdempotencyHeader,
    PathId(id): PathId<EndpointId>,
) -> Result<Response, ApiError> {
    let route = format!("POST /api/webhook-endpoints/{id}/rotate-secret");
    let scope = idempotency_scope(&caller, key, &route, &())?;
    let store = state.store.clone();
    with_secret_once(&store, scope, StatusCode::OK, |completion| async move {
        let once = completion.as_ref().map(Once::Request);
        let endpoint = state.store.rotate_secret_once(&caller.partner_id, caller.mode, &id, once).await?;
        tracing::info!("webhook secret rotated");
        Ok(endpoint)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_are_at_least_one_known_name_kept_once() {
        let names = |raw: &[&str]| raw.iter().map(|name| (*name).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            event_types(Some(&names(&["wallet.credited", "order.created", "order.created"]))),
            Ok(vec![EventType::OrderCreated, EventType::WalletCredited])
        );
        assert!(event_types(Some(&[])).is_err());
        assert!(event_types(None).is_err());
        let unknown = event_types(Some(&names(&["order.created", "order.updated"]))).expect_err("unknown");
        assert!(unknown.contains("order.updated"), "{unknown}");
    }
}
