//! The orders function: `POST /api/orders` (paid from the key's wallet in one
//! transaction, idempotent with `Idempotency-Key`), `GET /api/orders`,
//! `GET /api/orders/{id}` and `POST /api/orders/{id}/cancel` (refunded once).

mod cancel;
mod place;
mod read;

use axum::Router;
use steller::AppState;
use steller::config::{REQUEST_LOG_QUEUE_URL_VAR, TABLE_VAR};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The variables this function reads: its table and the request-log queue. template.yaml
/// gives it exactly these.
pub const VARIABLES: &[&str] = &[TABLE_VAR, REQUEST_LOG_QUEUE_URL_VAR];

/// This function's routes with their OpenAPI descriptions.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(place::place_order, read::list_orders))
        .routes(routes!(read::get_order))
        .routes(routes!(cancel::cancel_order))
}

/// The service Lambda runs.
pub fn router(state: AppState) -> Router {
    steller::http::app(routes(), state)
}
