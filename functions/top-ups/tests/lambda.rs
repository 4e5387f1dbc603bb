//! The top-ups binary as a real Lambda, under the Runtime API emulator: a plain event, one with
//! a base64 body, and one from a named stage reach the same route.

#[allow(unused_imports)]
use serde_json::json;
use steller::testing::TestDatabase;
use steller::testing::lambda::{LambdaProcess, assert_answers_http_events, sandbox_key};

#[tokio::test(flavor = "multi_thread")]
async fn the_top_ups_lambda_answers_api_gateway_http_events() {
    let db = TestDatabase::embedded().await;
    let key = sandbox_key(&db).await;
    let lambda = LambdaProcess::start(env!("CARGO_BIN_EXE_top-ups"), &db).await;

    let requested = assert_answers_http_events(
        &lambda,
        "POST",
        "/api/wallet/top-up-requests",
        Some(&key),
        Some(json!({"amount": "25.00", "currency": "USD"})),
    )
    .await;
    let listed = assert_answers_http_events(&lambda, "GET", "/api/wallet/top-up-requests", Some(&key), None).await;

    assert_eq!(requested, [201, 201, 201], "sandbox requests are credited at once");
    assert_eq!(listed, [200, 200, 200]);
}
