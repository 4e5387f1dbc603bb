//! HTTP plumbing shared by every function: the state handlers get, the error type, the
//! JSON extractor, the request-id, request-log and auth layers, and `app`, which
//! assembles a function's routes into the router Lambda, the local server and the tests
//! all serve.

mod auth;
mod edge;
mod error;
mod headers;
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

pub use auth::{API_KEY_HEADER, OpsCaller, PUBLIC_PREFIX, PartnerCaller, RATE_LIMIT_HEADER, RATE_LIMIT_POLICY_HEADER};
pub use edge::{REQUEST_ID_HEADER, RequestId};
pub use error::{ApiError, FieldError, PROBLEM_JSON, Problem};
pub use headers::{DOCS_POLICY, NO_STORE, NoStore, page_headers};
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
    /// Where redelivered webhook events are queued: SQS on AWS (`STELLER_WEBHOOK_QUEUE_URL`),
    /// the in-process dispatcher locally; `None` makes a redelivery answer 503.
    pub webhooks: Option<Arc<dyn crate::webhooks::dispatch::DeliveryQueue>>,
    /// The URL rules webhook endpoints are held to: public HTTPS only on AWS; plain HTTP
    /// to loopback too when running locally.
    pub webhook_urls: crate::webhooks::address::UrlPolicy,
}

impl AppState {
    /// State sending its emails through `email`, whose request log goes nowhere;
    /// `with_request_log` picks a real sink.
    pub fn new(store: Store, config: Config, email: Arc<dyn EmailSender>) -> Self {
        let request_log_table =
            config.request_log_table.as_ref().map(|name| RequestLogTable::new(store.client().clone(), name));
        AppState {
            store,
            config: Arc::new(config),
            email,
            request_log: Arc::new(NoLog),
            request_log_table,
            webhooks: None,
            webhook_urls: crate::webhooks::address::UrlPolicy::PublicOnly,
        }
    }

    /// The same state, queueing redelivered webhook events to `queue`.
    pub fn with_webhooks(self, queue: Arc<dyn crate::webhooks::dispatch::DeliveryQueue>) -> Self {
        AppState { webhooks: Some(queue), ..self }
    }

    /// The same state, holding webhook endpoints to `policy`.
    pub fn with_webhook_urls(self, policy: crate::webhooks::address::UrlPolicy) -> Self {
        AppState { webhook_urls: policy, ..self }
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
        let webhooks = config.webhook_queue_url.as_ref().map(|url| {
            let queue: Arc<dyn crate::webhooks::dispatch::DeliveryQueue> =
                Arc::new(crate::webhooks::dispatch::SqsDeliveryQueue::new(crate::aws::sqs(&aws), url));
            queue
        });
        let state = AppState::new(Store::new(crate::aws::dynamodb(&aws), &config.table), config, email)
            .with_request_log(request_log);
        AppState { webhooks, ..state }
    }
}

/// Serves pages for people (the portal): every response gets an `X-Request-Id` and the
/// pages' security headers (`headers::for_pages`: a self-only Content-Security-Policy, no
/// framing, `no-store`), every request is logged, bodies are capped at 64 KiB. No API key
/// is asked for: pages find their signed-in owner themselves. The routes' fallback (if
/// any) answers an unknown path.
pub fn site(routes: Router<AppState>, state: AppState) -> Router {
    let routes = routes
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(from_fn_with_state(state.clone(), request_log::log_request))
        .layer(from_fn(edge::edge));
    headers::for_pages(routes).with_state(state)
}

/// Turns a function's documented routes into its service: unknown routes and methods
/// answer problem+json, bodies are capped at 64 KiB, keys are checked, every request is
/// logged to the request-log sink, and every response gets an `X-Request-Id` and the
/// API's security headers (`X-Content-Type-Options: nosniff`, a policy that frames nothing).
pub fn app(routes: OpenApiRouter<AppState>, state: AppState) -> Router {
    let (router, _api) = routes.split_for_parts();
    // The last layer added runs first. The request log sits inside the edge, so it has
    // the request id, and outside auth, so it logs auth's 401s and the principal auth
    // found; it sees every response, fallbacks included, before it leaves.
    let router = router
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(from_fn_with_state(state.clone(), auth::authenticate))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(from_fn_with_state(state.clone(), request_log::log_request))
        .layer(from_fn(edge::edge));
    headers::for_api(router).with_state(state)
}
