//! The orders binary on an environment that runs several invocations at once
//! (`AWS_LAMBDA_MAX_CONCURRENCY`, as Lambda Managed Instances set it): one process serves
//! them side by side, so one wallet's concurrent orders are written together (ADR 0018,
//! ADR 0019). Without the variable, as on Lambda's default environments, it takes one
//! invocation at a time. Under the Runtime API emulator, every DynamoDB call through a
//! counting proxy that holds each transaction 300 ms, so the orders that arrive meanwhile
//! are all waiting when the wallet's next turn starts.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};
use steller::domain::{Mode, Money};
use steller::testing::call_budget::CountedFunction;
use steller::testing::lambda::{http_event, sandbox_key};
use steller::testing::throttling::Throttle;

const ORDERS: usize = 16;

/// Sixteen orders of 5.00 on one partner's sandbox wallet (1,000.00), sent all at once to
/// one orders process given `extra` variables; the partner's key, the answers, and the
/// transactions the process wrote.
async fn sixteen_orders_at_once(extra: Vec<(String, String)>) -> (CountedFunction, String, Vec<Value>, usize) {
    let held = Throttle::Delay(Duration::from_millis(300));
    let function =
        CountedFunction::start_with(env!("CARGO_BIN_EXE_orders"), &[("TransactWriteItems", held)], extra).await;
    let key = sandbox_key(&function.db).await;
    let product = function.product("2.50").await;
    let before = function.proxy.calls("TransactWriteItems");
    let body = json!({"product_id": product.to_string(), "quantity": 2});
    let orders = (0..ORDERS).map(|_| {
        let event = http_event("POST", "/api/orders", "$default", Some(&key), Some(&body), false);
        function.invoke(event)
    });
    let answers: Vec<Value> = futures::future::join_all(orders)
        .await
        .into_iter()
        .map(|counted| {
            assert_eq!(counted.response["statusCode"], 201, "{}", counted.response);
            counted.body()
        })
        .collect();
    let written = function.proxy.calls("TransactWriteItems") - before;
    // Each invocation's request-log record leaves after its answer (ADR 0010), whether the
    // invocations ran one at a time or side by side: none is lost.
    let sent = async {
        while function.proxy.calls("SendMessage") < ORDERS {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(5), sent).await;
    assert_eq!(function.proxy.calls("SendMessage"), ORDERS, "one request-log record per order");
    (function, key, answers, written)
}

/// Every order paid once, each from the balance the one before it left.
async fn assert_paid_in_a_chain(function: &CountedFunction, key: &str, answers: &[Value]) {
    let ids: BTreeSet<&str> = answers.iter().filter_map(|order| order["id"].as_str()).collect();
    assert_eq!(ids.len(), ORDERS, "sixteen distinct orders: {answers:?}");
    let balances: BTreeSet<String> =
        answers.iter().filter_map(|order| order["wallet_balance_after"].as_str().map(str::to_owned)).collect();
    let chain: BTreeSet<String> = (1..=ORDERS)
        .map(|paid| {
            let cents = 100_000 - 500 * i64::try_from(paid).expect("a small count");
            format!("{}.{:02}", cents / 100, cents % 100)
        })
        .collect();
    assert_eq!(balances, chain, "each order's balance after is the one before it less 5.00");
    let partner = function.partner_of(key).await;
    let wallet = function.db.store.wallet(&partner, Mode::Sandbox).await.expect("the wallet");
    assert_eq!(wallet.balance, Money::parse("920.00").expect("money"), "sixteen orders of 5.00 paid once each");
    let audit = function.db.store.audit().await.expect("the audit runs");
    assert!(audit.is_clean(), "the ledger sums to the balance: {:?}", audit.mismatches());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_multi_concurrent_environment_writes_one_wallets_concurrent_orders_together() {
    let concurrency = vec![("AWS_LAMBDA_MAX_CONCURRENCY".to_owned(), ORDERS.to_string())];
    let (function, key, answers, written) = sixteen_orders_at_once(concurrency).await;
    assert_paid_in_a_chain(&function, &key, &answers).await;
    // The first order's transaction is held 300 ms; the fifteen others arrive meanwhile,
    // wait for the wallet's turn together and join one transaction.
    assert!(
        (1..=3).contains(&written),
        "sixteen orders in one process at once are written in one to three transactions, not {written}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_default_environment_takes_one_invocation_at_a_time() {
    let (function, key, answers, written) = sixteen_orders_at_once(Vec::new()).await;
    assert_paid_in_a_chain(&function, &key, &answers).await;
    assert_eq!(written, ORDERS, "one invocation at a time: each order is its own transaction");
}
