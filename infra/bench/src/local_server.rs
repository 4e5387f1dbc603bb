//! The local server's throughput: `steller_local::serve` in process on a free port, over
//! its embedded engine, and N concurrent clients over HTTP reading their wallets, then
//! placing orders, each client as its own partner.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::Serialize;
use serde_json::json;
use steller_local::{Engine, Options};
use tokio::sync::oneshot;

use crate::embedded::sign_up;
use crate::stats::{per_second, round2};

/// Long enough that the request-log drain never runs during the measurement.
const ANALYTICS_INTERVAL: Duration = Duration::from_secs(60 * 60);

/// One kind of request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServerRow {
    pub request: String,
    pub clients: usize,
    pub requests: usize,
    /// Answers that were not 2xx.
    pub errors: usize,
    pub seconds: f64,
    pub requests_per_second: Option<f64>,
}

/// Starts the local server, then times `requests_per_client` wallet reads and as many
/// orders from each of `clients` clients at once.
pub async fn measure(clients: usize, requests_per_client: usize) -> anyhow::Result<Vec<ServerRow>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.context("binding the local server")?;
    let base = format!("http://{}", listener.local_addr()?);
    let options = Options {
        engine: Engine::Embedded(None),
        table_prefix: "bench-local".to_owned(),
        ops_key: None,
        analytics_interval: ANALYTICS_INTERVAL,
        webhook_retry_scale: 1.0,
        client_timeout: steller_local::DEFAULT_CLIENT_TIMEOUT,
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let (ready, is_ready) = oneshot::channel::<steller::Store>();
    let server = tokio::spawn(steller_local::serve(
        options,
        listener,
        move |running| {
            let _ = ready.send(running.store.clone());
        },
        async move {
            let _ = stopped.await;
        },
    ));
    let Ok(store) = is_ready.await else {
        let outcome = server.await.context("the local server's task")?;
        bail!("the local server did not start: {outcome:?}");
    };

    let rows = async {
        let mut keys = Vec::new();
        for index in 0..clients {
            let signup = sign_up(&store, &format!("local-{index}"), 10_000).await?;
            keys.push(signup.first_key.key.expose().to_owned());
        }
        let product = steller::seed::products()?
            .into_iter()
            .filter(|product| product.active)
            .min_by_key(|product| product.unit_price.decimal())
            .context("the seed has an active product")?;
        let http = reqwest::Client::builder().no_proxy().build().context("building the HTTP client")?;
        let wallet = Call { method: reqwest::Method::GET, url: format!("{base}/api/wallet"), body: None };
        let order = Call {
            method: reqwest::Method::POST,
            url: format!("{base}/api/orders"),
            body: Some(json!({"product_id": product.id.to_string(), "quantity": 1})),
        };
        let mut rows = Vec::new();
        for (request, call) in [("GET /api/wallet", wallet), ("POST /api/orders", order)] {
            rows.push(load(&http, request, &call, &keys, requests_per_client).await?);
        }
        anyhow::Ok(rows)
    }
    .await;
    let _ = stop.send(());
    server.await.context("the local server's task")?.context("the local server stopped with an error")?;
    rows
}

/// One request, as every client sends it with its own key.
#[derive(Debug, Clone)]
struct Call {
    method: reqwest::Method,
    url: String,
    body: Option<serde_json::Value>,
}

/// Each key's client sends `call` `times` times, one after the other; all clients at once.
async fn load(
    http: &reqwest::Client,
    request: &str,
    call: &Call,
    keys: &[String],
    times: usize,
) -> anyhow::Result<ServerRow> {
    let started = Instant::now();
    let clients: Vec<_> = keys
        .iter()
        .map(|key| {
            let (http, call, key) = (http.clone(), call.clone(), key.clone());
            tokio::spawn(async move {
                let mut errors = 0;
                for _ in 0..times {
                    let mut sent = http.request(call.method.clone(), &call.url).bearer_auth(&key);
                    if let Some(body) = &call.body {
                        sent = sent.json(body);
                    }
                    match sent.send().await {
                        Ok(answer) if answer.status().is_success() => {
                            // Read to the end, as a client does, so the connection is reused.
                            let _ = answer.bytes().await;
                        }
                        _ => errors += 1,
                    }
                }
                errors
            })
        })
        .collect();
    let mut errors = 0;
    for client in clients {
        errors += client.await.context("a client panicked")?;
    }
    let elapsed = started.elapsed();
    let requests = keys.len() * times;
    Ok(ServerRow {
        request: request.to_owned(),
        clients: keys.len(),
        requests,
        errors,
        seconds: round2(elapsed.as_secs_f64()),
        requests_per_second: per_second(requests - errors, elapsed),
    })
}

/// The local-server table as printed.
pub fn server_table(rows: &[ServerRow]) -> String {
    let mut table = format!(
        "{:<18} {:>7} {:>8} {:>6} {:>8} {:>10}\n",
        "request", "clients", "requests", "errors", "seconds", "requests/s"
    );
    for row in rows {
        table.push_str(&format!(
            "{:<18} {:>7} {:>8} {:>6} {:>8.2} {:>10}\n",
            row.request,
            row.clients,
            row.requests,
            row.errors,
            row.seconds,
            row.requests_per_second.map_or_else(|| "-".to_owned(), |rate| format!("{rate:.1}"))
        ));
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_shows_each_request_with_its_rate() {
        let row = ServerRow {
            request: "GET /api/wallet".to_owned(),
            clients: 16,
            requests: 800,
            errors: 0,
            seconds: 2.0,
            requests_per_second: Some(400.0),
        };
        let table = server_table(&[row]);
        let line = table.lines().nth(1).unwrap_or_default();
        assert!(line.starts_with("GET /api/wallet") && line.ends_with("400.0"), "{table}");
    }
}
