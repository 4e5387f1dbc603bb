//! `Idempotency-Key` at the HTTP edge: the header, the request fingerprint, and
//! `idempotent`, which runs a money-moving handler at most once per key and replays
//! its first answer to retries (with `Idempotent-Replayed: true`).

use std::future::Future;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{ApiError, PROBLEM_JSON};
use crate::Store;
use crate::domain::IdempotencyKey;
use crate::store::{Claim, ClaimToken, IdempotencyScope, StoredResponse};

pub const IDEMPOTENCY_KEY_HEADER: HeaderName = HeaderName::from_static("idempotency-key");
pub const REPLAYED_HEADER: HeaderName = HeaderName::from_static("idempotent-replayed");

/// The optional `Idempotency-Key` header; a malformed one is a 400.
#[derive(Debug, Clone)]
pub struct IdempotencyHeader(pub Option<IdempotencyKey>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyHeader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(IDEMPOTENCY_KEY_HEADER) else { return Ok(IdempotencyHeader(None)) };
        let key = value.to_str().ok().and_then(|raw| IdempotencyKey::parse(raw).ok()).ok_or_else(|| {
            ApiError::Malformed("the Idempotency-Key header must be 1-255 printable ASCII characters".into())
        })?;
        Ok(IdempotencyHeader(Some(key)))
    }
}

/// A digest of what a request asks for: the route and its parsed body (so spacing and
/// key order in the JSON do not matter, but every value does).
pub fn fingerprint(route: &str, body: &impl Serialize) -> String {
    let mut digest = Sha256::new();
    digest.update(route.as_bytes());
    digest.update(b"\n");
    digest.update(serde_json::to_vec(body).unwrap_or_default());
    hex::encode(digest.finalize())
}

/// The scope of a partner's `Idempotency-Key` for `route`, when the request carries one.
pub fn idempotency_scope(
    caller: &super::PartnerCaller,
    key: Option<IdempotencyKey>,
    route: &str,
    body: &impl Serialize,
) -> Option<IdempotencyScope> {
    key.map(|key| IdempotencyScope {
        partner: caller.partner_id,
        mode: caller.mode,
        key,
        fingerprint: fingerprint(route, body),
    })
}

/// A 201 with `view` as its JSON body, in the form kept for replay.
pub fn created(view: &impl Serialize) -> StoredResponse {
    StoredResponse { status: 201, body: serde_json::to_string(view).unwrap_or_default() }
}

/// A response kept for replay, as the response it stands for.
pub fn stored_response(stored: &StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let content_type = if status.is_success() { "application/json" } else { PROBLEM_JSON };
    (status, [(header::CONTENT_TYPE, content_type)], stored.body.clone()).into_response()
}

/// The claim a handler's work completes in its own transaction.
pub type HeldClaim = (IdempotencyScope, ClaimToken);

/// Runs `work` at most once for `scope`'s key. Without a key it simply runs. With one:
/// a finished request is replayed, a running one is 409, another body is 422. An
/// insufficient-funds answer is kept like a success (the key's first answer stands);
/// any other failure gives the key back, so a retry runs afresh.
pub async fn idempotent<F, Fut>(store: &Store, scope: Option<IdempotencyScope>, work: F) -> Result<Response, ApiError>
where
    F: FnOnce(Option<HeldClaim>) -> Fut,
    Fut: Future<Output = Result<StoredResponse, ApiError>>,
{
    let Some(scope) = scope else {
        return work(None).await.map(|stored| stored_response(&stored));
    };
    let token = match store.claim_idempotency_key(&scope).await? {
        Claim::Acquired(token) => token,
        Claim::Replay(stored) => {
            tracing::info!(status = stored.status, "idempotent replay");
            let mut response = stored_response(&stored);
            response.headers_mut().insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
            return Ok(response);
        }
        Claim::InProgress => return Err(ApiError::IdempotencyInProgress),
        Claim::KeyReused => return Err(ApiError::IdempotencyKeyReused),
    };
    match work(Some((scope.clone(), token.clone()))).await {
        Ok(stored) => Ok(stored_response(&stored)),
        Err(refusal @ ApiError::InsufficientFunds { .. }) => {
            let stored = StoredResponse {
                status: refusal.status().as_u16(),
                body: serde_json::to_string(&refusal.problem()).map_err(ApiError::internal)?,
            };
            tracing::info!(code = refusal.code(), "request refused; kept for idempotent replay");
            store.record_idempotent_response(&scope, &token, &stored).await?;
            Ok(stored_response(&stored))
        }
        Err(error) => {
            if let Err(release) = store.release_idempotency_key(&scope, &token).await {
                // The lease frees the key in LEASE_SECS anyway.
                tracing::warn!(error = %release, "could not release an idempotency key");
            }
            Err(error)
        }
    }
}
