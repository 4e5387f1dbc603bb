//! A Lambda Runtime API for the bench: it runs a function's release binary as Lambda
//! does, notes when the process first asks for an event (its init is over) and when it
//! answers each one. Its own small server, not `steller::testing::lambda`: that one
//! times each Runtime API call but not the process's spawn, and lives behind steller's
//! `test-support` feature. The two could become one emulator with a spawn time.

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// How long one event may take before the run gives up on it.
const LIMIT: Duration = Duration::from_secs(30);

/// One cold start, from the moment the process is spawned.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ColdStart {
    /// Until its first `GET /runtime/invocation/next`: what Lambda bills as init.
    pub init: Duration,
    /// Until its answer to the first event is posted (a response or a reported error);
    /// `None` when it was given no event.
    pub first_response: Option<Duration>,
    /// Whether that answer was a reported error.
    pub errored: bool,
}

/// A function's answer to one event.
#[derive(Debug, Clone)]
pub struct Answer {
    pub at: Instant,
    pub errored: bool,
    pub body: Value,
}

struct Runtime {
    events: tokio::sync::Mutex<mpsc::UnboundedReceiver<(String, Value)>>,
    answers: Mutex<HashMap<String, oneshot::Sender<Answer>>>,
    first_poll: Mutex<Option<Instant>>,
}

/// A poisoned lock only means a handler panicked; what it guards is still plain data.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn next(State(runtime): State<Arc<Runtime>>) -> Response {
    lock(&runtime.first_poll).get_or_insert_with(Instant::now);
    let Some((id, event)) = runtime.events.lock().await.recv().await else {
        // No more events: hold the poll, as Lambda does between invocations.
        return std::future::pending::<Response>().await;
    };
    let mut headers = HeaderMap::new();
    if let Ok(id) = HeaderValue::from_str(&id) {
        headers.insert("lambda-runtime-aws-request-id", id);
    }
    headers.insert("lambda-runtime-deadline-ms", HeaderValue::from(deadline_ms()));
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        HeaderValue::from_static("arn:aws:lambda:us-east-1:000000000000:function:bench"),
    );
    (headers, axum::Json(event)).into_response()
}

fn deadline_ms() -> u64 {
    let deadline = std::time::SystemTime::now() + LIMIT;
    deadline
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
}

fn answer(runtime: &Runtime, id: &str, errored: bool, body: &[u8]) -> &'static str {
    let at = Instant::now();
    if let Some(waiting) = lock(&runtime.answers).remove(id) {
        let body = serde_json::from_slice(body).unwrap_or(Value::Null);
        let _ = waiting.send(Answer { at, errored, body });
    }
    "{}"
}

async fn response(State(runtime): State<Arc<Runtime>>, UrlPath(id): UrlPath<String>, body: Bytes) -> &'static str {
    answer(&runtime, &id, false, &body)
}

async fn error(State(runtime): State<Arc<Runtime>>, UrlPath(id): UrlPath<String>, body: Bytes) -> &'static str {
    answer(&runtime, &id, true, &body)
}

/// A function binary running under this Runtime API. Killed when dropped.
pub struct Lambda {
    child: tokio::process::Child,
    server: JoinHandle<std::io::Result<()>>,
    events: mpsc::UnboundedSender<(String, Value)>,
    runtime: Arc<Runtime>,
    started: Instant,
    invocations: u64,
}

impl Lambda {
    /// Spawns `binary` with only the Lambda runtime's variables and `environment`.
    pub async fn start(binary: &Path, environment: &[(String, String)]) -> anyhow::Result<Self> {
        let (events, received) = mpsc::unbounded_channel();
        let runtime = Arc::new(Runtime {
            events: tokio::sync::Mutex::new(received),
            answers: Mutex::default(),
            first_poll: Mutex::default(),
        });
        let api = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .with_state(runtime.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.context("binding the Runtime API")?;
        let address = listener.local_addr()?;
        let server = tokio::spawn(async move { axum::serve(listener, api).await });

        let mut command = tokio::process::Command::new(binary);
        command
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .envs(environment.iter().map(|(name, value)| (name, value)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        let started = Instant::now();
        let child = command.spawn().with_context(|| format!("starting {}", binary.display()))?;
        Ok(Lambda { child, server, events, runtime, started, invocations: 0 })
    }

    /// Delivers `event` and waits (up to 30 s) for the function's answer.
    pub async fn invoke(&mut self, event: Value) -> anyhow::Result<Answer> {
        self.invocations += 1;
        let id = format!("bench-{}", self.invocations);
        let (answered, answer) = oneshot::channel();
        lock(&self.runtime.answers).insert(id.clone(), answered);
        self.events.send((id, event)).map_err(|_| anyhow!("the Runtime API has stopped"))?;
        tokio::time::timeout(LIMIT, answer)
            .await
            .map_err(|_| anyhow!("the function did not answer within {} s", LIMIT.as_secs()))?
            .context("the Runtime API dropped the answer")
    }

    /// How long the process took to ask for its first event, once it has.
    pub fn init(&self) -> Option<Duration> {
        lock(&self.runtime.first_poll).map(|first_poll| first_poll - self.started)
    }

    pub fn started(&self) -> Instant {
        self.started
    }
}

impl Drop for Lambda {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        self.server.abort();
    }
}

/// Spawns `binary` with `environment`, hands it `event` (if any) and times its init and
/// first answer.
pub async fn cold_start(
    binary: &Path,
    environment: &[(String, String)],
    event: Option<Value>,
) -> anyhow::Result<ColdStart> {
    let mut lambda = Lambda::start(binary, environment).await?;
    let Some(event) = event else {
        let init = tokio::time::timeout(LIMIT, async {
            loop {
                match lambda.init() {
                    Some(init) => return init,
                    None => tokio::time::sleep(Duration::from_micros(200)).await,
                }
            }
        })
        .await
        .map_err(|_| anyhow!("{} did not ask for an event within {} s", binary.display(), LIMIT.as_secs()))?;
        return Ok(ColdStart { init, first_response: None, errored: false });
    };
    let answer = lambda.invoke(event).await.with_context(|| format!("the first event of {}", binary.display()))?;
    let init = lambda.init().context("an answer came before the first poll")?;
    Ok(ColdStart { init, first_response: Some(answer.at - lambda.started()), errored: answer.errored })
}
