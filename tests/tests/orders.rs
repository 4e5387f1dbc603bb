//! Orders and the wallet ledger through every function's routes, on both engines.

use std::collections::HashSet;

use http::StatusCode;
use serde_json::json;
use steller::testing::TestApp;
use support::{all_pages, assert_ledger_sums_to_balance, balance, order, product};

mod support;

on_both_engines!(
    an_order_debits_the_wallet_by_its_total_in_one_go,
    an_order_beyond_the_balance_is_refused_and_changes_nothing,
    unknown_and_inactive_products_and_bad_quantities_are_refused,
    fifty_parallel_orders_on_a_wallet_that_pays_for_seventeen_make_exactly_seventeen,
    cancelling_refunds_once_and_cancelling_again_is_a_conflict,
    ten_parallel_cancels_refund_once,
    orders_and_ledgers_are_isolated_by_partner_and_mode,
    twenty_three_orders_page_by_ten_each_exactly_once_newest_first,
);

async fn an_order_debits_the_wallet_by_its_total_in_one_go(app: TestApp) {
    let partner = app.new_partner().await;
    let product_id = product(&app, "4.99", true).await;

    let response = app
        .post(
            "/api/orders",
            Some(&partner.key),
            json!({"product_id": product_id, "quantity": 3, "client_reference": "PO-1"}),
        )
        .await;

    assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);
    let order = &response.body;
    assert!(order["id"].as_str().is_some_and(|id| id.starts_with("ord_")));
    assert_eq!(
        (order["unit_price"].as_str(), order["total"].as_str(), order["wallet_balance_after"].as_str()),
        (Some("4.99"), Some("14.97"), Some("985.03"))
    );
    assert_eq!((order["status"].as_str(), order["mode"].as_str()), (Some("completed"), Some("sandbox")));
    assert_eq!((order["currency"].as_str(), order["client_reference"].as_str()), (Some("USD"), Some("PO-1")));
    let partner_id = steller::domain::PartnerId::parse(&partner.id).expect("an id");
    let wallet = app.state.store.wallet(&partner_id, steller::domain::Mode::Sandbox).await.expect("a wallet");
    assert_eq!(wallet.balance.to_string(), "985.03", "a fresh, strongly consistent read sees the debit");
    let ledger = app.get("/api/wallet/transactions", &partner.key).await;
    let newest = &ledger.body["items"][0];
    assert_eq!(
        (
            newest["type"].as_str(),
            newest["amount"].as_str(),
            newest["balance_after"].as_str(),
            newest["reference"].as_str()
        ),
        (Some("order_debit"), Some("-14.97"), Some("985.03"), order["id"].as_str())
    );
    assert_eq!(ledger.body["items"][1]["type"], "signup_credit");
    assert_ledger_sums_to_balance(&app, &partner.key).await;
}

async fn an_order_beyond_the_balance_is_refused_and_changes_nothing(app: TestApp) {
    let partner = app.new_partner().await;
    let expensive = product(&app, "2500.00", true).await;
    let items_before = app.db.scan().await.len();

    let response = order(&app, &partner.key, &expensive, 1).await;

    let problem = response.assert_problem(402, "insufficient_funds");
    let detail = problem["detail"].as_str().expect("a detail");
    assert!(detail.contains("1000.00") && detail.contains("2500.00"), "{detail}");
    assert_eq!(app.db.scan().await.len(), items_before, "no order, no ledger entry, nothing written");
    assert_eq!(balance(&app, &partner.key).await, "1000.00");
    assert_eq!(app.get("/api/orders", &partner.key).await.body["items"].as_array().map(Vec::len), Some(0));
}

async fn unknown_and_inactive_products_and_bad_quantities_are_refused(app: TestApp) {
    let partner = app.new_partner().await;
    let active = product(&app, "1.00", true).await;
    let inactive = product(&app, "1.00", false).await;
    let unknown = steller::domain::ProductId::generate().to_string();

    order(&app, &partner.key, &unknown, 1).await.assert_problem(404, "not_found");
    order(&app, &partner.key, "prd_not-an-id", 1).await.assert_problem(404, "not_found");
    let refused = order(&app, &partner.key, &inactive, 1).await;
    refused.assert_problem(422, "validation_failed");
    assert_eq!(refused.error_fields(), ["product_id"]);
    for quantity in [json!(0), json!(1001), json!(-3), json!(2.5), json!("5"), json!(null)] {
        let response =
            app.post("/api/orders", Some(&partner.key), json!({"product_id": active, "quantity": quantity})).await;
        response.assert_problem(422, "validation_failed");
        assert_eq!(response.error_fields(), ["quantity"], "quantity {quantity}");
    }
    let response = app.post("/api/orders", Some(&partner.key), json!({})).await;
    assert_eq!(response.error_fields(), ["product_id", "quantity"]);
    assert_eq!(order(&app, &partner.key, &active, 1000).await.status, StatusCode::CREATED, "1000 is allowed");
    assert_eq!(balance(&app, &partner.key).await, "0.00");
}

async fn fifty_parallel_orders_on_a_wallet_that_pays_for_seventeen_make_exactly_seventeen(app: TestApp) {
    let partner = app.new_partner().await;
    let product_id = product(&app, "58.00", true).await;

    let attempts = (0..50).map(|_| order(&app, &partner.key, &product_id, 1));
    let responses = futures::future::join_all(attempts).await;

    let paid = responses.iter().filter(|r| r.status == StatusCode::CREATED).count();
    let refused = responses.iter().filter(|r| r.status == StatusCode::PAYMENT_REQUIRED).count();
    assert_eq!((paid, refused), (17, 33), "{:?}", responses.iter().map(|r| r.status).collect::<Vec<_>>());
    assert_eq!(balance(&app, &partner.key).await, "14.00");
    let orders = all_pages(&app, "/api/orders", &partner.key, 100).await;
    assert_eq!(orders.len(), 17);
    let mut balances_after: Vec<String> =
        orders.iter().map(|o| o["wallet_balance_after"].as_str().unwrap_or_default().to_owned()).collect();
    balances_after.sort();
    balances_after.dedup();
    assert_eq!(balances_after.len(), 17, "each debit saw a distinct, exact balance");
    assert_ledger_sums_to_balance(&app, &partner.key).await;
    let audit = app.state.store.audit().await.expect("the audit runs");
    assert!(audit.is_clean(), "{:?}", audit.mismatches());
}

async fn cancelling_refunds_once_and_cancelling_again_is_a_conflict(app: TestApp) {
    let partner = app.new_partner().await;
    let product_id = product(&app, "10.00", true).await;
    let placed = order(&app, &partner.key, &product_id, 2).await;
    let id = placed.body["id"].as_str().expect("an id").to_owned();
    assert_eq!(balance(&app, &partner.key).await, "980.00");

    let cancelled = app.post(&format!("/api/orders/{id}/cancel"), Some(&partner.key), json!({})).await;

    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    assert_eq!(cancelled.body["status"], "cancelled");
    assert!(cancelled.body["cancelled_at"].is_string());
    assert_eq!(balance(&app, &partner.key).await, "1000.00");
    let ledger = app.get("/api/wallet/transactions", &partner.key).await;
    let refund = &ledger.body["items"][0];
    assert_eq!((refund["type"].as_str(), refund["amount"].as_str()), (Some("order_refund"), Some("20.00")));
    assert_eq!((refund["balance_after"].as_str(), refund["reference"].as_str()), (Some("1000.00"), Some(id.as_str())));
    let again = app.post(&format!("/api/orders/{id}/cancel"), Some(&partner.key), json!({})).await;
    again.assert_problem(409, "invalid_state");
    assert_eq!(app.get(&format!("/api/orders/{id}"), &partner.key).await.body["status"], "cancelled");
    assert_ledger_sums_to_balance(&app, &partner.key).await;
}

async fn ten_parallel_cancels_refund_once(app: TestApp) {
    let partner = app.new_partner().await;
    let product_id = product(&app, "100.00", true).await;
    let placed = order(&app, &partner.key, &product_id, 1).await;
    let path = format!("/api/orders/{}/cancel", placed.body["id"].as_str().expect("an id"));

    let attempts = (0..10).map(|_| app.post(&path, Some(&partner.key), json!({})));
    let responses = futures::future::join_all(attempts).await;

    let refunded = responses.iter().filter(|r| r.status == StatusCode::OK).count();
    let conflicts =
        responses.iter().filter(|r| r.status == StatusCode::CONFLICT && r.body["code"] == "invalid_state").count();
    assert_eq!((refunded, conflicts), (1, 9), "{:?}", responses.iter().map(|r| &r.body).collect::<Vec<_>>());
    assert_eq!(balance(&app, &partner.key).await, "1000.00");
    let ledger = all_pages(&app, "/api/wallet/transactions", &partner.key, 100).await;
    assert_eq!(ledger.iter().filter(|e| e["type"] == "order_refund").count(), 1);
    assert_ledger_sums_to_balance(&app, &partner.key).await;
}

async fn orders_and_ledgers_are_isolated_by_partner_and_mode(app: TestApp) {
    let alice = app.new_partner().await;
    let bob = app.new_partner().await;
    let product_id = product(&app, "1.00", true).await;
    let placed = order(&app, &alice.key, &product_id, 1).await;
    let id = placed.body["id"].as_str().expect("an id").to_owned();
    let alice_live = app.live_key_for(&alice.key).await;

    for (who, key) in [("bob", &bob.key), ("alice's live key", &alice_live)] {
        app.get(&format!("/api/orders/{id}"), key).await.assert_problem(404, "not_found");
        app.post(&format!("/api/orders/{id}/cancel"), Some(key), json!({})).await.assert_problem(404, "not_found");
        let listed = app.get("/api/orders", key).await;
        assert_eq!(listed.body["items"].as_array().map(Vec::len), Some(0), "{who} lists no orders");
    }
    let live_ledger = app.get("/api/wallet/transactions", &alice_live).await;
    assert_eq!(live_ledger.body["items"].as_array().map(Vec::len), Some(0), "the live ledger is empty");
    order(&app, &alice_live, &product_id, 1).await.assert_problem(402, "insufficient_funds");
    assert_eq!(balance(&app, &alice.key).await, "999.00", "the sandbox wallet paid; the live one cannot");
    assert_eq!(app.get(&format!("/api/orders/{id}"), &alice.key).await.status, StatusCode::OK);
}

async fn twenty_three_orders_page_by_ten_each_exactly_once_newest_first(app: TestApp) {
    let partner = app.new_partner().await;
    let product_id = product(&app, "1.00", true).await;
    let mut placed = Vec::new();
    for _ in 0..23 {
        let response = order(&app, &partner.key, &product_id, 1).await;
        placed.push(response.body["id"].as_str().expect("an id").to_owned());
    }

    let listed: Vec<String> = all_pages(&app, "/api/orders", &partner.key, 10)
        .await
        .iter()
        .map(|o| o["id"].as_str().expect("an id").to_owned())
        .collect();

    placed.reverse();
    assert_eq!(listed, placed, "newest first, each exactly once");
    assert_eq!(listed.iter().collect::<HashSet<_>>().len(), 23);
    let first_page = app.get("/api/orders?limit=10", &partner.key).await;
    assert_eq!(first_page.body["items"].as_array().map(Vec::len), Some(10));
    app.get("/api/orders?limit=0", &partner.key).await.assert_problem(422, "validation_failed");
    app.get("/api/orders?cursor=bm90LWEtY3Vyc29y", &partner.key).await.assert_problem(400, "malformed_request");
}
