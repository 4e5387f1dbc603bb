//! `steller-ops bootstrap --endpoint URL` creates the template's tables, once, and
//! verifies the sender address with SES where the endpoint has one.

use std::process::Command;

use steller::email::{Email, EmailSender, SesSender};
use steller::engine::{EmbeddedEngine, Storage};
use steller::testing::{aws_emulator_endpoint, emulator_sent_emails, unique_prefix};

fn bootstrap(endpoint: &str) -> String {
    bootstrap_with(endpoint, "steller-ci", &[])
}

fn bootstrap_with(endpoint: &str, table_prefix: &str, extra: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_steller-ops"))
        .args(["bootstrap", "--endpoint", endpoint, "--table-prefix", table_prefix])
        .args(extra)
        .output()
        .expect("steller-ops runs");
    assert!(output.status.success(), "bootstrap failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn bootstrap_creates_the_template_tables_and_a_second_run_changes_nothing() {
    let engine = EmbeddedEngine::start(Storage::Memory).await.expect("dynoxide starts");

    let first = bootstrap(engine.endpoint());
    let second = bootstrap(engine.endpoint());

    assert!(
        first.contains("DomainTable") && first.contains("steller-ci-domain") && first.contains("created"),
        "{first}"
    );
    assert!(second.contains("already there") && !second.contains("created"), "{second}");
    assert!(first.contains("SenderEmail") && first.contains("skipped: no SES at"), "dynoxide has no SES: {first}");
    let client = steller::aws::dynamodb(&steller::aws::for_endpoint(engine.endpoint()).await);
    let ttl = client.describe_time_to_live().table_name("steller-ci-domain").send().await.expect("described");
    let attribute = ttl.time_to_live_description().and_then(|d| d.attribute_name());
    assert_eq!(attribute, Some("expires_at"), "TTL is enabled as template.yaml declares");
}

#[tokio::test(flavor = "multi_thread")]
async fn bootstrap_verifies_the_sender_so_the_emulators_ses_accepts_its_emails() {
    let endpoint = aws_emulator_endpoint();
    let prefix = unique_prefix();
    let sender = format!("no-reply+{prefix}@steller.example");
    let ses = SesSender::new(steller::aws::ses(&steller::aws::for_endpoint(&endpoint).await));
    let email = Email {
        from: sender.clone(),
        to: "dev@acme.example".into(),
        subject: "Hello".into(),
        text: "Hello".into(),
        html: "<p>Hello</p>".into(),
    };
    assert!(ses.send(&email).await.is_err(), "SES refuses a sender it has not verified");

    let output = bootstrap_with(&endpoint, &prefix, &["--sender-email", &sender]);

    assert!(output.contains("SenderEmail") && output.contains("verification requested"), "{output}");
    ses.send(&email).await.expect("SES accepts the verified sender");
    let sent = emulator_sent_emails(&endpoint).await;
    assert!(sent.iter().any(|message| message["source"] == sender.as_str()), "the email is in SES's record");
}
