//! The catalog binary as a real Lambda (`steller::testing::lambda::assert_function_answers`).

use steller::testing::lambda::{Caller, Probe, assert_function_answers};

#[tokio::test(flavor = "multi_thread")]
async fn the_catalog_lambda_answers_api_gateway_http_events() {
    let probes =
        [Probe::get("/api/products", Caller::Partner, 200), Probe::get("/api/products/prd_nope", Caller::Partner, 404)];
    assert_function_answers(env!("CARGO_BIN_EXE_catalog"), &probes).await;
}
