//! A DynamoDB that is overloaded on demand: a proxy in front of a real endpoint (the
//! embedded dynoxide) that answers chosen operations as DynamoDB answers when it
//! throttles, forwards everything else, and counts the calls it sees.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::TestDatabase;
use crate::Store;

/// How an operation is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttle {
    /// The call fails with this error code (`ProvisionedThroughputExceededException`,
    /// `ThrottlingException`, `RequestLimitExceeded`).
    Error(&'static str),
    /// A `TransactWriteItems` is cancelled with this reason code for every item
    /// (`ThrottlingError`, `ProvisionedThroughputExceeded`).
    Cancel(&'static str),
}

#[derive(Debug, Default)]
struct Seen {
    calls: Mutex<HashMap<String, usize>>,
}

#[derive(Debug, Clone)]
struct Proxy {
    upstream: String,
    rules: Arc<HashMap<&'static str, Throttle>>,
    seen: Arc<Seen>,
    client: reqwest::Client,
}

/// The proxy, running on a loopback port until the test ends.
#[derive(Debug, Clone)]
pub struct ThrottlingProxy {
    endpoint: String,
    seen: Arc<Seen>,
}

impl ThrottlingProxy {
    /// A proxy in front of `upstream` refusing each operation of `rules` (by its name,
    /// `GetItem`, `TransactWriteItems`, …) as its rule says.
    pub async fn start(upstream: &str, rules: &[(&'static str, Throttle)]) -> Self {
        let seen = Arc::new(Seen::default());
        let proxy = Proxy {
            upstream: upstream.to_owned(),
            rules: Arc::new(rules.iter().copied().collect()),
            seen: seen.clone(),
            client: reqwest::Client::new(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let endpoint = format!("http://{}", listener.local_addr().expect("an address"));
        let app = Router::new().fallback(answer).with_state(proxy);
        tokio::spawn(async move { axum::serve(listener, app).await });
        ThrottlingProxy { endpoint, seen }
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// How many calls of `operation` reached the proxy.
    pub fn calls(&self, operation: &str) -> usize {
        self.seen.calls.lock().unwrap_or_else(PoisonError::into_inner).get(operation).copied().unwrap_or(0)
    }
}

impl TestDatabase {
    /// `self`'s tables reached through `proxy`: a store whose SDK retries throttling
    /// quickly (as it does on AWS, only without the waits), so tests see the final answer.
    pub async fn through(&self, proxy: &ThrottlingProxy) -> Store {
        use aws_sdk_dynamodb::config::retry::RetryConfig;
        let sdk = crate::aws::for_endpoint(proxy.endpoint()).await;
        let retry = RetryConfig::standard().with_initial_backoff(std::time::Duration::from_millis(1));
        let config = aws_sdk_dynamodb::config::Builder::from(&sdk).retry_config(retry).build();
        Store::new(aws_sdk_dynamodb::Client::from_conf(config), self.store.table())
    }
}

async fn answer(State(proxy): State<Proxy>, headers: HeaderMap, body: Bytes) -> Response {
    let operation = headers
        .get("x-amz-target")
        .and_then(|target| target.to_str().ok())
        .and_then(|target| target.rsplit('.').next())
        .unwrap_or_default()
        .to_owned();
    *proxy.seen.calls.lock().unwrap_or_else(PoisonError::into_inner).entry(operation.clone()).or_default() += 1;
    match proxy.rules.get(operation.as_str()) {
        Some(Throttle::Error(code)) => refusal(json!({"__type": aws_type(code), "message": "Throughput exceeded"})),
        Some(Throttle::Cancel(reason)) => {
            let items = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|request| request["TransactItems"].as_array().map(Vec::len))
                .unwrap_or(1);
            let reasons: Vec<Value> = (0..items).map(|_| json!({"Code": reason, "Message": "Throttled"})).collect();
            refusal(json!({
                "__type": aws_type("TransactionCanceledException"),
                "message": "Transaction cancelled, please refer cancellation reasons for specific reasons",
                "CancellationReasons": reasons,
            }))
        }
        None => forward(&proxy, headers, body).await,
    }
}

fn aws_type(code: &str) -> String {
    format!("com.amazonaws.dynamodb.v20120810#{code}")
}

fn refusal(body: Value) -> Response {
    (StatusCode::BAD_REQUEST, [(header::CONTENT_TYPE, "application/x-amz-json-1.0")], body.to_string()).into_response()
}

async fn forward(proxy: &Proxy, headers: HeaderMap, body: Bytes) -> Response {
    let mut request = proxy.client.post(&proxy.upstream).body(body);
    for (name, value) in &headers {
        if name != header::HOST && name != header::CONTENT_LENGTH {
            request = request.header(name.as_str(), value.as_bytes());
        }
    }
    let Ok(answered) = request.send().await else {
        return (StatusCode::BAD_GATEWAY, "the upstream DynamoDB did not answer").into_response();
    };
    let status = StatusCode::from_u16(answered.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let content_type = answered
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("application/x-amz-json-1.0")
        .to_owned();
    let body = answered.bytes().await.unwrap_or_default();
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}
