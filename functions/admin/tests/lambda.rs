//! The admin binary as a real Lambda, under the Runtime API emulator: a plain event, one with
//! a base64 body, and one from a named stage reach the same route.
//! An approval through it records the calling ops key as the decider.

use serde_json::json;
use steller::domain::{ApiKey, Decider, KeyRole, Mode};
use steller::testing::TestDatabase;
use steller::testing::lambda::{Caller, LambdaProcess, Probe, assert_function_answers, http_event};

#[tokio::test(flavor = "multi_thread")]
async fn the_admin_lambda_answers_api_gateway_http_events() {
    let probes = [
        Probe::get("/api/admin/top-up-requests", Caller::Partner, 403),
        Probe::get("/api/admin/top-up-requests", Caller::Ops, 200),
        Probe::post("/api/admin/top-up-requests/tur_nope/approve", Caller::Ops, json!({}), 404),
    ];
    assert_function_answers(env!("CARGO_BIN_EXE_admin"), &probes).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_approval_through_the_admin_lambda_records_the_calling_ops_key() {
    let db = TestDatabase::embedded().await;
    let request = db.pending_live_top_up("120.00").await;
    let id = request.id;
    let ops = ApiKey::generate(KeyRole::Ops);
    let key_id = db.store.register_ops_key(&ops, "lambda test").await.expect("registered");
    let lambda = LambdaProcess::start(env!("CARGO_BIN_EXE_admin"), &db).await;

    let path = format!("/api/admin/top-up-requests/{id}/approve");
    let answer =
        lambda.invoke(http_event("POST", &path, "$default", Some(ops.expose()), Some(&json!({})), false)).await;

    let answer = answer.response();
    assert_eq!(answer["statusCode"], 200, "{answer}");
    let body: serde_json::Value = serde_json::from_str(answer["body"].as_str().expect("a body")).expect("a JSON body");
    assert_eq!(body["decided_by"], format!("ops_key:{key_id}").as_str());
    let stored = db.store.top_up_by_id(&id).await.expect("found");
    assert_eq!(stored.decided_by, Some(Decider::OpsKey(key_id)));
    assert_eq!(db.store.wallet(&request.partner_id, Mode::Live).await.expect("a wallet").balance.to_string(), "120.00");
}
