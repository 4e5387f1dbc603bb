//! The admin binary as a real Lambda, under the Runtime API emulator: a plain event, one with
//! a base64 body, and one from a named stage reach the same route.

#[allow(unused_imports)]
use serde_json::json;
use steller::testing::TestDatabase;
use steller::testing::lambda::{LambdaProcess, assert_answers_http_events, sandbox_key};

#[tokio::test(flavor = "multi_thread")]
async fn the_admin_lambda_answers_api_gateway_http_events() {
    let db = TestDatabase::embedded().await;
    let key = sandbox_key(&db).await;
    let lambda = LambdaProcess::start(env!("CARGO_BIN_EXE_admin"), &db).await;

    let partner_key = assert_answers_http_events(&lambda, "GET", "/api/admin/top-up-requests", Some(&key), None).await;
    let ops = steller::domain::ApiKey::generate(steller::domain::KeyRole::Ops);
    db.store.register_ops_key(&ops, "lambda test").await.expect("registered");
    let ops_key =
        assert_answers_http_events(&lambda, "GET", "/api/admin/top-up-requests", Some(ops.expose()), None).await;

    assert_eq!(partner_key, [403, 403, 403]);
    assert_eq!(ops_key, [200, 200, 200]);
}
