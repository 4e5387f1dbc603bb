//! The usage binary as a real Lambda (`steller::testing::lambda::assert_function_answers`).

use steller::testing::lambda::{Caller, Probe, assert_function_answers};

#[tokio::test(flavor = "multi_thread")]
async fn the_usage_lambda_answers_api_gateway_http_events() {
    // The route is reached and validates its query.
    let probes = [Probe::get("/api/usage", Caller::Partner, 422)];
    assert_function_answers(env!("CARGO_BIN_EXE_usage"), &probes).await;
}
