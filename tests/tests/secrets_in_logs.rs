//! What a sign-in leaves in the logs: which kind of email was sent, never its subject
//! (a sign-in code's carries the code) nor its recipient, whether the send works, the
//! email service is down, or it refuses the address. One test in this binary: it
//! installs the process's global subscriber.

use async_trait::async_trait;
use steller::domain::{Email as Address, SignInCode};
use steller::email::{Email, EmailError, EmailSender};
use steller::telemetry::DEFAULT_FILTER;
use steller::testing::{CapturedLogs, TestApp};
use tracing_subscriber::EnvFilter;

/// An email service that refuses every email as SES does an unverified recipient: its
/// message names the address.
#[derive(Debug)]
struct Refusing;

#[async_trait]
impl EmailSender for Refusing {
    async fn send(&self, email: &Email) -> Result<(), EmailError> {
        let ses = format!(
            "MessageRejected: Email address is not verified. The following identities failed the check in region EU-WEST-1: {}",
            email.to
        );
        Err(EmailError::Refused(std::io::Error::other(ses).into()))
    }
}

/// Asks for a sign-in code at `/signin` from the portal served on a loopback port, as a
/// browser would: the form, its cookie, then the post.
async fn ask_for_a_code(app: &TestApp, email: &str) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let base = format!("http://{}", listener.local_addr().expect("an address"));
    let portal = portal::router(app.state.clone());
    tokio::spawn(async move { axum::serve(listener, portal).await });
    let client = reqwest::Client::new();
    let form = client.get(format!("{base}/signin")).send().await.expect("the form");
    let cookie = form
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|line| line.split(';').next().filter(|pair| pair.starts_with("steller_form=")))
        .expect("the form's cookie")
        .to_owned();
    let token = cookie.trim_start_matches("steller_form=");
    let asked = client
        .post(format!("{base}/signin"))
        .header(reqwest::header::COOKIE, &cookie)
        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("form_token={token}&email={}", email.replace('@', "%40")))
        .send()
        .await
        .expect("an answer");
    assert_eq!(asked.status().as_u16(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_code_never_reaches_the_log_nor_does_its_address() {
    let logs = CapturedLogs::install(EnvFilter::new(DEFAULT_FILTER));
    let app = TestApp::embedded(steller_local::routes()).await;
    let partner = app.new_partner().await;

    // Sent: through the portal, as a partner asks for one.
    ask_for_a_code(&app, &partner.email).await;
    let sent = app.outbox().last().expect("the code was emailed").clone();
    // Not sent: the email service down, then refusing the address.
    let to = Address::parse(Some(&partner.email)).expect("a valid address");
    let (down, refused) = (SignInCode::generate(), SignInCode::generate());
    steller::notices::sign_in_code(&steller::testing::FailingEmail::new(), &app.state.config, &to, &down, "dashboard")
        .await;
    steller::notices::sign_in_code(&Refusing, &app.state.config, &to, &refused, "dashboard").await;

    let text = logs.text();
    let code = sent.subject.rsplit(' ').next().expect("the code ends the subject");
    for secret in [code, down.expose(), refused.expose()] {
        assert!(!text.contains(secret), "a sign-in code ({secret}) is in the log:\n{text}");
    }
    assert!(!text.contains(&sent.subject), "no subject is logged:\n{text}");
    assert!(!text.contains(&partner.email), "no recipient is logged:\n{text}");
    for (level, message) in [("INFO", "email sent"), ("WARN", "email not sent"), ("ERROR", "email refused")] {
        let line = text.lines().find(|line| line.contains(message)).unwrap_or_else(|| panic!("{message}:\n{text}"));
        assert!(line.contains(level) && line.contains("kind=\"sign_in_code\""), "the kind is logged: {line}");
    }
}
