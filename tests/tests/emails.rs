//! Emails on both engines: the in-process outbox on dynoxide, SES on the AWS emulator
//! (read back from moto's `/moto-api/data.json`). Each scenario is written once.

use std::sync::Arc;

use http::StatusCode;
use serde_json::json;
use steller::testing::TestApp;

mod support;

on_both_engines!(a_signup_welcomes_the_partner_by_email_without_the_key, a_refused_signup_sends_no_email,);

async fn a_signup_welcomes_the_partner_by_email_without_the_key(app: TestApp) {
    let response = app
        .post("/api/public/signup", None, json!({"company_name": "Acme <Labs>", "email": "welcome@acme.example"}))
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);
    let key = response.body["api_key"].as_str().expect("a key");

    let sent = app.sent_emails().await;

    let [email] = &sent[..] else { panic!("one email: {sent:?}") };
    assert_eq!(
        (email.from.as_str(), email.to.as_str()),
        (app.state.config.sender_email.as_deref().unwrap_or_default(), "welcome@acme.example")
    );
    assert_eq!(email.subject, "Welcome to Steller, Acme <Labs>");
    // Only the HTML body is kept by moto, so it is what both engines can show.
    assert!(email.html.contains("Acme &lt;Labs&gt;"), "{}", email.html);
    assert!(email.html.contains(response.body["partner"]["id"].as_str().expect("an id")));
    for body in [&email.subject, &email.text, &email.html] {
        assert!(!body.contains(key) && !body.contains("stl_"), "the welcome email holds a key:\n{body}");
    }
}

async fn a_refused_signup_sends_no_email(app: TestApp) {
    let body = json!({"company_name": "Acme", "email": "once@acme.example"});
    assert_eq!(app.post("/api/public/signup", None, body.clone()).await.status, StatusCode::CREATED);

    app.post("/api/public/signup", None, body).await.assert_problem(409, "email_taken");

    assert_eq!(app.sent_emails().await.len(), 1, "only the accepted signup is welcomed");
}

/// SES refuses a sender it has not verified: a real email failure, on the emulator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signup_succeeds_when_ses_refuses_the_welcome_email() {
    let app = TestApp::aws_emulator(steller_local::routes()).await;
    let unverified = format!("unverified+{}@steller.example", steller::testing::unique_prefix());
    let config = steller::Config { sender_email: Some(unverified.clone()), ..(*app.state.config).clone() };
    let state = app.state.clone();
    let app = app.with_state(steller::AppState { config: Arc::new(config), ..state });

    let response =
        app.post("/api/public/signup", None, json!({"company_name": "Acme", "email": "refused@acme.example"})).await;

    assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);
    let key = response.body["api_key"].as_str().expect("a key");
    assert_eq!(app.get("/api/wallet", key).await.body["balance"], "1000.00", "the partner is there");
    let refused = steller::testing::emulator_sent_emails(&app.db.endpoint).await;
    assert!(
        !refused.iter().any(|message| message["destinations"]["ToAddresses"][0] == "refused@acme.example"
            && message["source"] == unverified.as_str()),
        "SES did not accept it"
    );
}
