//! The local server's composition root over real HTTP: every function's routes on one
//! port, on an embedded dynoxide (in memory or persisted) or on the AWS emulator.

use serde_json::{Value, json};
use steller_local::{DEFAULT_ANALYTICS_INTERVAL, Engine, Options};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const OPS_KEY: &str = "stl_ops_local0123456789abcdefghijklmnopqrstuv";

struct Server {
    base: String,
    /// Where the server said its emails go (the banner's Email line).
    email: String,
    /// Where the server said its request log goes (the banner's Request log line).
    request_log: String,
    /// The queue the server's request-log layer sends to.
    log_queue: steller_local::LogQueue,
    /// The store the server runs on.
    store: steller::Store,
    stop: oneshot::Sender<()>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Server {
    async fn start(options: Options) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let base = format!("http://{}", listener.local_addr().expect("an address"));
        let (stop, stopped) = oneshot::channel::<()>();
        type Ready = (String, String, steller_local::LogQueue, steller::Store);
        let (ready, is_ready) = oneshot::channel::<Ready>();
        let task = tokio::spawn(steller_local::serve(
            options,
            listener,
            move |running| {
                let _ = ready.send((
                    running.email.clone(),
                    running.request_log.clone(),
                    running.log_queue.clone(),
                    running.store.clone(),
                ));
            },
            async move {
                let _ = stopped.await;
            },
        ));
        let (email, request_log, log_queue, store) = is_ready.await.expect("the server gets ready");
        Server { base, email, request_log, log_queue, store, stop, task }
    }

    async fn sign_up(&self, email: &str) -> reqwest::Response {
        reqwest::Client::new()
            .post(format!("{}/api/public/signup", self.base))
            .json(&json!({"company_name": "Acme", "email": email}))
            .send()
            .await
            .expect("signup answers")
    }

    /// `method path` with `key`, asserting a 2xx answer, and its JSON body.
    async fn call(&self, method: reqwest::Method, path: &str, key: &str, body: Option<Value>) -> Value {
        let mut request = reqwest::Client::new().request(method, format!("{}{path}", self.base)).bearer_auth(key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the server answers");
        assert!(response.status().is_success(), "{path} answered {}", response.status());
        response.json().await.expect("a JSON body")
    }

    async fn stop(self) {
        self.stop.send(()).expect("the server is still running");
        self.task.await.expect("the server task ends").expect("the server stops cleanly");
    }
}

fn in_memory(ops_key: Option<&str>) -> Options {
    Options {
        engine: Engine::Embedded(None),
        table_prefix: "steller-local".into(),
        ops_key: ops_key.map(Into::into),
        analytics_interval: DEFAULT_ANALYTICS_INTERVAL,
        webhook_retry_scale: 1.0,
        client_timeout: steller_local::DEFAULT_CLIENT_TIMEOUT,
    }
}

#[tokio::test]
async fn the_local_server_serves_signup_wallet_keys_and_the_openapi_document() {
    let server = Server::start(in_memory(Some(OPS_KEY))).await;
    let base = &server.base;
    let http = reqwest::Client::new();
    assert_eq!(server.email, "printed here (outbox)");
    assert_eq!(server.request_log, "in-process queue");

    let signup: Value = server.sign_up("local@acme.example").await.json().await.expect("JSON");
    let key = signup["api_key"].as_str().expect("a key");

    let wallet = http.get(format!("{base}/api/wallet")).bearer_auth(key).send().await.expect("wallet answers");
    assert!(wallet.headers().contains_key("x-request-id"));
    let wallet: Value = wallet.json().await.expect("JSON");
    assert_eq!(wallet["balance"], "1000.00");

    let keys: Value = http
        .get(format!("{base}/api/keys"))
        .header("x-api-key", key)
        .send()
        .await
        .expect("keys")
        .json()
        .await
        .expect("JSON");
    assert_eq!(keys["items"].as_array().map(Vec::len), Some(1));

    let ops = http.get(format!("{base}/api/wallet")).bearer_auth(OPS_KEY).send().await.expect("answers");
    assert_eq!(ops.status(), 403, "STELLER_OPS_KEY is registered as an ops key, which has no wallet");

    let document: Value =
        http.get(format!("{base}/api/public/openapi.json")).send().await.expect("docs").json().await.expect("JSON");
    assert_eq!(document["openapi"], "3.1.0");
    let logged = server.log_queue.in_process().expect("an in-process queue").bodies();
    let routes: Vec<String> = logged
        .iter()
        .map(|body| serde_json::from_str::<Value>(body).expect("a record")["route"].as_str().unwrap_or("-").to_owned())
        .collect();
    assert_eq!(
        routes,
        ["/api/public/signup", "/api/wallet", "/api/keys", "/api/wallet", "/api/public/openapi.json"],
        "one record per request, on the queue the processor drains"
    );

    server.stop().await;
}

#[tokio::test]
async fn an_unknown_page_is_the_portals_404_page_and_an_unknown_api_path_a_404_problem() {
    let server = Server::start(in_memory(Some(OPS_KEY))).await;
    let http = reqwest::Client::new();
    let signup: Value = server.sign_up("paths@acme.example").await.json().await.expect("JSON");
    let key = signup["api_key"].as_str().expect("a key");

    for path in ["/nope", "/dashboard/sandbox/nope", "/ops/nope", "/assets/nope/deeper"] {
        let page = http.get(format!("{}{path}", server.base)).send().await.expect("answers");
        assert_eq!(page.status(), 404, "{path}");
        let content_type = page.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        assert!(content_type.starts_with("text/html"), "{path}: {content_type}");
        assert!(page.headers().contains_key("content-security-policy"), "{path}: the page's headers");
        assert!(page.text().await.expect("a body").contains("<h1>Not found</h1>"), "{path}");
    }
    for with_key in [false, true] {
        for path in ["/api/nope", "/api", "/api/wallet/nope"] {
            let mut request = http.get(format!("{}{path}", server.base));
            if with_key {
                request = request.bearer_auth(key);
            }
            let answer = request.send().await.expect("answers");
            assert_eq!(answer.status(), 404, "{path}, key: {with_key}");
            let content_type = answer.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
            assert_eq!(content_type, "application/problem+json", "{path}");
            assert_eq!(
                answer.headers().get("x-content-type-options").and_then(|v| v.to_str().ok()),
                Some("nosniff"),
                "{path}"
            );
        }
    }
    let no_key = http.get(format!("{}/api/wallet", server.base)).send().await.expect("answers");
    assert_eq!(no_key.status(), 401, "a known API path still asks for a key");

    server.stop().await;
}

#[tokio::test]
async fn a_malformed_ops_key_is_refused_at_start_up() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");

    let result = steller_local::serve(in_memory(Some("stl_ops_short")), listener, |_| {}, async {}).await;

    let error = result.expect_err("a short ops key is refused");
    assert!(error.to_string().contains("STELLER_OPS_KEY"), "{error}");
}

#[tokio::test]
async fn the_local_server_keeps_its_data_across_restarts() {
    let folder = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("local-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&folder);
    let options = Options {
        engine: Engine::Embedded(Some(folder.join("local.db"))),
        table_prefix: "steller-local".into(),
        ops_key: None,
        analytics_interval: DEFAULT_ANALYTICS_INTERVAL,
        webhook_retry_scale: 1.0,
        client_timeout: steller_local::DEFAULT_CLIENT_TIMEOUT,
    };

    let first_run = Server::start(options.clone()).await;
    assert_eq!(first_run.sign_up("kept@acme.example").await.status(), 201);
    first_run.stop().await;

    let second_run = Server::start(options).await;
    assert_eq!(second_run.sign_up("kept@acme.example").await.status(), 409, "the first run's partner is still there");
    second_run.stop().await;
    let _ = std::fs::remove_dir_all(&folder);
}

#[tokio::test]
async fn the_local_server_runs_on_the_aws_emulator_with_aws_endpoint() {
    let options = Options {
        engine: Engine::Endpoint(steller::testing::aws_emulator_endpoint()),
        table_prefix: steller::testing::unique_prefix(),
        ops_key: Some(OPS_KEY.into()),
        analytics_interval: DEFAULT_ANALYTICS_INTERVAL,
        webhook_retry_scale: 1.0,
        client_timeout: steller_local::DEFAULT_CLIENT_TIMEOUT,
    };

    let endpoint = steller::testing::aws_emulator_endpoint();
    let server = Server::start(options).await;
    let partner = format!("emulated-{}@acme.example", steller::testing::unique_prefix());

    assert_eq!(server.sign_up(&partner).await.status(), 201);
    assert_eq!(server.sign_up(&partner.to_uppercase()).await.status(), 409);
    assert_eq!(server.email, format!("SES at {endpoint}"));
    let queue = server.log_queue.sqs().expect("the request log goes to the emulator's SQS").clone();
    assert_eq!(server.request_log, format!("SQS {}", queue.queue_url()));
    assert!(queue.queue_url().ends_with("-request-log"), "the template's queue: {}", queue.queue_url());
    let logged = steller::testing::drain_bodies(&queue).await;
    assert_eq!(logged.len(), 2, "one message per signup: {logged:?}");
    server.stop().await;
    let welcomed = steller::testing::emulator_sent_emails(&endpoint)
        .await
        .iter()
        .filter(|message| message["destinations"]["ToAddresses"][0] == partner.as_str())
        .count();
    assert_eq!(welcomed, 1, "the welcome email went through the emulator's SES, once");
}

#[tokio::test]
async fn an_endpoint_without_ses_or_sqs_gets_its_emails_printed_and_its_request_log_kept_in_process() {
    let dynamodb_only =
        steller::engine::EmbeddedEngine::start(steller::engine::Storage::Memory).await.expect("dynoxide starts");
    let endpoint = dynamodb_only.endpoint().to_owned();
    let options = Options {
        engine: Engine::Endpoint(endpoint.clone()),
        table_prefix: "steller-local".into(),
        ops_key: None,
        analytics_interval: DEFAULT_ANALYTICS_INTERVAL,
        webhook_retry_scale: 1.0,
        client_timeout: steller_local::DEFAULT_CLIENT_TIMEOUT,
    };

    let server = Server::start(options).await;

    assert_eq!(server.email, format!("printed here (outbox; no SES at {endpoint})"));
    assert_eq!(server.request_log, format!("in-process queue (no SQS at {endpoint})"));
    assert_eq!(server.sign_up("no-ses@acme.example").await.status(), 201);
    let queue = server.log_queue.in_process().expect("no SQS there, so in process").clone();
    assert_eq!(queue.len(), 1, "the signup is logged in process");
    server.stop().await;
}

#[tokio::test]
async fn an_order_flows_from_signup_to_refund_over_http() {
    let server = Server::start(in_memory(None)).await;
    let base = &server.base;
    let http = reqwest::Client::new();
    let get = |path: &str, key: &str| {
        let request = http.get(format!("{base}{path}")).bearer_auth(key);
        async move { request.send().await.expect("answers").json::<Value>().await.expect("JSON") }
    };

    let signup: Value = server.sign_up("flow@acme.example").await.json().await.expect("JSON");
    let key = signup["api_key"].as_str().expect("a key");
    let products = get("/api/products?limit=100", key).await;
    let cheap = products["items"]
        .as_array()
        .expect("seeded products")
        .iter()
        .find(|p| {
            p["active"] == true
                && p["unit_price"].as_str().is_some_and(|price| price.parse::<f64>().is_ok_and(|v| v <= 5.0))
        })
        .expect("a cheap active product in the seed");
    let price = cheap["unit_price"].as_str().expect("a price").to_owned();

    let placed = http
        .post(format!("{base}/api/orders"))
        .bearer_auth(key)
        .header("idempotency-key", "flow-1")
        .json(&json!({"product_id": cheap["id"], "quantity": 2}))
        .send()
        .await
        .expect("answers");
    assert_eq!(placed.status(), 201);
    let placed: Value = placed.json().await.expect("JSON");
    let order_id = placed["id"].as_str().expect("an order id");
    let total = placed["total"].as_str().expect("a total").to_owned();
    assert_eq!(total.parse::<f64>().ok(), price.parse::<f64>().ok().map(|p| p * 2.0));

    let wallet = get("/api/wallet", key).await;
    assert_eq!(wallet["balance"], placed["wallet_balance_after"]);
    let ledger = get("/api/wallet/transactions", key).await;
    assert_eq!(ledger["items"][0]["type"], "order_debit");
    assert_eq!(ledger["items"][0]["amount"], format!("-{total}"));
    assert_eq!(get(&format!("/api/orders/{order_id}"), key).await["status"], "completed");
    assert_eq!(get("/api/orders", key).await["items"][0]["id"], order_id);

    let cancelled =
        http.post(format!("{base}/api/orders/{order_id}/cancel")).bearer_auth(key).send().await.expect("answers");
    assert_eq!(cancelled.status(), 200);
    assert_eq!(get("/api/wallet", key).await["balance"], "1000.00");
    let ledger = get("/api/wallet/transactions", key).await;
    assert_eq!(
        (ledger["items"][0]["type"].as_str(), ledger["items"][0]["amount"].as_str()),
        (Some("order_refund"), Some(total.as_str()))
    );

    server.stop().await;
}

/// A live top-up from request to credit, over HTTP: the path ops take with their key.
async fn live_top_up_flow(server: &Server) {
    let signup: Value =
        server.sign_up(&format!("topup-{}@acme.example", std::process::id())).await.json().await.expect("JSON");
    // Live keys come from the portal, for an owner whose email is verified: made here as
    // it makes them.
    let partner = signup["partner"]["id"].as_str().and_then(|id| id.parse().ok()).expect("a partner id");
    server.store.verify_email(&partner, steller::domain::Timestamp::now()).await.expect("verified");
    let live = steller::domain::NewKey::generate(steller::domain::Mode::Live, None);
    server.store.create_key(&partner, &live).await.expect("a live key");
    let live_key = live.key.expose();

    let body = json!({"amount": "1500.00", "currency": "USD", "payment_reference": "WIRE-9"});
    let requested = server.call(reqwest::Method::POST, "/api/wallet/top-up-requests", live_key, Some(body)).await;
    assert_eq!(requested["status"], "pending");
    let id = requested["id"].as_str().expect("an id");
    let queue = server.call(reqwest::Method::GET, "/api/admin/top-up-requests", OPS_KEY, None).await;
    assert!(queue["items"].as_array().expect("items").iter().any(|r| r["id"] == id), "ops see it: {queue}");
    let approved =
        server.call(reqwest::Method::POST, &format!("/api/admin/top-up-requests/{id}/approve"), OPS_KEY, None).await;
    assert_eq!(approved["status"], "approved");
    assert!(approved["decided_by"].as_str().is_some_and(|by| by.starts_with("ops_key:key_")), "{approved}");

    let wallet = server.call(reqwest::Method::GET, "/api/wallet", live_key, None).await;
    assert_eq!((wallet["mode"].as_str(), wallet["balance"].as_str()), (Some("live"), Some("1500.00")));
    let ledger = server.call(reqwest::Method::GET, "/api/wallet/transactions", live_key, None).await;
    assert_eq!(
        (ledger["items"][0]["type"].as_str(), ledger["items"][0]["reference"].as_str()),
        (Some("top_up_credit"), Some(id))
    );
}

#[tokio::test]
async fn a_live_top_up_is_requested_approved_and_credited_on_the_local_server() {
    let server = Server::start(in_memory(Some(OPS_KEY))).await;
    live_top_up_flow(&server).await;
    server.stop().await;
}

#[tokio::test]
async fn a_live_top_up_is_requested_approved_and_credited_with_aws_endpoint() {
    let endpoint = steller::testing::aws_emulator_endpoint();
    let options = Options {
        engine: Engine::Endpoint(endpoint.clone()),
        table_prefix: steller::testing::unique_prefix(),
        ops_key: Some(OPS_KEY.into()),
        analytics_interval: DEFAULT_ANALYTICS_INTERVAL,
        webhook_retry_scale: 1.0,
        client_timeout: steller_local::DEFAULT_CLIENT_TIMEOUT,
    };
    let server = Server::start(options).await;

    live_top_up_flow(&server).await;

    let sent = steller::testing::emulator_sent_emails(&endpoint).await;
    let subjects: Vec<&str> = sent.iter().filter_map(|m| m["subject"].as_str()).collect();
    assert!(subjects.iter().any(|s| s.starts_with("Your top-up of 1500.00 USD is approved")), "{subjects:?}");
    assert!(subjects.iter().any(|s| s.starts_with("New top-up request: 1500.00 USD")), "{subjects:?}");
    server.stop().await;
}

/// The local server delivers webhooks itself, as the Lambdas do on AWS: an order's event
/// reaches a receiver on this machine over plain http without waiting for the 30 s sweep,
/// and `webhook_retry_scale` (`--webhook-retry-scale`) shortens the retry schedule (the
/// first pause, 5 s, becomes 5 ms).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_server_delivers_webhooks_and_retries_on_a_shortened_schedule() {
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    let server = Server::start(Options { webhook_retry_scale: 0.001, ..in_memory(None) }).await;
    let received = Arc::new(Mutex::new(Vec::<(String, Instant)>::new()));
    let seen = received.clone();
    let receiver = axum::Router::new().route(
        "/hooks",
        axum::routing::post(move |headers: axum::http::HeaderMap| {
            let seen = seen.clone();
            async move {
                let mut seen = seen.lock().expect("not poisoned");
                let id = headers.get("webhook-id").and_then(|id| id.to_str().ok()).unwrap_or_default().to_owned();
                seen.push((id, Instant::now()));
                // The first delivery fails.
                if seen.len() == 1 { axum::http::StatusCode::INTERNAL_SERVER_ERROR } else { axum::http::StatusCode::OK }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let url = format!("http://{}/hooks", listener.local_addr().expect("an address"));
    tokio::spawn(async move { axum::serve(listener, receiver).await });
    let signup: Value = server.sign_up("hooks@acme.example").await.json().await.expect("JSON");
    let key = signup["api_key"].as_str().expect("a key");
    let body = json!({"url": url, "events": ["order.created"]});
    server.call(reqwest::Method::POST, "/api/webhook-endpoints", key, Some(body)).await;
    let product = steller::seed::products().expect("the seed").into_iter().find(|p| p.active).expect("a product");
    let order = json!({"product_id": product.id.to_string(), "quantity": 1});

    let started = Instant::now();
    server.call(reqwest::Method::POST, "/api/orders", key, Some(order)).await;
    while received.lock().expect("not poisoned").len() < 2 {
        // Below the sweep's 30 s: the order's own dispatch delivered it.
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "deliveries: {:?}",
            received.lock().expect("not poisoned")
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let deliveries = received.lock().expect("not poisoned").clone();
    let [(first, failed_at), (retry, retried_at)] = &deliveries[..2] else { unreachable!("two deliveries") };
    assert!(first.starts_with("evt_") && first == retry, "the retry carries the same webhook-id: {deliveries:?}");
    // Far below the unscaled 5 s first pause: the shortened schedule, not a timing.
    let pause = retried_at.duration_since(*failed_at);
    assert!(pause < Duration::from_secs(4), "the retry came {pause:?} after the failure");
    server.stop().await;
}
