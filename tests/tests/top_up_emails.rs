//! The emails of the top-up lifecycle, on both engines (outbox on dynoxide, SES on the
//! AWS emulator), and the rule that a failed email never changes an answer.

use std::sync::Arc;

use http::StatusCode;
use serde_json::json;
use steller::email::Email;
use steller::testing::{FailingEmail, TestApp};
use support::{assert_audit_clean, balance, live_key, ops_key};

mod support;

on_both_engines!(
    a_live_request_tells_the_partner_and_ops,
    an_approval_and_a_rejection_tell_the_partner_with_the_reason,
    a_sandbox_request_tells_the_partner_it_is_approved,
);

fn to<'a>(sent: &'a [Email], address: &str) -> Vec<&'a Email> {
    sent.iter().filter(|email| email.to == address).collect()
}

async fn request(app: &TestApp, key: &str, amount: &str) -> serde_json::Value {
    let response = app
        .post(
            "/api/wallet/top-up-requests",
            Some(key),
            json!({"amount": amount, "currency": "USD", "payment_reference": "WIRE-77"}),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);
    response.body
}

async fn a_live_request_tells_the_partner_and_ops(app: TestApp) {
    let partner = app.new_partner().await;
    let live = live_key(&app, &partner.key).await;
    let ops_address = app.state.config.ops_email.clone().expect("an ops address is configured");

    let body = request(&app, &live, "640.00").await;

    let sent = app.sent_emails().await;
    let id = body["id"].as_str().expect("an id");
    let [to_partner] = &to(&sent, &partner.email)[..] else { panic!("one email to the partner: {sent:?}") };
    assert!(
        to_partner.subject.contains("received") && to_partner.subject.contains("640.00 USD"),
        "{}",
        to_partner.subject
    );
    assert!(
        to_partner.html.contains(id) && to_partner.html.contains("WIRE-77") && to_partner.html.contains("live wallet")
    );
    let [to_ops] = &to(&sent, &ops_address)[..] else { panic!("one email to ops: {sent:?}") };
    assert!(
        to_ops.subject.contains("New top-up request") && to_ops.subject.contains("Acme Test"),
        "{}",
        to_ops.subject
    );
    assert!(to_ops.html.contains(id) && to_ops.html.contains(&partner.id));
    assert!(sent.iter().all(|email| Some(email.from.as_str()) == app.state.config.sender_email.as_deref()));
}

async fn an_approval_and_a_rejection_tell_the_partner_with_the_reason(app: TestApp) {
    let partner = app.new_partner().await;
    let live = live_key(&app, &partner.key).await;
    let ops = ops_key(&app).await;
    let approved_id = request(&app, &live, "100.00").await["id"].as_str().expect("an id").to_owned();
    let rejected_id = request(&app, &live, "200.00").await["id"].as_str().expect("an id").to_owned();

    app.post(&format!("/api/admin/top-up-requests/{approved_id}/approve"), Some(&ops), json!({})).await;
    app.post(
        &format!("/api/admin/top-up-requests/{rejected_id}/reject"),
        Some(&ops),
        json!({"reason": "Transfer <WIRE-77> bounced"}),
    )
    .await;

    let sent = app.sent_emails().await;
    let to_partner = to(&sent, &partner.email);
    assert_eq!(to_partner.len(), 4, "two received, one approved, one rejected: {to_partner:?}");
    let approved = to_partner.iter().find(|e| e.subject.contains("approved")).expect("an approval email");
    assert!(approved.subject.contains("100.00 USD") && approved.html.contains(&approved_id));
    let rejected = to_partner.iter().find(|e| e.subject.contains("rejected")).expect("a rejection email");
    assert!(rejected.html.contains("Transfer &lt;WIRE-77&gt; bounced"), "the reason, escaped: {}", rejected.html);
    assert!(rejected.html.contains(&rejected_id));
    assert_audit_clean(&app).await;
}

async fn a_sandbox_request_tells_the_partner_it_is_approved(app: TestApp) {
    let partner = app.new_partner().await;
    let ops_address = app.state.config.ops_email.clone().expect("an ops address");

    request(&app, &partner.key, "30.00").await;

    let sent = app.sent_emails().await;
    let [email] = &to(&sent, &partner.email)[..] else { panic!("one email to the partner: {sent:?}") };
    assert!(email.subject.contains("approved") && email.html.contains("sandbox wallet"), "{}", email.subject);
    assert!(to(&sent, &ops_address).is_empty(), "ops are not bothered with fake money");
}

#[tokio::test]
async fn failed_emails_never_change_a_top_up_answer() {
    let failing = Arc::new(FailingEmail::new());
    let app = TestApp::embedded(steller_local::routes()).await.with_email(failing.clone());
    let partner = app.new_partner().await;
    let live = live_key(&app, &partner.key).await;
    let ops = ops_key(&app).await;

    let id = request(&app, &live, "90.00").await["id"].as_str().expect("an id").to_owned();
    let approved = app.post(&format!("/api/admin/top-up-requests/{id}/approve"), Some(&ops), json!({})).await;
    let sandbox = request(&app, &partner.key, "15.00").await;

    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
    assert_eq!(balance(&app, &live).await, "90.00");
    assert_eq!(sandbox["status"], "approved");
    assert_eq!(balance(&app, &partner.key).await, "1015.00");
    assert_eq!(failing.attempted().len(), 4, "received + ops notice + approved + sandbox approved were attempted");
    assert_audit_clean(&app).await;
}
