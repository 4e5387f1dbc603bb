//! `ApiError`: the one error type at the HTTP edge, written as RFC 9457 problem+json.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::Money;
use crate::store::StoreError;
use crate::telemetry::{chain, current_request_id};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid field of a request, as listed in a 422's `errors[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// The field's name (dotted path for nested fields).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl std::fmt::Display) -> Self {
        FieldError { field: field.into(), message: message.to_string() }
    }
}

/// The problem+json body every error response carries.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem: `urn:steller:problem:<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable, machine-readable code (see the API reference).
    pub code: &'static str,
    pub request_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

/// Everything an API call can fail with. Each variant's doc names its status and code.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 `malformed_request`: the body is not JSON, or a header or query parameter is bad.
    #[error("{0}")]
    Malformed(String),
    /// 401 `unauthorized`: no valid API key.
    #[error("a valid API key is required (Authorization: Bearer <key> or X-Api-Key: <key>)")]
    Unauthorized,
    /// 402 `insufficient_funds`: the wallet cannot pay.
    #[error("the wallet balance is {balance} USD but {needed} USD is needed")]
    InsufficientFunds { balance: Money, needed: Money },
    /// 403 `forbidden`: a valid key whose role may not call this route.
    #[error("this API key may not call this route")]
    Forbidden,
    /// 403 `forbidden`: a valid key that may call the route, but not for this (a sandbox
    /// key asking for a live key; a live request before the email is verified). The
    /// detail says why.
    #[error("{0}")]
    NotPermitted(&'static str),
    /// 404 `not_found`: no such route, or no such item for this partner and mode.
    #[error("nothing was found here")]
    NotFound,
    /// 405 `method_not_allowed`: the route exists, but not with this method.
    #[error("this route does not accept that method")]
    MethodNotAllowed,
    /// 409 `email_taken`: another partner signed up with this email.
    #[error("an account with this email address already exists")]
    EmailTaken,
    /// 409 `idempotency_in_progress`: a request with this key, taken by an earlier version
    /// during a deploy, is still running.
    #[error("a request with this Idempotency-Key is still in progress; retry later")]
    IdempotencyInProgress,
    /// 409 `invalid_state`: the item is not in a state that allows this.
    #[error("{0}")]
    InvalidState(String),
    /// 413 `payload_too_large`: the body is over 64 KiB.
    #[error("the request body is larger than 64 KiB")]
    PayloadTooLarge,
    /// 415 `unsupported_media_type`: a body that is not `application/json`.
    #[error("the request body must be JSON, sent with Content-Type: application/json")]
    UnsupportedMediaType,
    /// 422 `validation_failed`: well-formed, but fields are invalid (listed in `errors[]`).
    #[error("the request has invalid fields")]
    Validation(Vec<FieldError>),
    /// 422 `idempotency_key_reused`: the key was used before with another body.
    #[error("this Idempotency-Key was already used with a different request body")]
    IdempotencyKeyReused,
    /// 429 `rate_limited`: too many requests.
    #[error("too many requests; slow down and retry")]
    RateLimited,
    /// 503 `unavailable`: a dependency is down or overloaded; nothing was changed.
    #[error("the service is temporarily unavailable and nothing was changed; retry later")]
    Unavailable(#[source] BoxError),
    /// 503 `unavailable`: the wallet, or the item the request changes, kept changing under
    /// bounded retries (`StoreError::Contended`). Not an outage: the caller's own requests
    /// are more than one wallet commits (docs/api.md, "Place an order"), so the detail says
    /// so. Nothing was changed.
    #[error(
        "too many changes at once to the same wallet or item (a mode's orders, cancellations and top-ups move its wallet one after another); nothing was changed, retry after a second"
    )]
    Busy,
    /// Not a failure: another request used the `Idempotency-Key` first, and `idempotent`
    /// answers what it left (a replay, 409 or 422). Only work run by `idempotent` meets
    /// it; anywhere else it would be a bug, so it is a 500 `internal` there.
    #[error("the idempotency key was already used")]
    KeyUsed(crate::store::PriorUse),
    /// 500 `internal`: a bug or an unexpected failure; the cause is logged, never sent.
    #[error("an internal error occurred")]
    Internal(#[source] BoxError),
}

impl ApiError {
    pub fn validation(errors: impl IntoIterator<Item = FieldError>) -> Self {
        ApiError::Validation(errors.into_iter().collect())
    }

    pub fn internal(error: impl Into<BoxError>) -> Self {
        ApiError::Internal(error.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Malformed(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::InsufficientFunds { .. } => StatusCode::PAYMENT_REQUIRED,
            ApiError::Forbidden | ApiError::NotPermitted(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::EmailTaken | ApiError::IdempotencyInProgress | ApiError::InvalidState(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Validation(_) | ApiError::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) | ApiError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::KeyUsed(_) | ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Malformed(_) => "malformed_request",
            ApiError::Unauthorized => "unauthorized",
            ApiError::InsufficientFunds { .. } => "insufficient_funds",
            ApiError::Forbidden | ApiError::NotPermitted(_) => "forbidden",
            ApiError::NotFound => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::EmailTaken => "email_taken",
            ApiError::IdempotencyInProgress => "idempotency_in_progress",
            ApiError::InvalidState(_) => "invalid_state",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::Validation(_) => "validation_failed",
            ApiError::IdempotencyKeyReused => "idempotency_key_reused",
            ApiError::RateLimited => "rate_limited",
            ApiError::Unavailable(_) | ApiError::Busy => "unavailable",
            ApiError::KeyUsed(_) | ApiError::Internal(_) => "internal",
        }
    }

    /// The problem body for this error, stamped with the current request's id.
    pub fn problem(&self) -> Problem {
        let status = self.status();
        Problem {
            kind: format!("urn:steller:problem:{}", self.code()),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: self.to_string(),
            code: self.code(),
            request_id: current_request_id(),
            errors: match self {
                ApiError::Validation(errors) => Some(errors.clone()),
                _ => None,
            },
        }
    }

    /// The error for a status some layer produced without going through `ApiError`.
    pub(crate) fn for_status(status: StatusCode) -> Self {
        match status {
            StatusCode::BAD_REQUEST => ApiError::Malformed("the request is malformed".into()),
            StatusCode::UNAUTHORIZED => ApiError::Unauthorized,
            StatusCode::FORBIDDEN => ApiError::Forbidden,
            StatusCode::NOT_FOUND => ApiError::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType,
            StatusCode::TOO_MANY_REQUESTS => ApiError::RateLimited,
            StatusCode::SERVICE_UNAVAILABLE => ApiError::Unavailable(format!("status {status}").into()),
            _ => ApiError::Internal(format!("a layer answered {status} without a problem body").into()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(code = self.code(), error = %chain(&self), "request failed");
        } else {
            tracing::info!(code = self.code(), status = status.as_u16(), "request refused");
        }
        let problem = self.problem();
        let mut response = (status, axum::Json(problem)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if matches!(self, ApiError::Unauthorized) {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if matches!(self, ApiError::Unavailable(_) | ApiError::Busy | ApiError::RateLimited) {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::EmailTaken => ApiError::EmailTaken,
            StoreError::NotFound => ApiError::NotFound,
            StoreError::InsufficientFunds { balance, needed } => ApiError::InsufficientFunds { balance, needed },
            StoreError::InvalidState(detail) => ApiError::InvalidState(detail),
            StoreError::KeyUsed(prior) => ApiError::KeyUsed(prior),
            StoreError::Contended => ApiError::Busy,
            StoreError::Unavailable(_) => ApiError::Unavailable(Box::new(error)),
            StoreError::Corrupt { .. } | StoreError::Unrecordable(_) | StoreError::Dynamo(_) => {
                ApiError::Internal(Box::new(error))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wallet_that_kept_changing_is_503_unavailable_saying_why_and_to_retry() {
        let problem = ApiError::from(StoreError::Contended).problem();
        assert_eq!((problem.status, problem.code), (503, "unavailable"));
        for words in ["same wallet", "one after another", "nothing was changed", "retry after a second"] {
            assert!(problem.detail.contains(words), "{words:?} in {:?}", problem.detail);
        }
        let response = ApiError::from(StoreError::Contended).into_response();
        assert_eq!(response.headers().get(header::RETRY_AFTER).map(HeaderValue::as_bytes), Some(&b"1"[..]));
    }

    #[test]
    fn an_outage_is_not_called_a_busy_wallet() {
        let problem = ApiError::from(StoreError::Unavailable("throttled".into())).problem();
        assert_eq!((problem.status, problem.code), (503, "unavailable"));
        assert!(!problem.detail.contains("wallet"), "{:?}", problem.detail);
    }
}
