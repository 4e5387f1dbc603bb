//! Signup, wallets and keys through every function's routes, on both engines: the
//! in-process dynoxide and the AWS emulator (`STELLER_TEST_AWS_ENDPOINT`; `make test`
//! starts moto). Each scenario is written once and run on each engine.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use http::StatusCode;
use serde_json::json;
use steller::testing::TestApp;

mod support;

on_both_engines!(
    a_signup_key_reads_the_sandbox_wallet_but_cannot_make_a_live_key,
    a_verified_owners_live_key_reads_the_empty_live_wallet,
    a_duplicate_email_in_another_case_is_refused_and_writes_nothing,
    an_email_spelt_with_invisible_characters_is_refused_not_a_second_account,
    an_internationalised_domain_and_its_ascii_form_are_one_account,
    an_address_claimed_under_its_unicode_spelling_before_is_still_taken_and_found,
    an_address_no_email_can_reach_is_refused_and_one_kept_before_still_reads,
    names_with_invisible_or_control_characters_are_refused,
    twenty_parallel_signups_with_one_email_make_exactly_one_partner,
    keys_are_stored_only_as_their_sha256,
    a_revoked_key_stops_working_and_other_partners_keys_are_out_of_reach,
);

async fn sign_up(app: &TestApp, email: &str) -> (StatusCode, serde_json::Value) {
    let response = app.post("/api/public/signup", None, json!({"company_name": "Acme", "email": email})).await;
    (response.status, response.body)
}

fn text_of(value: &AttributeValue) -> String {
    match value {
        AttributeValue::S(text) | AttributeValue::N(text) => text.clone(),
        AttributeValue::M(map) => map.values().map(text_of).collect(),
        AttributeValue::L(list) => list.iter().map(text_of).collect(),
        other => format!("{other:?}"),
    }
}

fn count_where(items: &[HashMap<String, AttributeValue>], sk: &str) -> usize {
    items.iter().filter(|item| item.get("sk").and_then(|v| v.as_s().ok()).is_some_and(|s| s == sk)).count()
}

async fn a_signup_key_reads_the_sandbox_wallet_but_cannot_make_a_live_key(app: TestApp) {
    let (status, body) = sign_up(&app, "flow@acme.example").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let key = body["api_key"].as_str().expect("a key");

    let sandbox = app.get("/api/wallet", key).await;
    let live = app.post("/api/keys", Some(key), json!({"mode": "live", "name": "prod"})).await;

    assert_eq!((sandbox.body["mode"].as_str(), sandbox.body["balance"].as_str()), (Some("sandbox"), Some("1000.00")));
    live.assert_problem(403, "forbidden");
    let keys = app.get("/api/keys", key).await;
    assert_eq!(keys.body["items"].as_array().map(Vec::len), Some(1), "no live key was made");
}

async fn a_verified_owners_live_key_reads_the_empty_live_wallet(app: TestApp) {
    let (_, body) = sign_up(&app, "owner@acme.example").await;
    let live_key = app.live_key_for(body["api_key"].as_str().expect("a key")).await;

    let live_wallet = app.get("/api/wallet", &live_key).await;

    assert_eq!((live_wallet.body["mode"].as_str(), live_wallet.body["balance"].as_str()), (Some("live"), Some("0.00")));
}

async fn a_duplicate_email_in_another_case_is_refused_and_writes_nothing(app: TestApp) {
    let (status, first) = sign_up(&app, "Ada@Example.com").await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(first["partner"]["email"], "ada@example.com", "kept normalised");
    let before = app.db.scan().await.len();

    let (status, body) = sign_up(&app, "ada@EXAMPLE.COM").await;

    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("email_taken")));
    assert_eq!(app.db.scan().await.len(), before, "nothing of the refused signup is stored");
}

async fn an_email_spelt_with_invisible_characters_is_refused_not_a_second_account(app: TestApp) {
    assert_eq!(sign_up(&app, "dev@acme.example").await.0, StatusCode::CREATED);
    let before = app.db.scan().await.len();

    for lookalike in ["\u{200b}dev@acme.example", "dev\u{202e}@acme.example", "de\u{00ad}v@acme.example"] {
        let (status, body) = sign_up(&app, lookalike).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{lookalike:?}: {body}");
        assert_eq!(body["errors"][0]["field"], "email", "{body}");
    }
    // The same address in another Unicode form is the same address.
    assert_eq!(sign_up(&app, "dev@b\u{fc}cher.example").await.0, StatusCode::CREATED);
    let (status, body) = sign_up(&app, "dev@bu\u{308}cher.example").await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("email_taken")));
    assert!(app.db.scan().await.len() > before, "only the one real new partner was added");
}

async fn an_internationalised_domain_and_its_ascii_form_are_one_account(app: TestApp) {
    let (status, first) = sign_up(&app, "Dev@B\u{fc}cher.example").await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["partner"]["email"], "dev@b\u{fc}cher.example", "kept as typed, normalised");
    let before = app.db.scan().await.len();

    // One mailbox: mail to either goes to the ASCII form.
    for other_spelling in ["dev@xn--bcher-kva.example", "DEV@XN--BCHER-KVA.EXAMPLE"] {
        let (status, body) = sign_up(&app, other_spelling).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("email_taken")), "{other_spelling}");
    }
    assert_eq!(app.db.scan().await.len(), before, "nothing of the refused signups is stored");
}

/// Until 2 December 2026 an internationalised domain was claimed as typed: such a claim
/// still holds the address, in both spellings, and sign-in still finds its partner.
async fn an_address_claimed_under_its_unicode_spelling_before_is_still_taken_and_found(app: TestApp) {
    let (status, body) = sign_up(&app, "legacy@acme.example").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id: steller::domain::PartnerId = body["partner"]["id"].as_str().and_then(|id| id.parse().ok()).expect("an id");
    let store = &app.db.store;
    let earlier_claim = HashMap::from([
        ("pk".to_owned(), AttributeValue::S("EMAIL#dev@b\u{fc}cher.example".to_owned())),
        ("sk".to_owned(), AttributeValue::S("EMAIL".to_owned())),
        ("partner_id".to_owned(), AttributeValue::S(id.to_string())),
    ]);
    store.client().put_item().table_name(store.table()).set_item(Some(earlier_claim)).send().await.expect("written");
    let before = app.db.scan().await.len();

    for spelling in ["dev@xn--bcher-kva.example", "Dev@B\u{fc}cher.example"] {
        let (status, body) = sign_up(&app, spelling).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("email_taken")), "{spelling}: {body}");
        let email = steller::domain::Email::parse(Some(spelling)).expect("valid");
        assert_eq!(store.partner_by_email(&email).await.expect("looked up"), Some(id), "{spelling}");
    }
    assert_eq!(app.db.scan().await.len(), before, "nothing of the refused signups is stored");
}

async fn an_address_no_email_can_reach_is_refused_and_one_kept_before_still_reads(app: TestApp) {
    let before = app.db.scan().await.len();
    let (status, body) = sign_up(&app, "ren\u{e9}e@acme.example").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["field"], "email", "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("ASCII") && message.contains("before the @"), "the rule is named: {body}");
    assert_eq!(app.db.scan().await.len(), before, "nothing is stored");

    // An account whose address was taken before the rule still reads.
    let (status, body) = sign_up(&app, "kept@acme.example").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id: steller::domain::PartnerId = body["partner"]["id"].as_str().and_then(|id| id.parse().ok()).expect("an id");
    let profile = app
        .db
        .scan()
        .await
        .into_iter()
        .find(|item| item.get("sk").map(text_of).as_deref() == Some("PROFILE") && item.contains_key("email"))
        .expect("the profile");
    let store = &app.db.store;
    let mut kept = profile.clone();
    kept.insert("email".to_owned(), AttributeValue::S("ren\u{e9}e@acme.example".to_owned()));
    store.client().put_item().table_name(store.table()).set_item(Some(kept)).send().await.expect("written");
    let partner = store.partner(&id).await.expect("the partner reads back");
    assert_eq!(partner.email.as_str(), "ren\u{e9}e@acme.example");
}

async fn names_with_invisible_or_control_characters_are_refused(app: TestApp) {
    let company = app
        .post("/api/public/signup", None, json!({"company_name": "Acme\u{202e}dtL", "email": "n1@acme.example"}))
        .await;
    let contact = app
        .post(
            "/api/public/signup",
            None,
            json!({"company_name": "Acme", "email": "n2@acme.example", "contact_name": "Ada\u{7}"}),
        )
        .await;
    let (_, body) = sign_up(&app, "n3@acme.example").await;
    let key_name = app
        .post(
            "/api/keys",
            Some(body["api_key"].as_str().expect("a key")),
            json!({"mode": "sandbox", "name": "ci\u{200b}"}),
        )
        .await;

    company.assert_problem(422, "validation_failed");
    assert_eq!(company.error_fields(), ["company_name"]);
    assert_eq!(contact.error_fields(), ["contact_name"]);
    key_name.assert_problem(422, "validation_failed");
    assert_eq!(key_name.error_fields(), ["name"]);
}

async fn twenty_parallel_signups_with_one_email_make_exactly_one_partner(app: TestApp) {
    let attempts = (0..20).map(|_| sign_up(&app, "race@acme.example"));

    let outcomes = futures::future::join_all(attempts).await;

    let created = outcomes.iter().filter(|(status, _)| *status == StatusCode::CREATED).count();
    let taken = outcomes
        .iter()
        .filter(|(status, body)| *status == StatusCode::CONFLICT && body["code"] == "email_taken")
        .count();
    assert_eq!((created, taken), (1, 19), "{outcomes:?}");
    let items = app.db.scan().await;
    assert_eq!(count_where(&items, "PROFILE"), 1);
    assert_eq!(count_where(&items, "WALLET#sandbox"), 1);
    assert_eq!(count_where(&items, "EMAIL"), 1);
}

async fn keys_are_stored_only_as_their_sha256(app: TestApp) {
    let (_, body) = sign_up(&app, "secret@acme.example").await;
    let sandbox_key = body["api_key"].as_str().expect("a key").to_owned();
    let live_key = app.live_key_for(&sandbox_key).await;

    let stored: String = app.db.scan().await.iter().flat_map(|item| item.values().map(text_of)).collect();

    for key in [&sandbox_key, &live_key] {
        assert!(!stored.contains(key.as_str()), "a key is stored in clear text");
        let hash = steller::domain::ApiKey::parse(key).expect("a valid key").hash();
        assert!(stored.contains(hash.as_str()), "the key's SHA-256 is stored");
    }
}

async fn a_revoked_key_stops_working_and_other_partners_keys_are_out_of_reach(app: TestApp) {
    let (_, alice) = sign_up(&app, "alice@acme.example").await;
    let (_, bob) = sign_up(&app, "bob@acme.example").await;
    let alice_key = alice["api_key"].as_str().expect("a key");
    let bob_key = bob["api_key"].as_str().expect("a key");
    let extra = app.post("/api/keys", Some(alice_key), json!({"mode": "sandbox", "name": "spare"})).await;
    let (extra_id, extra_key) = (extra.body["id"].as_str().expect("id"), extra.body["key"].as_str().expect("key"));

    app.delete(&format!("/api/keys/{extra_id}"), bob_key).await.assert_problem(404, "not_found");
    assert_eq!(app.get("/api/wallet", extra_key).await.status, StatusCode::OK, "bob could not revoke it");
    let bobs_keys = app.get("/api/keys", bob_key).await;
    assert_eq!(bobs_keys.body["items"].as_array().map(Vec::len), Some(1), "bob sees only his own key");

    let revoked = app.delete(&format!("/api/keys/{extra_id}"), alice_key).await;
    assert_eq!(revoked.status, StatusCode::OK);
    app.get("/api/wallet", extra_key).await.assert_problem(401, "unauthorized");
    assert_eq!(app.get("/api/wallet", alice_key).await.status, StatusCode::OK, "alice's other key still works");
}
