//! The analytics Lambda's handler: a scheduled event drains the queue within the time
//! the invocation has left.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use analytics::{Analytics, MARGIN, budget};
use lambda_runtime::{Context, LambdaEvent};
use steller::domain::{Mode, PartnerId};
use steller::request_log::{InProcessQueue, RequestLogRecord, RequestLogSink};
use steller::testing::TestDatabase;

/// What EventBridge sends for a `rate(2 minutes)` schedule.
fn scheduled_event(seconds_left: u64) -> LambdaEvent<serde_json::Value> {
    let payload = serde_json::json!({
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "time": "2026-11-23T10:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/steller-AnalyticsFunctionDrain"],
        "detail": {}
    });
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let mut context = Context::default();
    context.deadline = u64::try_from((now + Duration::from_secs(seconds_left)).as_millis()).unwrap_or(u64::MAX);
    LambdaEvent::new(payload, context)
}

async fn queue_with(records: usize) -> InProcessQueue {
    let queue = InProcessQueue::new();
    let partner = PartnerId::generate();
    for n in 0..records {
        let record = RequestLogRecord {
            request_id: format!("req_{n:04}"),
            timestamp: "2026-11-23T10:00:00.000Z".parse().expect("a time"),
            partner_id: Some(partner),
            mode: Some(Mode::Live),
            method: "POST".into(),
            route: "/api/orders".into(),
            status: 201,
            latency_ms: 42,
            user_agent: None,
        };
        queue.send(&record).await.expect("queued");
    }
    queue
}

#[test]
fn the_budget_is_the_time_left_less_the_margin_and_never_negative() {
    let now = SystemTime::now();
    assert_eq!(budget(now + Duration::from_secs(60), now), Duration::from_secs(60) - MARGIN);
    assert_eq!(budget(now + MARGIN / 2, now), Duration::ZERO);
    assert_eq!(budget(now - Duration::from_secs(1), now), Duration::ZERO, "a deadline already past");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_event_drains_the_queue_into_the_table() {
    let db = TestDatabase::embedded().await;
    let queue = queue_with(40).await;
    let analytics = Analytics::new(Arc::new(queue.clone()), db.request_log_table.clone());

    let summary = analytics.handle(scheduled_event(60)).await.expect("the run succeeds");

    assert_eq!((summary.received, summary.written, summary.malformed), (40, 40, 0));
    assert_eq!(db.scan_request_log().await.len(), 40);
    assert!(queue.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invocation_with_no_time_left_touches_nothing() {
    let db = TestDatabase::embedded().await;
    let queue = queue_with(5).await;
    let analytics = Analytics::new(Arc::new(queue.clone()), db.request_log_table.clone());

    let summary = analytics.handle(scheduled_event(1)).await.expect("an empty run is no error");

    assert_eq!((summary.received, summary.calls.receive), (0, 0));
    assert_eq!((queue.len(), queue.in_flight()), (5, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_cannot_write_is_an_invocation_error_and_its_messages_stay() {
    let db = TestDatabase::unreachable().await;
    let queue = queue_with(5).await;
    let analytics = Analytics::new(Arc::new(queue.clone()), db.request_log_table.clone());

    let error = analytics.handle(scheduled_event(60)).await.expect_err("the table is down");

    assert!(error.to_string().contains("TransactWriteItems"), "{error}");
    assert_eq!(queue.in_flight(), 5, "nothing is deleted; SQS redelivers them to a later run");
}
