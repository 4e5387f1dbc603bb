//! Webhooks end to end, on both engines: endpoints through the API, events written with
//! the changes they report, and deliveries signed, retried and recorded, received by a
//! real HTTP server on loopback that verifies every signature with the endpoint's secret.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use futures::future::join_all;
use serde_json::{Value, json};
use steller::domain::{Timestamp, WebhookSecret};
use steller::testing::{TestApp, TestPartner};
use steller::webhooks::address::UrlPolicy;
use steller::webhooks::delivery::{Deliverer, Schedule};
use steller::webhooks::in_process::LocalWebhooks;
use steller::webhooks::send::Sender;
use support::{all_pages, order, product};

mod support;

on_both_engines!(
    an_order_reaches_its_endpoint_signed_with_the_endpoints_secret,
    a_failed_delivery_is_retried_under_the_same_webhook_id,
    during_a_rotation_both_secrets_sign_every_delivery,
    an_event_committed_while_no_dispatcher_ran_is_delivered_when_one_starts,
    a_refused_money_movement_writes_no_event,
    twenty_parallel_orders_make_exactly_twenty_order_created_events,
    every_change_writes_its_events_in_its_own_transaction,
    endpoints_belong_to_their_partner_and_mode,
    bad_endpoints_are_refused_with_every_field_named,
    a_redelivery_sends_the_event_again_under_its_id,
    a_slow_endpoint_holds_up_no_other,
    an_endpoint_failing_for_five_days_is_disabled_and_its_partner_emailed,
    parallel_creations_never_pass_sixteen_endpoints_in_a_mode,
    an_endpoint_made_before_the_count_was_kept_still_counts,
);

// ─── A receiver ──────────────────────────────────────────────────────────────────────

/// One POST the receiver got.
#[derive(Debug, Clone)]
struct Received {
    headers: HeaderMap,
    body: String,
}

impl Received {
    fn webhook_id(&self) -> &str {
        self.headers.get("webhook-id").and_then(|id| id.to_str().ok()).unwrap_or_default()
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }

    /// Whether the signature verifies with `secret`, as a Standard Webhooks library checks it.
    fn signed_with(&self, secret: &str) -> bool {
        standardwebhooks::Webhook::new(secret)
            .expect("a whsec_ secret")
            .verify(self.body.as_bytes(), &self.headers)
            .is_ok()
    }
}

/// An HTTP server on loopback that records every request and answers each with the next
/// status of its script (then 200), after `delay`.
#[derive(Debug, Clone)]
struct Receiver {
    url: String,
    seen: Arc<Mutex<Vec<Received>>>,
    answered: Arc<Mutex<Vec<Instant>>>,
}

#[derive(Clone)]
struct Script {
    seen: Arc<Mutex<Vec<Received>>>,
    answered: Arc<Mutex<Vec<Instant>>>,
    statuses: Arc<Mutex<VecDeque<u16>>>,
    delay: Duration,
}

async fn receive(State(script): State<Script>, headers: HeaderMap, body: String) -> StatusCode {
    script.seen.lock().expect("not poisoned").push(Received { headers, body });
    tokio::time::sleep(script.delay).await;
    let status = script.statuses.lock().expect("not poisoned").pop_front().unwrap_or(200);
    script.answered.lock().expect("not poisoned").push(Instant::now());
    StatusCode::from_u16(status).expect("a status")
}

impl Receiver {
    async fn answering(statuses: &[u16], delay: Duration) -> Self {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let answered = Arc::new(Mutex::new(Vec::new()));
        let script = Script {
            seen: seen.clone(),
            answered: answered.clone(),
            statuses: Arc::new(Mutex::new(statuses.iter().copied().collect())),
            delay,
        };
        let router = axum::Router::new().route("/hook", axum::routing::post(receive)).with_state(script);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let url = format!("http://{}/hook", listener.local_addr().expect("an address"));
        tokio::spawn(async move { axum::serve(listener, router).await });
        Receiver { url, seen, answered }
    }

    async fn ok() -> Self {
        Self::answering(&[], Duration::ZERO).await
    }

    fn seen(&self) -> Vec<Received> {
        self.seen.lock().expect("not poisoned").clone()
    }

    /// Waits (up to 20 s) until `count` requests have arrived, and returns them.
    async fn wait_for(&self, count: usize) -> Vec<Received> {
        wait_until(count, "deliveries arrived", || self.seen()).await
    }

    /// Waits (up to 20 s) until `count` requests have been answered, and returns when
    /// each answer left. A request is seen before it is answered, so a test comparing
    /// answers waits for these, not for [`Receiver::wait_for`].
    async fn wait_answered(&self, count: usize) -> Vec<Instant> {
        wait_until(count, "deliveries answered", || self.answered.lock().expect("not poisoned").clone()).await
    }
}

/// Polls `read` until it holds `count` entries, failing after 20 s with what it holds.
async fn wait_until<T>(count: usize, what: &str, read: impl Fn() -> Vec<T>) -> Vec<T> {
    let started = Instant::now();
    loop {
        let entries = read();
        if entries.len() >= count {
            return entries;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{} of {count} {what}", entries.len());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ─── Set-up ──────────────────────────────────────────────────────────────────────────

/// Starts the in-process dispatcher and deliveries on `app`'s store, with every retry
/// pause multiplied by `scale`, and serves `app` with redelivery through them and the
/// local URL rules (plain http to loopback).
fn with_webhooks(app: TestApp, scale: f64) -> TestApp {
    let deliverer = Deliverer {
        store: app.state.store.clone(),
        sender: Sender::new(UrlPolicy::AllowLoopbackHttp).expect("the client builds"),
        email: app.state.email.clone(),
        config: app.state.config.clone(),
        schedule: Schedule::scaled(scale),
    };
    let local = LocalWebhooks::start(deliverer, Duration::from_secs(30));
    let state = app.state.clone().with_webhooks(local.queue).with_webhook_urls(UrlPolicy::AllowLoopbackHttp);
    app.with_state(state)
}

/// The local URL rules, and no dispatcher: events are written and wait.
fn without_dispatcher(app: TestApp) -> TestApp {
    let state = app.state.clone().with_webhook_urls(UrlPolicy::AllowLoopbackHttp);
    app.with_state(state)
}

/// Registers an endpoint at `url` for `events`; returns its id and secret.
async fn endpoint(app: &TestApp, key: &str, url: &str, events: &[&str]) -> (String, String) {
    let created = app.post("/api/webhook-endpoints", Some(key), json!({"url": url, "events": events})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.body["id"].as_str().expect("an id").to_owned();
    let secret = created.body["secret"].as_str().expect("a secret").to_owned();
    (id, secret)
}

/// The caller's events, newest first, every page.
async fn events(app: &TestApp, key: &str) -> Vec<Value> {
    all_pages(app, "/api/events", key, 100).await
}

/// The types of the caller's events, oldest first.
async fn event_types(app: &TestApp, key: &str) -> Vec<String> {
    let mut types: Vec<String> =
        events(app, key).await.iter().map(|event| event["type"].as_str().expect("a type").to_owned()).collect();
    types.reverse();
    types
}

/// Waits (up to 20 s) until event `id` has `count` attempts, and returns it.
async fn attempts_of(app: &TestApp, key: &str, id: &str, count: usize) -> Value {
    let started = Instant::now();
    loop {
        let event = app.get(&format!("/api/events/{id}"), key).await;
        assert_eq!(event.status, StatusCode::OK, "{}", event.body);
        if event.body["attempts"].as_array().is_some_and(|attempts| attempts.len() >= count) {
            return event.body;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "event {id} did not get {count} attempts: {}", event.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn an_order(app: &TestApp, partner: &TestPartner) -> Value {
    let product_id = product(app, "4.99", true).await;
    let placed = order(app, &partner.key, &product_id, 2).await;
    assert_eq!(placed.status, StatusCode::CREATED, "{}", placed.body);
    placed.body
}

// ─── Scenarios ───────────────────────────────────────────────────────────────────────

async fn an_order_reaches_its_endpoint_signed_with_the_endpoints_secret(app: TestApp) {
    let app = with_webhooks(app, 1.0);
    let partner = app.new_partner().await;
    let receiver = Receiver::ok().await;
    let (endpoint_id, secret) = endpoint(&app, &partner.key, &receiver.url, &["order.created"]).await;
    assert!(secret.starts_with("whsec_"), "{secret}");

    let placed = an_order(&app, &partner).await;

    let [delivery] = &receiver.wait_for(1).await[..] else { panic!("one delivery") };
    assert!(delivery.signed_with(&secret), "the signature verifies with the endpoint's secret");
    assert!(!delivery.signed_with("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), "and with no other");
    let body = delivery.json();
    assert_eq!(body["type"], "order.created");
    assert_eq!(body["mode"], "sandbox");
    assert_eq!(body["data"], placed, "data is the order as the API showed it");
    assert_eq!(delivery.webhook_id(), body["id"].as_str().expect("an id"), "webhook-id is the event id");
    assert!(delivery.webhook_id().starts_with("evt_"));
    let signature = delivery.headers.get("webhook-signature").and_then(|v| v.to_str().ok()).expect("signed");
    assert!(signature.starts_with("v1,") && !signature.contains(' '), "one signature: {signature}");

    let event = attempts_of(&app, &partner.key, delivery.webhook_id(), 1).await;
    let attempt = &event["attempts"][0];
    assert_eq!((attempt["endpoint_id"].as_str(), attempt["status"].as_u64()), (Some(endpoint_id.as_str()), Some(200)));
    assert!(attempt["error"].is_null() && attempt["duration_ms"].is_u64(), "{attempt}");
    assert_eq!(event["data"], placed);
    let listed = app.get(&format!("/api/webhook-endpoints/{endpoint_id}"), &partner.key).await;
    assert!(listed.body.get("secret").is_none(), "the secret is shown only once: {}", listed.body);
}

async fn a_failed_delivery_is_retried_under_the_same_webhook_id(app: TestApp) {
    // 5 s × 0.001: the first retry comes 5 ms later.
    let app = with_webhooks(app, 0.001);
    let partner = app.new_partner().await;
    let receiver = Receiver::answering(&[500], Duration::ZERO).await;
    let (_, secret) = endpoint(&app, &partner.key, &receiver.url, &["order.created"]).await;

    an_order(&app, &partner).await;

    let deliveries = receiver.wait_for(2).await;
    assert_eq!(deliveries[0].webhook_id(), deliveries[1].webhook_id(), "the same event, the same id");
    assert_eq!(deliveries[0].body, deliveries[1].body, "the same bytes");
    assert!(deliveries.iter().all(|delivery| delivery.signed_with(&secret)));
    let event = attempts_of(&app, &partner.key, deliveries[0].webhook_id(), 2).await;
    let statuses: Vec<_> =
        event["attempts"].as_array().expect("attempts").iter().map(|a| a["status"].as_u64()).collect();
    assert_eq!(statuses, [Some(500), Some(200)]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.seen().len(), 2, "a delivered event is not sent again");
}

async fn during_a_rotation_both_secrets_sign_every_delivery(app: TestApp) {
    let app = with_webhooks(app, 1.0);
    let partner = app.new_partner().await;
    let receiver = Receiver::ok().await;
    let (id, old) = endpoint(&app, &partner.key, &receiver.url, &["order.created"]).await;

    let rotated = app.post(&format!("/api/webhook-endpoints/{id}/rotate-secret"), Some(&partner.key), json!({})).await;

    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    let new = rotated.body["secret"].as_str().expect("a new secret").to_owned();
    assert_ne!(new, old);
    let until: Timestamp =
        rotated.body["previous_secret_expires_at"].as_str().expect("an overlap").parse().expect("a time");
    let hours = (until.datetime() - Timestamp::now().datetime()).whole_minutes() as f64 / 60.0;
    assert!((23.9..=24.0).contains(&hours), "the old secret signs for 24 h: {hours}");
    an_order(&app, &partner).await;
    let [delivery] = &receiver.wait_for(1).await[..] else { panic!("one delivery") };
    let signature = delivery.headers.get("webhook-signature").and_then(|v| v.to_str().ok()).expect("signed");
    assert_eq!(signature.split(' ').count(), 2, "two signatures: {signature}");
    assert!(delivery.signed_with(&new), "a receiver with the new secret accepts it");
    assert!(delivery.signed_with(&old), "a receiver still on the old secret accepts it");
}

async fn an_event_committed_while_no_dispatcher_ran_is_delivered_when_one_starts(app: TestApp) {
    // The change commits, and the process "crashes" before anything dispatched its event.
    let before = without_dispatcher(app);
    let partner = before.new_partner().await;
    let receiver = Receiver::ok().await;
    endpoint(&before, &partner.key, &receiver.url, &["order.created"]).await;
    let placed = an_order(&before, &partner).await;
    let waiting = events(&before, &partner.key).await;
    assert_eq!(waiting.len(), 1, "the event was written with the order");
    assert_eq!(waiting[0]["attempts"], json!([]), "and not delivered");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(receiver.seen().is_empty());

    // A restart: a dispatcher starts on the same table, and its first sweep finds it.
    let after = with_webhooks(before, 1.0);

    let [delivery] = &receiver.wait_for(1).await[..] else { panic!("one delivery") };
    assert_eq!(delivery.json()["data"], placed);
    assert_eq!(delivery.webhook_id(), waiting[0]["id"].as_str().expect("an id"));
    attempts_of(&after, &partner.key, delivery.webhook_id(), 1).await;
}

async fn a_refused_money_movement_writes_no_event(app: TestApp) {
    let app = with_webhooks(app, 1.0);
    let partner = app.new_partner().await;
    let receiver = Receiver::ok().await;
    endpoint(&app, &partner.key, &receiver.url, &["order.created", "order.cancelled", "wallet.credited"]).await;
    let expensive = product(&app, "2500.00", true).await;

    let refused = order(&app, &partner.key, &expensive, 1).await;
    refused.assert_problem(402, "insufficient_funds");
    let placed = an_order(&app, &partner).await;
    let cancel = format!("/api/orders/{}/cancel", placed["id"].as_str().expect("an id"));
    assert_eq!(app.post(&cancel, Some(&partner.key), json!({})).await.status, StatusCode::OK);
    app.post(&cancel, Some(&partner.key), json!({})).await.assert_problem(409, "invalid_state");

    let mut types = event_types(&app, &partner.key).await;
    types.sort();
    assert_eq!(
        types,
        ["order.cancelled", "order.created", "wallet.credited"],
        "the refused order and the second cancel wrote nothing"
    );
    receiver.wait_for(3).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.seen().len(), 3);
}

async fn twenty_parallel_orders_make_exactly_twenty_order_created_events(app: TestApp) {
    let app = with_webhooks(app, 1.0);
    let partner = app.new_partner().await;
    let receiver = Receiver::ok().await;
    endpoint(&app, &partner.key, &receiver.url, &["order.created"]).await;
    let product_id = product(&app, "1.00", true).await;
    let instances = app.instances(4);

    let placed = join_all((0..20).map(|n| order(&instances[n % 4], &partner.key, &product_id, 1))).await;

    let mut orders = HashSet::new();
    for response in &placed {
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);
        orders.insert(response.body["id"].as_str().expect("an id").to_owned());
    }
    let listed = events(&app, &partner.key).await;
    assert_eq!(listed.len(), 20, "one event per order");
    let reported: HashSet<String> =
        listed.iter().map(|event| event["data"]["id"].as_str().expect("an order id").to_owned()).collect();
    assert_eq!(reported, orders, "each order reported once");
    let received = receiver.wait_for(20).await;
    let ids: HashSet<&str> = received.iter().map(Received::webhook_id).collect();
    assert_eq!(ids.len(), 20, "twenty distinct events delivered");
}

async fn every_change_writes_its_events_in_its_own_transaction(app: TestApp) {
    let app = without_dispatcher(app);
    let partner = app.new_partner().await;

    let placed = an_order(&app, &partner).await;
    let cancel = format!("/api/orders/{}/cancel", placed["id"].as_str().expect("an id"));
    assert_eq!(app.post(&cancel, Some(&partner.key), json!({})).await.status, StatusCode::OK);
    let topped = app
        .post("/api/wallet/top-up-requests", Some(&partner.key), json!({"amount": "50.00", "currency": "USD"}))
        .await;
    assert_eq!(topped.status, StatusCode::CREATED, "{}", topped.body);

    // Events of one transaction share its time; their order among themselves is not kept.
    let mut types = event_types(&app, &partner.key).await;
    types[1..3].sort();
    types[3..6].sort();
    assert_eq!(
        types,
        [
            "order.created",
            "order.cancelled",
            "wallet.credited",
            "top_up.approved",
            "top_up.requested",
            "wallet.credited",
        ]
    );
    let listed = events(&app, &partner.key).await;
    let of = |kind: &str, nth: usize| listed.iter().filter(|event| event["type"] == kind).nth(nth).cloned();
    let credit = of("wallet.credited", 0).expect("the top-up's credit");
    assert_eq!(credit["data"]["type"], "top_up_credit", "wallet.credited carries the credit's ledger entry");
    assert_eq!(credit["data"]["amount"], "50.00");
    let refund = of("wallet.credited", 1).expect("the refund");
    assert_eq!(
        (refund["data"]["type"].as_str(), refund["data"]["reference"].as_str()),
        (Some("order_refund"), placed["id"].as_str())
    );
    assert_eq!(of("top_up.requested", 0).expect("requested")["data"]["id"], topped.body["id"]);
    assert_eq!(of("order.cancelled", 0).expect("cancelled")["data"]["status"], "cancelled");

    // Live: requested, then approved (with the credit) or rejected, each by its own change.
    let live = app.db.pending_live_top_up("75.00").await;
    let ops = app.db.store.clone();
    let by = steller::domain::Decider::Sandbox;
    ops.approve_top_up(&live.id, &by).await.expect("approved");
    let rejected = app.db.pending_live_top_up("80.00").await;
    let reason = steller::domain::RejectionReason::parse(Some("no payment")).expect("a reason");
    ops.reject_top_up(&rejected.id, &by, &reason).await.expect("rejected");
    let first = ops.list_events(&live.partner_id, live.mode, &Default::default()).await.expect("events");
    let mut kinds: Vec<&str> = first.items.iter().rev().map(|record| record.event.kind.as_str()).collect();
    kinds[1..].sort();
    assert_eq!(kinds, ["top_up.requested", "top_up.approved", "wallet.credited"]);
    let second = ops.list_events(&rejected.partner_id, rejected.mode, &Default::default()).await.expect("events");
    let kinds: Vec<&str> = second.items.iter().rev().map(|record| record.event.kind.as_str()).collect();
    assert_eq!(kinds, ["top_up.requested", "top_up.rejected"]);
    assert_eq!(second.items[0].event.data["reason"], "no payment");
}

async fn endpoints_belong_to_their_partner_and_mode(app: TestApp) {
    let app = without_dispatcher(app);
    let partner = app.new_partner().await;
    let other = app.new_partner().await;
    let (id, _) = endpoint(&app, &partner.key, "https://partner.example/hooks", &["order.created"]).await;
    let path = format!("/api/webhook-endpoints/{id}");

    let mine = app.get(&path, &partner.key).await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    assert_eq!((mine.body["mode"].as_str(), mine.body["status"].as_str()), (Some("sandbox"), Some("enabled")));
    app.get(&path, &other.key).await.assert_problem(404, "not_found");
    app.delete(&path, &other.key).await.assert_problem(404, "not_found");
    let live = app.live_key_for(&partner.key).await;
    app.get(&path, &live).await.assert_problem(404, "not_found");
    assert_eq!(all_pages(&app, "/api/webhook-endpoints", &live, 10).await.len(), 0, "the live mode has none");
    assert_eq!(all_pages(&app, "/api/webhook-endpoints", &other.key, 10).await.len(), 0);
    app.get("/api/webhook-endpoints/we_nonsense", &partner.key).await.assert_problem(404, "not_found");
    let placed = an_order(&app, &partner).await;
    let event_id = events(&app, &partner.key).await[0]["id"].as_str().expect("an id").to_owned();
    assert_eq!(events(&app, &partner.key).await[0]["data"], placed);
    app.get(&format!("/api/events/{event_id}"), &other.key).await.assert_problem(404, "not_found");
    app.get(&format!("/api/events/{event_id}"), &live).await.assert_problem(404, "not_found");

    let removed = app.delete(&path, &partner.key).await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.body);
    app.get(&path, &partner.key).await.assert_problem(404, "not_found");
    app.delete(&path, &partner.key).await.assert_problem(404, "not_found");
}

async fn bad_endpoints_are_refused_with_every_field_named(app: TestApp) {
    let partner = app.new_partner().await;
    let create = |body: Value| app.post("/api/webhook-endpoints", Some(&partner.key), body);

    // On AWS (the policy a plain app has): public https only, checked after resolution.
    for url in [
        "https://10.0.0.1/hooks",
        "https://169.254.169.254/latest/meta-data",
        "https://localhost/hooks",
        "https://[::1]/hooks",
        "http://127.0.0.1:9/hooks",
        "http://partner.example/hooks",
        "ftp://partner.example/hooks",
        "https://unresolvable.invalid/hooks",
    ] {
        let refused = create(json!({"url": url, "events": ["order.created"]})).await;
        refused.assert_problem(422, "validation_failed");
        assert_eq!(refused.error_fields(), ["url"], "{url}: {}", refused.body);
    }
    let everything = create(json!({"url": "nope", "events": ["order.updated"], "description": "x".repeat(201)})).await;
    everything.assert_problem(422, "validation_failed");
    assert_eq!(everything.error_fields(), ["url", "events", "description"], "{}", everything.body);
    let detail = everything.body["errors"][1]["message"].as_str().unwrap_or_default().to_owned();
    assert!(detail.contains("order.updated"), "names the unknown type: {}", everything.body);
    // A public address (a literal: this machine resolves no internet names); no events.
    let none = create(json!({"url": "https://8.8.8.8/hooks", "events": []})).await;
    assert_eq!(none.error_fields(), ["events"], "{}", none.body);
    assert_eq!(app.get("/api/webhook-endpoints", &partner.key).await.body["items"], json!([]), "nothing was made");

    // Locally, plain http to loopback is allowed.
    let local = without_dispatcher(app);
    let made = local
        .post(
            "/api/webhook-endpoints",
            Some(&partner.key),
            json!({"url": "http://127.0.0.1:9/hooks", "events": ["order.created"]}),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
}

async fn parallel_creations_never_pass_sixteen_endpoints_in_a_mode(app: TestApp) {
    let partner = app.new_partner().await;
    let create = |n: usize| {
        let body = json!({"url": format!("https://8.8.8.8/hooks/{n}"), "events": ["order.created"]});
        app.post("/api/webhook-endpoints", Some(&partner.key), body)
    };

    let answers = join_all((0..24).map(create)).await;

    let statuses: Vec<u16> = answers.iter().map(|answer| answer.status.as_u16()).collect();
    assert_eq!(statuses.iter().filter(|&&status| status == 201).count(), 16, "{statuses:?}");
    for refused in answers.iter().filter(|answer| answer.status != StatusCode::CREATED) {
        refused.assert_problem(409, "invalid_state");
    }
    let listed = all_pages(&app, "/api/webhook-endpoints", &partner.key, 100).await;
    assert_eq!(listed.len(), 16);
    // The other mode has a count of its own.
    let live = app.live_key_for(&partner.key).await;
    let body = json!({"url": "https://8.8.8.8/live", "events": ["order.created"]});
    assert_eq!(app.post("/api/webhook-endpoints", Some(&live), body).await.status, StatusCode::CREATED);
    // A deletion gives its place back, once.
    let id = listed[0]["id"].as_str().expect("an id");
    let removed = app.delete(&format!("/api/webhook-endpoints/{id}"), &partner.key).await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.body);
    app.delete(&format!("/api/webhook-endpoints/{id}"), &partner.key).await.assert_problem(404, "not_found");
    assert_eq!(create(100).await.status, StatusCode::CREATED);
    create(101).await.assert_problem(409, "invalid_state");
}

/// Endpoints written before the count was kept (the endpoint items alone) are counted
/// when the mode's count is first written.
async fn an_endpoint_made_before_the_count_was_kept_still_counts(app: TestApp) {
    let partner = app.new_partner().await;
    let create = |n: usize| {
        let body = json!({"url": format!("https://8.8.8.8/hooks/{n}"), "events": ["order.created"]});
        app.post("/api/webhook-endpoints", Some(&partner.key), body)
    };
    for n in 0..15 {
        assert_eq!(create(n).await.status, StatusCode::CREATED);
    }
    let client = app.state.store.client();
    let table = app.state.store.table();
    let counts = client
        .scan()
        .table_name(table)
        .filter_expression("begins_with(sk, :count)")
        .expression_attribute_values(":count", AttributeValue::S("WEBHOOKS#".into()))
        .send()
        .await
        .expect("scanned");
    assert_eq!(counts.items().len(), 1, "one count, of the sandbox mode");
    for item in counts.items() {
        let key = item.iter().filter(|(name, _)| *name == "pk" || *name == "sk");
        let key = key.map(|(name, value)| (name.clone(), value.clone())).collect();
        client.delete_item().table_name(table).set_key(Some(key)).send().await.expect("deleted");
    }

    assert_eq!(create(15).await.status, StatusCode::CREATED, "the 16th");
    create(16).await.assert_problem(409, "invalid_state");
}

async fn a_redelivery_sends_the_event_again_under_its_id(app: TestApp) {
    let app = with_webhooks(app, 1.0);
    let partner = app.new_partner().await;
    let receiver = Receiver::ok().await;
    endpoint(&app, &partner.key, &receiver.url, &["order.created"]).await;
    an_order(&app, &partner).await;
    let first = receiver.wait_for(1).await[0].clone();

    let again = app.post(&format!("/api/events/{}/redeliver", first.webhook_id()), Some(&partner.key), json!({})).await;

    assert_eq!(again.status, StatusCode::ACCEPTED, "{}", again.body);
    assert_eq!(again.body["endpoints"], 1);
    let second = receiver.wait_for(2).await[1].clone();
    assert_eq!((second.webhook_id(), &second.body), (first.webhook_id(), &first.body));
    attempts_of(&app, &partner.key, first.webhook_id(), 2).await;
    let other = app.new_partner().await;
    let path = format!("/api/events/{}/redeliver", first.webhook_id());
    app.post(&path, Some(&other.key), json!({})).await.assert_problem(404, "not_found");
}

async fn a_slow_endpoint_holds_up_no_other(app: TestApp) {
    let app = with_webhooks(app, 1.0);
    let partner = app.new_partner().await;
    let slow = Receiver::answering(&[200], Duration::from_secs(3)).await;
    let fast = Receiver::ok().await;
    endpoint(&app, &partner.key, &slow.url, &["order.created"]).await;
    endpoint(&app, &partner.key, &fast.url, &["order.created"]).await;

    an_order(&app, &partner).await;

    slow.wait_for(1).await;
    let fast_answered = fast.wait_answered(1).await[0];
    assert!(slow.answered.lock().expect("not poisoned").is_empty(), "the slow endpoint is still answering");
    let slow_answered = slow.wait_answered(1).await[0];
    assert!(fast_answered < slow_answered, "the fast endpoint was served while the slow one took its time");
}

async fn an_endpoint_failing_for_five_days_is_disabled_and_its_partner_emailed(app: TestApp) {
    let app = with_webhooks(app, 1.0);
    let partner = app.new_partner().await;
    let receiver = Receiver::answering(&[500], Duration::ZERO).await;
    let (id, _) = endpoint(&app, &partner.key, &receiver.url, &["order.created"]).await;
    // Five days and a minute of failures so far (the key layout of docs/data-model.md).
    let since = Timestamp::now().plus_seconds(-(5 * 24 * 3600 + 60));
    app.db
        .store
        .client()
        .update_item()
        .table_name(app.db.store.table())
        .key("pk", AttributeValue::S(format!("PARTNER#{}", partner.id)))
        .key("sk", AttributeValue::S(format!("WEBHOOK#sandbox#{id}")))
        .update_expression("SET failing_since = :since")
        .expression_attribute_values(":since", AttributeValue::S(since.to_string()))
        .send()
        .await
        .expect("the endpoint is marked failing");

    an_order(&app, &partner).await;

    receiver.wait_for(1).await;
    let started = Instant::now();
    let endpoint = loop {
        let endpoint = app.get(&format!("/api/webhook-endpoints/{id}"), &partner.key).await;
        if endpoint.body["status"] == "disabled" || started.elapsed() > Duration::from_secs(20) {
            break endpoint;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(endpoint.body["status"], "disabled", "{}", endpoint.body);
    let started = Instant::now();
    let email = loop {
        let sent = app.sent_emails().await;
        if let Some(email) = sent.into_iter().find(|email| email.subject.contains("webhook endpoint was disabled")) {
            break email;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "the partner was emailed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(email.to, partner.email);
    assert!(email.html.contains(&id), "{}", email.html);
    an_order(&app, &partner).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.seen().len(), 1, "a disabled endpoint is sent nothing");
}

/// The few lines of Python docs/webhooks.md shows for verifying without a library run as
/// they are: given the `whsec_…` secret, the headers and the raw body of a delivery signed
/// as Steller signs it (two signatures, as during a rotation), they accept it, and refuse
/// it altered.
#[test]
fn the_inline_python_verification_in_the_docs_accepts_a_signed_delivery() {
    use std::process::Command;

    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/webhooks.md")).expect("the docs");
    let snippet = docs
        .split("```python\n")
        .skip(1)
        .filter_map(|block| block.split("```").next())
        .find(|block| block.contains("def verify("))
        .expect("docs/webhooks.md shows a verify function");
    let secret = WebhookSecret::generate().expose().to_owned();
    let old = WebhookSecret::generate().expose().to_owned();
    let (id, body) =
        ("evt_01M8QC1JBS185EYG8VGP0A15A9", r#"{"id":"evt_01M8QC1JBS185EYG8VGP0A15A9","type":"order.created"}"#);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_secs();
    let sign = |secret: &str| {
        let webhook = standardwebhooks::Webhook::new(secret).expect("a secret");
        webhook.sign(id, i64::try_from(now).expect("a time"), body.as_bytes()).expect("signed")
    };
    let signatures = format!("{} {}", sign(&old), sign(&secret));
    let harness = format!(
        "{snippet}\nimport sys\nheaders = {{'webhook-id': {id:?}, 'webhook-timestamp': '{now}', 'webhook-signature': {signatures:?}}}\n\
         body = {body:?}.encode()\n\
         unsigned = {{'webhook-id': {id:?}, 'webhook-timestamp': 'soon'}}\n\
         print(verify({secret:?}, headers, body), verify({secret:?}, headers, body + b' '),\n\
               verify({secret:?}, {{}}, body), verify({secret:?}, unsigned, body))\n"
    );

    let run = Command::new("python3").arg("-c").arg(&harness).output().expect("python3 runs");

    let printed = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "the snippet runs: {}\n{harness}", String::from_utf8_lossy(&run.stderr));
    assert_eq!(printed.trim(), "True False False False", "accepted as signed; refused altered, or unsigned");
}

/// docs/examples/webhook_receiver.py, the receiver docs/webhooks.md shows, verifies real
/// deliveries, handles a redelivered event once, and refuses a body that was altered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_python_receiver_verifies_deliveries_and_handles_each_event_once() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let app = with_webhooks(TestApp::embedded(steller_local::routes()).await, 1.0);
    let partner = app.new_partner().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("a port").local_addr().expect("an address").port();
    let url = format!("http://127.0.0.1:{port}/");
    let (_, secret) = endpoint(&app, &partner.key, &url, &["order.created"]).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/examples/webhook_receiver.py");
    let mut receiver = Command::new("python3")
        .arg(script)
        .arg(port.to_string())
        .env("STELLER_WEBHOOK_SECRET", &secret)
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs (Debian: apt-get install python3; `make test` needs it for moto too)");
    let lines = std::sync::Arc::new(Mutex::new(Vec::<String>::new()));
    let reader = BufReader::new(receiver.stdout.take().expect("its output"));
    let seen = lines.clone();
    std::thread::spawn(move || {
        reader.lines().map_while(Result::ok).for_each(|line| seen.lock().expect("not poisoned").push(line))
    });
    let wait_for = |count: usize| {
        let lines = lines.clone();
        async move {
            let started = Instant::now();
            while lines.lock().expect("not poisoned").len() < count {
                assert!(
                    started.elapsed() < Duration::from_secs(20),
                    "the receiver printed {:?}",
                    lines.lock().expect("not poisoned")
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            lines.lock().expect("not poisoned").clone()
        }
    };
    // The receiver listens once it prints nothing yet but answers: wait for its port.
    let started = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "the receiver did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let placed = an_order(&app, &partner).await;
    let first = wait_for(1).await;
    let event = events(&app, &partner.key).await[0]["id"].as_str().expect("an id").to_owned();
    app.post(&format!("/api/events/{event}/redeliver"), Some(&partner.key), json!({})).await;
    let both = wait_for(2).await;
    let forged = reqwest::Client::new()
        .post(&url)
        .header("webhook-id", &event)
        .header("webhook-timestamp", Timestamp::now().unix_seconds().to_string())
        .header("webhook-signature", "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
        .body(r#"{"type":"order.created"}"#)
        .send()
        .await
        .expect("the receiver answers");
    let _ = receiver.kill();
    let _ = receiver.wait();

    let order_id = placed["id"].as_str().expect("an order id");
    assert_eq!(first[0], format!("{event}: order.created {order_id} (verified)"));
    assert_eq!(both[1], format!("{event}: already handled"));
    assert_eq!(forged.status(), StatusCode::BAD_REQUEST, "a forged signature is refused");
}
