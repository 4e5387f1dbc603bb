//! The catalog function: `GET /api/products` and `GET /api/products/{id}`.

use axum::Router;
use steller::AppState;
use utoipa_axum::router::OpenApiRouter;

/// This function's routes with their OpenAPI descriptions.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}

/// The service Lambda runs.
pub fn router(state: AppState) -> Router {
    steller::http::app(routes(), state)
}
