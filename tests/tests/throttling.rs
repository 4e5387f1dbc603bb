//! DynamoDB refusing for load: a throttled read or write is 503 `unavailable` with a
//! `Retry-After`, never a 500, and a transaction cancelled for throttling is retried a
//! bounded number of times, then answers 503, having written nothing.

use axum::body::Body;
use axum::http::{Request, header};
use serde_json::json;
use steller::AppState;
use steller::store::RetryPolicy;
use steller::testing::throttling::{Throttle, ThrottlingProxy};
use steller::testing::{TestApp, TestPartner, TestResponse};

/// The orders and wallet routes over a store whose calls go through a proxy refusing
/// as `rules` say; the partner signed up before the proxy was put in between.
async fn app_throttling(rules: &[(&'static str, Throttle)]) -> (TestApp, ThrottlingProxy, TestPartner) {
    let app = TestApp::embedded(orders::routes().merge(wallet::routes())).await;
    steller::seed::seed_products(&app.db.store).await.expect("the catalog is seeded");
    let partner = app.new_partner().await;
    let proxy = ThrottlingProxy::start(&app.db.endpoint, rules).await;
    let state = AppState { store: app.db.through(&proxy).await, ..app.state.clone() };
    (app.with_state(state), proxy, partner)
}

fn product() -> String {
    steller::seed::products().expect("the seed parses")[0].id.to_string()
}

async fn place_order(app: &TestApp, key: &str, idempotency_key: Option<&str>) -> TestResponse {
    let mut request = Request::post("/api/orders")
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(idempotency_key) = idempotency_key {
        request = request.header("idempotency-key", idempotency_key);
    }
    let body = json!({"product_id": product(), "quantity": 1}).to_string();
    app.send(request.body(Body::from(body)).expect("a valid request")).await
}

#[track_caller]
fn assert_unavailable_with_retry_after(response: &TestResponse, case: &str) {
    assert_eq!(response.status.as_u16(), 503, "{case}: {}", response.body);
    response.assert_problem(503, "unavailable");
    let retry_after = response.headers.get(header::RETRY_AFTER).and_then(|value| value.to_str().ok());
    assert_eq!(retry_after, Some("1"), "{case}");
}

#[tokio::test]
async fn a_throttled_get_item_is_unavailable_with_retry_after_for_every_throttling_code() {
    for code in ["ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"] {
        let (app, proxy, partner) = app_throttling(&[("GetItem", Throttle::Error(code))]).await;

        let response = app.get("/api/wallet", &partner.key).await;

        assert_unavailable_with_retry_after(&response, code);
        assert!(proxy.calls("GetItem") >= 1, "{code}: the key lookup reached DynamoDB");
    }
}

#[tokio::test]
async fn a_throttled_query_is_unavailable_with_retry_after() {
    let (app, proxy, partner) =
        app_throttling(&[("Query", Throttle::Error("ProvisionedThroughputExceededException"))]).await;

    let response = app.get("/api/orders", &partner.key).await;

    assert_unavailable_with_retry_after(&response, "Query");
    assert!(proxy.calls("Query") >= 1);
}

#[tokio::test]
async fn a_throttled_batch_read_is_unavailable_and_uses_no_key() {
    let (app, proxy, partner) =
        app_throttling(&[("BatchGetItem", Throttle::Error("ProvisionedThroughputExceededException"))]).await;

    let response = place_order(&app, &partner.key, Some("po-throttled")).await;

    assert_unavailable_with_retry_after(&response, "BatchGetItem");
    assert!(proxy.calls("BatchGetItem") >= 1, "the read of the wallet and the key's record reached DynamoDB");
    assert_eq!(proxy.calls("TransactWriteItems"), 0, "no money moved, and the key's record is only written with it");
    assert_eq!(proxy.calls("PutItem"), 0, "nothing claims the key");
}

#[tokio::test]
async fn a_transaction_cancelled_for_throttling_is_retried_then_unavailable_and_writes_nothing() {
    for reason in ["ThrottlingError", "ProvisionedThroughputExceeded"] {
        let (app, proxy, partner) = app_throttling(&[("TransactWriteItems", Throttle::Cancel(reason))]).await;

        let response = place_order(&app, &partner.key, None).await;

        assert_unavailable_with_retry_after(&response, reason);
        let attempts = usize::try_from(RetryPolicy::default().attempts).expect("a small number");
        assert_eq!(proxy.calls("TransactWriteItems"), attempts, "{reason}: retried, and bounded");
        let id = partner.id.parse().expect("a partner id");
        let wallet = app.db.store.wallet(&id, steller::domain::Mode::Sandbox).await.expect("the wallet");
        assert_eq!(wallet.balance.to_string(), "1000.00", "{reason}: nothing was paid");
        let orders = app.get("/api/orders", &partner.key).await;
        assert_eq!(orders.body["items"], json!([]), "{reason}: no order was written");
    }
}
