//! Top-up requests and ops decisions, on both engines: live money only through approval.

use http::StatusCode;
use serde_json::{Value, json};
use steller::domain::{Decider, TopUpId};
use steller::testing::TestApp;
use support::{
    all_pages, assert_audit_clean, assert_ledger_sums_to_balance, balance, keyed_post, live_key, ops_key,
    ops_key_and_id,
};

mod support;

on_both_engines!(
    a_live_request_stays_pending_and_moves_no_money,
    a_live_request_before_the_email_is_verified_is_forbidden_and_records_nothing,
    a_sandbox_request_is_approved_and_credited_at_once,
    ten_parallel_approvals_credit_the_live_wallet_exactly_once,
    a_rejection_moves_nothing_records_the_reason_and_decides_for_good,
    an_approval_records_the_calling_ops_key_and_only_ops_see_it,
    partner_keys_cannot_reach_admin_routes,
    every_invalid_field_of_a_request_is_named,
    ops_see_pending_requests_oldest_first_and_page_through_them,
    requests_are_isolated_by_partner_and_mode,
    a_retried_request_with_its_idempotency_key_is_recorded_once,
    ops_cannot_find_a_sandbox_request_to_decide,
);

/// Who decided the request, as the store holds it.
async fn stored_decider(app: &TestApp, id: &str) -> Option<Decider> {
    let id = TopUpId::parse(id).expect("a top-up id");
    app.state.store.top_up_by_id(&id).await.expect("the request is stored").decided_by
}

/// Partners never see who decided: ops key ids are internal.
fn assert_no_decider_shown(partner_view: &Value) {
    assert!(partner_view.is_object(), "{partner_view}");
    assert!(partner_view.get("decided_by").is_none(), "the partner sees no decider: {partner_view}");
}

async fn request(app: &TestApp, key: &str, amount: &str) -> steller::testing::TestResponse {
    app.post(
        "/api/wallet/top-up-requests",
        Some(key),
        json!({"amount": amount, "currency": "USD", "payment_reference": "WIRE-1"}),
    )
    .await
}

async fn a_live_request_stays_pending_and_moves_no_money(app: TestApp) {
    let partner = app.new_partner().await;
    let live = live_key(&app, &partner.key).await;

    let response = request(&app, &live, "250.00").await;

    assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);
    let body = &response.body;
    assert!(body["id"].as_str().is_some_and(|id| id.starts_with("tur_")));
    assert_eq!(
        (body["status"].as_str(), body["mode"].as_str(), body["amount"].as_str()),
        (Some("pending"), Some("live"), Some("250.00"))
    );
    assert_eq!((body["payment_reference"].as_str(), &body["decided_at"]), (Some("WIRE-1"), &serde_json::Value::Null));
    assert_eq!(balance(&app, &live).await, "0.00");
    assert_eq!(app.get("/api/wallet/transactions", &live).await.body["items"].as_array().map(Vec::len), Some(0));
    let fetched =
        app.get(&format!("/api/wallet/top-up-requests/{}", body["id"].as_str().unwrap_or_default()), &live).await;
    assert_eq!(fetched.body, response.body);
    assert_no_decider_shown(body);
    assert_eq!(stored_decider(&app, body["id"].as_str().unwrap_or_default()).await, None, "no one decided yet");
    assert_audit_clean(&app).await;
}

async fn a_live_request_before_the_email_is_verified_is_forbidden_and_records_nothing(app: TestApp) {
    let partner = app.new_partner().await;
    // A live key made before emails were verified (as the API once allowed).
    let id = partner.id.parse().expect("a partner id");
    let old = steller::domain::NewKey::generate(steller::domain::Mode::Live, None);
    app.state.store.create_key(&id, &old).await.expect("stored");

    let response = request(&app, old.key.expose(), "250.00").await;

    let problem = response.assert_problem(403, "forbidden");
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains("verified email")), "{problem}");
    let listed = app.get("/api/wallet/top-up-requests", old.key.expose()).await;
    assert_eq!(listed.body["items"], json!([]), "nothing was recorded");
    assert!(app.sent_emails().await.is_empty(), "no one was emailed");
}

async fn a_sandbox_request_is_approved_and_credited_at_once(app: TestApp) {
    let partner = app.new_partner().await;

    let response = request(&app, &partner.key, "125.50").await;

    assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);
    assert_eq!((response.body["status"].as_str(), response.body["mode"].as_str()), (Some("approved"), Some("sandbox")));
    assert!(response.body["decided_at"].is_string());
    assert_no_decider_shown(&response.body);
    let id = response.body["id"].as_str().expect("an id");
    assert_eq!(stored_decider(&app, id).await, Some(Decider::Sandbox), "Steller approved it as it was made");
    let listed = app.get("/api/wallet/top-up-requests", &partner.key).await;
    assert_no_decider_shown(&listed.body["items"][0]);
    assert_eq!(balance(&app, &partner.key).await, "1125.50");
    let ledger = app.get("/api/wallet/transactions", &partner.key).await;
    let credit = &ledger.body["items"][0];
    assert_eq!((credit["type"].as_str(), credit["amount"].as_str()), (Some("top_up_credit"), Some("125.50")));
    assert_eq!((credit["balance_after"].as_str(), &credit["reference"]), (Some("1125.50"), &response.body["id"]));
    assert_ledger_sums_to_balance(&app, &partner.key).await;
    assert_audit_clean(&app).await;
}

/// Admin routes decide live requests only: a sandbox request's id is not found there, so
/// the answer does not tell that it exists (a 409 "already approved" would).
async fn ops_cannot_find_a_sandbox_request_to_decide(app: TestApp) {
    let partner = app.new_partner().await;
    let ops = ops_key(&app).await;
    let made = request(&app, &partner.key, "50.00").await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let id = made.body["id"].as_str().expect("an id");

    let approve = app.post(&format!("/api/admin/top-up-requests/{id}/approve"), Some(&ops), json!({})).await;
    let reject =
        app.post(&format!("/api/admin/top-up-requests/{id}/reject"), Some(&ops), json!({"reason": "no payment"})).await;

    approve.assert_problem(404, "not_found");
    reject.assert_problem(404, "not_found");
    let unknown = TopUpId::generate();
    let never_made = app.post(&format!("/api/admin/top-up-requests/{unknown}/approve"), Some(&ops), json!({})).await;
    assert_eq!(approve.body["detail"], never_made.body["detail"], "the same answer as for an id never made");
    assert_eq!(stored_decider(&app, id).await, Some(Decider::Sandbox), "still decided by Steller alone");
    assert_eq!(balance(&app, &partner.key).await, "1050.00");
}

async fn ten_parallel_approvals_credit_the_live_wallet_exactly_once(app: TestApp) {
    let partner = app.new_partner().await;
    let live = live_key(&app, &partner.key).await;
    let ops = ops_key(&app).await;
    let id = request(&app, &live, "500.00").await.body["id"].as_str().expect("an id").to_owned();
    let path = format!("/api/admin/top-up-requests/{id}/approve");
    let instances = app.instances(10);

    // One per instance, so they race.
    let attempts = instances.iter().map(|instance| instance.post(&path, Some(&ops), json!({})));
    let responses = futures::future::join_all(attempts).await;

    let approved = responses.iter().filter(|r| r.status == StatusCode::OK).count();
    let refused =
        responses.iter().filter(|r| r.status == StatusCode::CONFLICT && r.body["code"] == "invalid_state").count();
    assert_eq!((approved, refused), (1, 9), "{:?}", responses.iter().map(|r| &r.body).collect::<Vec<_>>());
    assert_eq!(balance(&app, &live).await, "500.00");
    let ledger = all_pages(&app, "/api/wallet/transactions", &live, 100).await;
    assert_eq!(ledger.len(), 1);
    assert_eq!((ledger[0]["type"].as_str(), ledger[0]["amount"].as_str()), (Some("top_up_credit"), Some("500.00")));
    let seen = app.get(&format!("/api/wallet/top-up-requests/{id}"), &live).await;
    assert_eq!(seen.body["status"], "approved");
    assert!(seen.body["decided_at"].is_string());
    assert_eq!(balance(&app, &partner.key).await, "1000.00", "the sandbox wallet is untouched");
    assert_audit_clean(&app).await;
}

async fn a_rejection_moves_nothing_records_the_reason_and_decides_for_good(app: TestApp) {
    let partner = app.new_partner().await;
    let live = live_key(&app, &partner.key).await;
    let ops = ops_key(&app).await;
    let id = request(&app, &live, "80.00").await.body["id"].as_str().expect("an id").to_owned();

    let (rejecting_ops, rejecting_ops_id) = ops_key_and_id(&app).await;
    let missing_reason = app.post(&format!("/api/admin/top-up-requests/{id}/reject"), Some(&ops), json!({})).await;
    missing_reason.assert_problem(422, "validation_failed");
    assert_eq!(missing_reason.error_fields(), ["reason"]);
    let rejected = app
        .post(
            &format!("/api/admin/top-up-requests/{id}/reject"),
            Some(&rejecting_ops),
            json!({"reason": "No matching transfer"}),
        )
        .await;

    assert_eq!(rejected.status, StatusCode::OK, "{}", rejected.body);
    assert_eq!(
        (rejected.body["status"].as_str(), rejected.body["reason"].as_str()),
        (Some("rejected"), Some("No matching transfer"))
    );
    let decider = format!("ops_key:{rejecting_ops_id}");
    assert_eq!(rejected.body["decided_by"], decider.as_str(), "the rejecting key, not the one that was refused");
    assert_eq!(stored_decider(&app, &id).await, Some(Decider::OpsKey(rejecting_ops_id)));
    let listed = app.get("/api/admin/top-up-requests?status=rejected", &ops).await;
    let listed = listed.body["items"].as_array().and_then(|items| items.iter().find(|r| r["id"] == id.as_str()));
    assert_eq!(listed.map(|r| &r["decided_by"]), Some(&json!(decider)), "ops see who rejected it");
    assert_eq!(balance(&app, &live).await, "0.00");
    let seen = app.get(&format!("/api/wallet/top-up-requests/{id}"), &live).await;
    assert_eq!(seen.body["reason"], "No matching transfer");
    assert_no_decider_shown(&seen.body);
    app.post(&format!("/api/admin/top-up-requests/{id}/approve"), Some(&ops), json!({}))
        .await
        .assert_problem(409, "invalid_state");
    app.post(&format!("/api/admin/top-up-requests/{id}/reject"), Some(&ops), json!({"reason": "again"}))
        .await
        .assert_problem(409, "invalid_state");
    assert_eq!(balance(&app, &live).await, "0.00");
    assert_audit_clean(&app).await;
}

async fn an_approval_records_the_calling_ops_key_and_only_ops_see_it(app: TestApp) {
    let partner = app.new_partner().await;
    let live = live_key(&app, &partner.key).await;
    let (ops, _) = ops_key_and_id(&app).await;
    let (approving_ops, approving_ops_id) = ops_key_and_id(&app).await;
    let id = request(&app, &live, "150.00").await.body["id"].as_str().expect("an id").to_owned();
    let queued = app.get("/api/admin/top-up-requests?status=pending", &ops).await;
    let queued = queued.body["items"].as_array().and_then(|items| items.iter().find(|r| r["id"] == id.as_str()));
    assert_eq!(queued.map(|r| &r["decided_by"]), Some(&Value::Null), "pending: no one decided yet");

    let approved = app.post(&format!("/api/admin/top-up-requests/{id}/approve"), Some(&approving_ops), json!({})).await;

    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
    let decider = format!("ops_key:{approving_ops_id}");
    assert_eq!(approved.body["decided_by"], decider.as_str(), "the calling key, not any ops key");
    assert_eq!(stored_decider(&app, &id).await, Some(Decider::OpsKey(approving_ops_id)));
    let listed = app.get("/api/admin/top-up-requests?status=approved", &ops).await;
    let listed = listed.body["items"].as_array().and_then(|items| items.iter().find(|r| r["id"] == id.as_str()));
    assert_eq!(listed.map(|r| &r["decided_by"]), Some(&json!(decider)), "ops see who approved it");
    let seen = app.get(&format!("/api/wallet/top-up-requests/{id}"), &live).await;
    assert_eq!(seen.body["status"], "approved");
    assert_no_decider_shown(&seen.body);
    assert_no_decider_shown(&app.get("/api/wallet/top-up-requests", &live).await.body["items"][0]);
    assert_eq!(balance(&app, &live).await, "150.00");
    assert_audit_clean(&app).await;
}

async fn partner_keys_cannot_reach_admin_routes(app: TestApp) {
    let partner = app.new_partner().await;
    let live = live_key(&app, &partner.key).await;
    let id = request(&app, &live, "80.00").await.body["id"].as_str().expect("an id").to_owned();

    for key in [&partner.key, &live] {
        app.get("/api/admin/top-up-requests", key).await.assert_problem(403, "forbidden");
        app.post(&format!("/api/admin/top-up-requests/{id}/approve"), Some(key), json!({}))
            .await
            .assert_problem(403, "forbidden");
        app.post(&format!("/api/admin/top-up-requests/{id}/reject"), Some(key), json!({"reason": "x"}))
            .await
            .assert_problem(403, "forbidden");
    }
    app.call(http::Method::GET, "/api/admin/top-up-requests", None, None).await.assert_problem(401, "unauthorized");
    assert_eq!(balance(&app, &live).await, "0.00");
    let ops = ops_key(&app).await;
    request(&app, &ops, "80.00").await.assert_problem(403, "forbidden");
}

async fn every_invalid_field_of_a_request_is_named(app: TestApp) {
    let partner = app.new_partner().await;
    let post = |body: serde_json::Value| app.post("/api/wallet/top-up-requests", Some(&partner.key), body);

    for (amount, currency, field) in [
        (json!("9.99"), json!("USD"), "amount"),
        (json!("100000.01"), json!("USD"), "amount"),
        (json!("12.345"), json!("USD"), "amount"),
        (json!(50), json!("USD"), "amount"),
        (json!(null), json!("USD"), "amount"),
        (json!("50.00"), json!("EUR"), "currency"),
        (json!("50.00"), json!(null), "currency"),
    ] {
        let response = post(json!({"amount": amount, "currency": currency})).await;
        response.assert_problem(422, "validation_failed");
        assert_eq!(response.error_fields(), [field], "amount {amount}, currency {currency}");
    }
    let everything =
        post(json!({"amount": "1", "currency": "GBP", "payment_reference": "p".repeat(256), "note": "n".repeat(1001)}))
            .await;
    assert_eq!(everything.error_fields(), ["amount", "currency", "payment_reference", "note"]);
    assert_eq!(
        app.get("/api/wallet/top-up-requests", &partner.key).await.body["items"].as_array().map(Vec::len),
        Some(0)
    );
    assert_eq!(balance(&app, &partner.key).await, "1000.00");
}

async fn ops_see_pending_requests_oldest_first_and_page_through_them(app: TestApp) {
    let ops = ops_key(&app).await;
    let mut ids = Vec::new();
    for amount in ["10.00", "20.00", "30.00", "40.00", "50.00"] {
        let partner = app.new_partner().await;
        let live = live_key(&app, &partner.key).await;
        ids.push(request(&app, &live, amount).await.body["id"].as_str().expect("an id").to_owned());
        // Sandbox requests are decided at once and never queue for ops.
        request(&app, &partner.key, amount).await;
    }
    app.post(&format!("/api/admin/top-up-requests/{}/approve", ids[1]), Some(&ops), json!({})).await;

    let pending: Vec<String> = all_pages(&app, "/api/admin/top-up-requests?status=pending", &ops, 2)
        .await
        .iter()
        .map(|r| r["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    let approved = app.get("/api/admin/top-up-requests?status=approved", &ops).await;

    assert_eq!(
        pending,
        [ids[0].clone(), ids[2].clone(), ids[3].clone(), ids[4].clone()],
        "oldest first, decided ones gone"
    );
    let approved_ids: Vec<&str> =
        approved.body["items"].as_array().expect("items").iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(approved_ids, [ids[1].as_str()]);
    let default = app.get("/api/admin/top-up-requests", &ops).await;
    assert_eq!(default.body["items"].as_array().map(Vec::len), Some(4), "pending is the default");
    let bad = app.get("/api/admin/top-up-requests?status=lost", &ops).await;
    bad.assert_problem(422, "validation_failed");
    assert_eq!(bad.error_fields(), ["status"]);
}

async fn requests_are_isolated_by_partner_and_mode(app: TestApp) {
    let alice = app.new_partner().await;
    let bob = app.new_partner().await;
    let alice_live = live_key(&app, &alice.key).await;
    let id = request(&app, &alice_live, "70.00").await.body["id"].as_str().expect("an id").to_owned();
    let ops = ops_key(&app).await;

    app.get(&format!("/api/wallet/top-up-requests/{id}"), &bob.key).await.assert_problem(404, "not_found");
    app.get(&format!("/api/wallet/top-up-requests/{id}"), &alice.key).await.assert_problem(404, "not_found");
    assert_eq!(
        app.get("/api/wallet/top-up-requests", &alice.key).await.body["items"].as_array().map(Vec::len),
        Some(0)
    );
    assert_eq!(
        app.get("/api/wallet/top-up-requests", &alice_live).await.body["items"].as_array().map(Vec::len),
        Some(1)
    );
    let unknown = steller::domain::TopUpId::generate();
    app.post(&format!("/api/admin/top-up-requests/{unknown}/approve"), Some(&ops), json!({}))
        .await
        .assert_problem(404, "not_found");
    app.post("/api/admin/top-up-requests/nonsense/approve", Some(&ops), json!({}))
        .await
        .assert_problem(404, "not_found");
}

async fn a_retried_request_with_its_idempotency_key_is_recorded_once(app: TestApp) {
    let partner = app.new_partner().await;
    let body = json!({"amount": "40.00", "currency": "USD"});
    let send = || keyed_post(&app, "/api/wallet/top-up-requests", &partner.key, "topup-1", body.clone());

    let first = send().await;
    let retry = send().await;

    assert_eq!((first.status, retry.status), (StatusCode::CREATED, StatusCode::CREATED));
    assert_eq!(retry.body, first.body);
    assert_eq!(retry.headers.get("idempotent-replayed").and_then(|v| v.to_str().ok()), Some("true"));
    assert_eq!(balance(&app, &partner.key).await, "1040.00", "credited once");
    assert_eq!(
        app.get("/api/wallet/top-up-requests", &partner.key).await.body["items"].as_array().map(Vec::len),
        Some(1)
    );
}
