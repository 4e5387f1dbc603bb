//! HTTP plumbing shared by every function: the state handlers get, the error type, the
//! JSON extractor, the request-id, request-log and auth layers, and `app`, which
//! assembles a function's routes into the router Lambda, the local server and the tests
//! all serve.

mod auth;
mod edge;
mod error;
mod idempotency;
mod json;
pub mod openapi;
mod pagination;
mod path_id;
mod request_log;
mod validation;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state};
use utoipa_axum::router::OpenApiRouter;

pub use auth::{API_KEY_HEADER, OpsCaller, PUBLIC_PREFIX, PartnerCaller};
pub use edge::{REQUEST_ID_HEADER, RequestId};
pub use error::{ApiError, FieldError, PROBLEM_JSON, Problem};
pub use idempotency::{
    IDEMPOTENCY_KEY_HEADER, IdempotencyHeader, REPLAYED_HEADER, fingerprint, idempotency_scope, idempotent,
};
pub use json::{BODY_LIMIT, Json};
pub use pagination::{List, ListParams, ListQuery};
pub use path_id::PathId;
pub use request_log::{UNMATCHED_ROUTE, USER_AGENT_LIMIT};
pub use validation::Validation;

use crate::email::{EmailSender, SesSender};
use crate::request_log::{NoLog, RequestLogSink, RequestLogTable, SqsQueue};
use crate::{Config, Store};

/// What every handler can reach: built once per process (once per Lambda cold start).
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<Config>,
    pub email: Arc<dyn EmailSender>,
    /// Where the request-log layer sends each request's record.
    pub request_log: Arc<dyn RequestLogSink>,
    /// Where usage is read from: the configured request-log table on the store's client;
    /// `None` (no `STELLER_REQUEST_LOG_TABLE`) makes `GET /api/usage` answer 503.
    pub request_log_table: Option<RequestLogTable>,
}

impl AppState {
    /// State sending its emails through `email`, whose request log goes nowhere;
    /// `with_request_log` picks a real sink.
    pub fn new(store: Store, config: Config, email: Arc<dyn EmailSender>) -> Self {
        let request_log_table =
            config.request_log_table.as_ref().map(|name| RequestLogTable::new(store.client().clone(), name));
        AppState { store, config: Arc::new(config), email, request_log: Arc::new(NoLog), request_log_table }
    }

    /// The emails a request sends, each after its response.
    pub fn notices(&self) -> crate::notices::Notices {
        crate::notices::Notices::new(self.email.clone(), self.config.clone(), self.store.clone())
    }

    /// The same state, sending its emails through `sender`.
    pub fn with_email(self, sender: Arc<dyn EmailSender>) -> Self {
        AppState { email: sender, ..self }
    }

    /// The same state, sending each request's log record to `sink`.
    pub fn with_request_log(self, sink: Arc<dyn RequestLogSink>) -> Self {
        AppState { request_log: sink, ..self }
    }

    /// A Lambda's state: its `config` (the variables it declared, from the environment)
    /// and AWS clients (DynamoDB, SES, and SQS when a request-log queue is configured)
    /// from the default chain. Made once per cold start (`crate::lambda::serve`).
    pub async fn on_aws(config: Config) -> Self {
        let aws = crate::aws::from_environment().await;
        let email = Arc::new(SesSender::new(crate::aws::ses(&aws)));
        let request_log: Arc<dyn RequestLogSink> = match &config.request_log_queue_url {
            Some(url) => Arc::new(SqsQueue::new(crate::aws::sqs(&aws), url)),
            None => Arc::new(NoLog),
        };
        AppState::new(Store::new(crate::aws::dynamodb(&aws), &config.table), config, email)
            .with_request_log(request_log)
    }
}

/// Serves pages for people (the portal): every response gets an `X-Request-Id`, every
/// request is logged, bodies are capped at 64 KiB. No API key is asked for: pages find
/// their signed-in owner themselves. No fallback is set, so the caller chooses what
/// answers an unknown path.
pub fn site(routes: Router<AppState>, state: AppState) -> Router {
    routes
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(from_fn_with_state(state.clone(), request_log::log_request))
        .layer(from_fn(edge::edge))
        .with_state(state)
}

/// Turns a function's documented routes into its service: unknown routes and methods
/// answer problem+json, bodies are capped at 64 KiB, keys are checked, every request is
/// logged to the request-log sink, and every response gets an `X-Request-Id`.
pub fn app(routes: OpenApiRouter<AppState>, state: AppState) -> Router {
    let (router, _api) = routes.split_for_parts();
    // The last layer added runs first. The request log sits inside the edge, so it has
    // the request id, and outside auth, so it logs auth's 401s and the principal auth
    // found; it sees every response, fallbacks included, before it leaves.
    router
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(from_fn_with_state(state.clone(), auth::authenticate))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(from_fn_with_state(state.clone(), request_log::log_request))
        .layer(from_fn(edge::edge))
        .with_state(state)
}
