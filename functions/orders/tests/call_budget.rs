//! What a partner waits for when ordering: the AWS calls each operation awaits between
//! its event reaching the orders binary and its answer being posted, counted through a
//! proxy under the Runtime API emulator. The request-log record leaves after the answer
//! and is not counted. The API-key lookup is one of the calls.

use serde_json::{Value, json};
use steller::domain::{Mode, Money, ProductId, RequestTopUp, TopUpAmount};
use steller::testing::call_budget::CountedFunction;
use steller::testing::lambda::{http_event, sandbox_key};

async fn orders_function() -> (CountedFunction, String, ProductId) {
    let function = CountedFunction::start(env!("CARGO_BIN_EXE_orders")).await;
    let key = sandbox_key(&function.db).await;
    let product = function.product("2.50").await;
    (function, key, product)
}

fn order(key: &str, product: &ProductId, idempotency_key: Option<&str>) -> Value {
    let body = json!({"product_id": product.to_string(), "quantity": 2});
    let mut event = http_event("POST", "/api/orders", "$default", Some(key), Some(&body), false);
    if let Some(idempotency_key) = idempotency_key {
        event["headers"]["idempotency-key"] = json!(idempotency_key);
    }
    event
}

#[tokio::test(flavor = "multi_thread")]
async fn each_order_operation_awaits_no_more_calls_than_its_budget() {
    let (function, key, product) = orders_function().await;
    // The instance's first order of a product also reads the product into its catalog
    // cache; the budgets are for the instance once warm.
    let first = function.invoke(order(&key, &product, None)).await;
    first.assert_within("a first order on a cold instance", 201, 4);

    // The instance knows the balance its first order left: no wallet read (ADR 0012).
    let plain = function.invoke(order(&key, &product, None)).await;
    plain.assert_within("an order without Idempotency-Key, on a wallet the instance knows", 201, 2);

    let keyed = function.invoke(order(&key, &product, Some("budget-1"))).await;
    keyed.assert_within("an order with Idempotency-Key", 201, 3);

    let replay = function.invoke(order(&key, &product, Some("budget-1"))).await;
    replay.assert_within("a replayed order", 201, 2);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"), "{:?}", replay.response);
    assert_eq!(replay.body()["id"], keyed.body()["id"], "the replay answers the first order");

    let id = plain.body()["id"].as_str().expect("an order id").to_owned();
    let cancel = function
        .invoke(http_event("POST", &format!("/api/orders/{id}/cancel"), "$default", Some(&key), None, false))
        .await;
    cancel.assert_within("a cancel", 200, 3);

    // Another instance moves the money: the balance this one knows is stale, its
    // transaction loses and brings the real wallet, and the order still fits its budget.
    let partner = function.partner_of(&key).await;
    let amount = TopUpAmount::parse(Some("10.00")).expect("an amount");
    let top_up = RequestTopUp { partner_id: partner, mode: Mode::Sandbox, amount, payment_reference: None, note: None };
    function.db.store.request_top_up(&top_up, None).await.expect("topped up elsewhere");
    let stale = function.invoke(order(&key, &product, None)).await;
    stale.assert_within("an order after another instance moved the money", 201, 3);
    assert_eq!(stale.body()["wallet_balance_after"], "995.00", "paid from the real balance");

    let wallet = function.db.store.wallet(&partner, Mode::Sandbox).await.expect("the wallet");
    assert_eq!(
        wallet.balance,
        Money::parse("995.00").expect("money"),
        "four orders paid, one refunded, one top-up made elsewhere"
    );
    function.assert_policy_allows_every_call("OrdersFunction");
}
