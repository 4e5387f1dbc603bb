//! The wallet binary as a real Lambda, under the Runtime API emulator: a plain event, one with
//! a base64 body, and one from a named stage reach the same route.

#[allow(unused_imports)]
use serde_json::json;
use steller::testing::TestDatabase;
use steller::testing::lambda::{LambdaProcess, assert_answers_http_events, sandbox_key};

#[tokio::test(flavor = "multi_thread")]
async fn the_wallet_lambda_answers_api_gateway_http_events() {
    let db = TestDatabase::embedded().await;
    let key = sandbox_key(&db).await;
    let lambda = LambdaProcess::start(env!("CARGO_BIN_EXE_wallet"), &db).await;

    let wallet = assert_answers_http_events(&lambda, "GET", "/api/wallet", Some(&key), None).await;
    let keys =
        assert_answers_http_events(&lambda, "POST", "/api/keys", Some(&key), Some(json!({"mode": "live"}))).await;
    let no_key = assert_answers_http_events(&lambda, "GET", "/api/wallet", None, None).await;

    assert_eq!(wallet, [200, 200, 200]);
    assert_eq!(keys, [201, 201, 201], "the base64 body is decoded");
    assert_eq!(no_key, [401, 401, 401]);
}
