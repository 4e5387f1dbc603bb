//! The orders binary as a real Lambda, under the Runtime API emulator: a plain event, one with
//! a base64 body, and one from a named stage reach the same route.

#[allow(unused_imports)]
use serde_json::json;
use steller::testing::TestDatabase;
use steller::testing::lambda::{LambdaProcess, assert_answers_http_events, sandbox_key};

#[tokio::test(flavor = "multi_thread")]
async fn the_orders_lambda_answers_api_gateway_http_events() {
    let db = TestDatabase::embedded().await;
    let key = sandbox_key(&db).await;
    let lambda = LambdaProcess::start(env!("CARGO_BIN_EXE_orders"), &db).await;

    let listed = assert_answers_http_events(&lambda, "GET", "/api/orders", Some(&key), None).await;
    let unknown_product = steller::domain::ProductId::generate().to_string();
    let placed = assert_answers_http_events(
        &lambda,
        "POST",
        "/api/orders",
        Some(&key),
        Some(json!({"product_id": unknown_product, "quantity": 1})),
    )
    .await;

    assert_eq!(listed, [200, 200, 200]);
    assert_eq!(placed, [404, 404, 404], "the body is read, the product looked up");
}
