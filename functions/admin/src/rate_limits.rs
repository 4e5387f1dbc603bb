//! A partner's rate limits, for ops: `GET /api/admin/partners/{id}/rate-limits`, and
//! `PUT` / `DELETE …/rate-limits/{mode}` to set or clear one mode's override. An override
//! applies to every key of that partner and mode from its next request.

use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use steller::AppState;
use steller::domain::{Mode, ModeQuota, PartnerId, RateLimits, RequestsPerSecond};
use steller::http::openapi::NotFound;
use steller::http::{ApiError, FieldError, Json, OpsCaller, PathId, Validation};
use utoipa::ToSchema;

/// A partner's quotas: requests per second for each API key, per mode.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RateLimitsView {
    #[schema(example = "ptn_01JD2X8Q9V4K7M3N5P6R8S0T2W")]
    partner_id: String,
    sandbox: ModeQuotaView,
    live: ModeQuotaView,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ModeQuotaView {
    /// Requests each key of this mode may make per second (a fixed one-second window).
    #[schema(example = 25, minimum = 1, maximum = 1000)]
    requests_per_second: u32,
    /// `default` (25 in sandbox, 100 in live) or `override` (set by ops).
    #[schema(example = "default", pattern = "^(default|override)$")]
    source: String,
}

impl From<ModeQuota> for ModeQuotaView {
    fn from(quota: ModeQuota) -> Self {
        ModeQuotaView { requests_per_second: quota.requests_per_second.get(), source: quota.source.as_str().to_owned() }
    }
}

fn view(partner: &PartnerId, limits: RateLimits) -> RateLimitsView {
    RateLimitsView { partner_id: partner.to_string(), sandbox: limits.sandbox.into(), live: limits.live.into() }
}

/// A new quota for one mode.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct QuotaBody {
    /// Requests each of the partner's keys of this mode may make per second.
    #[schema(required = true, value_type = u32, example = 200, minimum = 1, maximum = 1000)]
    requests_per_second: Option<serde_json::Value>,
}

impl TryFrom<&QuotaBody> for RequestsPerSecond {
    type Error = ApiError;

    fn try_from(body: &QuotaBody) -> Result<Self, ApiError> {
        let invalid = |reason: String| ApiError::validation([FieldError::new("requests_per_second", reason)]);
        match &body.requests_per_second {
            None | Some(serde_json::Value::Null) => Err(invalid("is required".to_owned())),
            // JSON has one number type: 500.0 is the integer 500, as JSON Schema says.
            Some(value) => whole_number(value)
                .ok_or(steller::domain::BadQuota)
                .and_then(RequestsPerSecond::new)
                .map_err(|error| invalid(error.to_string())),
        }
    }
}

/// What the `Json` extractor names beside a field of the wrong JSON type (any JSON value
/// is read, so there is none today).
impl From<&QuotaBody> for Validation {
    fn from(body: &QuotaBody) -> Self {
        Validation::of(RequestsPerSecond::try_from(body))
    }
}

/// `value` as a non-negative whole number, however it is written (`500`, `500.0`, `5e2`).
fn whole_number(value: &serde_json::Value) -> Option<u64> {
    value.as_u64().or_else(|| {
        let number =
            value.as_f64().filter(|number| number.fract() == 0.0 && (0.0..=u64::MAX as f64).contains(number))?;
        format!("{number:.0}").parse().ok()
    })
}

/// The partner and mode a path names; a malformed one names nothing: 404.
fn partner_and_mode(partner: &str, mode: &str) -> Result<(PartnerId, Mode), ApiError> {
    let partner = partner.parse().map_err(|_| ApiError::NotFound)?;
    let mode = Mode::parse(mode).ok_or(ApiError::NotFound)?;
    Ok((partner, mode))
}

/// The partner's quota per mode, and whether each is the default or an override.
#[utoipa::path(
    get,
    path = "/api/admin/partners/{id}/rate-limits",
    tag = "admin",
    security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The partner's id (`ptn_…`)")),
    responses((status = 200, body = RateLimitsView), NotFound),
)]
#[tracing::instrument(skip_all, fields(partner_id = %id, ops_key = %ops.key_id))]
pub(crate) async fn get_rate_limits(
    State(state): State<AppState>,
    ops: OpsCaller,
    PathId(id): PathId<PartnerId>,
) -> Result<Json<RateLimitsView>, ApiError> {
    let limits = state.store.rate_limits(&id).await?;
    Ok(Json(view(&id, limits)))
}

/// Sets the quota of every key of the partner in `mode`, from each key's next request.
#[utoipa::path(
    put,
    path = "/api/admin/partners/{id}/rate-limits/{mode}",
    tag = "admin",
    security(("bearer" = []), ("api_key" = [])),
    params(
        ("id" = String, Path, description = "The partner's id (`ptn_…`)"),
        ("mode" = String, Path, description = "`sandbox` or `live`", pattern = "^(sandbox|live)$"),
    ),
    request_body = QuotaBody,
    responses(
        (status = 200, description = "The partner's quotas, the new one included", body = RateLimitsView),
        NotFound,
        (status = 422, description = "`validation_failed`: `requests_per_second` is not a whole number from 1 to 1000", body = steller::http::Problem, content_type = "application/problem+json"),
    ),
)]
#[tracing::instrument(skip_all, fields(partner_id = %partner, mode = %mode, ops_key = %ops.key_id))]
pub(crate) async fn set_rate_limit(
    State(state): State<AppState>,
    ops: OpsCaller,
    Path((partner, mode)): Path<(String, String)>,
    Json(body): Json<QuotaBody>,
) -> Result<Json<RateLimitsView>, ApiError> {
    let (partner, mode) = partner_and_mode(&partner, &mode)?;
    let quota = RequestsPerSecond::try_from(&body)?;
    let limits = state.store.set_rate_limit(&partner, mode, Some(quota)).await?;
    tracing::info!(requests_per_second = quota.get(), "rate limit override set");
    Ok(Json(view(&partner, limits)))
}

/// Clears the override of `mode`: the partner's keys go back to the default.
#[utoipa::path(
    delete,
    path = "/api/admin/partners/{id}/rate-limits/{mode}",
    tag = "admin",
    security(("bearer" = []), ("api_key" = [])),
    params(
        ("id" = String, Path, description = "The partner's id (`ptn_…`)"),
        ("mode" = String, Path, description = "`sandbox` or `live`", pattern = "^(sandbox|live)$"),
    ),
    responses((status = 200, description = "The partner's quotas, back to the default in `mode`", body = RateLimitsView), NotFound),
)]
#[tracing::instrument(skip_all, fields(partner_id = %partner, mode = %mode, ops_key = %ops.key_id))]
pub(crate) async fn clear_rate_limit(
    State(state): State<AppState>,
    ops: OpsCaller,
    Path((partner, mode)): Path<(String, String)>,
) -> Result<Json<RateLimitsView>, ApiError> {
    let (partner, mode) = partner_and_mode(&partner, &mode)?;
    let limits = state.store.set_rate_limit(&partner, mode, None).await?;
    tracing::info!("rate limit override cleared");
    Ok(Json(view(&partner, limits)))
}
