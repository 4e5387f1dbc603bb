//! `GET /api/public/openapi.json`: the OpenAPI 3.1 document of the whole API.
//!
//! It is generated from every function's routes (`steller_local::openapi`) into
//! docs/openapi.json, and a test fails when the committed file differs from the code.

use axum::http::header;
use axum::response::IntoResponse;

/// The generated document, compiled in.
pub const OPENAPI_JSON: &str = include_str!("../../../docs/openapi.json");

/// The OpenAPI document describing every route of the Steller API.
#[utoipa::path(
    get,
    path = "/api/public/openapi.json",
    tag = "public",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json")),
)]
pub(crate) async fn openapi_json() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON)
}
