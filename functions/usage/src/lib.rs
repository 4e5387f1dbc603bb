//! The usage function: `GET /api/usage?from=YYYY-MM-DD&to=YYYY-MM-DD`, the calling
//! partner's requests in the key's mode counted per day and route, and `GET /api/requests`
//! and `GET /api/requests/{request_id}`, the same requests one by one; all read from the
//! request-log table.

mod requests;
mod usage;

use axum::Router;
use steller::AppState;
use steller::config::{REQUEST_LOG_QUEUE_URL_VAR, REQUEST_LOG_TABLE_VAR, TABLE_VAR};
use steller::http::ApiError;
use steller::request_log::RequestLogTable;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The variables this function reads: its table (for the key look-up); the request-log
/// table it reads; the request-log queue. template.yaml gives it exactly these.
pub const VARIABLES: &[&str] = &[TABLE_VAR, REQUEST_LOG_TABLE_VAR, REQUEST_LOG_QUEUE_URL_VAR];

/// This function's routes with their OpenAPI descriptions.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(usage::get_usage))
        .routes(routes!(requests::list_requests))
        .routes(routes!(requests::get_request))
}

/// The table every route reads; 503 when the deployment has none.
fn request_log_table(state: &AppState) -> Result<&RequestLogTable, ApiError> {
    state
        .request_log_table
        .as_ref()
        .ok_or_else(|| ApiError::Unavailable("no request-log table is configured (STELLER_REQUEST_LOG_TABLE)".into()))
}

/// The service Lambda runs.
pub fn router(state: AppState) -> Router {
    steller::http::app(routes(), state)
}
