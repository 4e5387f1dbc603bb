//! The wallet binary as a real Lambda (`steller::testing::lambda::assert_function_answers`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::json;
use steller::testing::lambda::{Caller, LambdaProcess, Probe, assert_function_answers};

#[tokio::test(flavor = "multi_thread")]
async fn the_wallet_lambda_answers_api_gateway_http_events() {
    let probes = [
        Probe::get("/api/wallet", Caller::Partner, 200),
        // The base64 body is decoded.
        Probe::post("/api/keys", Caller::Partner, json!({"mode": "sandbox"}), 201),
        Probe::post("/api/keys", Caller::Partner, json!({"mode": "live"}), 403),
        Probe::get("/api/wallet", Caller::Nobody, 401),
    ];
    assert_function_answers(env!("CARGO_BIN_EXE_wallet"), &probes).await;
}

/// Only the variables are read before the runtime polls (the AWS clients and the router
/// are built while it waits for the first event), so a bad variable must still fail the
/// init: the process ends without ever asking for an event.
#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_variable_fails_the_init_before_the_first_poll() {
    let resources = HashMap::from([
        ("DomainTable", "steller".to_owned()),
        ("RequestLogTable", "steller-request-log".to_owned()),
        ("RequestLogQueue", String::new()),
    ]);
    let malformed = vec![("STELLER_TABLE".to_owned(), "x".to_owned())];
    let mut lambda =
        LambdaProcess::deployed_with(env!("CARGO_BIN_EXE_wallet"), "http://127.0.0.1:9", &resources, malformed).await;

    let started = Instant::now();
    while lambda.is_running() && started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    assert!(!lambda.is_running(), "a wallet whose table name is malformed stops at init");
    assert!(lambda.runtime_calls().is_empty(), "it never asked for an event: {:?}", lambda.runtime_calls());
}
