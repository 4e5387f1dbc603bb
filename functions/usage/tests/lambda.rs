//! The usage binary as a real Lambda, under the Runtime API emulator: a plain event, one with
//! a base64 body, and one from a named stage reach the same route.

#[allow(unused_imports)]
use serde_json::json;
use steller::testing::TestDatabase;
use steller::testing::lambda::{LambdaProcess, assert_answers_http_events, sandbox_key};

#[tokio::test(flavor = "multi_thread")]
async fn the_usage_lambda_answers_api_gateway_http_events() {
    let db = TestDatabase::embedded().await;
    let key = sandbox_key(&db).await;
    let lambda = LambdaProcess::start(env!("CARGO_BIN_EXE_usage"), &db).await;

    let missing_range = assert_answers_http_events(&lambda, "GET", "/api/usage", Some(&key), None).await;

    assert_eq!(missing_range, [422, 422, 422], "the route is reached and validates its query");
}
