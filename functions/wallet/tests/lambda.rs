//! The wallet binary as a real Lambda (`steller::testing::lambda::assert_function_answers`).

use serde_json::json;
use steller::testing::lambda::{Caller, Probe, assert_function_answers};

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
