//! `PathId<T>`: the `{id}` of a route's path, parsed as the id type the route names. An
//! id that is not even well-formed names nothing this partner has: 404, like any
//! unknown id, so a malformed id and a missing one cannot be told apart.

use std::str::FromStr;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;

use super::ApiError;

/// The path's `{id}`, parsed (`PathId<OrderId>`, `PathId<TopUpId>`, …).
#[derive(Debug, Clone, Copy)]
pub struct PathId<T>(pub T);

impl<T: FromStr + Send, S: Send + Sync> FromRequestParts<S> for PathId<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state).await.map_err(|_| ApiError::NotFound)?;
        raw.parse().map(PathId).map_err(|_| ApiError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;
    use crate::domain::OrderId;

    async fn status_of(path: &str) -> StatusCode {
        let app = Router::new().route("/orders/{id}", get(|PathId(id): PathId<OrderId>| async move { id.to_string() }));
        let request = Request::get(path).body(Body::empty()).expect("a request");
        app.oneshot(request).await.expect("an answer").status()
    }

    #[tokio::test]
    async fn a_well_formed_id_reaches_the_handler_and_a_malformed_one_is_not_found() {
        assert_eq!(status_of("/orders/ord_01JD2X8Q9V4K7M3N5P6R8S0T2W").await, StatusCode::OK);
        for malformed in ["/orders/ord_nope", "/orders/ptn_01JD2X8Q9V4K7M3N5P6R8S0T2W", "/orders/%FF"] {
            assert_eq!(status_of(malformed).await, StatusCode::NOT_FOUND, "{malformed}");
        }
    }
}
