//! The signup function: `POST /api/public/signup` (a partner, its wallets and its first
//! key in one transaction), `GET /api/public/openapi.json`, and the interactive API docs
//! over it at `GET /api/public/docs`.

pub mod api_docs;
mod openapi_document;
mod sign_up;

use axum::Router;
use steller::AppState;
use steller::config::{REQUEST_LOG_QUEUE_URL_VAR, SANDBOX_CREDIT_VAR, SENDER_EMAIL_VAR, TABLE_VAR};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The variables this function reads: its table; the sandbox credit; the sender of the
/// welcome email; the request-log queue. template.yaml gives it exactly these.
pub const VARIABLES: &[&str] = &[TABLE_VAR, SANDBOX_CREDIT_VAR, SENDER_EMAIL_VAR, REQUEST_LOG_QUEUE_URL_VAR];

/// This function's routes with their OpenAPI descriptions.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sign_up::sign_up))
        .routes(routes!(openapi_document::openapi_json))
        .routes(routes!(api_docs::docs_page))
        .routes(routes!(api_docs::docs_file))
}

/// The service Lambda runs.
pub fn router(state: AppState) -> Router {
    steller::http::app(routes(), state)
}
