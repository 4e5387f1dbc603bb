//! The local server: every function's routes on one port, over an embedded dynoxide (or
//! any DynamoDB endpoint), so the whole API runs with nothing but Rust.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use steller::after_response::collecting;
use steller::config::{
    DEFAULT_OPS_EMAIL, DEFAULT_SENDER_EMAIL, OPS_EMAIL_VAR, REQUEST_LOG_QUEUE_URL_VAR, REQUEST_LOG_TABLE_VAR,
    SENDER_EMAIL_VAR, TABLE_VAR,
};
use steller::domain::{ApiKey, KeyRole};
use steller::email::{EmailError, EmailSender, Outbox, SesSender, verify_sender};
use steller::engine::{EmbeddedEngine, Storage};
pub use steller::request_log::LogQueue;
use steller::request_log::RequestLogTable;
use steller::schema::{TableNames, bootstrap};
use steller::webhooks::address::UrlPolicy;
use steller::webhooks::delivery::{Deliverer, Schedule as WebhookSchedule};
use steller::webhooks::in_process::{LocalWebhooks, SWEEP_EVERY};
use steller::webhooks::send::Sender;
use steller::{AppState, Config, Store, aws};
use utoipa_axum::router::OpenApiRouter;

use crate::analytics::Schedule;

mod analytics;
mod connections;
mod request_log;

pub use analytics::DEFAULT_INTERVAL as DEFAULT_ANALYTICS_INTERVAL;
pub use connections::DEFAULT_CLIENT_TIMEOUT;

/// Every function's routes, merged: what API Gateway routes to the Lambdas in AWS.
pub fn routes() -> OpenApiRouter<AppState> {
    signup::routes()
        .merge(wallet::routes())
        .merge(catalog::routes())
        .merge(orders::routes())
        .merge(top_ups::routes())
        .merge(admin::routes())
        .merge(usage::routes())
        .merge(webhooks::routes())
}

/// The OpenAPI document of the whole API (docs/openapi.json is this, serialised).
pub fn openapi() -> utoipa::openapi::OpenApi {
    steller::http::openapi::document(routes())
}

/// Which DynamoDB the local server uses.
#[derive(Debug, Clone)]
pub enum Engine {
    /// dynoxide in-process, persisting to this file (or in memory when `None`).
    Embedded(Option<PathBuf>),
    /// Any endpoint speaking DynamoDB: LocalStack, moto or AWS.
    Endpoint(String),
}

#[derive(Debug, Clone)]
pub struct Options {
    pub engine: Engine,
    /// Tables are named `<prefix>-domain`, … (see `TableNames`).
    pub table_prefix: String,
    /// An `stl_ops_…` key to register at start-up (`STELLER_OPS_KEY`).
    pub ops_key: Option<String>,
    /// How often the analytics processor drains the request-log queue into the
    /// request-log table (`analytics::DEFAULT_INTERVAL`, 2 minutes, as in production).
    pub analytics_interval: Duration,
    /// The webhook retry schedule's pauses are multiplied by this (1 in production; tests
    /// shorten them with `--webhook-retry-scale 0.001`).
    pub webhook_retry_scale: f64,
    /// How long a client may take to send a request's head, and then its body, before it
    /// is disconnected (`DEFAULT_CLIENT_TIMEOUT`, 30 s; see `connections`).
    pub client_timeout: Duration,
}

/// The running server's parts, for the banner.
#[derive(Debug)]
pub struct Running {
    pub address: SocketAddr,
    pub dynamodb: String,
    /// The URL the DynamoDB answers on (the embedded engine's own loopback port, new at
    /// every start), for `steller-ops --endpoint`.
    pub dynamodb_endpoint: String,
    /// Where emails go: printed to the console, or SES at the endpoint.
    pub email: String,
    /// Where the request log goes, for the banner: `in-process queue` or `SQS <url>`.
    pub request_log: String,
    /// The request-log queue the API sends to: the analytics processor's source (for an
    /// in-process queue, the only way to reach its messages).
    pub log_queue: LogQueue,
    /// How many catalog products were seeded from infra/seed/products.json.
    pub products: usize,
    /// The store the API runs on, for tests that set up what only the portal can (a
    /// verified owner's live key).
    pub store: Store,
    /// The printing outbox, when emails are printed here (the embedded engine): what
    /// tests read sign-in codes from.
    pub outbox: Option<Outbox>,
    /// When and where the analytics processor runs, for the banner.
    pub analytics: String,
}

/// Serves the API on `listener` until `shutdown` resolves, then stops the engine.
pub async fn serve(
    options: Options,
    listener: tokio::net::TcpListener,
    on_ready: impl FnOnce(&Running),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let ops_key = options
        .ops_key
        .as_deref()
        .map(|raw| match ApiKey::parse(raw) {
            Ok(key) if key.role() == KeyRole::Ops => Ok(key),
            _ => Err(anyhow::anyhow!("STELLER_OPS_KEY must start with stl_ops_ and be at least 40 characters")),
        })
        .transpose()?;

    let (engine, endpoint, dynamodb) = match &options.engine {
        Engine::Embedded(file) => {
            let storage = file.as_deref().map_or(Storage::Memory, Storage::File);
            let engine = EmbeddedEngine::start(storage).await.context("starting the embedded dynoxide")?;
            let endpoint = engine.endpoint().to_owned();
            let described = file.as_ref().map_or_else(
                || "embedded dynoxide, in memory".to_owned(),
                |path| format!("embedded dynoxide, {}", path.display()),
            );
            (Some(engine), endpoint, described)
        }
        Engine::Endpoint(endpoint) => (None, endpoint.clone(), endpoint.clone()),
    };

    let sdk = aws::for_endpoint(&endpoint).await;
    let client = aws::dynamodb(&sdk);
    let names = TableNames::new(&options.table_prefix);
    bootstrap(&client, &names).await.with_context(|| format!("creating the tables on {dynamodb}"))?;
    let table = names.domain();
    let request_log_table = names.request_log();
    let (log_queue, request_log) = request_log::log_queue(&options.engine, &sdk, &names).await?;
    let queue_url = log_queue.sqs().map(|queue| queue.queue_url().to_owned());
    let config = Config::from_lookup(|name| match name {
        TABLE_VAR => Some(table.clone()),
        REQUEST_LOG_TABLE_VAR => Some(request_log_table.clone()),
        // The queue picked above, whatever the environment says: the layer's sink is it.
        REQUEST_LOG_QUEUE_URL_VAR => queue_url.clone(),
        SENDER_EMAIL_VAR => Some(std::env::var(name).unwrap_or_else(|_| DEFAULT_SENDER_EMAIL.to_owned())),
        OPS_EMAIL_VAR => Some(std::env::var(name).unwrap_or_else(|_| DEFAULT_OPS_EMAIL.to_owned())),
        _ => std::env::var(name).ok(),
    })?;
    let (email, email_described, outbox) = match &options.engine {
        Engine::Embedded(_) => {
            let outbox = Outbox::printing();
            let sender: Arc<dyn EmailSender> = Arc::new(outbox.clone());
            (sender, "printed here (outbox)".to_owned(), Some(outbox))
        }
        Engine::Endpoint(endpoint) => {
            let (sender, described) =
                ses_at(endpoint, &sdk, config.sender_email.as_deref().unwrap_or(DEFAULT_SENDER_EMAIL)).await?;
            (sender, described, None)
        }
    };
    let store = Store::new(client, &table);
    if let Some(key) = &ops_key {
        store.register_ops_key(key, "local (STELLER_OPS_KEY)").await.context("registering STELLER_OPS_KEY")?;
    }
    // Upserting is idempotent: every start puts the seed products back as the file has them.
    let products = steller::seed::seed_products(&store).await.context("seeding the catalog")?;

    let usage_table = RequestLogTable::new(store.client().clone(), &request_log_table);
    // Webhooks in process: the store's outbox tap stands in for the stream, tasks for the
    // delivery queue. Plain http to loopback is allowed here, for receivers on this machine.
    let deliverer = Deliverer {
        store: store.clone(),
        sender: Sender::new(UrlPolicy::AllowLoopbackHttp).context("building the webhook HTTPS client")?,
        email: email.clone(),
        config: Arc::new(config.clone()),
        schedule: WebhookSchedule::scaled(options.webhook_retry_scale),
    };
    let webhooks = LocalWebhooks::start(deliverer, SWEEP_EVERY);
    let state = AppState::new(store, config, email)
        .with_request_log(log_queue.sink())
        .with_webhooks(webhooks.queue)
        .with_webhook_urls(UrlPolicy::AllowLoopbackHttp);
    let app = one_port(portal::router(state.clone()), steller::http::app(routes(), state.clone()))
        .layer(axum::middleware::from_fn(after_the_response))
        .layer(axum::middleware::from_fn_with_state(options.client_timeout, connections::body_deadline));
    let schedule = Schedule::start(log_queue.clone(), usage_table, options.analytics_interval);
    let analytics =
        format!("every {} s, {log_queue} → table {request_log_table}", options.analytics_interval.as_secs());
    let running = Running {
        address: listener.local_addr()?,
        dynamodb,
        dynamodb_endpoint: endpoint.clone(),
        email: email_described,
        request_log,
        log_queue: log_queue.clone(),
        products,
        analytics,
        store: state.store.clone(),
        outbox,
    };
    on_ready(&running);
    connections::serve(listener, app, options.client_timeout, shutdown).await;
    // Stopped before the engine, so its last run still reaches the table.
    schedule.stop().await;
    if let Some(engine) = engine {
        engine.stop().await;
    }
    Ok(())
}

/// As on Lambda, the work a request leaves for after its response (its request-log record,
/// its emails) does not hold the response: it is kept while the request is handled, then
/// spawned as the response goes out.
async fn after_the_response(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    let (response, kept) = collecting(next.run(request)).await;
    if !kept.is_empty() {
        tokio::spawn(kept.run());
    }
    response
}

/// SES at `endpoint`, once it has verified `sender` (emulators refuse unverified senders).
/// An endpoint with no SES (a DynamoDB-only emulator) gets the printing outbox instead,
/// so the API still runs; an SES that refuses the sender stops the start-up.
async fn ses_at(endpoint: &str, sdk: &aws::SdkConfig, sender: &str) -> anyhow::Result<(Arc<dyn EmailSender>, String)> {
    let ses = aws::ses(sdk);
    match verify_sender(&ses, sender).await {
        Ok(()) => Ok((Arc::new(SesSender::new(ses)), format!("SES at {endpoint}"))),
        Err(error @ EmailError::Unavailable(_)) => {
            let error = format!("{:#}", anyhow::Error::new(error));
            tracing::warn!(error, "no SES at {endpoint}; emails are printed here instead");
            Ok((Arc::new(Outbox::printing()), format!("printed here (outbox; no SES at {endpoint})")))
        }
        Err(error) => {
            Err(anyhow::Error::new(error).context(format!("verifying the sender {sender} with SES at {endpoint}")))
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn stop_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}

/// One port routed as API Gateway routes on AWS: `/api` and every path under it to the API
/// (its own 404 problem for a path it does not know), every other path to the portal (its
/// own 404 page). Each keeps its own layers, so a request is logged once.
fn one_port(pages: axum::Router, api: axum::Router) -> axum::Router {
    use tower::ServiceExt;
    axum::Router::new().fallback(move |request: axum::extract::Request| {
        let path = request.uri().path();
        let target = if path == "/api" || path.starts_with("/api/") { api.clone() } else { pages.clone() };
        async move {
            match target.oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use steller::after_response::after_response;
    use tokio::sync::{Notify, oneshot};
    use tower::ServiceExt;

    use super::after_the_response;

    /// The work a request leaves does not hold its response: the response arrives while
    /// that work is still blocked, and the work then runs to its end on its own.
    #[tokio::test]
    async fn the_local_server_answers_before_the_work_left_for_after_the_response() {
        let gate = Arc::new(Notify::new());
        let (done, finished) = oneshot::channel();
        let left = (gate.clone(), std::sync::Mutex::new(Some(done)));
        let left = Arc::new(left);
        let app = Router::new()
            .route(
                "/work",
                get(move || {
                    let left = left.clone();
                    async move {
                        after_response(async move {
                            left.0.notified().await;
                            if let Some(done) = left.1.lock().ok().and_then(|mut done| done.take()) {
                                let _ = done.send(());
                            }
                        })
                        .await;
                        "answered"
                    }
                }),
            )
            .layer(axum::middleware::from_fn(after_the_response));

        let request = axum::http::Request::get("/work").body(Body::empty()).expect("a request");
        let response = tokio::time::timeout(Duration::from_secs(10), app.oneshot(request))
            .await
            .expect("the response does not wait for the work left for after it")
            .expect("an answer");
        assert_eq!(response.status(), 200);

        gate.notify_one();
        tokio::time::timeout(Duration::from_secs(10), finished)
            .await
            .expect("the work left for after the response runs once let go")
            .expect("the work ran to its end");
    }
}
