//! `Idempotency-Key` on `POST /api/orders`, on both engines: the money moves at most once.
//! And on the webhook endpoint routes that show a secret: a retry makes no second
//! endpoint and no second rotation.

use std::collections::HashSet;

use aws_sdk_dynamodb::types::AttributeValue;
use http::StatusCode;
use serde_json::{Value, json};
use steller::testing::{TestApp, TestPartner, TestResponse};
use support::{all_pages, assert_ledger_sums_to_balance, balance, keyed_post, product};

mod support;

on_both_engines!(
    twenty_parallel_requests_with_one_key_make_one_order_and_one_debit,
    a_finished_request_is_replayed_with_its_status_and_body,
    the_same_key_with_another_body_is_refused,
    a_request_that_fails_validation_does_not_use_up_its_key,
    keys_are_scoped_per_partner_and_mode,
    an_insufficient_funds_answer_is_replayed_too,
    a_claim_left_running_by_an_earlier_version_is_a_conflict_while_its_lease_runs,
    a_claim_abandoned_by_an_earlier_version_is_taken_over_by_the_same_request,
    a_request_refused_before_its_key_is_read_still_gets_the_first_answer,
    a_key_expires_after_24_hours,
    a_malformed_key_is_a_bad_request,
    a_form_token_makes_one_key_or_endpoint_however_often_it_is_sent,
    an_endpoint_created_with_a_key_is_made_once_and_its_answer_replayed,
    a_creation_retried_after_its_url_stopped_passing_is_still_replayed,
    a_rotation_retried_with_its_key_rotates_once_and_the_old_secret_keeps_signing,
);

async fn keyed_order(app: &TestApp, key: &str, idempotency_key: &str, body: Value) -> TestResponse {
    keyed_post(app, "/api/orders", key, idempotency_key, body).await
}

fn record_key(
    partner: &TestPartner,
    mode: &str,
    idempotency_key: &str,
) -> std::collections::HashMap<String, AttributeValue> {
    [
        ("pk".to_owned(), AttributeValue::S(format!("IDEMPOTENCY#{}#{mode}#{idempotency_key}", partner.id))),
        ("sk".to_owned(), AttributeValue::S("IDEMPOTENCY".into())),
    ]
    .into()
}

/// Sets attributes of an idempotency record directly, to stage a state a test needs.
async fn set_record(
    app: &TestApp,
    partner: &TestPartner,
    idempotency_key: &str,
    expression: &str,
    values: &[(&str, AttributeValue)],
) {
    let mut update = app
        .db
        .store
        .client()
        .update_item()
        .table_name(app.db.store.table())
        .set_key(Some(record_key(partner, "sandbox", idempotency_key)))
        .update_expression(expression);
    for (name, value) in values {
        update = update.expression_attribute_values(*name, value.clone());
    }
    update.send().await.expect("the record is updated");
}

fn epoch_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// No request holds the key while it runs (ADR 0011): the twenty race (spread over five
/// instances, whose own requests take turns), one commits, and the others read its
/// record and replay its answer.
async fn twenty_parallel_requests_with_one_key_make_one_order_and_one_debit(app: TestApp) {
    let partner = app.new_partner().await;
    let product_id = product(&app, "7.50", true).await;
    let body = json!({"product_id": product_id, "quantity": 2});
    let instances = app.instances(5);

    let attempts = (0..20).map(|n| keyed_order(&instances[n % 5], &partner.key, "checkout-42", body.clone()));
    let responses = futures::future::join_all(attempts).await;

    let successes: Vec<&TestResponse> = responses.iter().filter(|r| r.status == StatusCode::CREATED).collect();
    assert_eq!(successes.len(), 20, "{:?}", responses.iter().map(|r| &r.body).collect::<Vec<_>>());
    let order_ids: HashSet<&str> = successes.iter().filter_map(|r| r.body["id"].as_str()).collect();
    assert_eq!(order_ids.len(), 1, "every success carries the same order");
    let firsts = responses.iter().filter(|r| !r.headers.contains_key("idempotent-replayed")).count();
    assert_eq!(firsts, 1, "one answer is the first, the others replay it");
    assert_eq!(all_pages(&app, "/api/orders", &partner.key, 100).await.len(), 1);
    assert_eq!(balance(&app, &partner.key).await, "985.00", "one debit of 15.00");
    assert_ledger_sums_to_balance(&app, &partner.key).await;
}

async fn a_finished_request_is_replayed_with_its_status_and_body(app: TestApp) {
    let partner = app.new_partner().await;
    let product_id = product(&app, "3.00", true).await;
    let body = json!({"product_id": product_id, "quantity": 1, "client_reference": "PO-7"});
    let first = keyed_order(&app, &partner.key, "retry-me", body.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert!(first.headers.get("idempotent-replayed").is_none());

    // The same body with its keys in another order and other spacing is the same request.
    let reordered =
        r#"{ "quantity": 1, "client_reference": "PO-7",  "product_id": "PRODUCT" }"#.replace("PRODUCT", &product_id);
    let retry = keyed_order(&app, &partner.key, "retry-me", serde_json::from_str(&reordered).expect("JSON")).await;

    assert_eq!(retry.status, StatusCode::CREATED);
    assert_eq!(retry.body, first.body, "the first body, byte for byte");
    assert_eq!(retry.headers.get("idempotent-replayed").and_then(|v| v.to_str().ok()), Some("true"));
    assert_eq!(balance(&app, &partner.key).await, "997.00", "one debit");
    // A replay shows the first answer even after the order changed.
    let id = first.body["id"].as_str().expect("an id");
    app.post(&format!("/api/orders/{id}/cancel"), Some(&partner.key), json!({})).await;
    let after_cancel = keyed_order(&app, &partner.key, "retry-me", body).await;
    assert_eq!(after_cancel.body["status"], "completed");
}

async fn the_same_key_with_another_body_is_refused(app: TestApp) {
    let partner = app.new_partner().await;
    let product_id = product(&app, "3.00", true).await;
    keyed_order(&app, &partner.key, "k-1", json!({"product_id": product_id, "quantity": 1})).await;

    let other = keyed_order(&app, &partner.key, "k-1", json!({"product_id": product_id, "quantity": 2})).await;

    other.assert_problem(422, "idempotency_key_reused");
    assert_eq!(balance(&app, &partner.key).await, "997.00");
}

async fn a_request_that_fails_validation_does_not_use_up_its_key(app: TestApp) {
    let partner = app.new_partner().await;
    let product_id = product(&app, "3.00", true).await;
    let inactive = product(&app, "3.00", false).await;

    keyed_order(&app, &partner.key, "k-2", json!({"product_id": product_id, "quantity": 0}))
        .await
        .assert_problem(422, "validation_failed");
    keyed_order(&app, &partner.key, "k-2", json!({"product_id": inactive, "quantity": 1}))
        .await
        .assert_problem(422, "validation_failed");
    let unknown = steller::domain::ProductId::generate().to_string();
    keyed_order(&app, &partner.key, "k-2", json!({"product_id": unknown, "quantity": 1}))
        .await
        .assert_problem(404, "not_found");
    let valid = keyed_order(&app, &partner.key, "k-2", json!({"product_id": product_id, "quantity": 1})).await;

    assert_eq!(valid.status, StatusCode::CREATED, "{}", valid.body);
}

async fn keys_are_scoped_per_partner_and_mode(app: TestApp) {
    let alice = app.new_partner().await;
    let bob = app.new_partner().await;
    let product_id = product(&app, "3.00", true).await;
    let body = json!({"product_id": product_id, "quantity": 1});

    let alices = keyed_order(&app, &alice.key, "shared-key", body.clone()).await;
    let bobs = keyed_order(&app, &bob.key, "shared-key", body.clone()).await;
    let live = app.live_key_for(&alice.key).await;
    let alices_live = keyed_order(&app, &live, "shared-key", body).await;

    assert_eq!((alices.status, bobs.status), (StatusCode::CREATED, StatusCode::CREATED));
    assert_ne!(alices.body["id"], bobs.body["id"]);
    assert!(bobs.headers.get("idempotent-replayed").is_none());
    alices_live.assert_problem(402, "insufficient_funds");
}

async fn an_insufficient_funds_answer_is_replayed_too(app: TestApp) {
    let partner = app.new_partner().await;
    let expensive = product(&app, "1500.00", true).await;
    let body = json!({"product_id": expensive, "quantity": 1});

    let first = keyed_order(&app, &partner.key, "too-much", body.clone()).await;
    let retry = keyed_order(&app, &partner.key, "too-much", body).await;

    first.assert_problem(402, "insufficient_funds");
    // The replay is the first answer, but its request_id is its own X-Request-Id (which
    // assert_problem checks), so the id a partner quotes names the response they got.
    let replayed = retry.assert_problem(402, "insufficient_funds");
    assert_ne!(replayed["request_id"], first.body["request_id"]);
    let without_id = |body: &serde_json::Value| {
        let mut body = body.clone();
        body["request_id"] = serde_json::Value::Null;
        body
    };
    assert_eq!(without_id(replayed), without_id(&first.body));
    assert_eq!(retry.headers.get("idempotent-replayed").and_then(|v| v.to_str().ok()), Some("true"));
    assert_eq!(balance(&app, &partner.key).await, "1000.00");
}

/// Records `in_progress` are claims written before ADR 0011, met while a deploy rolls
/// out: while their lease runs, their request may still complete.
async fn a_claim_left_running_by_an_earlier_version_is_a_conflict_while_its_lease_runs(app: TestApp) {
    let partner = app.new_partner().await;
    let product_id = product(&app, "3.00", true).await;
    let body = json!({"product_id": product_id, "quantity": 1});
    keyed_order(&app, &partner.key, "slow", body.clone()).await;
    // Stage the record as if its request were still running.
    set_record(
        &app,
        &partner,
        "slow",
        "SET claim_state = :running, locked_until = :later",
        &[
            (":running", AttributeValue::S("in_progress".into())),
            (":later", AttributeValue::N((epoch_now() + 30).to_string())),
        ],
    )
    .await;

    let retry = keyed_order(&app, &partner.key, "slow", body).await;

    retry.assert_problem(409, "idempotency_in_progress");
    assert_eq!(balance(&app, &partner.key).await, "997.00");
}

/// An earlier version's claim whose lease ran out paid nothing (payment and completion
/// were one write), so the same request runs again, once.
async fn a_claim_abandoned_by_an_earlier_version_is_taken_over_by_the_same_request(app: TestApp) {
    let partner = app.new_partner().await;
    let product_id = product(&app, "3.00", true).await;
    let body = json!({"product_id": product_id, "quantity": 1});
    keyed_order(&app, &partner.key, "crashed", body.clone()).await;
    set_record(
        &app,
        &partner,
        "crashed",
        "SET claim_state = :running, locked_until = :past REMOVE response_status, response_body",
        &[
            (":running", AttributeValue::S("in_progress".into())),
            (":past", AttributeValue::N((epoch_now() - 1).to_string())),
        ],
    )
    .await;

    let retry = keyed_order(&app, &partner.key, "crashed", body.clone()).await;
    let replay = keyed_order(&app, &partner.key, "crashed", body).await;

    assert_eq!(retry.status, StatusCode::CREATED, "{}", retry.body);
    assert!(!retry.headers.contains_key("idempotent-replayed"), "the request ran again");
    assert_eq!(replay.body["id"], retry.body["id"], "and its answer is the key's answer now");
    assert_eq!(balance(&app, &partner.key).await, "994.00");
    assert_ledger_sums_to_balance(&app, &partner.key).await;
}

/// The product is checked before the key's record is read; a refusal there still
/// answers the key's first answer, not the product's state now.
async fn a_request_refused_before_its_key_is_read_still_gets_the_first_answer(app: TestApp) {
    let partner = app.new_partner().await;
    let product_id = product(&app, "4.00", true).await;
    let body = json!({"product_id": product_id, "quantity": 1});
    let first = keyed_order(&app, &partner.key, "then-withdrawn", body.clone()).await;
    support::set_product_active(&app, &product_id, "4.00", false).await;

    let retry = keyed_order(&app, &partner.key, "then-withdrawn", body).await;

    assert_eq!(retry.status, StatusCode::CREATED, "{}", retry.body);
    assert_eq!(retry.body["id"], first.body["id"]);
    assert_eq!(retry.headers.get("idempotent-replayed").and_then(|v| v.to_str().ok()), Some("true"));
    assert_eq!(balance(&app, &partner.key).await, "996.00");
}

async fn a_key_expires_after_24_hours(app: TestApp) {
    let partner = app.new_partner().await;
    let product_id = product(&app, "3.00", true).await;
    keyed_order(&app, &partner.key, "daily", json!({"product_id": product_id, "quantity": 1})).await;
    let record = app
        .db
        .store
        .client()
        .get_item()
        .table_name(app.db.store.table())
        .set_key(Some(record_key(&partner, "sandbox", "daily")))
        .consistent_read(true)
        .send()
        .await
        .expect("read")
        .item
        .expect("the record exists");
    let expires_at: i64 = record["expires_at"].as_n().expect("a TTL attribute").parse().expect("epoch seconds");
    assert!((expires_at - epoch_now() - 24 * 3600).abs() < 120, "expires in 24 h: {expires_at}");

    // DynamoDB deletes expired items lazily; until it does, the key counts as free.
    set_record(
        &app,
        &partner,
        "daily",
        "SET expires_at = :past",
        &[(":past", AttributeValue::N((epoch_now() - 1).to_string()))],
    )
    .await;
    let reused = keyed_order(&app, &partner.key, "daily", json!({"product_id": product_id, "quantity": 2})).await;

    assert_eq!(reused.status, StatusCode::CREATED, "{}", reused.body);
    assert_eq!(balance(&app, &partner.key).await, "991.00");
}

async fn a_malformed_key_is_a_bad_request(app: TestApp) {
    let partner = app.new_partner().await;
    let product_id = product(&app, "3.00", true).await;
    let too_long = "k".repeat(256);

    keyed_order(&app, &partner.key, &too_long, json!({"product_id": product_id, "quantity": 1}))
        .await
        .assert_problem(400, "malformed_request");
    assert_eq!(balance(&app, &partner.key).await, "1000.00");
}

mod records {
    //! The key's record through the store: written once, read by every later request.

    use steller::domain::{IdempotencyKey, Mode, PartnerId};
    use steller::store::{IdempotencyScope, PriorUse, StoreError, StoredResponse};
    use steller::testing::TestDatabase;

    fn scope(partner: PartnerId, fingerprint: &str) -> IdempotencyScope {
        IdempotencyScope {
            partner,
            mode: Mode::Sandbox,
            key: IdempotencyKey::parse("record-test").expect("a valid key"),
            fingerprint: fingerprint.into(),
        }
    }

    #[tokio::test]
    async fn a_first_answer_is_kept_once_and_every_later_request_reads_it() {
        let db = TestDatabase::embedded().await;
        let store = &db.store;
        let scope = scope(PartnerId::generate(), "body-a");
        assert_eq!(store.prior_use(&scope).await.expect("read"), None, "a fresh key is free");

        let first = StoredResponse { status: 402, body: r#"{"first":true}"#.into() };
        store.keep_first_answer(&scope, &first).await.expect("kept");
        let later = StoredResponse { status: 402, body: "{}".into() };
        let again = store.keep_first_answer(&scope, &later).await;
        let other_body = store.keep_first_answer(&super::scope_with(&scope, "body-b"), &later).await;

        assert!(matches!(&again, Err(StoreError::KeyUsed(PriorUse::Replay(kept))) if *kept == first), "{again:?}");
        assert!(matches!(other_body, Err(StoreError::KeyUsed(PriorUse::KeyReused))), "{other_body:?}");
        assert_eq!(store.prior_use(&scope).await.expect("read"), Some(PriorUse::Replay(first)));
    }
}

fn scope_with(scope: &steller::store::IdempotencyScope, fingerprint: &str) -> steller::store::IdempotencyScope {
    steller::store::IdempotencyScope { fingerprint: fingerprint.into(), ..scope.clone() }
}

/// The portal records a form's token in the transaction that makes the key or endpoint
/// (`Store::create_key_once`, `Store::create_endpoint_once`): eight sendings at once of
/// one form make one, and the others are told the token was used.
async fn a_form_token_makes_one_key_or_endpoint_however_often_it_is_sent(app: TestApp) {
    use steller::domain::{EventType, IdempotencyKey, Mode, NewEndpoint, NewKey, PartnerId};
    use steller::store::{FormToken, IdempotencyScope, Once, PageRequest, StoreError};
    let partner: PartnerId = app.new_partner().await.id.parse().expect("a partner id");
    let store = &app.state.store;
    let token = |path: &str| FormToken {
        scope: IdempotencyScope {
            partner,
            mode: Mode::Sandbox,
            key: IdempotencyKey::parse(&format!("portal_form_{path}")).expect("a token"),
            fingerprint: format!("portal POST {path}"),
        },
        made: "made".into(),
    };
    let keys_before = store.list_keys(&partner, Some(Mode::Sandbox), &PageRequest::default()).await.expect("keys");

    let (key_form, endpoint_form) = (token("keys"), token("webhooks"));
    let keys = (0..8).map(|_| async {
        let new = NewKey::generate(Mode::Sandbox, None);
        store.create_key_once(&partner, &new, Some(&key_form)).await
    });
    let endpoints = (0..8).map(|_| async {
        let new = NewEndpoint {
            partner_id: partner,
            mode: Mode::Sandbox,
            url: "https://hooks.example/once".into(),
            events: vec![EventType::OrderCreated],
            description: None,
        };
        store.create_endpoint_once(&new, Some(Once::Form(&endpoint_form))).await.map(|_| ())
    });
    let (keys, endpoints) = futures::join!(futures::future::join_all(keys), futures::future::join_all(endpoints));

    for (what, outcomes) in [("key", keys), ("endpoint", endpoints)] {
        assert_eq!(outcomes.iter().filter(|outcome| outcome.is_ok()).count(), 1, "one {what}: {outcomes:?}");
        let used = outcomes.iter().filter(|outcome| matches!(outcome, Err(StoreError::KeyUsed(_)))).count();
        assert_eq!(used, 7, "the other sendings of the {what} form are told it was sent: {outcomes:?}");
    }
    let keys_after = store.list_keys(&partner, Some(Mode::Sandbox), &PageRequest::default()).await.expect("keys");
    assert_eq!(keys_after.items.len(), keys_before.items.len() + 1);
    assert_eq!(store.endpoints(&partner, Mode::Sandbox).await.expect("endpoints").len(), 1);
}

/// The local URL rules: endpoint URLs are checked but not resolved (the tests run offline).
fn local_urls(app: TestApp) -> TestApp {
    let state = app.state.clone().with_webhook_urls(steller::webhooks::address::UrlPolicy::AllowLoopbackHttp);
    app.with_state(state)
}

/// A creation retried after a lost answer makes no second endpoint (which would be sent
/// every event too), and gets the first answer, secret included; parallel retries too.
async fn an_endpoint_created_with_a_key_is_made_once_and_its_answer_replayed(app: TestApp) {
    let app = local_urls(app);
    let partner = app.new_partner().await;
    let body = json!({"url": "https://hooks.example/once", "events": ["order.created"]});

    let first = keyed_post(&app, "/api/webhook-endpoints", &partner.key, "hook-1", body.clone()).await;
    let retries = futures::future::join_all(
        (0..4).map(|_| keyed_post(&app, "/api/webhook-endpoints", &partner.key, "hook-1", body.clone())),
    )
    .await;

    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    assert_eq!(first.header("cache-control"), Some("no-store"));
    assert!(first.body["secret"].as_str().is_some_and(|secret| secret.starts_with("whsec_")), "{}", first.body);
    for retry in &retries {
        assert_eq!(retry.status, StatusCode::CREATED, "{}", retry.body);
        assert_eq!(retry.body, first.body, "the first answer, secret and all");
        assert_eq!(retry.header("idempotent-replayed"), Some("true"));
        assert_eq!(retry.header("cache-control"), Some("no-store"), "a replayed secret is not cached either");
    }
    assert_eq!(all_pages(&app, "/api/webhook-endpoints", &partner.key, 10).await.len(), 1, "one endpoint");
    let other = json!({"url": "https://hooks.example/other", "events": ["order.created"]});
    keyed_post(&app, "/api/webhook-endpoints", &partner.key, "hook-1", other)
        .await
        .assert_problem(422, "idempotency_key_reused");
    let unkeyed = app.post("/api/webhook-endpoints", Some(&partner.key), body).await;
    assert_eq!(unkeyed.status, StatusCode::CREATED, "without a key, each request makes one: {}", unkeyed.body);
    assert_eq!(unkeyed.header("idempotent-replayed"), None);
    assert_eq!(all_pages(&app, "/api/webhook-endpoints", &partner.key, 10).await.len(), 2);
}

/// A retry whose URL no longer passes the checks (a name that stopped resolving, rules
/// made stricter since) gets the key's first answer: the endpoint exists, and telling the
/// partner its URL is refused would send them to make a second one. Here the rules change
/// between the two sendings: the local ones let a loopback `http` URL in, the deployed
/// ones refuse it.
async fn a_creation_retried_after_its_url_stopped_passing_is_still_replayed(app: TestApp) {
    use steller::webhooks::address::UrlPolicy;
    let app = local_urls(app);
    let partner = app.new_partner().await;
    let body = json!({"url": "http://127.0.0.1:9/hook", "events": ["order.created"]});
    let first = keyed_post(&app, "/api/webhook-endpoints", &partner.key, "hook-dns", body.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);

    let state = app.state.clone().with_webhook_urls(UrlPolicy::PublicOnly);
    let app = app.with_state(state);
    let retry = keyed_post(&app, "/api/webhook-endpoints", &partner.key, "hook-dns", body.clone()).await;

    assert_eq!((retry.status, &retry.body), (StatusCode::CREATED, &first.body), "the first answer");
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(retry.header("cache-control"), Some("no-store"));
    let fresh = keyed_post(&app, "/api/webhook-endpoints", &partner.key, "hook-dns-2", body).await;
    fresh.assert_problem(422, "validation_failed");
    assert!(fresh.body["errors"].to_string().contains("url"), "a new key's URL is checked: {}", fresh.body);
    assert_eq!(all_pages(&app, "/api/webhook-endpoints", &partner.key, 10).await.len(), 1, "one endpoint");
}

/// A rotation retried with its key is the first rotation's answer: had it rotated again,
/// the secret the receiver still holds would have stopped signing at once.
async fn a_rotation_retried_with_its_key_rotates_once_and_the_old_secret_keeps_signing(app: TestApp) {
    use steller::domain::{EndpointId, Mode, PartnerId};
    let app = local_urls(app);
    let partner = app.new_partner().await;
    let created = app
        .post(
            "/api/webhook-endpoints",
            Some(&partner.key),
            json!({"url": "https://hooks.example/r", "events": ["order.created"]}),
        )
        .await;
    let id = created.body["id"].as_str().expect("an id").to_owned();
    let original = created.body["secret"].as_str().expect("a secret").to_owned();
    let path = format!("/api/webhook-endpoints/{id}/rotate-secret");

    let first = keyed_post(&app, &path, &partner.key, "rotate-1", json!({})).await;
    let retry = keyed_post(&app, &path, &partner.key, "rotate-1", json!({})).await;

    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!((retry.status, &retry.body), (StatusCode::OK, &first.body), "the first rotation's answer");
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(retry.header("cache-control"), Some("no-store"));
    let partner_id: PartnerId = partner.id.parse().expect("a partner id");
    let endpoint_id: EndpointId = id.parse().expect("an endpoint id");
    let endpoint = app.state.store.endpoint(&partner_id, Mode::Sandbox, &endpoint_id).await.expect("the endpoint");
    assert_eq!(Some(endpoint.secret.expose()), first.body["secret"].as_str(), "rotated once");
    let (previous, _) = endpoint.previous_secret.expect("the replaced secret still signs");
    assert_eq!(previous.expose(), original, "and it is the one the receiver holds");

    let another = app
        .post(
            "/api/webhook-endpoints",
            Some(&partner.key),
            json!({"url": "https://hooks.example/s", "events": ["order.created"]}),
        )
        .await;
    let another = another.body["id"].as_str().expect("an id").to_owned();
    keyed_post(&app, &format!("/api/webhook-endpoints/{another}/rotate-secret"), &partner.key, "rotate-1", json!({}))
        .await
        .assert_problem(422, "idempotency_key_reused");
}
