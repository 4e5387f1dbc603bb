//! The local server: every function's routes on one port, over an embedded dynoxide (or
//! any DynamoDB endpoint), so the whole API runs with nothing but Rust.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use steller::config::TABLE_VAR;
use steller::domain::{ApiKey, KeyRole};
use steller::engine::{EmbeddedEngine, Storage};
use steller::schema::{TableNames, bootstrap};
use steller::{AppState, Config, Store, aws};
use utoipa_axum::router::OpenApiRouter;

/// Every function's routes, merged: what API Gateway routes to the Lambdas in AWS.
pub fn routes() -> OpenApiRouter<AppState> {
    signup::routes().merge(wallet::routes()).merge(catalog::routes()).merge(orders::routes())
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
}

/// The running server's parts, for the banner.
#[derive(Debug)]
pub struct Running {
    pub address: SocketAddr,
    pub dynamodb: String,
    /// How many catalog products were seeded from infra/seed/products.json.
    pub products: usize,
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

    let client = aws::dynamodb(&aws::for_endpoint(&endpoint).await);
    let names = TableNames::new(&options.table_prefix);
    bootstrap(&client, &names).await.with_context(|| format!("creating the tables on {dynamodb}"))?;
    let table = names.domain();
    let config =
        Config::from_lookup(|name| if name == TABLE_VAR { Some(table.clone()) } else { std::env::var(name).ok() })?;
    let store = Store::new(client, &table);
    if let Some(key) = &ops_key {
        store.register_ops_key(key, "local (STELLER_OPS_KEY)").await.context("registering STELLER_OPS_KEY")?;
    }
    // Upserting is idempotent: every start puts the seed products back as the file has them.
    let products = steller::seed::seed_products(&store).await.context("seeding the catalog")?;

    let app = steller::http::app(routes(), AppState::new(store, config));
    let running = Running { address: listener.local_addr()?, dynamodb, products };
    on_ready(&running);
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await.context("serving the API")?;
    if let Some(engine) = engine {
        engine.stop().await;
    }
    Ok(())
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
