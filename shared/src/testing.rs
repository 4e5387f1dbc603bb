//! `TestApp`: a function's router over a fresh DynamoDB (in-process dynoxide, or the AWS
//! emulator named by `STELLER_TEST_AWS_ENDPOINT`), with typed calls for the tests, and
//! its emails and request log readable on both engines.

pub mod call_budget;
mod emails;
pub mod lambda;
pub mod policy;
mod request_log;
pub mod slow_queue;
pub mod stalled;
pub mod throttling;

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use tracing_subscriber::util::SubscriberInitExt;
use utoipa_axum::router::OpenApiRouter;

use self::emails::Mailbox;
pub use self::emails::{FailingEmail, emulator_sent_emails};
pub use self::request_log::{FailingRequestLog, drain_bodies, emulator_queue};
use crate::domain::{Applicant, CompanyName, Email, SignUp};
use crate::email::{EmailSender, Outbox, SesSender, verify_sender};
use crate::engine::{EmbeddedEngine, Storage};
use crate::request_log::{InProcessQueue, LogQueue, RequestLogSink, RequestLogTable, SqsQueue};
use crate::schema::{TableNames, bootstrap};
use crate::{AppState, Config, Store, aws};

/// The variable naming an AWS emulator (moto, LocalStack) for the emulator suite.
pub const AWS_ENDPOINT_VAR: &str = "STELLER_TEST_AWS_ENDPOINT";

/// The endpoint of the AWS emulator, or a panic that says how to get one.
pub fn aws_emulator_endpoint() -> String {
    match std::env::var(AWS_ENDPOINT_VAR) {
        Ok(endpoint) if !endpoint.trim().is_empty() => endpoint,
        _ => panic!(
            "this test needs the AWS emulator, but {AWS_ENDPOINT_VAR} is not set.\n\
             Run the whole suite with `make test` (it installs and starts moto), or start one \
             yourself (`make emulator`, or LocalStack) and set {AWS_ENDPOINT_VAR}=http://127.0.0.1:PORT"
        ),
    }
}

/// Sends the code's logs to the test's own output, which the harness shows only when the
/// test fails: the cause of an unexpected 500 is there.
pub fn capture_logs() {
    let writer = tracing_subscriber::fmt::TestWriter::new;
    let _ = crate::telemetry::text_subscriber(crate::telemetry::filter(), true, writer).try_init();
}

/// Everything the process logs once it is installed, as plain text: the local server's
/// subscriber (`telemetry::text_subscriber`: `levels`, capped by `body_cap`) without its
/// colours, writing here. It installs the process's global subscriber, so a test binary
/// that uses it holds one test.
#[derive(Clone, Default)]
pub struct CapturedLogs(Arc<std::sync::Mutex<Vec<u8>>>);

impl CapturedLogs {
    pub fn install(levels: tracing_subscriber::EnvFilter) -> Self {
        let logs = CapturedLogs::default();
        let writer = logs.clone();
        crate::telemetry::text_subscriber(levels, false, move || writer.clone()).init();
        logs
    }

    /// What was logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)).into_owned()
    }
}

impl std::io::Write for CapturedLogs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A partner signed up straight through `store` (the write `POST /api/public/signup`
/// makes) as `company` with `email`, holding `credit` of sandbox money.
pub async fn sign_up(store: &Store, company: &str, email: &str, credit: crate::domain::Money) -> SignUp {
    let applicant = Applicant {
        company_name: CompanyName::parse(Some(company)).expect("a valid company name"),
        email: Email::parse(Some(email)).expect("a valid email"),
        contact_name: None,
    };
    let signup = SignUp::new(applicant, credit);
    store.sign_up(&signup).await.expect("the partner signs up");
    signup
}

/// An email address no other test uses, `<label>-<ulid>@example.com`.
pub fn unique_email(label: &str) -> String {
    format!("{label}-{}@example.com", ulid::Ulid::new().to_string().to_lowercase())
}

/// A unique table prefix, so tests on a shared emulator never see each other's data.
pub fn unique_prefix() -> String {
    format!("test-{}", ulid::Ulid::new().to_string().to_lowercase())
}

/// The DynamoDB a test runs on. Holding it (or a clone) keeps an embedded engine alive.
#[derive(Debug, Clone)]
pub struct TestDatabase {
    pub store: Store,
    /// The request-log table beside the domain table, on the same client.
    pub request_log_table: RequestLogTable,
    pub endpoint: String,
    _engine: Option<Arc<EmbeddedEngine>>,
}

impl TestDatabase {
    /// A fresh in-memory dynoxide with the template's tables.
    pub async fn embedded() -> Self {
        capture_logs();
        let engine = EmbeddedEngine::start(Storage::Memory).await.expect("dynoxide starts");
        let endpoint = engine.endpoint().to_owned();
        Self::on(endpoint, Some(engine)).await
    }

    /// Fresh, uniquely named tables on the AWS emulator.
    pub async fn aws_emulator() -> Self {
        capture_logs();
        Self::on(aws_emulator_endpoint(), None).await
    }

    /// A database that is down: loopback port 9 refuses every connection.
    pub async fn unreachable() -> Self {
        let endpoint = "http://127.0.0.1:9".to_owned();
        let client = aws::dynamodb(&aws::for_endpoint(&endpoint).await);
        let request_log_table = RequestLogTable::new(client.clone(), "steller-down-request-log");
        TestDatabase { store: Store::new(client, "steller-down-domain"), request_log_table, endpoint, _engine: None }
    }

    async fn on(endpoint: String, engine: Option<EmbeddedEngine>) -> Self {
        let client = aws::dynamodb(&aws::for_endpoint(&endpoint).await);
        let names = TableNames::new(unique_prefix());
        bootstrap(&client, &names).await.expect("the template's tables are created");
        let request_log_table = RequestLogTable::new(client.clone(), names.request_log());
        TestDatabase {
            store: Store::new(client, names.domain()),
            request_log_table,
            endpoint,
            _engine: engine.map(Arc::new),
        }
    }

    /// A configuration naming this database's tables, every other value at its default.
    pub fn config(&self) -> Config {
        Config {
            request_log_table: Some(self.request_log_table.name().to_owned()),
            ..Config::for_table(self.store.table())
        }
    }

    /// A new partner's pending live top-up request for `amount`, as ops find it.
    pub async fn pending_live_top_up(&self, amount: &str) -> crate::domain::TopUpRequest {
        let email = format!("topped-{}@ops.example", ulid::Ulid::new().to_string().to_lowercase());
        let signup = sign_up(&self.store, "Topped Ltd", &email, crate::domain::Money::dollars(1000)).await;
        let command = crate::domain::RequestTopUp {
            partner_id: signup.partner.id,
            mode: crate::domain::Mode::Live,
            amount: crate::domain::TopUpAmount::parse(Some(amount)).expect("valid"),
            payment_reference: None,
            note: None,
        };
        self.store.request_top_up(&command, None).await.expect("requested")
    }

    /// Every item of the domain table, for asserting on what is (not) stored.
    pub async fn scan(&self) -> Vec<HashMap<String, AttributeValue>> {
        self.scan_table(self.store.table()).await
    }

    /// Every row of the request-log table: one per logged request (they, and only they,
    /// hold a `request_id`).
    pub async fn scan_request_log(&self) -> Vec<HashMap<String, AttributeValue>> {
        let mut items = self.scan_table(self.request_log_table.name()).await;
        items.retain(|item| item.contains_key("request_id"));
        items
    }

    /// Every daily roll-up of the request-log table (partner, mode, day and route).
    pub async fn scan_route_days(&self) -> Vec<HashMap<String, AttributeValue>> {
        let mut items = self.scan_table(self.request_log_table.name()).await;
        items.retain(|item| !item.contains_key("request_id"));
        items
    }

    async fn scan_table(&self, table: &str) -> Vec<HashMap<String, AttributeValue>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .store
                .client()
                .scan()
                .table_name(table)
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("the table scans");
            items.extend(page.items().iter().cloned());
            start = page.last_evaluated_key;
            if start.is_none() {
                return items;
            }
        }
    }
}

/// A response as tests see it.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl TestResponse {
    /// A header's value, when it is there and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// Asserts a problem+json response with this status and code, and returns its body.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, code: &str) -> &Value {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.body);
        assert_eq!(self.body["code"], code, "unexpected code; body: {}", self.body);
        let content_type = self.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
        assert_eq!(content_type, Some("application/problem+json"));
        assert_eq!(self.body["status"], status);
        assert!(self.body["request_id"].as_str().is_some_and(|id| id.starts_with("req_")), "{}", self.body);
        assert_eq!(
            self.headers.get("x-request-id").and_then(|v| v.to_str().ok()),
            self.body["request_id"].as_str(),
            "the body's request_id is the X-Request-Id header"
        );
        &self.body
    }

    /// The `field`s named in a 422's `errors[]`.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| errors.iter().filter_map(|e| e["field"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    }
}

/// A partner signed up through the API, with its first (sandbox) key.
#[derive(Debug, Clone)]
pub struct TestPartner {
    pub id: String,
    pub email: String,
    pub key: String,
}

/// A function's routes served over a test database, called in-process with `oneshot`.
#[derive(Clone)]
pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    pub db: TestDatabase,
    routes: OpenApiRouter<AppState>,
    mailbox: Mailbox,
    request_log: LogQueue,
}

impl TestApp {
    /// `routes` on a fresh in-process dynoxide, emailing into an outbox.
    pub async fn embedded(routes: OpenApiRouter<AppState>) -> Self {
        Self::on(routes, TestDatabase::embedded().await)
    }

    /// `routes` on fresh tables of the AWS emulator, emailing through its SES from a
    /// sender address of this app's own (verified first, as SES requires), and logging
    /// requests to an SQS queue of its own there.
    pub async fn aws_emulator(routes: OpenApiRouter<AppState>) -> Self {
        let db = TestDatabase::aws_emulator().await;
        let endpoint = db.endpoint.clone();
        let ses = aws::ses(&aws::for_endpoint(&endpoint).await);
        let sender = format!("no-reply+{}@steller.example", unique_prefix());
        verify_sender(&ses, &sender).await.expect("the emulator's SES verifies the sender");
        let request_log = request_log::emulator_queue(&endpoint).await;
        let queue_url = request_log.sqs().map(|queue| queue.queue_url().to_owned());
        let config = Config { sender_email: Some(sender.clone()), request_log_queue_url: queue_url, ..db.config() };
        let state = AppState::new(db.store.clone(), config, Arc::new(SesSender::new(ses)));
        Self::serve(routes, state, db, Mailbox::Emulator { endpoint, sender }, request_log)
    }

    /// `routes` on `db`, emailing into an outbox and logging requests to an in-process queue.
    pub fn on(routes: OpenApiRouter<AppState>, db: TestDatabase) -> Self {
        let outbox = Outbox::new();
        let state = AppState::new(db.store.clone(), db.config(), Arc::new(outbox.clone()));
        Self::serve(routes, state, db, Mailbox::Outbox(outbox), LogQueue::InProcess(InProcessQueue::new()))
    }

    fn serve(
        routes: OpenApiRouter<AppState>,
        state: AppState,
        db: TestDatabase,
        mailbox: Mailbox,
        request_log: LogQueue,
    ) -> Self {
        let state = state.with_request_log(request_log.sink());
        TestApp { router: crate::http::app(routes.clone(), state.clone()), state, db, routes, mailbox, request_log }
    }

    /// This app as another instance of its function serves it, on the same tables, email
    /// and request log: with a store of its own (`Store::another_instance`), as a second
    /// Lambda instance has. Parallel requests spread over instances race for a wallet as
    /// they do on AWS; one instance's own movements of a wallet take turns (ADR 0015), so
    /// a test of what races must prove spreads its requests over instances.
    pub fn another_instance(&self) -> TestApp {
        let state = AppState { store: self.state.store.another_instance(), ..self.state.clone() };
        self.clone().with_state(state)
    }

    /// `count` instances of this app (`another_instance`), to spread parallel requests over.
    pub fn instances(&self, count: usize) -> Vec<TestApp> {
        (0..count).map(|_| self.another_instance()).collect()
    }

    /// The same app with `state` (another configuration, say), served anew.
    pub fn with_state(mut self, state: AppState) -> Self {
        self.router = crate::http::app(self.routes.clone(), state.clone());
        self.state = state;
        self
    }

    /// The same app sending its emails through `sender` (a `FailingEmail`, say); what
    /// `outbox` and `sent_emails` read stays where it was, so they see nothing new.
    pub fn with_email(self, sender: Arc<dyn EmailSender>) -> Self {
        let state = self.state.clone().with_email(sender);
        self.with_state(state)
    }

    /// The same app sending its request-log records to `sink` (a `FailingRequestLog`,
    /// say); the queue `take_request_log` reads stays where it was, so it sees nothing new.
    pub fn with_request_log(self, sink: Arc<dyn RequestLogSink>) -> Self {
        let state = self.state.clone().with_request_log(sink);
        self.with_state(state)
    }

    /// The in-process queue this app logs requests to (on dynoxide); `None` on the AWS
    /// emulator, where they go to SQS (`sqs_queue`).
    pub fn request_log_queue(&self) -> Option<InProcessQueue> {
        self.request_log.in_process().cloned()
    }

    /// The SQS queue this app logs requests to (on the AWS emulator); `None` on dynoxide.
    pub fn sqs_queue(&self) -> Option<SqsQueue> {
        self.request_log.sqs().cloned()
    }

    /// This app's request-log queue, on either engine, as a sink and a source.
    pub fn log_queue(&self) -> &LogQueue {
        &self.request_log
    }

    /// Takes every message off this app's request-log queue (receiving and deleting
    /// them), on either engine: the JSON bodies the layer sent, oldest first.
    pub async fn take_request_log(&self) -> Vec<String> {
        drain_bodies(&self.request_log).await
    }

    /// Every email the in-process outbox holds, oldest first. Panics on the AWS
    /// emulator, where emails go to SES: use `sent_emails` there.
    pub fn outbox(&self) -> Vec<crate::email::Email> {
        self.mailbox.outbox()
    }

    /// Every email this app sent, oldest first, on either engine: the outbox on dynoxide,
    /// SES's record on the AWS emulator (on moto only the HTML body is kept, so `text` is
    /// empty there: assert on `html` in scenarios that run on both).
    pub async fn sent_emails(&self) -> Vec<crate::email::Email> {
        self.mailbox.sent().await
    }

    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        let response = self.router.clone().oneshot(request).await.expect("the router answers");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.expect("the body reads").to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        TestResponse { status, headers, body }
    }

    pub async fn call(&self, method: Method, path: &str, key: Option<&str>, body: Option<Value>) -> TestResponse {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(key) = key {
            request = request.header(header::AUTHORIZATION, format!("Bearer {key}"));
        }
        let request = match body {
            Some(body) => request.header(header::CONTENT_TYPE, "application/json").body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        };
        self.send(request.expect("a valid request")).await
    }

    pub async fn get(&self, path: &str, key: &str) -> TestResponse {
        self.call(Method::GET, path, Some(key), None).await
    }

    pub async fn post(&self, path: &str, key: Option<&str>, body: Value) -> TestResponse {
        self.call(Method::POST, path, key, Some(body)).await
    }

    pub async fn delete(&self, path: &str, key: &str) -> TestResponse {
        self.call(Method::DELETE, path, Some(key), None).await
    }

    /// A live key for the partner that `key` (any of its keys) belongs to, made as the
    /// portal makes one for its signed-in owner: the partner's email verified first (a
    /// sign-in does that), then the key stored. The key, shown once.
    pub async fn live_key_for(&self, key: &str) -> String {
        let key = crate::domain::ApiKey::parse(key).expect("a well-formed key");
        let principal = self.state.store.principal(&key).await.expect("looked up").expect("a known key");
        let crate::domain::Principal::Partner { partner_id, .. } = principal else { panic!("a partner's key") };
        let store = &self.state.store;
        store.verify_email(&partner_id, crate::domain::Timestamp::now()).await.expect("the email is verified");
        let live = crate::domain::NewKey::generate(crate::domain::Mode::Live, None);
        store.create_key(&partner_id, &live).await.expect("the live key is stored");
        live.key.expose().to_owned()
    }

    /// A new partner with a unique email and a sandbox key, created through the store's
    /// signup command (the same write `POST /api/public/signup` makes), whose keys may
    /// make the most requests per second ops can allow (`RequestsPerSecond::MAX`), so a
    /// test about something else (100 parallel orders, a polling loop) never meets the
    /// rate limit. The rate-limit tests use `new_partner_at_default_limits`.
    pub async fn new_partner(&self) -> TestPartner {
        let partner = self.new_partner_at_default_limits().await;
        let id: crate::domain::PartnerId = partner.id.parse().expect("a partner id");
        let most = crate::domain::RequestsPerSecond::new(u64::from(crate::domain::RequestsPerSecond::MAX)).ok();
        for mode in [crate::domain::Mode::Sandbox, crate::domain::Mode::Live] {
            self.state.store.set_rate_limit(&id, mode, most).await.expect("the test partner's quota is raised");
        }
        partner
    }

    /// A new partner as `new_partner` makes one, with the default quotas of a signup.
    pub async fn new_partner_at_default_limits(&self) -> TestPartner {
        let email = unique_email("dev");
        let signup = sign_up(&self.state.store, "Acme Test", &email, self.state.config.sandbox_credit).await;
        TestPartner { id: signup.partner.id.to_string(), email, key: signup.first_key.key.expose().to_owned() }
    }
}
