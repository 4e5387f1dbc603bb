//! `steller-ops bootstrap --endpoint URL` creates the template's tables and queues, once, and
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
    for queue in ["RequestLogQueue", "RequestLogDeadLetterQueue"] {
        let line = first.lines().find(|line| line.starts_with(queue)).unwrap_or_default();
        assert!(line.contains("skipped: no SQS at"), "dynoxide has no SQS, and that fails nothing: {first}");
    }
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

/// The attributes of the queue named `name` on the emulator's SQS.
async fn queue_attributes(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
) -> std::collections::HashMap<aws_sdk_sqs::types::QueueAttributeName, String> {
    let url = sqs.get_queue_url().queue_name(name).send().await.expect("the queue exists").queue_url;
    sqs.get_queue_attributes()
        .set_queue_url(url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .expect("its attributes")
        .attributes
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn bootstrap_creates_the_request_log_queue_redriving_to_its_dead_letter_queue_once() {
    use aws_sdk_sqs::types::QueueAttributeName as Attribute;
    let endpoint = aws_emulator_endpoint();
    let prefix = unique_prefix();
    let (queue, dead_letters) = (format!("{prefix}-request-log"), format!("{prefix}-request-log-dead-letter"));

    let first = bootstrap_with(&endpoint, &prefix, &[]);
    let sqs = steller::aws::sqs(&steller::aws::for_endpoint(&endpoint).await);
    let before = (queue_attributes(&sqs, &queue).await, queue_attributes(&sqs, &dead_letters).await);
    let second = bootstrap_with(&endpoint, &prefix, &[]);

    for (id, name) in [("RequestLogQueue", &queue), ("RequestLogDeadLetterQueue", &dead_letters)] {
        let line = |output: &str| output.lines().find(|line| line.starts_with(&format!("{id} "))).map(str::to_owned);
        let first_line = line(&first).unwrap_or_default();
        assert!(first_line.contains(name.as_str()) && first_line.contains("created"), "{first}");
        assert!(first_line.contains(&format!("/{name}")), "the line ends with the queue's URL: {first_line}");
        assert!(line(&second).unwrap_or_default().contains("already there"), "{second}");
    }
    let (main, dlq) = &before;
    assert_eq!(main.get(&Attribute::VisibilityTimeout).map(String::as_str), Some("120"));
    assert_eq!(main.get(&Attribute::MessageRetentionPeriod).map(String::as_str), Some("345600"));
    assert_eq!(dlq.get(&Attribute::MessageRetentionPeriod).map(String::as_str), Some("1209600"));
    let redrive: serde_json::Value =
        serde_json::from_str(main.get(&Attribute::RedrivePolicy).expect("a redrive policy")).expect("JSON");
    assert_eq!(redrive["deadLetterTargetArn"].as_str(), dlq.get(&Attribute::QueueArn).map(String::as_str));
    let max_receives =
        redrive["maxReceiveCount"].as_u64().or_else(|| redrive["maxReceiveCount"].as_str()?.parse().ok());
    assert_eq!(max_receives, Some(5));
    let after = (queue_attributes(&sqs, &queue).await, queue_attributes(&sqs, &dead_letters).await);
    let settled = |attributes: &std::collections::HashMap<Attribute, String>| {
        let mut kept: Vec<(String, String)> = attributes
            .iter()
            .filter(|(name, _)| !name.as_str().starts_with("Approximate") && !name.as_str().ends_with("Timestamp"))
            .map(|(name, value)| (name.as_str().to_owned(), value.clone()))
            .collect();
        kept.sort();
        kept
    };
    assert_eq!(
        (settled(&after.0), settled(&after.1)),
        (settled(&before.0), settled(&before.1)),
        "the second run changed nothing"
    );
}
