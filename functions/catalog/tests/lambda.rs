//! The catalog binary as a real Lambda, under the Runtime API emulator: a plain event, one with
//! a base64 body, and one from a named stage reach the same route.

#[allow(unused_imports)]
use serde_json::json;
use steller::testing::TestDatabase;
use steller::testing::lambda::{LambdaProcess, assert_answers_http_events, sandbox_key};

#[tokio::test(flavor = "multi_thread")]
async fn the_catalog_lambda_answers_api_gateway_http_events() {
    let db = TestDatabase::embedded().await;
    let key = sandbox_key(&db).await;
    let lambda = LambdaProcess::start(env!("CARGO_BIN_EXE_catalog"), &db).await;

    let products = assert_answers_http_events(&lambda, "GET", "/api/products", Some(&key), None).await;
    let unknown = assert_answers_http_events(&lambda, "GET", "/api/products/prd_nope", Some(&key), None).await;

    assert_eq!(products, [200, 200, 200]);
    assert_eq!(unknown, [404, 404, 404]);
}
