//! The signup function: `POST /api/public/signup` (a partner, its wallets and its first
//! key in one transaction) and `GET /api/public/openapi.json`.

mod openapi_document;
mod sign_up;

use axum::Router;
use steller::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// This function's routes with their OpenAPI descriptions.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(sign_up::sign_up)).routes(routes!(openapi_document::openapi_json))
}

/// The service Lambda runs.
pub fn router(state: AppState) -> Router {
    steller::http::app(routes(), state)
}
