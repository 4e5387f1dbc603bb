//! `/api/usage` on the local server: its request-log queue (in process, or SQS with
//! `--aws-endpoint`) is drained on the `--analytics-interval` schedule by the same
//! processor the analytics Lambda runs, and the schedule stops with the server.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use steller_local::{Engine, Options};
use tokio::sync::oneshot;

const OPS_KEY: &str = "stl_ops_usage0123456789abcdefghijklmnopqrstuv";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_server_drains_its_in_process_request_log_so_usage_shows_the_requests() {
    let options = Options {
        engine: Engine::Embedded(None),
        table_prefix: "steller-local".into(),
        ops_key: Some(OPS_KEY.into()),
        analytics_interval: Duration::from_secs(1),
        webhook_retry_scale: 1.0,
        client_timeout: steller_local::DEFAULT_CLIENT_TIMEOUT,
    };
    usage_appears_on_schedule(options, "in-process queue").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_server_drains_sqs_on_the_aws_endpoint_so_usage_shows_the_requests() {
    let options = Options {
        engine: Engine::Endpoint(steller::testing::aws_emulator_endpoint()),
        table_prefix: steller::testing::unique_prefix(),
        ops_key: Some(OPS_KEY.into()),
        analytics_interval: Duration::from_secs(1),
        webhook_retry_scale: 1.0,
        client_timeout: steller_local::DEFAULT_CLIENT_TIMEOUT,
    };
    usage_appears_on_schedule(options, "SQS ").await;
}

async fn usage_appears_on_schedule(options: Options, queue: &str) {
    let table = format!("{}-request-log", options.table_prefix);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let base = format!("http://{}/api", listener.local_addr().expect("an address"));
    let (stop, stopped) = oneshot::channel::<()>();
    let (ready, is_ready) = oneshot::channel::<String>();
    let server = tokio::spawn(steller_local::serve(
        options,
        listener,
        move |running| {
            let _ = ready.send(running.analytics.clone());
        },
        async move {
            let _ = stopped.await;
        },
    ));
    let banner = is_ready.await.expect("the server gets ready");
    assert!(banner.starts_with(&format!("every 1 s, {queue}")) && banner.ends_with(&table), "{banner}");
    let http = reqwest::Client::new();
    let signup: Value = http
        .post(format!("{base}/public/signup"))
        .json(&json!({"company_name": "Acme", "email": format!("usage-{}@acme.example", steller::testing::unique_prefix())}))
        .send()
        .await
        .expect("signup answers")
        .json()
        .await
        .expect("JSON");
    let key = signup["api_key"].as_str().expect("a key");
    for _ in 0..3 {
        let wallet = http.get(format!("{base}/wallet")).bearer_auth(key).send().await.expect("wallet answers");
        assert_eq!(wallet.status(), 200);
    }
    let today = steller::domain::Timestamp::now().date();

    // Nothing drains the queue but the schedule; its next run shows the three requests.
    let deadline = Instant::now() + Duration::from_secs(30);
    let wallet_requests = loop {
        let usage: Value = http
            .get(format!("{base}/usage?from={today}&to={today}"))
            .bearer_auth(key)
            .send()
            .await
            .expect("usage answers")
            .json()
            .await
            .expect("JSON");
        let wallet = usage["by_route"].as_array().into_iter().flatten().find(|route| route["route"] == "/api/wallet");
        // A scheduled drain may land between the three calls: wait until all are counted.
        if let Some(wallet) = wallet.filter(|wallet| wallet["requests"].as_u64() >= Some(3)) {
            break wallet["requests"].clone();
        }
        assert!(Instant::now() < deadline, "the requests never reached /api/usage: {usage}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(wallet_requests, 3);

    stop.send(()).expect("the server is running");
    tokio::time::timeout(Duration::from_secs(20), server)
        .await
        .expect("the server and its schedule stop")
        .expect("the server task ends")
        .expect("the server stops cleanly");
}
