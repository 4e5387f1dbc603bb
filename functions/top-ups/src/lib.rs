//! The top-ups function: `POST /api/wallet/top-up-requests` (live requests wait for ops;
//! sandbox ones are credited at once), `GET /api/wallet/top-up-requests` and
//! `GET /api/wallet/top-up-requests/{id}`.

mod read;
mod request;

use axum::Router;
use steller::AppState;
use steller::config::{OPS_EMAIL_VAR, REQUEST_LOG_QUEUE_URL_VAR, SENDER_EMAIL_VAR, TABLE_VAR};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The variables this function reads: its table; the sender of the partner emails and the
/// ops address for live requests; the request-log queue. template.yaml gives it exactly
/// these.
pub const VARIABLES: &[&str] = &[TABLE_VAR, SENDER_EMAIL_VAR, OPS_EMAIL_VAR, REQUEST_LOG_QUEUE_URL_VAR];

pub use steller::views::TopUpView;

/// This function's routes with their OpenAPI descriptions.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(request::request_top_up, read::list_top_ups)).routes(routes!(read::get_top_up))
}

/// The service Lambda runs.
pub fn router(state: AppState) -> Router {
    steller::http::app(routes(), state)
}
