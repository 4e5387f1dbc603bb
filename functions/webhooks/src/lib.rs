//! The webhooks function: a partner's endpoints (`GET/POST /api/webhook-endpoints`,
//! `GET/DELETE /api/webhook-endpoints/{id}`, `POST /api/webhook-endpoints/{id}/rotate-secret`)
//! and the events sent to them with every delivery attempt (`GET /api/events`,
//! `GET /api/events/{id}`, `POST /api/events/{id}/redeliver`). Events are written by the
//! changes they report; the `webhook-delivery` crate delivers them.

mod endpoints;
mod events;

use axum::Router;
use steller::AppState;
use steller::config::{REQUEST_LOG_QUEUE_URL_VAR, TABLE_VAR, WEBHOOK_QUEUE_URL_VAR};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The variables this function reads: its table, the request-log queue, and the delivery
/// queue redeliveries go to. template.yaml gives it exactly these.
pub const VARIABLES: &[&str] = &[TABLE_VAR, REQUEST_LOG_QUEUE_URL_VAR, WEBHOOK_QUEUE_URL_VAR];

/// This function's routes with their OpenAPI descriptions.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(endpoints::list_endpoints, endpoints::create_endpoint))
        .routes(routes!(endpoints::get_endpoint, endpoints::delete_endpoint))
        .routes(routes!(endpoints::rotate_secret))
        .routes(routes!(events::list_events))
        .routes(routes!(events::get_event))
        .routes(routes!(events::redeliver_event))
}

/// The service Lambda runs.
pub fn router(state: AppState) -> Router {
    steller::http::app(routes(), state)
}
