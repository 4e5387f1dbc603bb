//! The catalog function: `GET /api/products` and `GET /api/products/{id}`.

mod products;

use axum::Router;
use steller::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// This function's routes with their OpenAPI descriptions.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(products::list_products)).routes(routes!(products::get_product))
}

/// The service Lambda runs.
pub fn router(state: AppState) -> Router {
    steller::http::app(routes(), state)
}
