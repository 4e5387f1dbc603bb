//! The webhooks binary as a real Lambda (`steller::testing::lambda::assert_function_answers`),
//! holding endpoints to the AWS URL rules: public https only.

use serde_json::json;
use steller::testing::lambda::{Caller, Probe, assert_function_answers};

#[tokio::test(flavor = "multi_thread")]
async fn the_webhooks_lambda_answers_api_gateway_http_events() {
    let hooks = |url: &str| json!({"url": url, "events": ["order.created"]});
    let probes = [
        Probe::get("/api/webhook-endpoints", Caller::Partner, 200),
        // A public address (a literal: this machine resolves no internet names).
        Probe::post("/api/webhook-endpoints", Caller::Partner, hooks("https://8.8.8.8/hooks"), 201),
        // On AWS nothing inside a network, and nothing but https.
        Probe::post("/api/webhook-endpoints", Caller::Partner, hooks("https://10.0.0.1/hooks"), 422),
        Probe::post("/api/webhook-endpoints", Caller::Partner, hooks("https://169.254.169.254/"), 422),
        Probe::post("/api/webhook-endpoints", Caller::Partner, hooks("http://127.0.0.1:9/hooks"), 422),
        Probe::get("/api/events", Caller::Partner, 200),
        Probe::get("/api/events/evt_01JD2X8Q9V4K7M3N5P6R8S0T2W", Caller::Partner, 404),
        Probe::get("/api/webhook-endpoints", Caller::Nobody, 401),
    ];
    assert_function_answers(env!("CARGO_BIN_EXE_webhooks"), &probes).await;
}
