//! The outermost layer: gives every request an id (the `X-Request-Id` response header,
//! the `request_id` of problem bodies, and a field of every log line), makes sure
//! no error leaves in any shape but problem+json, and answers 503 `unavailable` when the
//! invocation's deadline (`crate::deadline`) comes first.

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use super::error::{ApiError, PROBLEM_JSON};
use crate::telemetry::with_request_id;

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// A request id: `req_` and a ULID, so ids sort by time in the logs.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

pub async fn edge(mut request: Request, next: Next) -> Response {
    let id = format!("req_{}", ulid::Ulid::new());
    request.extensions_mut().insert(RequestId(id.clone()));
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| request.uri().path().to_owned(), |path| path.as_str().to_owned());
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        route = %route,
        partner_id = tracing::field::Empty,
        mode = tracing::field::Empty,
    );
    let response = with_request_id(id.clone(), async move {
        let response = match crate::deadline::remaining() {
            Some(left) => match tokio::time::timeout(left, next.run(request)).await {
                Ok(response) => response,
                Err(_) => {
                    tracing::warn!("the invocation's deadline came before the answer; answering 503");
                    ApiError::Unavailable("the invocation's deadline came before the answer".into()).into_response()
                }
            },
            None => next.run(request).await,
        };
        as_problem(response)
    })
    .instrument(span)
    .await;
    stamped(response, &id)
}

/// Rewrites an error response some layer built in another shape (axum's 405, a body
/// limit's 413) as problem+json; must run inside the request-id scope. A page (HTML) is
/// left as it is: the portal answers people, with its own error pages.
pub(super) fn as_problem(response: Response) -> Response {
    let status = response.status();
    let content_type = response.headers().get(header::CONTENT_TYPE).map(|value| value.as_bytes());
    let is_problem = content_type.is_some_and(|value| value.starts_with(PROBLEM_JSON.as_bytes()));
    let is_page = content_type.is_some_and(|value| value.starts_with(b"text/html"));
    if (status.is_client_error() || status.is_server_error()) && !is_problem && !is_page {
        ApiError::for_status(status).into_response()
    } else {
        response
    }
}

fn stamped(mut response: Response, id: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}
