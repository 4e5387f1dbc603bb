//! Orders and the wallet ledger through every function's routes, on both engines.

use std::collections::HashSet;

use futures::future::join_all;
use http::StatusCode;
use serde_json::json;
use steller::Store;
use steller::domain::{
    EventId, Mode, Money, OrderId, PartnerId, PlaceOrder, Product, ProductId, Quantity, RequestTopUp, Timestamp,
    TopUpAmount, TransactionId,
};
use steller::store::StoreError;
use steller::testing::TestApp;
use steller::testing::throttling::{Throttle, ThrottlingProxy};
use support::{
    all_pages, assert_audit_clean, assert_ledger_chains, assert_ledger_sums_to_balance, balance, keyed_post, order,
    product,
};

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
    a_race_lost_during_the_request_is_tried_again_from_a_fresh_read,
    one_stores_concurrent_orders_on_a_wallet_are_written_together,
    one_stores_concurrent_movements_of_every_kind_keep_exact_balances,
    one_stores_fifty_parallel_orders_on_a_wallet_that_pays_for_seventeen_make_exactly_seventeen,
    a_joiner_whose_condition_fails_is_answered_alone_and_the_holder_written_without_it,
    a_batch_stops_retrying_in_time_for_the_earliest_deadline_among_its_movements,
    an_instance_whose_remembered_balance_is_stale_orders_from_the_real_one,
    orders_that_lost_races_are_listed_in_created_at_order,
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

/// Spread over five instances (as five Lambda instances), so the orders race for the
/// wallet; each instance's own orders take turns (ADR 0015).
async fn fifty_parallel_orders_on_a_wallet_that_pays_for_seventeen_make_exactly_seventeen(app: TestApp) {
    let partner = app.new_partner().await;
    let product_id = product(&app, "58.00", true).await;
    let instances = app.instances(5);

    let attempts = (0..50).map(|n| order(&instances[n % 5], &partner.key, &product_id, 1));
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
    assert_ledger_chains(&app, &partner.key).await;
    assert_audit_clean(&app).await;
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
    let instances = app.instances(10);

    // One per instance, so they race.
    let attempts = instances.iter().map(|instance| instance.post(&path, Some(&partner.key), json!({})));
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

/// Places `command` from rounds of 8 fresh instances at once (a store each, as Lambda
/// instances, through `proxy`) until some order lost a race (the first round almost
/// always has one), at most 10 rounds; how many orders were placed.
async fn place_until_a_race_is_lost(through: &Store, proxy: &ThrottlingProxy, command: &PlaceOrder) -> usize {
    let mut placed = 0;
    for _round in 0..10 {
        let instances: Vec<Store> = (0..8).map(|_| through.another_instance()).collect();
        for placing in join_all(instances.iter().map(|store| store.place_order(command, None))).await {
            placing.expect("the wallet pays for every order");
            placed += 1;
        }
        if proxy.calls("TransactWriteItems") > placed {
            break;
        }
    }
    placed
}

/// Eight instances (a store each, as Lambda instances) ordering on one wallet at once,
/// none remembering a balance: every transaction must be built on a wallet read during
/// its round. A race lost during the request means the wallet is busy, so after its
/// pause the loser reads the wallet again rather than trying the balance its
/// cancellation brought, which by then has most likely moved on (ADR 0016).
async fn a_race_lost_during_the_request_is_tried_again_from_a_fresh_read(app: TestApp) {
    let partner = app.new_partner().await;
    let proxy = ThrottlingProxy::start(&app.db.endpoint, &[]).await;
    let through = app.db.through(&proxy).await;
    let command = cheapest_order(&partner.id);

    let placed = place_until_a_race_is_lost(&through, &proxy, &command).await;

    let transactions = proxy.calls("TransactWriteItems");
    assert!(transactions > placed, "some order lost a race: {transactions} transactions for {placed} orders");
    assert_eq!(
        proxy.calls("GetItem"),
        transactions,
        "one wallet read before each transaction: the first of each order, and one after each of the {} lost races",
        transactions - placed
    );
    let balance = app.get("/api/wallet", &partner.key).await.body["balance"].as_str().map(str::to_owned);
    let spent = command.total.times(u32::try_from(placed).expect("a count")).expect("within the limit");
    let expected = (app.state.config.sandbox_credit - spent).expect("within the limit");
    assert_eq!(balance, Some(expected.to_string()), "{placed} orders paid exactly once each");
}

/// An order that lost races is made when it commits: its id and its `created_at` are
/// the same millisecond, and so are its ledger entry's and its event's. So every list,
/// newest first by id, is also newest first by `created_at`.
async fn orders_that_lost_races_are_listed_in_created_at_order(app: TestApp) {
    let partner = app.new_partner().await;
    let proxy = ThrottlingProxy::start(&app.db.endpoint, &[]).await;
    let through = app.db.through(&proxy).await;
    let command = cheapest_order(&partner.id);

    let placed = place_until_a_race_is_lost(&through, &proxy, &command).await;
    assert!(proxy.calls("TransactWriteItems") > placed, "some order lost a race");

    let time_of = |item: &serde_json::Value| -> Timestamp {
        item["created_at"].as_str().and_then(|at| Timestamp::parse(at).ok()).expect("a created_at")
    };
    let id_of = |item: &serde_json::Value| item["id"].as_str().expect("an id").to_owned();
    let orders = all_pages(&app, "/api/orders", &partner.key, 100).await;
    let ledger = all_pages(&app, "/api/wallet/transactions", &partner.key, 100).await;
    let events = all_pages(&app, "/api/events", &partner.key, 100).await;
    assert_eq!((orders.len(), events.len()), (placed, placed));
    for order in &orders {
        assert_eq!(OrderId::parse(&id_of(order)).expect("an id").time(), Some(time_of(order)), "{order}");
    }
    for entry in &ledger {
        assert_eq!(TransactionId::parse(&id_of(entry)).expect("an id").time(), Some(time_of(entry)), "{entry}");
    }
    for event in &events {
        assert_eq!(EventId::parse(&id_of(event)).expect("an id").time(), Some(time_of(event)), "{event}");
    }
    for list in [&orders, &ledger, &events] {
        let times: Vec<Timestamp> = list.iter().map(time_of).collect();
        assert!(times.windows(2).all(|pair| pair[0] >= pair[1]), "newest first by created_at too: {times:?}");
    }
}

/// One store's concurrent orders on one wallet (one process's requests: the local server)
/// are written together: the first takes the wallet's turn, and the others, waiting for
/// it, join its transaction, each built on the balance the one before leaves (ADR 0018).
/// Without joining, each would be a transaction of its own, one after another.
async fn one_stores_concurrent_orders_on_a_wallet_are_written_together(app: TestApp) {
    let partner = app.new_partner().await;
    let proxy = ThrottlingProxy::start(&app.db.endpoint, &[]).await;
    let store = app.db.through(&proxy).await;
    let command = cheapest_order(&partner.id);

    let mut orders = Vec::new();
    for placing in join_all((0..16).map(|_| store.place_order(&command, None))).await {
        orders.push(placing.expect("the wallet pays for every order"));
    }

    // The others join the first order's transaction when they arrive while it reads the
    // wallet; when its read returns before they arrive (a busy machine), they wait for
    // its transaction and join the next one's.
    let transactions = proxy.calls("TransactWriteItems");
    assert!((1..=2).contains(&transactions), "one or two transactions for sixteen orders, not {transactions}");
    assert_eq!(proxy.calls("GetItem"), 1, "only the first order read the wallet");
    let spent = command.total.times(16).expect("within the limit");
    let expected = (app.state.config.sandbox_credit - spent).expect("within the limit");
    assert_eq!(balance(&app, &partner.key).await, expected.to_string());
    // Each order saw its own exact balance, in the order of its id.
    orders.sort_by_key(|order| order.id);
    let mut balance_before = app.state.config.sandbox_credit;
    for order in &orders {
        assert_eq!(order.wallet_balance_after, (balance_before - command.total).expect("within the limit"));
        balance_before = order.wallet_balance_after;
    }
    assert_ledger_sums_to_balance(&app, &partner.key).await;
    assert_ledger_chains(&app, &partner.key).await;
}

/// Through one app (one store, as the local server), concurrent movements of every kind
/// that joins: orders, cancellations (one of them twice), sandbox top-ups and two orders
/// under one idempotency key. Each is answered as it would be alone, and the ledger is a
/// chain of exact balances.
async fn one_stores_concurrent_movements_of_every_kind_keep_exact_balances(app: TestApp) {
    let partner = app.new_partner().await;
    let product_id = product(&app, "10.00", true).await;
    let mut placed = Vec::new();
    for _ in 0..2 {
        let first = order(&app, &partner.key, &product_id, 1).await;
        placed.push(format!("/api/orders/{}/cancel", first.body["id"].as_str().expect("an id")));
    }
    let body = json!({"product_id": product_id, "quantity": 3});
    let keyed = || keyed_post(&app, "/api/orders", &partner.key, "batch-7", body.clone());
    let top_up =
        || app.post("/api/wallet/top-up-requests", Some(&partner.key), json!({"amount": "25.00", "currency": "USD"}));
    let cancel = |path: usize| app.post(&placed[path], Some(&partner.key), json!({}));

    let (orders, cancels, top_ups, keyed_orders) = futures::join!(
        join_all((0..8).map(|_| order(&app, &partner.key, &product_id, 1))),
        join_all([cancel(0), cancel(0), cancel(1)]),
        join_all((0..2).map(|_| top_up())),
        join_all((0..2).map(|_| keyed())),
    );

    assert!(
        orders.iter().all(|r| r.status == StatusCode::CREATED),
        "{:?}",
        orders.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    let mut cancelled: Vec<u16> = cancels.iter().map(|r| r.status.as_u16()).collect();
    cancelled.sort_unstable();
    assert_eq!(cancelled, [200, 200, 409], "the order cancelled twice is refunded once");
    assert!(
        top_ups.iter().all(|r| r.status == StatusCode::CREATED),
        "{:?}",
        top_ups.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    assert!(keyed_orders.iter().all(|r| r.status == StatusCode::CREATED));
    assert_eq!(keyed_orders[0].body["id"], keyed_orders[1].body["id"], "one order under the key");
    let replayed = keyed_orders.iter().filter(|r| r.headers.contains_key("idempotent-replayed")).count();
    assert_eq!(replayed, 1, "the other answer is its replay");
    // 1000.00 - 2 × 10.00 - 8 × 10.00 + 2 × 10.00 (refunds) + 2 × 25.00 - 30.00 (keyed, once)
    assert_eq!(balance(&app, &partner.key).await, "940.00");
    assert_ledger_sums_to_balance(&app, &partner.key).await;
    assert_ledger_chains(&app, &partner.key).await;
    assert_audit_clean(&app).await;
}

/// Through one app, the wallet pays for 17 of 50 concurrent orders: movements that join
/// a transaction on a balance too small for them decide again alone, on the wallet read.
async fn one_stores_fifty_parallel_orders_on_a_wallet_that_pays_for_seventeen_make_exactly_seventeen(app: TestApp) {
    let partner = app.new_partner().await;
    let product_id = product(&app, "58.00", true).await;

    let responses = join_all((0..50).map(|_| order(&app, &partner.key, &product_id, 1))).await;

    let paid = responses.iter().filter(|r| r.status == StatusCode::CREATED).count();
    let refused = responses.iter().filter(|r| r.status == StatusCode::PAYMENT_REQUIRED).count();
    assert_eq!((paid, refused), (17, 33), "{:?}", responses.iter().map(|r| r.status).collect::<Vec<_>>());
    assert_eq!(balance(&app, &partner.key).await, "14.00");
    assert_ledger_sums_to_balance(&app, &partner.key).await;
    assert_ledger_chains(&app, &partner.key).await;
}

/// A movement that joined a transaction and whose own condition fails when it is written
/// (the order it cancels was cancelled by another instance after it read it) is answered
/// as alone, and the holder's movement is written again at once without it (ADR 0018).
/// The holder's wallet read is held 500 ms, so the joiner reads its order and joins, and
/// the other instance cancels the order, while the holder waits.
async fn a_joiner_whose_condition_fails_is_answered_alone_and_the_holder_written_without_it(app: TestApp) {
    let partner = app.new_partner().await;
    let command = cheapest_order(&partner.id);
    let placed = app.db.store.place_order(&command, None).await.expect("the first order is paid");
    let slow_reads = [("GetItem", Throttle::Delay(std::time::Duration::from_millis(500)))];
    let proxy = ThrottlingProxy::start(&app.db.endpoint, &slow_reads).await;
    let store = app.db.through(&proxy).await;
    let elsewhere = app.db.store.another_instance();
    let partner_id = command.partner_id;

    let (holder, joiner, other) = futures::join!(
        store.place_order(&command, None),
        store.cancel_order(&partner_id, Mode::Sandbox, &placed.id),
        async {
            tokio::time::sleep(std::time::Duration::from_millis(150)).await;
            elsewhere.cancel_order(&partner_id, Mode::Sandbox, &placed.id).await
        },
    );

    other.expect("cancelled by the other instance while the holder read the wallet");
    assert!(matches!(joiner, Err(StoreError::InvalidState(_))), "the joiner finds it cancelled: {joiner:?}");
    let held = holder.expect("the holder's order is written");
    assert_eq!(
        proxy.calls("TransactWriteItems"),
        2,
        "the batch, cancelled for the joiner's condition, then the holder's order alone"
    );
    assert_eq!(proxy.calls("GetItem"), 1, "the holder tried again at once, from the wallet it had read");
    let expected = (app.state.config.sandbox_credit - command.total).expect("within the limit");
    assert_eq!(held.wallet_balance_after, expected, "one order paid, the other refunded");
    assert_eq!(balance(&app, &partner.key).await, expected.to_string());
    assert_ledger_sums_to_balance(&app, &partner.key).await;
    assert_ledger_chains(&app, &partner.key).await;
}

/// A batch is written by a task of its own, under the earliest deadline among its
/// movements (ADR 0018, ADR 0019: on a multi-concurrent Lambda environment joiners have
/// deadlines of their own). The holder's wallet read is held 300 ms, so the second order
/// joins it; every transaction is refused as throttled after 200 ms. With 5 s left the
/// holder alone would retry the batch; the joiner's deadline, 650 ms after the start,
/// leaves time to join (300 ms, one try) but none for a retry after the refusal, so both
/// answer after one try, with nothing written.
async fn a_batch_stops_retrying_in_time_for_the_earliest_deadline_among_its_movements(app: TestApp) {
    use std::time::{Duration, Instant};
    let partner = app.new_partner().await;
    let command = cheapest_order(&partner.id);
    let rules = [
        ("GetItem", Throttle::Delay(Duration::from_millis(300))),
        ("TransactWriteItems", Throttle::SlowCancel(Duration::from_millis(200), "ThrottlingError")),
    ];
    let proxy = ThrottlingProxy::start(&app.db.endpoint, &rules).await;
    let store = app.db.through(&proxy).await;

    let started = Instant::now();
    let (holder, joiner) = futures::join!(
        steller::deadline::within(started + Duration::from_secs(5), store.place_order(&command, None)),
        async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            steller::deadline::within(started + Duration::from_millis(650), store.place_order(&command, None)).await
        },
    );

    assert!(matches!(holder, Err(StoreError::Unavailable(_))), "the holder: {holder:?}");
    assert!(matches!(joiner, Err(StoreError::Unavailable(_))), "the joiner: {joiner:?}");
    assert_eq!(proxy.calls("GetItem"), 1, "the second order waited for the holder's read and joined it");
    assert_eq!(proxy.calls("TransactWriteItems"), 1, "no retry starts past the joiner's deadline");
    assert_eq!(balance(&app, &partner.key).await, app.state.config.sandbox_credit.to_string(), "nothing written");
}

/// An order of one of the seed's cheapest product, quantity 1, on the partner's sandbox wallet.
fn cheapest_order(partner: &str) -> PlaceOrder {
    let cheapest = steller::seed::products()
        .expect("the seed parses")
        .into_iter()
        .min_by_key(|product| product.unit_price)
        .expect("the seed has products");
    let partner_id = PartnerId::parse(partner).expect("a partner id");
    let quantity = Quantity::try_from(1_i64).expect("a quantity");
    PlaceOrder::new(partner_id, Mode::Sandbox, cheapest, quantity, None).expect("an order of an active product")
}

/// Two instances moving money on one wallet: each remembers the balance of its own last
/// movement, which the other's makes stale. A stale balance only loses the race (and the
/// cancellation brings the real one); an order refused on it would be wrong, so a
/// movement is refused only on the wallet as read during the request.
async fn an_instance_whose_remembered_balance_is_stale_orders_from_the_real_one(app: TestApp) {
    let partner = app.new_partner().await;
    let (first, second) = (app.db.store.clone(), app.db.store.another_instance());
    let partner_id = PartnerId::parse(&partner.id).expect("a partner id");
    let product = |price: &str| Product {
        id: ProductId::parse("prd_0000000000000000000000000a").expect("a product id"),
        name: format!("Test product at {price}"),
        description: "made by a test".into(),
        unit_price: Money::parse(price).expect("a price"),
        active: true,
    };
    let order = |price: &str| {
        let quantity = Quantity::try_from(1_i64).expect("a quantity");
        PlaceOrder::new(partner_id, Mode::Sandbox, product(price), quantity, None).expect("an active product")
    };

    // The first instance remembers 1000.00 - 900.00 = 100.00.
    first.place_order(&order("900.00"), None).await.expect("the first order is paid");
    // The second moves money: 100.00 - 50.00 = 50.00; the first's memory is now stale.
    let second_order = second.place_order(&order("50.00"), None).await.expect("the second order is paid");
    assert_eq!(second_order.wallet_balance_after.to_string(), "50.00");
    // On its stale 100.00 the first would pay 80.00; on the real 50.00 it must refuse.
    let refused = first.place_order(&order("80.00"), None).await;
    assert!(
        matches!(refused, Err(StoreError::InsufficientFunds { balance, .. }) if balance.to_string() == "50.00"),
        "refused on the real balance: {refused:?}"
    );
    // And an order the stale memory would refuse is paid if the wallet can pay it: the
    // sandbox top-up through the second instance brings it to 150.00.
    let amount = TopUpAmount::parse(Some("100.00")).expect("an amount");
    let top_up = RequestTopUp { partner_id, mode: Mode::Sandbox, amount, payment_reference: None, note: None };
    second.request_top_up(&top_up, None).await.expect("topped up");
    let paid = first.place_order(&order("120.00"), None).await.expect("paid from the real 150.00");
    assert_eq!(paid.wallet_balance_after.to_string(), "30.00");
    assert_ledger_sums_to_balance(&app, &partner.key).await;
}
