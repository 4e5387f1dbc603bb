//! The orders binary as a real Lambda (`steller::testing::lambda::assert_function_answers`).

use serde_json::json;
use steller::domain::ProductId;
use steller::testing::lambda::{Caller, Probe, assert_function_answers};

#[tokio::test(flavor = "multi_thread")]
async fn the_orders_lambda_answers_api_gateway_http_events() {
    let unknown_product = ProductId::generate().to_string();
    let probes = [
        Probe::get("/api/orders", Caller::Partner, 200),
        // The body is read and the product looked up.
        Probe::post("/api/orders", Caller::Partner, json!({"product_id": unknown_product, "quantity": 1}), 404),
        Probe::get("/api/orders", Caller::Ops, 403),
    ];
    assert_function_answers(env!("CARGO_BIN_EXE_orders"), &probes).await;
}
