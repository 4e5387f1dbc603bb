//! The usage function: `GET /api/usage?from=YYYY-MM-DD&to=YYYY-MM-DD`, the calling
//! partner's requests in the key's mode, read from the request-log table.

mod usage;

use axum::Router;
use steller::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// This function's routes with their OpenAPI descriptions.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(usage::get_usage))
}

/// The service Lambda runs.
pub fn router(state: AppState) -> Router {
    steller::http::app(routes(), state)
}
