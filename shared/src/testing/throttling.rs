//! A DynamoDB that is overloaded on demand: a proxy in front of a real endpoint (the
//! embedded dynoxide) that answers chosen operations as DynamoDB answers when it
//! throttles, forwards everything else, and counts the calls it sees.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
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
    /// The call is forwarded after this long: a slow answer, which leaves a test time to
    /// change something while the call waits.
    Delay(std::time::Duration),
    /// As `Cancel`, after this long: a transaction that takes time to be refused.
    SlowCancel(std::time::Duration, &'static str),
}

#[derive(Debug, Default)]
struct Seen {
    calls: Mutex<HashMap<String, usize>>,
    /// Every call in order of arrival, with when it arrived.
    log: Mutex<Vec<(Instant, String)>>,
    /// The actions IAM checks for each item of a `TransactWriteItems` (`PutItem`,
    /// `UpdateItem`, `DeleteItem`, `ConditionCheckItem`) besides the call's own.
    transaction_items: Mutex<std::collections::BTreeSet<String>>,
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

    /// The operations that reached the proxy between `from` and `to`, in order.
    pub fn calls_between(&self, from: Instant, to: Instant) -> Vec<String> {
        let log = self.seen.log.lock().unwrap_or_else(PoisonError::into_inner);
        log.iter().filter(|(at, _)| *at >= from && *at <= to).map(|(_, operation)| operation.clone()).collect()
    }

    /// Every operation that reached the proxy, by name, with the actions IAM requires for
    /// the items of its transactions (a `ConditionCheck` in a `TransactWriteItems` needs
    /// `dynamodb:ConditionCheckItem`, a `Put` `dynamodb:PutItem`, …): what a policy must allow.
    pub fn operations(&self) -> std::collections::BTreeSet<String> {
        let mut operations: std::collections::BTreeSet<String> =
            self.seen.calls.lock().unwrap_or_else(PoisonError::into_inner).keys().cloned().collect();
        operations.extend(self.seen.transaction_items.lock().unwrap_or_else(PoisonError::into_inner).iter().cloned());
        operations
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

async fn answer(State(proxy): State<Proxy>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let arrived = Instant::now();
    let operation = operation(&uri, &headers, &body);
    *proxy.seen.calls.lock().unwrap_or_else(PoisonError::into_inner).entry(operation.clone()).or_default() += 1;
    proxy.seen.log.lock().unwrap_or_else(PoisonError::into_inner).push((arrived, operation.clone()));
    if operation == "TransactWriteItems" {
        proxy.seen.transaction_items.lock().unwrap_or_else(PoisonError::into_inner).extend(item_actions(&body));
    }
    match proxy.rules.get(operation.as_str()) {
        Some(Throttle::Error(code)) => refusal(json!({"__type": aws_type(code), "message": "Throughput exceeded"})),
        Some(Throttle::Cancel(reason)) => cancelled(&body, reason),
        Some(Throttle::SlowCancel(wait, reason)) => {
            tokio::time::sleep(*wait).await;
            cancelled(&body, reason)
        }
        Some(Throttle::Delay(wait)) => {
            tokio::time::sleep(*wait).await;
            forward(&proxy, headers, body).await
        }
        None => forward(&proxy, headers, body).await,
    }
}

/// The transaction in `body` cancelled, every item for `reason`.
fn cancelled(body: &[u8], reason: &str) -> Response {
    let items = serde_json::from_slice::<Value>(body)
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

/// The operation a request calls: its `X-Amz-Target` (DynamoDB, SQS), its `Action`
/// (a Query-protocol service such as SES), or its path (a REST service such as SESv2).
fn operation(uri: &Uri, headers: &HeaderMap, body: &[u8]) -> String {
    if let Some(target) = headers.get("x-amz-target").and_then(|target| target.to_str().ok()) {
        return target.rsplit('.').next().unwrap_or_default().to_owned();
    }
    let form = String::from_utf8_lossy(body);
    if let Some(action) = form.split('&').find_map(|pair| pair.strip_prefix("Action=")) {
        return action.to_owned();
    }
    uri.path().to_owned()
}

/// The action IAM checks for each kind of item in a `TransactWriteItems` request.
fn item_actions(body: &[u8]) -> Vec<String> {
    let request: Value = serde_json::from_slice(body).unwrap_or_default();
    let items = request["TransactItems"].as_array().map(Vec::as_slice).unwrap_or_default();
    let action = |kind: &str| match kind {
        "ConditionCheck" => "ConditionCheckItem".to_owned(),
        other => format!("{other}Item"),
    };
    items.iter().filter_map(Value::as_object).flat_map(|item| item.keys().map(|kind| action(kind))).collect()
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
