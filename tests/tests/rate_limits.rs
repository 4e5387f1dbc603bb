//! Rate limits per key, on both engines: every authenticated response announces the
//! key's quota in the IETF `RateLimit-Policy` and `RateLimit` fields; a request over it
//! is 429 `rate_limited` with `Retry-After` and changes nothing; the count is exact
//! under parallel requests; ops raise or clear a partner's quota with the admin routes,
//! for its existing keys and the ones it makes later; two different credentials are 400.

use std::time::Instant;

use aws_sdk_dynamodb::types::AttributeValue;
use axum::body::Body;
use axum::http::{Method, Request, header};
use futures::future::join_all;
use serde_json::json;
use steller::domain::{ApiKey, KeyRole, Money, PartnerId};
use steller::store::Admission;
use steller::testing::{TestApp, TestPartner, TestResponse};

mod support;

on_both_engines!(
    every_authenticated_response_announces_the_keys_quota_and_others_do_not,
    parallel_admissions_in_one_second_count_exactly_up_to_the_quota,
    requests_over_the_quota_are_429_with_retry_after_and_change_nothing,
    ops_set_and_clear_a_partners_quota_for_its_existing_and_later_keys,
    the_admin_routes_refuse_bad_quotas_unknown_partners_and_partner_keys,
    counts_of_past_seconds_leave_the_key_lookup,
    a_key_revoked_while_ops_set_a_quota_leaves_the_others_their_new_quota,
    two_different_credentials_are_a_malformed_request,
);

fn header_of<'a>(response: &'a TestResponse, name: &str) -> Option<&'a str> {
    response.headers.get(name).and_then(|value| value.to_str().ok())
}

/// The `r` of a `RateLimit` field: what is left of the quota.
fn remaining(response: &TestResponse) -> u32 {
    let field = header_of(response, "ratelimit").expect("a RateLimit field");
    let r = field.split(';').find_map(|part| part.strip_prefix("r=")).expect("an r parameter");
    r.parse().expect("a number")
}

async fn ops_key(app: &TestApp) -> String {
    let key = ApiKey::generate(KeyRole::Ops);
    app.state.store.register_ops_key(&key, "rate-limit tests").await.expect("an ops key");
    key.expose().to_owned()
}

fn partner_id(partner: &TestPartner) -> PartnerId {
    partner.id.parse().expect("a partner id")
}

async fn set_quota(
    app: &TestApp,
    ops: &str,
    partner: &TestPartner,
    mode: &str,
    quota: serde_json::Value,
) -> TestResponse {
    let path = format!("/api/admin/partners/{}/rate-limits/{mode}", partner.id);
    app.call(Method::PUT, &path, Some(ops), Some(json!({"requests_per_second": quota}))).await
}

async fn every_authenticated_response_announces_the_keys_quota_and_others_do_not(app: TestApp) {
    let partner = app.new_partner_at_default_limits().await;

    let wallet = app.get("/api/wallet", &partner.key).await;
    assert_eq!(wallet.status, 200, "{}", wallet.body);
    assert_eq!(header_of(&wallet, "ratelimit-policy"), Some(r#""per-key";q=25;w=1"#));
    let left = remaining(&wallet);
    assert!(left < 25, "this request counted: r={left}");
    assert!(header_of(&wallet, "ratelimit").is_some_and(|field| field.ends_with(";t=1")));

    // An error answered to a known key carries them too.
    let missing = app.get("/api/orders/ord_01JD2X8Q9V4K7M3N5P6R8S0T2W", &partner.key).await;
    missing.assert_problem(404, "not_found");
    assert_eq!(header_of(&missing, "ratelimit-policy"), Some(r#""per-key";q=25;w=1"#));

    // A live key gets the live default; an ops key the ops quota.
    let live = app.live_key_for(&partner.key).await;
    let live_wallet = app.get("/api/wallet", &live).await;
    assert_eq!(header_of(&live_wallet, "ratelimit-policy"), Some(r#""per-key";q=100;w=1"#));
    let ops = ops_key(&app).await;
    let console = app.get("/api/admin/top-up-requests", &ops).await;
    assert_eq!(console.status, 200, "{}", console.body);
    assert_eq!(header_of(&console, "ratelimit-policy"), Some(r#""per-key";q=100;w=1"#));

    // No key, an unknown key, a public route: nothing to announce.
    let unknown = app.get("/api/wallet", "stl_sandbox_0123456789abcdef0123456789abcdef").await;
    unknown.assert_problem(401, "unauthorized");
    assert_eq!(header_of(&unknown, "ratelimit"), None);
    let public = app.call(Method::GET, "/api/public/openapi.json", None, None).await;
    assert_eq!(header_of(&public, "ratelimit"), None);
}

async fn parallel_admissions_in_one_second_count_exactly_up_to_the_quota(app: TestApp) {
    let partner = app.new_partner_at_default_limits().await;
    let key = ApiKey::parse(&partner.key).expect("a key");
    // One second of the key's own, far from now, so the wall clock cannot split the run.
    let second = 4_000_000_000;

    let outcomes = join_all((0..40).map(|_| app.state.store.admit_at(&key, second))).await;

    let mut admitted = Vec::new();
    let mut limited = 0;
    for outcome in outcomes {
        match outcome.expect("the store answers") {
            Admission::Admitted { quota, .. } => admitted.push(quota.used),
            Admission::Limited { quota, .. } => {
                assert_eq!((quota.used, quota.remaining()), (25, 0));
                limited += 1;
            }
            Admission::Unknown => panic!("the key is known"),
        }
    }
    admitted.sort_unstable();
    assert_eq!(admitted, (1..=25).collect::<Vec<u32>>(), "each admitted request got its own count");
    assert_eq!(limited, 15);
    // The next second starts afresh.
    let next = app.state.store.admit_at(&key, second + 1).await.expect("the store answers");
    assert!(matches!(next, Admission::Admitted { quota, .. } if quota.used == 1), "{next:?}");
}

async fn requests_over_the_quota_are_429_with_retry_after_and_change_nothing(app: TestApp) {
    let partner = app.new_partner_at_default_limits().await;
    let ops = ops_key(&app).await;
    let set = set_quota(&app, &ops, &partner, "sandbox", json!(2)).await;
    assert_eq!(set.status, 200, "{}", set.body);
    let product = support::product(&app, "1.00", true).await;
    let before = support::balance(&app, &partner.key).await;

    let started = Instant::now();
    let answers = join_all((0..12).map(|_| support::order(&app, &partner.key, &product, 1))).await;
    let seconds = started.elapsed().as_secs() + 2;

    let placed = answers.iter().filter(|answer| answer.status == 201).count();
    let refused: Vec<&TestResponse> = answers.iter().filter(|answer| answer.status == 429).collect();
    assert_eq!(placed + refused.len(), 12, "every answer is 201 or 429");
    assert!(placed as u64 <= 2 * seconds, "{placed} orders placed in at most {seconds} one-second windows of 2");
    assert!(!refused.is_empty(), "12 parallel orders on a quota of 2 per second meet the limit");
    for answer in &refused {
        answer.assert_problem(429, "rate_limited");
        assert_eq!(header_of(answer, "retry-after"), Some("1"));
        assert_eq!(header_of(answer, "ratelimit-policy"), Some(r#""per-key";q=2;w=1"#));
        assert_eq!(remaining(answer), 0);
    }

    // Only the placed orders moved money or exist.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let orders = support::all_pages(&app, "/api/orders", &partner.key, 100).await;
    assert_eq!(orders.len(), placed);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let after = support::balance(&app, &partner.key).await;
    let money = |text: &str| Money::parse(text).expect("a balance");
    let spent = money(&before).decimal() - money(&after).decimal();
    assert_eq!(spent, Money::dollars(u32::try_from(placed).expect("few")).decimal(), "1.00 per placed order only");
}

async fn ops_set_and_clear_a_partners_quota_for_its_existing_and_later_keys(app: TestApp) {
    let partner = app.new_partner_at_default_limits().await;
    let ops = ops_key(&app).await;
    let path = format!("/api/admin/partners/{}/rate-limits", partner.id);

    let shown = app.get(&path, &ops).await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert_eq!(
        shown.body,
        json!({
            "partner_id": partner.id,
            "sandbox": {"requests_per_second": 25, "source": "default"},
            "live": {"requests_per_second": 100, "source": "default"},
        })
    );

    // 250.0 is the JSON number 250, however it is written.
    let set = set_quota(&app, &ops, &partner, "sandbox", json!(250.0)).await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(set.body["sandbox"], json!({"requests_per_second": 250, "source": "override"}));
    assert_eq!(set.body["live"]["source"], "default");
    assert_eq!(app.get(&path, &ops).await.body, set.body);

    // The existing key, from its next request.
    let wallet = app.get("/api/wallet", &partner.key).await;
    assert_eq!(header_of(&wallet, "ratelimit-policy"), Some(r#""per-key";q=250;w=1"#));
    // A key made afterwards, in the same mode, gets it; one in the other mode does not.
    let made = app.post("/api/keys", Some(&partner.key), json!({"name": "second", "mode": "sandbox"})).await;
    assert_eq!(made.status, 201, "{}", made.body);
    let second = made.body["key"].as_str().expect("the new key").to_owned();
    let seen = app.get("/api/wallet", &second).await;
    assert_eq!(header_of(&seen, "ratelimit-policy"), Some(r#""per-key";q=250;w=1"#));
    let live = app.live_key_for(&partner.key).await;
    assert_eq!(header_of(&app.get("/api/wallet", &live).await, "ratelimit-policy"), Some(r#""per-key";q=100;w=1"#));

    // Cleared: back to the default, for every key of the mode.
    let cleared = app
        .call(Method::DELETE, &format!("/api/admin/partners/{}/rate-limits/sandbox", partner.id), Some(&ops), None)
        .await;
    assert_eq!(cleared.status, 200, "{}", cleared.body);
    assert_eq!(cleared.body["sandbox"], json!({"requests_per_second": 25, "source": "default"}));
    for key in [&partner.key, &second] {
        let wallet = app.get("/api/wallet", key).await;
        assert_eq!(header_of(&wallet, "ratelimit-policy"), Some(r#""per-key";q=25;w=1"#));
    }
    let limits = app.state.store.rate_limits(&partner_id(&partner)).await.expect("read");
    assert_eq!(limits.sandbox.requests_per_second.get(), 25);
}

async fn the_admin_routes_refuse_bad_quotas_unknown_partners_and_partner_keys(app: TestApp) {
    let partner = app.new_partner_at_default_limits().await;
    let ops = ops_key(&app).await;
    for bad in [json!(0), json!(1_001), json!(-5), json!(2.5), json!(1e300), json!("100"), json!(null)] {
        let refused = set_quota(&app, &ops, &partner, "live", bad.clone()).await;
        refused.assert_problem(422, "validation_failed");
        assert_eq!(refused.error_fields(), vec!["requests_per_second"], "{bad}");
    }
    let limits = app.state.store.rate_limits(&partner_id(&partner)).await.expect("read");
    assert_eq!(limits.live.source.as_str(), "default", "nothing was changed");

    let stranger = TestPartner { id: "ptn_01JD2X8Q9V4K7M3N5P6R8S0T2W".into(), ..partner.clone() };
    set_quota(&app, &ops, &stranger, "live", json!(5)).await.assert_problem(404, "not_found");
    app.get(&format!("/api/admin/partners/{}/rate-limits", stranger.id), &ops).await.assert_problem(404, "not_found");
    app.get("/api/admin/partners/nope/rate-limits", &ops).await.assert_problem(404, "not_found");
    set_quota(&app, &ops, &partner, "staging", json!(5)).await.assert_problem(404, "not_found");
    set_quota(&app, &partner.key, &partner, "sandbox", json!(5000)).await.assert_problem(403, "forbidden");
}

/// Ops set a quota while the partner revokes a key: the key was listed, but its lookup is
/// gone when the quota is copied. The copy of the batch fails as a whole, then goes key
/// by key: every other key gets the quota, and the revoked one stays gone (the copy never
/// writes an item that does not exist).
async fn a_key_revoked_while_ops_set_a_quota_leaves_the_others_their_new_quota(app: TestApp) {
    let partner = app.new_partner_at_default_limits().await;
    let ops = ops_key(&app).await;
    let mut keys = vec![partner.key.clone()];
    for name in ["second", "third"] {
        let made = app.post("/api/keys", Some(&partner.key), json!({"name": name, "mode": "sandbox"})).await;
        assert_eq!(made.status, 201, "{}", made.body);
        keys.push(made.body["key"].as_str().expect("the new key").to_owned());
    }
    // The second key's lookup goes, as a revocation's does, but its record still lists it
    // as active: what the copy meets when the revocation lands after the listing.
    let revoked = ApiKey::parse(&keys[1]).expect("a key");
    let lookup = format!("APIKEY#{}", revoked.hash().as_str());
    app.db
        .store
        .client()
        .delete_item()
        .table_name(app.db.store.table())
        .key("pk", AttributeValue::S(lookup.clone()))
        .key("sk", AttributeValue::S("APIKEY".into()))
        .send()
        .await
        .expect("the lookup is deleted");

    let set = set_quota(&app, &ops, &partner, "sandbox", json!(300)).await;

    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(set.body["sandbox"], json!({"requests_per_second": 300, "source": "override"}));
    for key in [&keys[0], &keys[2]] {
        let wallet = app.get("/api/wallet", key).await;
        assert_eq!(header_of(&wallet, "ratelimit-policy"), Some(r#""per-key";q=300;w=1"#));
    }
    app.get("/api/wallet", &keys[1]).await.assert_problem(401, "unauthorized");
    let items = app.db.scan().await;
    assert!(
        !items.iter().any(|item| item.get("pk").and_then(|pk| pk.as_s().ok()) == Some(&lookup)),
        "the copy did not bring the revoked key's lookup back"
    );
}

async fn counts_of_past_seconds_leave_the_key_lookup(app: TestApp) {
    let partner = app.new_partner_at_default_limits().await;
    let key = ApiKey::parse(&partner.key).expect("a key");
    let second = 4_100_000_000;
    let counts = |items: Vec<std::collections::HashMap<String, AttributeValue>>| {
        let lookup = items
            .into_iter()
            .find(|item| {
                item.get("pk")
                    .and_then(|pk| pk.as_s().ok())
                    .is_some_and(|pk| pk == &format!("APIKEY#{}", key.hash().as_str()))
            })
            .expect("the key's lookup");
        let mut names: Vec<String> = lookup.keys().filter(|name| name.starts_with("used_")).cloned().collect();
        names.sort();
        names
    };

    for offset in [0, 1] {
        app.state.store.admit_at(&key, second + offset).await.expect("admitted");
    }
    // The second before is removed by the update itself.
    assert_eq!(counts(app.db.scan().await), vec![format!("used_{}", second + 1)]);
    // After an idle gap, the old count goes too (after the response; outside a runtime, at once).
    app.state.store.admit_at(&key, second + 10).await.expect("admitted");
    assert_eq!(counts(app.db.scan().await), vec![format!("used_{}", second + 10)]);
}

async fn two_different_credentials_are_a_malformed_request(app: TestApp) {
    let partner = app.new_partner().await;
    let other = app.new_partner().await;
    let request = |bearer: &str, api_key: &str| {
        Request::get("/api/wallet")
            .header(header::AUTHORIZATION, format!("Bearer {bearer}"))
            .header("x-api-key", api_key)
            .body(Body::empty())
            .expect("a request")
    };
    let refused = app.send(request(&partner.key, &other.key)).await;
    refused.assert_problem(400, "malformed_request");
    assert!(refused.body["detail"].as_str().is_some_and(|detail| detail.contains("two different credentials")));
    // The same key twice is one credential.
    let same = app.send(request(&partner.key, &partner.key)).await;
    assert_eq!(same.status, 200, "{}", same.body);
}
