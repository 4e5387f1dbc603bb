//! `GET /api/keys`, `POST /api/keys`, `DELETE /api/keys/{id}`: a partner's API keys.
//! A new key is shown once; listings show only its prefix.
//!
//! A key sees and manages only keys of its own mode, so a leaked sandbox key can never
//! make, list or revoke a live key: live keys come from the signed-in owner in the portal,
//! or from a live key, and only once the partner's email is verified.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use steller::AppState;
use steller::domain::{KeyId, KeyName, KeyRequest, KeySummary, Mode, NewKey, Timestamp};
use steller::http::openapi::NotFound;
use steller::http::{
    ApiError, Json, List, ListParams, ListQuery, NO_STORE, NoStore, PartnerCaller, PathId, Problem, Validation,
};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct KeyView {
    #[schema(example = "key_01JD2X8Q9V4K7M3N5P6R8S0T2W")]
    id: String,
    name: Option<String>,
    mode: Mode,
    /// The start of the key, to recognise it by.
    #[schema(example = "stl_live_4f8K")]
    prefix: String,
    created_at: Timestamp,
    revoked_at: Option<Timestamp>,
}

impl From<KeySummary> for KeyView {
    fn from(key: KeySummary) -> Self {
        KeyView {
            id: key.id.to_string(),
            name: key.name,
            mode: key.mode,
            prefix: key.prefix,
            created_at: key.created_at,
            revoked_at: key.revoked_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct CreateKeyRequest {
    /// Which wallet and data the key works on.
    #[schema(required = true, value_type = Mode)]
    mode: Option<String>,
    /// A label, up to 100 characters.
    #[schema(example = "production backend")]
    name: Option<String>,
}

impl TryFrom<&CreateKeyRequest> for KeyRequest {
    type Error = ApiError;

    fn try_from(body: &CreateKeyRequest) -> Result<Self, ApiError> {
        let mut check = Validation::default();
        let mode = check.required("mode", body.mode.as_deref(), str::parse::<Mode>);
        let name = check.optional("name", body.name.as_deref(), KeyName::parse);
        let (Some(mode), Some(name)) = (mode, name) else {
            return Err(check.into_error());
        };
        Ok(KeyRequest { mode, name })
    }
}

/// What the `Json` extractor names beside a field of the wrong JSON type.
impl From<&CreateKeyRequest> for Validation {
    fn from(body: &CreateKeyRequest) -> Self {
        Validation::of(KeyRequest::try_from(body))
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CreatedKey {
    #[serde(flatten)]
    summary: KeyView,
    /// The key itself. Shown only in this response: store it now.
    #[schema(example = "stl_live_4f8KqZ0x…")]
    key: String,
}

/// The caller's keys of the calling key's mode, newest first, revoked ones included.
/// Never the keys themselves.
#[utoipa::path(
    get,
    path = "/api/keys",
    tag = "keys",
    security(("bearer" = []), ("api_key" = [])),
    params(ListParams),
    responses((status = 200, body = List<KeyView>)),
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn list_keys(
    State(state): State<AppState>,
    caller: PartnerCaller,
    ListQuery(page): ListQuery,
) -> Result<Json<List<KeyView>>, ApiError> {
    let keys = state.store.list_keys(&caller.partner_id, Some(caller.mode), &page).await?;
    Ok(Json(List::from_page(keys, KeyView::from)))
}

/// Creates a key of the calling key's mode: a sandbox key makes sandbox keys, a live key
/// live ones (and only once the partner's email is verified).
#[utoipa::path(
    post,
    path = "/api/keys",
    tag = "keys",
    security(("bearer" = []), ("api_key" = [])),
    request_body = CreateKeyRequest,
    responses(
        (status = 201, description = "Created; the key is shown only in this response", body = CreatedKey),
        (status = 403, description = "`forbidden`: a key of the other mode was asked for (a sandbox key cannot make a live key), or a live key before the partner's email is verified", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn create_key(
    State(state): State<AppState>,
    caller: PartnerCaller,
    Json(body): Json<CreateKeyRequest>,
) -> Result<(StatusCode, NoStore, Json<CreatedKey>), ApiError> {
    let request = KeyRequest::try_from(&body)?;
    if request.mode != caller.mode {
        return Err(ApiError::NotPermitted(
            "a key makes only keys of its own mode: live keys come from the portal or from a live key",
        ));
    }
    if request.mode == Mode::Live && !state.store.partner(&caller.partner_id).await?.email_verified() {
        return Err(ApiError::NotPermitted("live keys need a verified email: sign in to the portal once"));
    }
    let new = NewKey::generate(request.mode, request.name);
    state.store.create_key(&caller.partner_id, &new).await?;
    tracing::info!(key_id = %new.summary.id, mode = %request.mode, "key created");
    let key = new.key.expose().to_owned();
    // The key is in this body only: no cache may keep it.
    Ok((StatusCode::CREATED, NO_STORE, Json(CreatedKey { summary: new.summary.into(), key })))
}

/// Revokes one of the caller's keys of the calling key's mode; it gets 401 from the next
/// request on. Revoking a revoked key returns it unchanged; a key of the other mode is 404.
#[utoipa::path(
    delete,
    path = "/api/keys/{id}",
    tag = "keys",
    security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The key's id (`key_…`)")),
    responses((status = 200, description = "The key, now revoked", body = KeyView), NotFound),
)]
#[tracing::instrument(skip_all, fields(key_id = %id))]
pub(crate) async fn revoke_key(
    State(state): State<AppState>,
    caller: PartnerCaller,
    PathId(id): PathId<KeyId>,
) -> Result<Json<KeyView>, ApiError> {
    let revoked = state.store.revoke_key(&caller.partner_id, Some(caller.mode), &id).await?;
    tracing::info!("key revoked");
    Ok(Json(revoked.into()))
}
