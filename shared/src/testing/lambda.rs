//! A Lambda Runtime API emulator for the tests: a function's real binary runs as it does
//! in AWS (`AWS_LAMBDA_RUNTIME_API` pointing here), fetching events from
//! `/2018-06-01/runtime/invocation/next` and posting its answers back.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde_json::{Value, json};
use tokio::sync::{Mutex, mpsc, oneshot};

use super::TestDatabase;
use crate::domain::Money;

/// What the function answered: a response, or an error it reported to the runtime.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Response(Value),
    Error(Value),
}

impl Outcome {
    /// The response, or a panic naming the reported error.
    #[track_caller]
    pub fn response(self) -> Value {
        match self {
            Outcome::Response(value) => value,
            Outcome::Error(error) => panic!("the function reported an error: {error}"),
        }
    }
}

/// A call the function made to the Runtime API, as `LambdaProcess::runtime_calls` lists
/// them: when it asked for the next invocation, and when it posted an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuntimeCall {
    /// `GET /runtime/invocation/next`: the function is ready for an invocation.
    Next,
    /// The answer to a `next`: invocation `<id>`'s event is handed to the function.
    Delivered(String),
    /// `POST /runtime/invocation/<id>/response`.
    Response(String),
    /// `POST /runtime/invocation/<id>/error`.
    Error(String),
}

struct Runtime {
    events: Mutex<mpsc::UnboundedReceiver<(String, Value)>>,
    answers: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    calls: std::sync::Mutex<Vec<(Instant, RuntimeCall)>>,
    /// How long each invocation is given, as `lambda-runtime-deadline-ms` says.
    timeout: std::sync::Mutex<Duration>,
}

impl Runtime {
    fn record(&self, call: RuntimeCall) {
        self.calls.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((Instant::now(), call));
    }
}

async fn next(State(runtime): State<Arc<Runtime>>) -> Response {
    runtime.record(RuntimeCall::Next);
    let event = runtime.events.lock().await.recv().await;
    let Some((id, event)) = event else {
        // No more events: hold the poll, as Lambda does between invocations.
        return std::future::pending::<Response>().await;
    };
    runtime.record(RuntimeCall::Delivered(id.clone()));
    let timeout = *runtime.timeout.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let deadline = (SystemTime::now() + timeout).duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("lambda-runtime-aws-request-id", id),
        ("lambda-runtime-deadline-ms", deadline.to_string()),
        ("lambda-runtime-invoked-function-arn", "arn:aws:lambda:us-east-1:000000000000:function:test".to_owned()),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    (headers, axum::Json(event)).into_response()
}

async fn answer(runtime: &Runtime, id: &str, outcome: Outcome) {
    if let Some(waiting) = runtime.answers.lock().await.remove(id) {
        let _ = waiting.send(outcome);
    }
}

async fn response(State(runtime): State<Arc<Runtime>>, Path(id): Path<String>, body: Bytes) -> &'static str {
    runtime.record(RuntimeCall::Response(id.clone()));
    answer(&runtime, &id, Outcome::Response(serde_json::from_slice(&body).unwrap_or(Value::Null))).await;
    "{}"
}

async fn error(State(runtime): State<Arc<Runtime>>, Path(id): Path<String>, body: Bytes) -> &'static str {
    runtime.record(RuntimeCall::Error(id.clone()));
    answer(&runtime, &id, Outcome::Error(serde_json::from_slice(&body).unwrap_or(Value::Null))).await;
    "{}"
}

/// A function binary running under the emulated Runtime API. Killed when dropped.
pub struct LambdaProcess {
    child: Child,
    events: mpsc::UnboundedSender<(String, Value)>,
    runtime: Arc<Runtime>,
}

impl LambdaProcess {
    /// Starts the function binary at `path` with the environment template.yaml gives it,
    /// and nothing more, its AWS calls going to `db`'s endpoint. Its references resolve to
    /// `db`'s tables and the default addresses; the request-log queue is left blank (no
    /// queue: this endpoint may have no SQS).
    pub async fn start(path: &str, db: &TestDatabase) -> Self {
        Self::start_at(path, db, &db.endpoint).await
    }

    /// As `start`, its AWS calls going to `endpoint` (a recording proxy in front of `db`).
    pub async fn start_at(path: &str, db: &TestDatabase, endpoint: &str) -> Self {
        let config = db.config();
        let resources = HashMap::from([
            ("DomainTable", config.table.clone()),
            ("RequestLogTable", config.request_log_table.unwrap_or_default()),
            ("RequestLogQueue", String::new()),
            ("WebhookDeliveryQueue", String::new()),
        ]);
        Self::deployed(path, endpoint, &resources).await
    }

    /// Starts the function binary at `path` with the environment template.yaml gives it,
    /// its AWS calls going to `endpoint`, each `!Ref` to a resource resolved through
    /// `resources` (by logical id) and each to a parameter to the defaults of the tests.
    pub async fn deployed(path: &str, endpoint: &str, resources: &HashMap<&str, String>) -> Self {
        Self::deployed_with(path, endpoint, resources, Vec::new()).await
    }

    /// As `deployed`, with `extra` variables on top (such as `AWS_ENDPOINT_URL_SQS`, to
    /// send one service's calls elsewhere).
    pub async fn deployed_with(
        path: &str,
        endpoint: &str,
        resources: &HashMap<&str, String>,
        extra: Vec<(String, String)>,
    ) -> Self {
        let binary = std::path::Path::new(path).file_name().and_then(|name| name.to_str()).unwrap_or(path);
        let function = crate::schema::function_running(binary).unwrap_or_else(|e| panic!("{e}"));
        let environment = function
            .environment_with(|id| match id {
                "SandboxCredit" => Some("1000.00".to_owned()),
                "SenderEmail" => Some(crate::config::DEFAULT_SENDER_EMAIL.to_owned()),
                "OpsEmail" => Some(crate::config::DEFAULT_OPS_EMAIL.to_owned()),
                resource => resources.get(resource).cloned(),
            })
            .unwrap_or_else(|e| panic!("{e}"));
        Self::with_environment(path, endpoint, environment.into_iter().chain(extra).collect()).await
    }

    /// Starts the binary at `path` with only the Lambda runtime's variables and
    /// `environment`, its AWS calls going to `endpoint`.
    pub async fn with_environment(path: &str, endpoint: &str, environment: Vec<(String, String)>) -> Self {
        let (events, received) = mpsc::unbounded_channel();
        let runtime = Arc::new(Runtime {
            events: Mutex::new(received),
            answers: Mutex::new(HashMap::new()),
            calls: std::sync::Mutex::new(Vec::new()),
            timeout: std::sync::Mutex::new(Duration::from_secs(30)),
        });
        let api = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .with_state(runtime.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let address = listener.local_addr().expect("an address");
        tokio::spawn(async move { axum::serve(listener, api).await });
        let child = Command::new(path)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", "test")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_ENDPOINT_URL", endpoint)
            .envs(environment)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the function binary starts");
        LambdaProcess { child, events, runtime }
    }

    /// Delivers `event` and waits (up to 30 s) for the function's answer.
    pub async fn invoke(&self, event: Value) -> Outcome {
        self.invocation(event).await.1
    }

    /// As `invoke`, also giving the invocation's id (as `runtime_calls` names it).
    pub async fn invocation(&self, event: Value) -> (String, Outcome) {
        let id = ulid::Ulid::new().to_string();
        let (answered, answer) = oneshot::channel();
        self.runtime.answers.lock().await.insert(id.clone(), answered);
        self.events.send((id.clone(), event)).expect("the runtime is listening");
        let outcome = tokio::time::timeout(Duration::from_secs(30), answer)
            .await
            .expect("the function answers within 30 s")
            .expect("an answer");
        (id, outcome)
    }

    /// When invocation `id`'s event was handed to the function and when its answer (a
    /// response or an error) arrived: the span a caller waits through.
    pub fn awaited_span(&self, id: &str) -> Option<(Instant, Instant)> {
        let calls = self.runtime_calls();
        let delivered = calls.iter().find(|(_, call)| matches!(call, RuntimeCall::Delivered(of) if of == id))?.0;
        let answered = calls
            .iter()
            .find(|(_, call)| matches!(call, RuntimeCall::Response(of) | RuntimeCall::Error(of) if of == id))?
            .0;
        Some((delivered, answered))
    }

    /// Gives each invocation from now on `timeout` (30 s unless set), in its deadline.
    pub fn set_timeout(&self, timeout: Duration) {
        *self.runtime.timeout.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = timeout;
    }

    /// Every call the function made to the Runtime API so far, in order, with when it
    /// arrived.
    pub fn runtime_calls(&self) -> Vec<(Instant, RuntimeCall)> {
        self.runtime.calls.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Whether the process is still alive (a panic must not kill it).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for LambdaProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An API Gateway HTTP API (payload 2.0) event, as the `$default` stage or a named
/// stage sends it; a body is sent base64-encoded when `base64` is set.
pub fn http_event(
    method: &str,
    path: &str,
    stage: &str,
    key: Option<&str>,
    body: Option<&Value>,
    base64: bool,
) -> Value {
    let raw_path = if stage == "$default" { path.to_owned() } else { format!("/{stage}{path}") };
    let mut headers = json!({"host": "api.example.com", "user-agent": "lambda-test"});
    if let Some(key) = key {
        headers["authorization"] = json!(format!("Bearer {key}"));
    }
    let mut event = json!({
        "version": "2.0",
        "routeKey": format!("{method} {path}"),
        "rawPath": raw_path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "000000000000", "apiId": "api", "domainName": "api.example.com", "domainPrefix": "api",
            "http": {"method": method, "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1", "userAgent": "lambda-test"},
            "requestId": ulid::Ulid::new().to_string(), "routeKey": format!("{method} {path}"), "stage": stage,
            "time": "24/Nov/2026:10:00:00 +0000", "timeEpoch": 1795946400000u64
        },
        "isBase64Encoded": false
    });
    if let Some(body) = body {
        event["headers"]["content-type"] = json!("application/json");
        let text = body.to_string();
        if base64 {
            event["body"] = json!(base64::engine::general_purpose::STANDARD.encode(text));
            event["isBase64Encoded"] = json!(true);
        } else {
            event["body"] = json!(text);
        }
    }
    event
}

/// A sandbox key of a new partner in `db`, for events that need one.
pub async fn sandbox_key(db: &TestDatabase) -> String {
    let signup = super::sign_up(&db.store, "Lambda Test", &super::unique_email("lambda"), Money::dollars(1000)).await;
    signup.first_key.key.expose().to_owned()
}

/// Who a probe's request is made as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// No key at all.
    Nobody,
    /// A new partner's sandbox key.
    Partner,
    /// A registered ops key.
    Ops,
}

/// One request to a function binary, and the status it must answer.
#[derive(Debug, Clone)]
pub struct Probe {
    pub method: &'static str,
    pub path: String,
    pub caller: Caller,
    pub body: Option<Value>,
    pub status: u16,
}

impl Probe {
    pub fn get(path: impl Into<String>, caller: Caller, status: u16) -> Self {
        Probe { method: "GET", path: path.into(), caller, body: None, status }
    }

    pub fn post(path: impl Into<String>, caller: Caller, body: Value, status: u16) -> Self {
        Probe { method: "POST", path: path.into(), caller, body: Some(body), status }
    }
}

/// Runs the function binary at `binary` as a real Lambda, under this Runtime API
/// emulator, with the environment template.yaml gives it, over a fresh embedded
/// database; and checks that each probe answers its status however API Gateway sends
/// it: a plain event, one with a base64 body and one from a named stage.
pub async fn assert_function_answers(binary: &str, probes: &[Probe]) {
    let db = TestDatabase::embedded().await;
    let partner_key = sandbox_key(&db).await;
    let ops_key = crate::domain::ApiKey::generate(crate::domain::KeyRole::Ops);
    db.store.register_ops_key(&ops_key, "lambda test").await.expect("the ops key is registered");
    // Its calls go through a recording proxy, to be checked against its IAM policy.
    let proxy = super::throttling::ThrottlingProxy::start(&db.endpoint, &[]).await;
    let lambda = LambdaProcess::start_at(binary, &db, proxy.endpoint()).await;
    let mut wrong = Vec::new();
    for probe in probes {
        let key = match probe.caller {
            Caller::Nobody => None,
            Caller::Partner => Some(partner_key.as_str()),
            Caller::Ops => Some(ops_key.expose()),
        };
        let statuses = assert_answers_http_events(&lambda, probe.method, &probe.path, key, probe.body.clone()).await;
        if statuses != [probe.status; 3] {
            wrong.push(format!(
                "{} {} as {:?}: {statuses:?}, not {}",
                probe.method, probe.path, probe.caller, probe.status
            ));
        }
    }
    assert!(wrong.is_empty(), "{binary} answered (plain, base64 body, named stage):\n{}", wrong.join("\n"));
    let name = std::path::Path::new(binary).file_name().and_then(|name| name.to_str()).unwrap_or(binary);
    let function = crate::schema::function_running(name).unwrap_or_else(|error| panic!("{error}"));
    super::policy::assert_policy_allows(&function.logical_id, &proxy.operations());
}

/// Checks a function binary answers a route as API Gateway sends it: a plain event, one
/// with a base64 body (when `body` is given) and one from a non-default stage.
/// Returns the three status codes.
pub async fn assert_answers_http_events(
    lambda: &LambdaProcess,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> [u16; 3] {
    let mut statuses = [0u16; 3];
    let events = [
        http_event(method, path, "$default", key, body.as_ref(), false),
        http_event(method, path, "$default", key, body.as_ref(), true),
        http_event(method, path, "staging", key, body.as_ref(), false),
    ];
    for (status, event) in statuses.iter_mut().zip(events) {
        let answer = lambda.invoke(event).await.response();
        assert!(answer["headers"]["x-request-id"].as_str().is_some_and(|id| id.starts_with("req_")), "{answer}");
        *status = answer["statusCode"].as_u64().and_then(|s| u16::try_from(s).ok()).expect("a status code");
    }
    statuses
}
