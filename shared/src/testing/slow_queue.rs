//! An SQS that answers `SendMessage` slowly (or with a failure) and notes when each send
//! arrived and when it was answered: to see, from outside a function binary, when its
//! request-log record leaves. Point the function at it with `AWS_ENDPOINT_URL_SQS`.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// One `SendMessage`: its body, when it arrived, and when its answer left.
#[derive(Debug, Clone)]
pub struct Send {
    pub body: Value,
    pub arrived: Instant,
    pub answered: Instant,
}

#[derive(Debug)]
struct Queue {
    delay: Duration,
    fail: bool,
    sends: Mutex<Vec<Send>>,
    /// When each send arrived, answered or not (a caller may give up first).
    arrivals: Mutex<Vec<Instant>>,
}

/// The stand-in SQS, serving on a loopback port while it lives.
#[derive(Debug, Clone)]
pub struct SlowQueue {
    pub endpoint: String,
    queue: Arc<Queue>,
}

impl SlowQueue {
    /// Answers each send after `delay`; with `fail`, the answer is a 500 `InternalError`.
    pub async fn start(delay: Duration, fail: bool) -> Self {
        let queue = Arc::new(Queue { delay, fail, sends: Mutex::new(Vec::new()), arrivals: Mutex::new(Vec::new()) });
        let app = Router::new().fallback(answer).with_state(queue.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let endpoint = format!("http://{}", listener.local_addr().expect("an address"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        SlowQueue { endpoint, queue }
    }

    /// A queue URL on this endpoint.
    pub fn queue_url(&self) -> String {
        format!("{}/000000000000/steller-request-log", self.endpoint)
    }

    /// When each send arrived so far, including those whose caller gave up waiting.
    pub fn arrivals(&self) -> Vec<Instant> {
        self.queue.arrivals.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The sends answered so far, in the order they arrived.
    pub fn sends(&self) -> Vec<Send> {
        let mut sends = self.queue.sends.lock().unwrap_or_else(PoisonError::into_inner).clone();
        sends.sort_by_key(|send| send.arrived);
        sends
    }
}

async fn answer(State(queue): State<Arc<Queue>>, headers: HeaderMap, body: Bytes) -> Response {
    let arrived = Instant::now();
    let target = headers.get("x-amz-target").and_then(|value| value.to_str().ok()).unwrap_or_default();
    if target != "AmazonSQS.SendMessage" {
        return (StatusCode::BAD_REQUEST, format!("the stand-in SQS only takes SendMessage, not {target:?}"))
            .into_response();
    }
    queue.arrivals.lock().unwrap_or_else(PoisonError::into_inner).push(arrived);
    tokio::time::sleep(queue.delay).await;
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let response = if queue.fail {
        let error =
            json!({"__type": "com.amazonaws.sqs#InternalError", "message": "the stand-in SQS fails on purpose"});
        (StatusCode::INTERNAL_SERVER_ERROR, [(header::CONTENT_TYPE, "application/x-amz-json-1.0")], error.to_string())
            .into_response()
    } else {
        let sent = json!({"MessageId": ulid::Ulid::new().to_string()});
        (StatusCode::OK, [(header::CONTENT_TYPE, "application/x-amz-json-1.0")], sent.to_string()).into_response()
    };
    queue.sends.lock().unwrap_or_else(PoisonError::into_inner).push(Send { body, arrived, answered: Instant::now() });
    response
}
