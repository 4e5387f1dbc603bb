//! The analytics binary as a real Lambda, under the Runtime API emulator, with the
//! environment template.yaml gives it: EventBridge's scheduled event drains the SQS
//! request-log queue into the request-log table. SQS is real here, so this runs on the
//! AWS emulator (`make test` starts moto).

use std::collections::HashMap;

use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::{Value, json};
use steller::domain::{Mode, PartnerId};
use steller::request_log::{RequestLogRecord, RequestLogSink};
use steller::testing::lambda::{LambdaProcess, Outcome};
use steller::testing::{TestDatabase, emulator_queue};

/// What EventBridge sends for the template's `rate(2 minutes)` schedule.
fn scheduled_event() -> Value {
    json!({
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-11-24T10:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/steller-dev-AnalyticsFunctionDrain"],
        "detail": {}
    })
}

fn record(n: usize, partner: PartnerId) -> RequestLogRecord {
    RequestLogRecord {
        request_id: format!("req_lambda{n:04}"),
        timestamp: "2026-11-24T09:59:00.000Z".parse().expect("a time"),
        partner_id: Some(partner),
        mode: Some(Mode::Sandbox),
        method: "GET".into(),
        route: "/api/wallet".into(),
        status: 200,
        latency_ms: 12,
        user_agent: Some("lambda-test".into()),
    }
}

/// The messages on the queue, visible or received and not yet deleted (SQS keeps a
/// received message hidden for its visibility timeout, so it cannot be received again here).
async fn messages_on(endpoint: &str, queue_url: &str) -> u64 {
    let sqs = steller::aws::sqs(&steller::aws::for_endpoint(endpoint).await);
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .expect("the queue's attributes");
    let count = |name: QueueAttributeName| {
        attributes.attributes().and_then(|all| all.get(&name)).and_then(|n| n.parse::<u64>().ok()).unwrap_or(0)
    };
    count(QueueAttributeName::ApproximateNumberOfMessages)
        + count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_analytics_lambda_drains_the_queue_when_the_schedule_fires() {
    let db = TestDatabase::aws_emulator().await;
    let queue = emulator_queue(&db.endpoint).await;
    let queue_url = queue.sqs().expect("an SQS queue").queue_url().to_owned();
    let partner = PartnerId::generate();
    for n in 0..3 {
        queue.send(&record(n, partner)).await.expect("queued");
    }
    let resources =
        HashMap::from([("RequestLogQueue", queue_url), ("RequestLogTable", db.request_log_table.name().to_owned())]);
    let mut lambda = LambdaProcess::deployed(env!("CARGO_BIN_EXE_analytics"), &db.endpoint, &resources).await;

    let first = lambda.invoke(scheduled_event()).await.response();
    let second = lambda.invoke(scheduled_event()).await.response();

    assert_eq!((first["received"].as_u64(), first["written"].as_u64()), (Some(3), Some(3)), "{first}");
    assert_eq!(first["failure"], Value::Null, "{first}");
    assert_eq!(second["received"].as_u64(), Some(0), "the messages were deleted once written: {second}");
    let mut ids: Vec<String> = db
        .scan_request_log()
        .await
        .iter()
        .filter_map(|row| row.get("request_id").and_then(|id| id.as_s().ok()).cloned())
        .collect();
    ids.sort();
    assert_eq!(ids, ["req_lambda0000", "req_lambda0001", "req_lambda0002"]);
    assert!(lambda.is_running());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_that_cannot_write_is_an_invocation_error_and_the_messages_stay() {
    let db = TestDatabase::aws_emulator().await;
    let queue = emulator_queue(&db.endpoint).await;
    let queue_url = queue.sqs().expect("an SQS queue").queue_url().to_owned();
    queue.send(&record(0, PartnerId::generate())).await.expect("queued");
    let resources = HashMap::from([
        ("RequestLogQueue", queue_url.clone()),
        ("RequestLogTable", format!("{}-missing", db.request_log_table.name())),
    ]);
    let mut lambda = LambdaProcess::deployed(env!("CARGO_BIN_EXE_analytics"), &db.endpoint, &resources).await;

    let outcome = lambda.invoke(scheduled_event()).await;

    assert!(matches!(outcome, Outcome::Error(_)), "the failed write shows in the error metric: {outcome:?}");
    assert!(lambda.is_running(), "the process lives on for the next schedule");
    assert_eq!(messages_on(&db.endpoint, &queue_url).await, 1, "the message waits on the queue for the next run");
}
