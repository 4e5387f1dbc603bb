//! A proxy in front of a DynamoDB endpoint (the embedded engine) for the figures that
//! time Steller's own code: it can hold every call for a fixed delay, standing in for
//! AWS's round trip, and it counts the calls and the `TransactWriteItems` that DynamoDB
//! cancelled (a lost race on a condition), which the store retries without saying so.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Bodies are small; this only bounds a runaway one.
const BODY_LIMIT: usize = 16 * 1024 * 1024;

/// What the proxy has seen since it started (or since the last `take`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ProxyCounts {
    pub calls: usize,
    pub transact_writes: usize,
    /// `TransactWriteItems` answered with `TransactionCanceledException`.
    pub cancelled: usize,
}

#[derive(Debug, Default)]
struct Counters {
    calls: AtomicUsize,
    transact_writes: AtomicUsize,
    cancelled: AtomicUsize,
}

#[derive(Debug)]
struct Proxy {
    upstream: String,
    delay: Duration,
    client: reqwest::Client,
    counters: Counters,
}

/// The running proxy: its endpoint for the SDK, and its counts.
#[derive(Debug, Clone)]
pub struct EngineProxy {
    pub endpoint: String,
    proxy: Arc<Proxy>,
}

impl EngineProxy {
    /// A proxy on a free loopback port forwarding to `upstream`, each call held `delay`
    /// before it is forwarded.
    pub async fn start(upstream: &str, delay: Duration) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder().no_proxy().build().context("building the proxy's client")?;
        let proxy = Arc::new(Proxy {
            upstream: upstream.trim_end_matches('/').to_owned(),
            delay,
            client,
            counters: Counters::default(),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.context("binding the engine proxy")?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let app = Router::new().fallback(forward).with_state(proxy.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(EngineProxy { endpoint, proxy })
    }

    /// The counts since the last `take`, and starts counting afresh.
    pub fn take(&self) -> ProxyCounts {
        let counters = &self.proxy.counters;
        ProxyCounts {
            calls: counters.calls.swap(0, Ordering::SeqCst),
            transact_writes: counters.transact_writes.swap(0, Ordering::SeqCst),
            cancelled: counters.cancelled.swap(0, Ordering::SeqCst),
        }
    }
}

async fn forward(State(proxy): State<Arc<Proxy>>, request: Request) -> Response {
    match relay(&proxy, request).await {
        Ok(response) => response,
        Err(error) => (StatusCode::BAD_GATEWAY, format!("{error:#}")).into_response(),
    }
}

async fn relay(proxy: &Proxy, request: Request) -> anyhow::Result<Response> {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, BODY_LIMIT).await.context("reading the call")?;
    let transact_write = is_transact_write(&parts.headers);
    proxy.counters.calls.fetch_add(1, Ordering::SeqCst);
    if transact_write {
        proxy.counters.transact_writes.fetch_add(1, Ordering::SeqCst);
    }
    if !proxy.delay.is_zero() {
        tokio::time::sleep(proxy.delay).await;
    }

    let (status, headers, body) = crate::recorder::pass_on(&proxy.client, &proxy.upstream, parts, body).await?;
    if transact_write && is_cancellation(status, &body) {
        proxy.counters.cancelled.fetch_add(1, Ordering::SeqCst);
    }
    Ok((status, headers, body).into_response())
}

fn is_transact_write(headers: &HeaderMap) -> bool {
    headers
        .get("x-amz-target")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|target| target.ends_with(".TransactWriteItems"))
}

/// Whether an answer is DynamoDB's `TransactionCanceledException`: a 400 whose JSON
/// `__type` names it (`com.amazonaws.dynamodb.v20120810#TransactionCanceledException`).
pub fn is_cancellation(status: StatusCode, body: &[u8]) -> bool {
    status == StatusCode::BAD_REQUEST
        && serde_json::from_slice::<serde_json::Value>(body).ok().is_some_and(|answer| {
            answer["__type"].as_str().is_some_and(|kind| kind.ends_with("TransactionCanceledException"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancelled_transaction_is_told_by_its_error_type() {
        let cancelled = br#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","Message":"x"}"#;
        assert!(is_cancellation(StatusCode::BAD_REQUEST, cancelled));
        let conflict = br#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionConflictException"}"#;
        assert!(!is_cancellation(StatusCode::BAD_REQUEST, conflict));
        assert!(!is_cancellation(StatusCode::OK, b"{}"));
        assert!(!is_cancellation(StatusCode::BAD_REQUEST, b"not json"));
    }

    #[test]
    fn only_transact_write_items_is_watched_for_cancellations() {
        let mut headers = HeaderMap::new();
        headers.insert("x-amz-target", axum::http::HeaderValue::from_static("DynamoDB_20120810.TransactWriteItems"));
        assert!(is_transact_write(&headers));
        headers.insert("x-amz-target", axum::http::HeaderValue::from_static("DynamoDB_20120810.GetItem"));
        assert!(!is_transact_write(&headers));
    }
}
