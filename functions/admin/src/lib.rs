//! The admin function, for ops keys only: the live top-up requests by status, and the
//! decisions on them (`approve` credits the live wallet exactly once; `reject` moves
//! nothing), each recording the deciding ops key; and partners' rate-limit overrides.

mod decide;
mod list;
mod rate_limits;
mod view;

use axum::Router;
use steller::AppState;
use steller::config::{REQUEST_LOG_QUEUE_URL_VAR, SENDER_EMAIL_VAR, TABLE_VAR};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The variables this function reads: its table; the sender of the decision emails; the
/// request-log queue. template.yaml gives it exactly these.
pub const VARIABLES: &[&str] = &[TABLE_VAR, SENDER_EMAIL_VAR, REQUEST_LOG_QUEUE_URL_VAR];

/// This function's routes with their OpenAPI descriptions.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list::list_top_up_requests))
        .routes(routes!(decide::approve))
        .routes(routes!(decide::reject))
        .routes(routes!(rate_limits::get_rate_limits))
        .routes(routes!(rate_limits::set_rate_limit, rate_limits::clear_rate_limit))
}

/// The service Lambda runs.
pub fn router(state: AppState) -> Router {
    steller::http::app(routes(), state)
}
