//! The top-ups binary as a real Lambda (`steller::testing::lambda::assert_function_answers`).

use serde_json::json;
use steller::testing::lambda::{Caller, Probe, assert_function_answers};

#[tokio::test(flavor = "multi_thread")]
async fn the_top_ups_lambda_answers_api_gateway_http_events() {
    let probes = [
        // Sandbox requests are credited at once.
        Probe::post("/api/wallet/top-up-requests", Caller::Partner, json!({"amount": "25.00", "currency": "USD"}), 201),
        Probe::get("/api/wallet/top-up-requests", Caller::Partner, 200),
    ];
    assert_function_answers(env!("CARGO_BIN_EXE_top-ups"), &probes).await;
}
