//! HTTP plumbing shared by every function: the state handlers get, the error type, the
//! JSON extractor, the auth and request-id layers, and `app`, which assembles a
//! function's routes into the router Lambda, the local server and the tests all serve.

mod auth;
mod edge;
mod error;
mod idempotency;
mod json;
pub mod openapi;
mod pagination;
mod validation;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state};
use utoipa_axum::router::OpenApiRouter;

pub use auth::{API_KEY_HEADER, OpsCaller, PUBLIC_PREFIX, PartnerCaller};
pub use edge::{REQUEST_ID_HEADER, RequestId, current_request_id};
pub(crate) use error::chain;
pub use error::{ApiError, FieldError, PROBLEM_JSON, Problem};
pub use idempotency::{
    HeldClaim, IDEMPOTENCY_KEY_HEADER, IdempotencyHeader, REPLAYED_HEADER, created, fingerprint, idempotency_scope,
    idempotent, stored_response,
};
pub use json::{BODY_LIMIT, Json};
pub use pagination::{List, ListParams, ListQuery};
pub use validation::Validation;

use crate::email::{EmailSender, Outbox, SesSender};
use crate::{Config, Store};

/// What every handler can reach: built once per process (once per Lambda cold start).
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<Config>,
    pub email: Arc<dyn EmailSender>,
}

impl AppState {
    /// State whose emails go to an outbox nobody reads; `with_email` picks a real sender.
    pub fn new(store: Store, config: Config) -> Self {
        AppState { store, config: Arc::new(config), email: Arc::new(Outbox::new()) }
    }

    /// The same state, sending its emails through `sender`.
    pub fn with_email(self, sender: Arc<dyn EmailSender>) -> Self {
        AppState { email: sender, ..self }
    }

    /// A Lambda's state: configuration from the environment, AWS clients (DynamoDB, SES)
    /// from the default chain. Called once per cold start.
    pub async fn from_env() -> Result<Self, crate::config::ConfigError> {
        let config = Config::from_env()?;
        let aws = crate::aws::from_environment().await;
        let email = Arc::new(SesSender::new(crate::aws::ses(&aws)));
        Ok(AppState::new(Store::new(crate::aws::dynamodb(&aws), &config.table), config).with_email(email))
    }
}

/// Turns a function's documented routes into its service: unknown routes and methods
/// answer problem+json, bodies are capped at 64 KiB, keys are checked, and every
/// response gets an `X-Request-Id`.
pub fn app(routes: OpenApiRouter<AppState>, state: AppState) -> Router {
    let (router, _api) = routes.split_for_parts();
    router
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(from_fn_with_state(state.clone(), auth::authenticate))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(from_fn(edge::edge))
        .with_state(state)
}
