//! The wallet function through its router, over an in-process dynoxide: wallets, keys,
//! and the auth layer every protected route sits behind.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::json;
use steller::domain::{ApiKey, KeyRole};
use steller::testing::TestApp;

async fn app() -> TestApp {
    TestApp::embedded(wallet::routes()).await
}

#[tokio::test]
async fn a_sandbox_key_reads_the_sandbox_wallet() {
    let app = app().await;
    let partner = app.new_partner().await;

    let response = app.get("/api/wallet", &partner.key).await;

    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    assert_eq!(response.body["mode"], "sandbox");
    assert_eq!(response.body["currency"], "USD");
    assert_eq!(response.body["balance"], "1000.00");
    assert!(response.body["updated_at"].as_str().is_some_and(|at| at.ends_with('Z')));
}

#[tokio::test]
async fn a_live_key_reads_the_empty_live_wallet_and_makes_live_keys() {
    let app = app().await;
    let partner = app.new_partner().await;
    let first_live = app.live_key_for(&partner.key).await;

    let created = app.post("/api/keys", Some(&first_live), json!({"mode": "live", "name": "backend"})).await;

    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let live_key = created.body["key"].as_str().expect("the key is shown once");
    assert!(live_key.starts_with("stl_live_"));
    assert_eq!(created.body["mode"], "live");
    assert_eq!(created.body["name"], "backend");
    assert!(live_key.starts_with(created.body["prefix"].as_str().expect("a prefix")));
    let wallet = app.get("/api/wallet", live_key).await;
    assert_eq!((wallet.body["mode"].as_str(), wallet.body["balance"].as_str()), (Some("live"), Some("0.00")));
}

#[tokio::test]
async fn a_sandbox_key_can_never_make_see_or_revoke_a_live_key() {
    let app = app().await;
    let partner = app.new_partner().await;
    let live_key = app.live_key_for(&partner.key).await;
    let live_id = app.get("/api/keys", &live_key).await.body["items"][0]["id"].as_str().expect("an id").to_owned();

    let made = app.post("/api/keys", Some(&partner.key), json!({"mode": "live", "name": "leaked"})).await;
    let listed = app.get("/api/keys", &partner.key).await;
    let revoked = app.delete(&format!("/api/keys/{live_id}"), &partner.key).await;

    made.assert_problem(403, "forbidden");
    let modes: Vec<&str> =
        listed.body["items"].as_array().expect("items").iter().filter_map(|k| k["mode"].as_str()).collect();
    assert_eq!(modes, ["sandbox"], "only the sandbox key is listed to a sandbox key");
    revoked.assert_problem(404, "not_found");
    assert_eq!(app.get("/api/wallet", &live_key).await.status, StatusCode::OK, "the live key still works");
    let live_listing = app.get("/api/keys", &live_key).await;
    assert_eq!(live_listing.body["items"].as_array().map(Vec::len), Some(1), "a live key lists live keys");
    assert_eq!(live_listing.body["items"][0]["mode"], "live");
    app.post("/api/keys", Some(&live_key), json!({"mode": "sandbox"})).await.assert_problem(403, "forbidden");
}

#[tokio::test]
async fn a_live_key_of_a_partner_whose_email_is_not_verified_makes_no_live_key() {
    let app = app().await;
    let partner = app.new_partner().await;
    // A live key made before emails were verified (as the API once allowed).
    let id = partner.id.parse().expect("a partner id");
    let old = steller::domain::NewKey::generate(steller::domain::Mode::Live, None);
    app.state.store.create_key(&id, &old).await.expect("stored");

    let made = app.post("/api/keys", Some(old.key.expose()), json!({"mode": "live"})).await;

    let problem = made.assert_problem(403, "forbidden");
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains("verified email")), "{problem}");
    app.state.store.verify_email(&id, steller::domain::Timestamp::now()).await.expect("verified");
    let after = app.post("/api/keys", Some(old.key.expose()), json!({"mode": "live"})).await;
    assert_eq!(after.status, StatusCode::CREATED, "{}", after.body);
}

#[tokio::test]
async fn both_auth_headers_are_accepted() {
    let app = app().await;
    let partner = app.new_partner().await;
    let with_header = |name: &str, value: String| {
        Request::builder().uri("/api/wallet").header(name, value).body(Body::empty()).expect("a request")
    };

    let bearer = app.send(with_header("authorization", format!("Bearer {}", partner.key))).await;
    let api_key = app.send(with_header("x-api-key", partner.key.clone())).await;

    assert_eq!(bearer.status, StatusCode::OK);
    assert_eq!(api_key.status, StatusCode::OK);
}

#[tokio::test]
async fn missing_malformed_and_unknown_keys_are_unauthorized() {
    let app = app().await;
    let unknown = ApiKey::generate(KeyRole::Partner(steller::domain::Mode::Sandbox));

    let missing = app.call(Method::GET, "/api/wallet", None, None).await;
    missing.assert_problem(401, "unauthorized");
    assert_eq!(missing.headers.get(header::WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()), Some("Bearer"));
    app.get("/api/wallet", "not-a-key").await.assert_problem(401, "unauthorized");
    app.get("/api/wallet", unknown.expose()).await.assert_problem(401, "unauthorized");
    app.call(Method::GET, "/api/keys", None, None).await.assert_problem(401, "unauthorized");
}

#[tokio::test]
async fn an_ops_key_is_forbidden_on_partner_routes() {
    let app = app().await;
    let ops = ApiKey::generate(KeyRole::Ops);
    app.state.store.register_ops_key(&ops, "test ops").await.expect("registered");

    app.get("/api/wallet", ops.expose()).await.assert_problem(403, "forbidden");
    app.get("/api/keys", ops.expose()).await.assert_problem(403, "forbidden");
}

#[tokio::test]
async fn a_key_listing_shows_prefixes_but_never_a_key() {
    let app = app().await;
    let partner = app.new_partner().await;
    let created = app.post("/api/keys", Some(&partner.key), json!({"mode": "sandbox", "name": "ci"})).await;
    let second_key = created.body["key"].as_str().expect("a key").to_owned();

    let listing = app.get("/api/keys", &partner.key).await;

    assert_eq!(listing.status, StatusCode::OK);
    let items = listing.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["name"], "ci", "newest first");
    assert_eq!(items[1]["name"], "default");
    assert_eq!(listing.body["next_cursor"], serde_json::Value::Null);
    for item in items {
        assert!(item.get("key").is_none());
        assert!(item["prefix"].as_str().is_some_and(|p| p.len() < 20));
        assert_eq!(item["revoked_at"], serde_json::Value::Null);
    }
    let text = listing.body.to_string();
    assert!(!text.contains(&second_key) && !text.contains(&partner.key), "no secret in a listing");
}

#[tokio::test]
async fn a_new_key_needs_a_valid_mode_and_name() {
    let app = app().await;
    let partner = app.new_partner().await;

    let response = app.post("/api/keys", Some(&partner.key), json!({})).await;
    response.assert_problem(422, "validation_failed");
    assert_eq!(response.error_fields(), ["mode"]);

    let response = app.post("/api/keys", Some(&partner.key), json!({"mode": "ops", "name": "n".repeat(101)})).await;
    assert_eq!(response.error_fields(), ["mode", "name"]);
    assert_eq!(app.get("/api/keys", &partner.key).await.body["items"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn a_revoked_key_is_refused_from_the_next_request_on() {
    let app = app().await;
    let partner = app.new_partner().await;
    let created = app.post("/api/keys", Some(&partner.key), json!({"mode": "sandbox"})).await;
    let (second_id, second_key) =
        (created.body["id"].as_str().expect("id"), created.body["key"].as_str().expect("key"));
    assert_eq!(app.get("/api/wallet", second_key).await.status, StatusCode::OK);

    let revoked = app.delete(&format!("/api/keys/{second_id}"), &partner.key).await;

    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);
    let revoked_at = revoked.body["revoked_at"].as_str().expect("revoked_at is set").to_owned();
    app.get("/api/wallet", second_key).await.assert_problem(401, "unauthorized");
    let again = app.delete(&format!("/api/keys/{second_id}"), &partner.key).await;
    assert_eq!((again.status, again.body["revoked_at"].as_str()), (StatusCode::OK, Some(revoked_at.as_str())));
    let listed = app.get("/api/keys", &partner.key).await;
    assert_eq!(listed.body["items"][0]["revoked_at"], revoked_at.as_str());
}

#[tokio::test]
async fn a_partner_cannot_see_or_revoke_another_partners_keys() {
    let app = app().await;
    let alice = app.new_partner().await;
    let bob = app.new_partner().await;
    let alice_keys = app.get("/api/keys", &alice.key).await;
    let alice_key_id = alice_keys.body["items"][0]["id"].as_str().expect("an id");

    let bobs_view = app.get("/api/keys", &bob.key).await;
    let bobs_attempt = app.delete(&format!("/api/keys/{alice_key_id}"), &bob.key).await;

    assert!(bobs_view.body["items"].as_array().expect("items").iter().all(|k| k["id"] != alice_key_id));
    bobs_attempt.assert_problem(404, "not_found");
    assert_eq!(app.get("/api/wallet", &alice.key).await.status, StatusCode::OK, "alice's key still works");
    app.delete("/api/keys/not-an-id", &bob.key).await.assert_problem(404, "not_found");
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = app().await;
    let partner = app.new_partner().await;
    let ok = app.get("/api/wallet", &partner.key).await;
    let refused = app.call(Method::GET, "/api/wallet", None, None).await;
    let first = ok.headers.get("x-request-id").and_then(|v| v.to_str().ok()).expect("a request id");
    let second = refused.headers.get("x-request-id").and_then(|v| v.to_str().ok()).expect("a request id");
    assert!(first.starts_with("req_") && second.starts_with("req_"));
    assert_ne!(first, second);
}

#[tokio::test]
async fn when_dynamodb_is_unreachable_the_answer_is_503_not_500() {
    let app = TestApp::on(wallet::routes(), steller::testing::TestDatabase::unreachable().await);
    let key = ApiKey::generate(KeyRole::Partner(steller::domain::Mode::Sandbox));

    let response = app.get("/api/wallet", key.expose()).await;

    response.assert_problem(503, "unavailable");
    assert!(response.headers.contains_key(header::RETRY_AFTER));
}

#[tokio::test]
async fn keys_page_newest_first_and_each_key_appears_exactly_once() {
    let app = app().await;
    let partner = app.new_partner().await;
    for i in 0..22 {
        let created =
            app.post("/api/keys", Some(&partner.key), json!({"mode": "sandbox", "name": format!("k{i}")})).await;
        assert_eq!(created.status, StatusCode::CREATED);
    }

    let mut seen = Vec::new();
    let mut path = "/api/keys?limit=10".to_owned();
    let mut pages = 0;
    loop {
        let page = app.get(&path, &partner.key).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        pages += 1;
        seen.extend(
            page.body["items"].as_array().expect("items").iter().map(|k| k["name"].as_str().unwrap_or("").to_owned()),
        );
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/keys?limit=10&cursor={cursor}"),
            None => break,
        }
    }

    assert_eq!(pages, 3);
    let mut expected: Vec<String> = (0..22).rev().map(|i| format!("k{i}")).collect();
    expected.push("default".to_owned());
    assert_eq!(seen, expected, "newest first, each once");
    let default_page = app.get("/api/keys", &partner.key).await;
    assert_eq!(default_page.body["items"].as_array().map(Vec::len), Some(20), "20 by default");
}

#[tokio::test]
async fn bad_limits_and_tampered_or_foreign_cursors_are_refused() {
    let app = app().await;
    let alice = app.new_partner().await;
    let bob = app.new_partner().await;
    app.post("/api/keys", Some(&alice.key), json!({"mode": "sandbox"})).await;
    let first = app.get("/api/keys?limit=1", &alice.key).await;
    let alices_cursor = first.body["next_cursor"].as_str().expect("a second page exists").to_owned();

    for limit in ["0", "101", "ten", "-1"] {
        let response = app.get(&format!("/api/keys?limit={limit}"), &alice.key).await;
        response.assert_problem(422, "validation_failed");
        assert_eq!(response.error_fields(), ["limit"]);
    }
    app.get("/api/keys?cursor=%21%21garbage", &alice.key).await.assert_problem(400, "malformed_request");
    let tampered = format!("{}x", &alices_cursor[..alices_cursor.len() - 2]);
    app.get(&format!("/api/keys?cursor={tampered}"), &alice.key).await.assert_problem(400, "malformed_request");
    app.get(&format!("/api/keys?cursor={alices_cursor}"), &bob.key).await.assert_problem(400, "malformed_request");
}

#[tokio::test]
async fn a_new_key_is_answered_with_no_store_and_every_answer_with_nosniff() {
    let app = app().await;
    let partner = app.new_partner().await;

    let created = app.post("/api/keys", Some(&partner.key), json!({"mode": "sandbox", "name": "ci"})).await;
    let listing = app.get("/api/keys", &partner.key).await;

    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.headers.get(header::CACHE_CONTROL).map(|v| v.as_bytes()), Some(&b"no-store"[..]));
    for response in [&created, &listing] {
        assert_eq!(response.headers.get(header::X_CONTENT_TYPE_OPTIONS).map(|v| v.as_bytes()), Some(&b"nosniff"[..]));
        let policy = response.headers.get(header::CONTENT_SECURITY_POLICY).and_then(|v| v.to_str().ok());
        assert!(policy.is_some_and(|policy| policy.contains("frame-ancestors 'none'")), "{policy:?}");
    }
}

#[tokio::test]
async fn an_unknown_api_path_is_404_with_or_without_a_key() {
    let app = app().await;
    let partner = app.new_partner().await;

    for key in [None, Some(partner.key.as_str())] {
        app.call(Method::GET, "/api/nope", key, None).await.assert_problem(404, "not_found");
        app.call(Method::POST, "/api/wallet/nope", key, Some(json!({}))).await.assert_problem(404, "not_found");
    }
    // A known path still asks for a key first, whatever the method.
    app.call(Method::GET, "/api/wallet", None, None).await.assert_problem(401, "unauthorized");
    app.call(Method::PUT, "/api/wallet", None, None).await.assert_problem(401, "unauthorized");
}
