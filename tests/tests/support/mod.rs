//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test file uses a different subset

use serde_json::{Value, json};
use steller::domain::{Money, Product, ProductId};
use steller::testing::{TestApp, TestResponse};

/// Writes each scenario once and runs it on both engines: the in-process dynoxide and the
/// AWS emulator (`STELLER_TEST_AWS_ENDPOINT`; `make test` starts moto).
#[macro_export]
macro_rules! on_both_engines {
    ($($scenario:ident),* $(,)?) => {
        mod dynoxide {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $scenario() {
                super::$scenario(steller::testing::TestApp::embedded(steller_local::routes()).await).await;
            })*
        }
        mod aws_emulator {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $scenario() {
                super::$scenario(steller::testing::TestApp::aws_emulator(steller_local::routes()).await).await;
            })*
        }
    };
}

/// Changes product `id` (as `product` made it at `price`) to be `active` or not, as an
/// admin's upsert does.
pub async fn set_product_active(app: &TestApp, id: &str, price: &str, active: bool) {
    let product = Product {
        id: ProductId::parse(id).expect("a product id"),
        name: format!("Test product at {price}"),
        description: "made by a test".into(),
        unit_price: Money::parse(price).expect("a valid price"),
        active,
    };
    app.state.store.upsert_product(&product).await.expect("the product is stored");
}

/// Adds a product to the catalog and returns its id.
pub async fn product(app: &TestApp, price: &str, active: bool) -> String {
    let product = Product {
        id: ProductId::generate(),
        name: format!("Test product at {price}"),
        description: "made by a test".into(),
        unit_price: Money::parse(price).expect("a valid price"),
        active,
    };
    app.state.store.upsert_product(&product).await.expect("the product is stored");
    product.id.to_string()
}

pub async fn order(app: &TestApp, key: &str, product_id: &str, quantity: i64) -> TestResponse {
    app.post("/api/orders", Some(key), json!({"product_id": product_id, "quantity": quantity})).await
}

/// A `POST` of `body` to `path` with the partner's `key` and an `Idempotency-Key`.
pub async fn keyed_post(app: &TestApp, path: &str, key: &str, idempotency_key: &str, body: Value) -> TestResponse {
    let request = http::Request::builder()
        .method(http::Method::POST)
        .uri(path)
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .header("idempotency-key", idempotency_key)
        .body(axum::body::Body::from(body.to_string()))
        .expect("a request");
    app.send(request).await
}

pub async fn balance(app: &TestApp, key: &str) -> String {
    let wallet = app.get("/api/wallet", key).await;
    wallet.body["balance"].as_str().expect("a balance").to_owned()
}

/// Every item of a paginated list route, following `next_cursor`.
pub async fn all_pages(app: &TestApp, path: &str, key: &str, limit: u32) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let separator = if path.contains('?') { '&' } else { '?' };
        let url = match &cursor {
            Some(cursor) => format!("{path}{separator}limit={limit}&cursor={cursor}"),
            None => format!("{path}{separator}limit={limit}"),
        };
        let page = app.get(&url, key).await;
        assert_eq!(page.status, 200, "{}", page.body);
        items.extend(page.body["items"].as_array().expect("items").iter().cloned());
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return items,
        }
    }
}

/// The ledger of the key's wallet must sum to its balance (the audit's invariant, checked
/// through the API).
pub async fn assert_ledger_sums_to_balance(app: &TestApp, key: &str) {
    let entries = all_pages(app, "/api/wallet/transactions", key, 100).await;
    let sum = entries
        .iter()
        .map(|e| e["amount"].as_str().and_then(|a| Money::try_from(a.to_owned()).ok()).expect("an amount"))
        .fold(Money::ZERO, |sum, amount| (sum + amount).expect("a ledger sums within the limit"));
    assert_eq!(sum.to_string(), balance(app, key).await, "the ledger sums to the balance");
}

/// The ledger of the key's wallet, newest first, is a chain: each entry's `balance_after`
/// is the one before it plus its amount, from zero.
pub async fn assert_ledger_chains(app: &TestApp, key: &str) {
    let entries = all_pages(app, "/api/wallet/transactions", key, 100).await;
    let money = |entry: &Value, field: &str| {
        entry[field].as_str().and_then(|a| Money::try_from(a.to_owned()).ok()).expect("an amount")
    };
    let mut after = Money::ZERO;
    for entry in entries.iter().rev() {
        after = (after + money(entry, "amount")).expect("within the limit");
        assert_eq!(money(entry, "balance_after"), after, "the entry follows the one before it: {entry}");
    }
}

/// A registered ops key.
pub async fn ops_key(app: &TestApp) -> String {
    ops_key_and_id(app).await.0
}

/// A registered ops key and its id (what a decision made with it records).
pub async fn ops_key_and_id(app: &TestApp) -> (String, steller::domain::KeyId) {
    let key = steller::domain::ApiKey::generate(steller::domain::KeyRole::Ops);
    let id = app.state.store.register_ops_key(&key, "test ops").await.expect("the ops key is registered");
    (key.expose().to_owned(), id)
}

/// A live key for the partner whose sandbox key is `key` (its email verified first, as a
/// portal sign-in does).
pub async fn live_key(app: &TestApp, key: &str) -> String {
    app.live_key_for(key).await
}

/// The audit over the whole table must find nothing.
pub async fn assert_audit_clean(app: &TestApp) {
    let audit = app.state.store.audit().await.expect("the audit runs");
    assert!(audit.is_clean(), "{:?}", audit.mismatches());
}
