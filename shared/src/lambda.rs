//! The Lambda entry point every HTTP function's `main` calls: lambda_http's adapter over
//! the function's router, with API Gateway's stage taken out of the path, and the work a
//! request leaves for after its response (`crate::after_response`) run once the response
//! is posted.
//!
//! An HTTP API on a named stage sends `rawPath` as `/<stage>/api/...`, and lambda_http
//! passes it on as is; the routes are `/api/...`, so without this every request to a
//! non-`$default` stage would miss its route.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Once;
use std::task::{Context, Poll};
use std::time::{Instant, SystemTime};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use lambda_http::lambda_runtime::layers::TracingLayer;
use lambda_http::lambda_runtime::{LambdaInvocation, Runtime};
use lambda_http::request::RequestContext;
use lambda_http::{Adapter, Request, RequestExt};
use tower::{Layer, Service, ServiceBuilder, ServiceExt};

use crate::after_response::collecting;
use crate::{AppState, Config, deadline};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Serves the function whose environment variables are `declared` and whose routes
/// `router` builds: every HTTP function's `main`.
///
/// Only the variables are read before the runtime asks for the first event, so a
/// misconfigured function still fails its init (its error printed by `main`), and
/// nothing else blocks the first poll. The JSON logs, the AWS clients and the router are
/// set up when the first event arrives (`run`).
pub async fn serve(declared: &[&str], router: fn(AppState) -> axum::Router) -> Result<(), lambda_http::Error> {
    let config = Config::from_env(declared)?;
    run(async move { router(AppState::on_aws(config).await) }).await
}

/// Serves the router `router` resolves to, as this Lambda's handler, until the runtime
/// stops the process, with JSON logs (`crate::telemetry::init_json`). The runtime asks
/// for the first event at once; the logs are set up and `router` resolved when that
/// event is there, in its invocation (Lambda's init ends with the first poll, and the
/// work is the same either way; docs/performance.md).
///
/// What `lambda_http::run_concurrent` does, with one more layer outside the runtime's
/// own: the invocation's response is posted to the Runtime API first, then the work the
/// request left (its request-log record, its emails) runs to the end, and only then does
/// the runtime ask for the next invocation. So the partner never waits for it, and
/// nothing is still running when Lambda freezes the environment.
///
/// On an environment that allows several invocations at once (`AWS_LAMBDA_MAX_CONCURRENCY`
/// above 1, as Lambda Managed Instances set it), that many invocations run side by side
/// in this process, sharing its store: one wallet's movements among them are written
/// together (ADR 0018, ADR 0019). Without the variable, as on Lambda's default
/// environments, one invocation runs at a time, exactly as `run` would.
pub async fn run(router: impl Future<Output = axum::Router> + Send + 'static) -> Result<(), lambda_http::Error> {
    let handler = ServiceBuilder::new().map_request(without_stage).service(Deferred::new(router));
    Runtime::new(Adapter::from(handler)).layer(TracingLayer::new()).layer(AfterResponseLayer).run_concurrent().await
}

/// The router, resolved by the first request that needs it and kept for the others.
#[derive(Clone)]
struct Deferred {
    router: Shared<BoxFuture<'static, axum::Router>>,
}

impl Deferred {
    fn new(router: impl Future<Output = axum::Router> + Send + 'static) -> Self {
        Deferred { router: router.boxed().shared() }
    }
}

impl Service<Request> for Deferred {
    type Response = lambda_http::Response<lambda_http::Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let router = self.router.clone();
        Box::pin(async move {
            let Ok(response) = router.await.oneshot(request).await;
            // The body read here, as lambda_http would read it after: a response that
            // can be handed between the invocations running at once (`run_concurrent`).
            Ok(lambda_http::IntoResponse::into_response(response).await)
        })
    }
}

/// Wraps the runtime's service (which ends by posting the response): the invocation's
/// deadline is set for the handler (`crate::deadline`), and the kept work runs after the
/// response. The first invocation also sets up the JSON logs, before the runtime's
/// tracing layer opens the invocation's span, so its lines carry the request id too.
#[derive(Debug, Clone, Copy)]
struct AfterResponseLayer;

/// Whether the JSON logs are set up: at the first event, not before the first poll
/// (`init_json` measured about 0.08× of a hello-world Lambda's init; docs/performance.md).
static LOGS: Once = Once::new();

impl<S> Layer<S> for AfterResponseLayer {
    type Service = AfterResponse<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AfterResponse { inner }
    }
}

#[derive(Debug, Clone)]
struct AfterResponse<S> {
    inner: S,
}

impl<S> Service<LambdaInvocation> for AfterResponse<S>
where
    S: Service<LambdaInvocation, Response = (), Error = BoxError>,
    S::Future: Send + 'static,
{
    type Response = ();
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, invocation: LambdaInvocation) -> Self::Future {
        LOGS.call_once(crate::telemetry::init_json);
        let (due, now, now_instant) = (invocation.context.deadline(), SystemTime::now(), Instant::now());
        let answer_by = deadline::answer_by(due, now, now_instant);
        let finish_by = deadline::finish_by(due, now, now_instant);
        let answered = self.inner.call(invocation);
        Box::pin(async move {
            let (posted, kept) = collecting(deadline::within(answer_by, answered)).await;
            // The record and emails go out before the next invocation is taken, but never
            // past this one's deadline: a timeout would kill the environment.
            kept.run_until(finish_by.into()).await;
            posted
        })
    }
}

fn without_stage(mut request: Request) -> Request {
    let stage = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.stage.clone(),
        _ => None,
    };
    let Some(stage) = stage.filter(|stage| stage != "$default") else { return request };
    let prefix = format!("/{stage}");
    let Some(rest) = request.uri().path().strip_prefix(&prefix).filter(|rest| rest.starts_with('/')) else {
        return request;
    };
    let path_and_query = match request.uri().query() {
        Some(query) => format!("{rest}?{query}"),
        None => rest.to_owned(),
    };
    let mut parts = request.uri().clone().into_parts();
    if let Ok(path_and_query) = path_and_query.parse() {
        parts.path_and_query = Some(path_and_query);
        if let Ok(uri) = axum::http::Uri::from_parts(parts) {
            *request.uri_mut() = uri;
        }
    }
    request
}
