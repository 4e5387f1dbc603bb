//! The top-ups function: `POST /api/wallet/top-up-requests` (live requests wait for ops;
//! sandbox ones are credited at once), `GET /api/wallet/top-up-requests` and
//! `GET /api/wallet/top-up-requests/{id}`.

mod read;
mod request;
mod view;

use axum::Router;
use steller::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use view::TopUpView;

/// This function's routes with their OpenAPI descriptions.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(request::request_top_up, read::list_top_ups)).routes(routes!(read::get_top_up))
}

/// The service Lambda runs.
pub fn router(state: AppState) -> Router {
    steller::http::app(routes(), state)
}
