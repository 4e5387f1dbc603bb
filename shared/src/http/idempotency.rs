//! `Idempotency-Key` at the HTTP edge: the header, the request fingerprint, and
//! `idempotent`, which runs a creating handler at most once per key and replays its
//! first answer to retries (with `Idempotent-Replayed: true`).

use std::future::Future;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{ApiError, PROBLEM_JSON};
use crate::Store;
use crate::domain::IdempotencyKey;
use crate::store::{Completion, IdempotencyScope, PriorUse, Render, StoreError, StoredResponse};
use crate::telemetry::{chain, current_request_id};

pub const IDEMPOTENCY_KEY_HEADER: HeaderName = HeaderName::from_static("idempotency-key");
pub const REPLAYED_HEADER: HeaderName = HeaderName::from_static("idempotent-replayed");

/// The optional `Idempotency-Key` header; a malformed one, or more than one, is a 400.
#[derive(Debug, Clone)]
pub struct IdempotencyHeader(pub Option<IdempotencyKey>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyHeader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let mut values = parts.headers.get_all(IDEMPOTENCY_KEY_HEADER).iter();
        let Some(value) = values.next() else { return Ok(IdempotencyHeader(None)) };
        // Picking one of two keys would make a retry's fate depend on which one a proxy
        // kept; the caller must say which request this is.
        if values.next().is_some() {
            return Err(ApiError::Malformed("send one Idempotency-Key header, not several".into()));
        }
        let key = value.to_str().ok().and_then(|raw| IdempotencyKey::parse(raw).ok()).ok_or_else(|| {
            ApiError::Malformed("the Idempotency-Key header must be 1-255 printable ASCII characters".into())
        })?;
        Ok(IdempotencyHeader(Some(key)))
    }
}

/// A digest of what a request asks for: the route and its parsed body (so spacing and
/// key order in the JSON do not matter, but every value does).
pub fn fingerprint(route: &str, body: &impl Serialize) -> Result<String, ApiError> {
    let body = serde_json::to_vec(body).map_err(ApiError::internal)?;
    let mut digest = Sha256::new();
    digest.update(route.as_bytes());
    digest.update(b"\n");
    digest.update(body);
    Ok(hex::encode(digest.finalize()))
}

/// The scope of a partner's `Idempotency-Key` for `route`, when the request carries one.
pub fn idempotency_scope(
    caller: &super::PartnerCaller,
    key: Option<IdempotencyKey>,
    route: &str,
    body: &impl Serialize,
) -> Result<Option<IdempotencyScope>, ApiError> {
    let Some(key) = key else { return Ok(None) };
    Ok(Some(IdempotencyScope {
        partner: caller.partner_id,
        mode: caller.mode,
        key,
        fingerprint: fingerprint(route, body)?,
    }))
}

/// Runs `work`, which creates or changes something, at most once for `scope`'s key, and
/// answers `status` (201 for a creation) with `view` of what it made. Without a key it
/// simply runs. With one, `work` gets the key's completion to write in its own
/// transaction, so the response is kept exactly when the change is, and the store reads
/// the key's record with what the work reads anyway: a finished request is replayed,
/// another body is 422 (ADR 0011). An
/// insufficient-funds answer is kept like a success (the key's first answer stands); any
/// other failure writes nothing, so a retry runs afresh, unless the key's first answer
/// exists, which is then the answer.
pub async fn idempotent<T, V, F, Fut>(
    store: &Store,
    scope: Option<IdempotencyScope>,
    status: StatusCode,
    view: impl Fn(&T) -> V + Send + Sync + 'static,
    work: F,
) -> Result<Response, ApiError>
where
    V: Serialize,
    F: FnOnce(Option<Completion<T>>) -> Fut,
    Fut: Future<Output = Result<T, ApiError>>,
{
    let render: Render<T> = Arc::new(move |result: &T| StoredResponse::json(status.as_u16(), &view(result)));
    let created = |result: &T| render(result).map(|stored| response(&stored)).map_err(ApiError::internal);
    let Some(scope) = scope else {
        return created(&work(None).await?);
    };
    let completion = Completion { scope: scope.clone(), render: render.clone() };
    let error = match work(Some(completion)).await {
        Ok(result) => return created(&result),
        Err(error) => error,
    };
    match error {
        ApiError::KeyUsed(prior) => answer_prior(prior),
        refusal @ ApiError::InsufficientFunds { .. } => {
            let stored =
                StoredResponse::json(refusal.status().as_u16(), &refusal.problem()).map_err(ApiError::internal)?;
            match store.keep_first_answer(&scope, &stored).await {
                Ok(()) => {
                    tracing::info!(code = refusal.code(), "request refused; kept for idempotent replay");
                    Ok(response(&stored))
                }
                Err(StoreError::KeyUsed(prior)) => answer_prior(prior),
                Err(error) => Err(error.into()),
            }
        }
        // A request refused before its key's record was read (an unknown product) still
        // gets the key's first answer when there is one.
        error => match store.prior_use(&scope).await {
            Ok(Some(prior)) => answer_prior(prior),
            Ok(None) => Err(error),
            Err(lookup) => {
                tracing::warn!(error = %chain(&lookup), "could not read an idempotency record");
                Err(error)
            }
        },
    }
}

/// The answer for a key an earlier request used: its first answer replayed, or a 409 or
/// 422 problem.
fn answer_prior(prior: PriorUse) -> Result<Response, ApiError> {
    match prior {
        PriorUse::Replay(stored) => {
            tracing::info!(status = stored.status, "idempotent replay");
            let mut response = response(&restamped(stored));
            response.headers_mut().insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
            Ok(response)
        }
        PriorUse::InProgress => Err(ApiError::IdempotencyInProgress),
        PriorUse::KeyReused => Err(ApiError::IdempotencyKeyReused),
    }
}

/// A response kept for replay, as the response it stands for.
fn response(stored: &StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let content_type = if status.is_success() { "application/json" } else { PROBLEM_JSON };
    (status, [(header::CONTENT_TYPE, content_type)], stored.body.clone()).into_response()
}

/// A kept problem body with the `request_id` of the request replaying it: the id in a
/// body must be the response's own `X-Request-Id`, the one a partner quotes to support.
/// Only the id's value changes, so the body is otherwise the first answer to the letter.
/// The kept body was written by `serde_json` from a `Problem`, whose `request_id` is
/// `req_<ULID>`: no quote or escape can be inside it, so it is found as text.
fn restamped(stored: StoredResponse) -> StoredResponse {
    const FIELD: &str = "\"request_id\":\"";
    let Some(start) = stored.body.find(FIELD).map(|at| at + FIELD.len()) else { return stored };
    let Some(length) = stored.body[start..].find('"') else { return stored };
    let mut body = stored.body;
    body.replace_range(start..start + length, &current_request_id());
    StoredResponse { body, ..stored }
}

#[cfg(test)]
mod tests {
    use serde::ser::Error as _;

    use super::*;

    /// A response body that cannot be written as JSON.
    struct Unwritable;

    impl Serialize for Unwritable {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(S::Error::custom("no JSON form"))
        }
    }

    #[test]
    fn a_body_that_cannot_be_serialised_is_an_error_not_an_empty_body_to_replay() {
        assert!(StoredResponse::json(201, &Unwritable).is_err());
        assert!(matches!(fingerprint("POST /api/orders", &Unwritable), Err(ApiError::Internal(_))));
    }

    #[tokio::test]
    async fn a_replayed_problem_carries_the_id_of_the_request_that_replays_it() {
        let first = StoredResponse {
            status: 402,
            body: r#"{"type":"urn:steller:problem:insufficient_funds","code":"insufficient_funds","request_id":"req_first","detail":"x"}"#.into(),
        };

        let replayed = crate::telemetry::with_request_id("req_second".into(), async { restamped(first) }).await;

        assert_eq!(
            replayed.body,
            r#"{"type":"urn:steller:problem:insufficient_funds","code":"insufficient_funds","request_id":"req_second","detail":"x"}"#
        );
    }
}
