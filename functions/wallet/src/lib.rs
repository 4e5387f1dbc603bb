//! The wallet function: the caller's wallet (`GET /api/wallet`), its ledger
//! (`GET /api/wallet/transactions`) and API keys
//! (`GET/POST /api/keys`, `DELETE /api/keys/{id}`).

mod keys;
mod transactions;
mod wallet;

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
        .routes(routes!(wallet::get_wallet))
        .routes(routes!(transactions::list_transactions))
        .routes(routes!(keys::list_keys, keys::create_key))
        .routes(routes!(keys::revoke_key))
}

/// The service Lambda runs.
pub fn router(state: AppState) -> Router {
    steller::http::app(routes(), state)
}
