//! The analytics processor over real ports: records on a queue, `drain`, rows in the
//! request-log table. On dynoxide with the in-process queue; on the AWS emulator with
//! SQS (fewer records there: moto answers one request at a time for the whole suite).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use steller::domain::{Mode, PartnerId};
use steller::request_log::{
    DrainCalls, DrainSummary, InProcessQueue, QueuedMessage, RequestLogError, RequestLogRecord, RequestLogSink,
    RequestLogSource, SqsQueue, drain,
};
use steller::testing::{TestApp, TestDatabase, aws_emulator_endpoint};

const BUDGET: Duration = Duration::from_secs(60);

/// Request `n` of a partner (or of no one), spread over three days.
fn record(n: usize, caller: Option<(PartnerId, Mode)>) -> RequestLogRecord {
    RequestLogRecord {
        request_id: format!("req_{n:06}"),
        timestamp: format!("2026-11-{:02}T10:{:02}:{:02}.{:03}Z", 20 + n % 3, n / 60 % 60, n % 60, n % 1000)
            .parse()
            .expect("a time"),
        partner_id: caller.map(|(partner, _)| partner),
        mode: caller.map(|(_, mode)| mode),
        method: "GET".into(),
        route: "/api/orders/{id}".into(),
        status: if n.is_multiple_of(10) { 404 } else { 200 },
        latency_ms: u64::try_from(n % 50).unwrap_or_default(),
        user_agent: Some("test-client/1.0".into()),
    }
}

fn partner() -> Option<(PartnerId, Mode)> {
    Some((PartnerId::generate(), Mode::Sandbox))
}

async fn send_all(sink: &dyn RequestLogSink, records: impl IntoIterator<Item = RequestLogRecord>) {
    for record in records {
        sink.send(&record).await.expect("the record is queued");
    }
}

fn counts(summary: &DrainSummary) -> (usize, usize, usize, usize) {
    (summary.received, summary.written, summary.duplicates, summary.malformed)
}

/// Rows as sorted text, to compare tables whatever order a scan returns.
fn canonical(rows: &[HashMap<String, AttributeValue>]) -> Vec<String> {
    let mut rows: Vec<String> =
        rows.iter().map(|row| format!("{:?}", row.iter().collect::<BTreeMap<_, _>>())).collect();
    rows.sort();
    rows
}

fn report_calls(engine: &str, summary: &DrainSummary) {
    let per_thousand = |calls: usize| calls * 1000 / summary.written.max(1);
    let DrainCalls { receive, batch_write, delete, remaining } = summary.calls;
    println!(
        "{engine}: AWS calls per 1,000 drained logs: {} ReceiveMessage, {} BatchWriteItem, {} DeleteMessageBatch, \
         {} GetQueueAttributes; {} in all ({} logs drained)",
        per_thousand(receive),
        per_thousand(batch_write),
        per_thousand(delete),
        per_thousand(remaining),
        per_thousand(summary.calls.total()),
        summary.written,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_logged_records_give_exactly_a_thousand_rows_in_a_fixed_number_of_calls() {
    let db = TestDatabase::embedded().await;
    let queue = InProcessQueue::new();
    let caller = partner();
    send_all(&queue, (0..1000).map(|n| record(n, caller))).await;

    let summary = drain(&queue, &db.request_log_table, BUDGET).await;

    report_calls("dynoxide + in-process queue", &summary);
    assert_eq!(counts(&summary), (1000, 1000, 0, 0), "{summary:?}");
    assert_eq!(summary.failure, None);
    assert_eq!(db.scan_request_log().await.len(), 1000);
    assert!(queue.is_empty(), "every message is deleted once its row is written");
    assert_eq!(summary.remaining, Some(0));
    // 100 full receives and the empty one that ends the run; 25 rows per write; 10
    // messages per delete; one look at what remains.
    assert_eq!(summary.calls, DrainCalls { receive: 101, batch_write: 40, delete: 100, remaining: 1 });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivering_the_same_messages_twice_adds_no_rows() {
    let db = TestDatabase::embedded().await;
    let queue = InProcessQueue::new();
    let caller = partner();
    send_all(&queue, (0..30).map(|n| record(n, caller))).await;
    // The first run writes every row but its deletes are lost, so SQS shows the
    // messages again after the visibility timeout.
    let first = drain(&LostDeletes(queue.clone()), &db.request_log_table, BUDGET).await;
    assert_eq!(counts(&first), (30, 30, 0, 0));
    let rows_before = db.scan_request_log().await;
    queue.redeliver_unacked();
    // And the producer sent a copy of each, which arrives in the same run.
    send_all(&queue, (0..30).map(|n| record(n, caller))).await;

    let second = drain(&queue, &db.request_log_table, BUDGET).await;

    assert_eq!(counts(&second), (60, 30, 30, 0), "each request id is written once per run: {second:?}");
    let rows_after = db.scan_request_log().await;
    assert_eq!(rows_after.len(), 30, "redelivered messages overwrite their rows");
    assert_eq!(canonical(&rows_after), canonical(&rows_before), "with the same content");
    assert!(queue.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_message_does_not_stop_the_others_is_counted_and_stays_for_the_dead_letter_queue() {
    let db = TestDatabase::embedded().await;
    let queue = InProcessQueue::new();
    let caller = partner();
    send_all(&queue, (0..15).map(|n| record(n, caller))).await;
    queue.push_raw("{not json");
    queue.push_raw(r#"{"request_id": "req_x", "status": "teapot"}"#);
    send_all(&queue, (15..30).map(|n| record(n, caller))).await;

    let summary = drain(&queue, &db.request_log_table, BUDGET).await;

    assert_eq!(counts(&summary), (32, 30, 0, 2), "{summary:?}");
    assert_eq!(db.scan_request_log().await.len(), 30);
    assert_eq!((queue.len(), queue.in_flight()), (2, 2), "the malformed messages are received, not deleted");
    // Each later run receives them again (and counts them), until the queue's
    // maxReceiveCount (5) moves them to the dead letters.
    for _ in 0..5 {
        queue.redeliver_unacked();
        drain(&queue, &db.request_log_table, BUDGET).await;
    }
    assert!(queue.is_empty());
    assert_eq!(queue.dead_letters(), ["{not json", r#"{"request_id": "req_x", "status": "teapot"}"#]);
    assert_eq!(db.scan_request_log().await.len(), 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_row_contains_a_key_even_when_a_record_carries_one_in_free_text() {
    let db = TestDatabase::embedded().await;
    let queue = InProcessQueue::new();
    let key = "stl_sandbox_0123456789abcdef0123456789abcdef";
    let mut leaky = record(1, partner());
    leaky.user_agent = Some(format!("scripted {key}"));
    let mut leaky_route = record(2, None);
    leaky_route.route = format!("/api/keys/{key}");
    send_all(&queue, [record(0, partner()), leaky, leaky_route]).await;

    let summary = drain(&queue, &db.request_log_table, BUDGET).await;

    assert_eq!(counts(&summary), (3, 3, 0, 0));
    let rows = db.scan_request_log().await;
    assert_eq!(rows.len(), 3);
    for row in rows {
        assert!(!format!("{row:?}").contains("stl_"), "a row holds a key: {row:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_cannot_write_deletes_nothing_and_says_why() {
    let db = TestDatabase::unreachable().await;
    let queue = InProcessQueue::new();
    send_all(&queue, (0..12).map(|n| record(n, partner()))).await;

    let summary = drain(&queue, &db.request_log_table, BUDGET).await;

    assert_eq!((summary.received, summary.written), (12, 0));
    assert!(summary.failure.as_deref().is_some_and(|failure| failure.contains("BatchWriteItem")), "{summary:?}");
    assert_eq!(summary.calls.delete, 0);
    assert_eq!(queue.in_flight(), 12, "every message comes back for the next run");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_in_hand_are_written_and_deleted_when_a_receive_fails() {
    let db = TestDatabase::embedded().await;
    let queue = InProcessQueue::new();
    send_all(&queue, (0..20).map(|n| record(n, partner()))).await;
    let flaky = FailsAfter { queue: queue.clone(), receives_left: AtomicUsize::new(1) };

    let summary = drain(&flaky, &db.request_log_table, BUDGET).await;

    assert_eq!((summary.received, summary.written), (10, 10));
    assert!(summary.failure.is_some());
    assert_eq!(db.scan_request_log().await.len(), 10);
    assert_eq!((queue.len(), queue.in_flight()), (10, 0), "the ten written are deleted, the rest wait");
}

#[tokio::test]
async fn a_run_without_time_receives_nothing() {
    let db = TestDatabase::embedded().await;
    let queue = InProcessQueue::new();
    send_all(&queue, [record(0, partner())]).await;

    let summary = drain(&queue, &db.request_log_table, Duration::ZERO).await;

    assert_eq!((summary.received, summary.calls.receive), (0, 0));
    assert_eq!(queue.in_flight(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_aws_emulator_every_record_sent_to_sqs_becomes_one_row() {
    const LOGS: usize = 300;
    // The app's queue is bootstrapped from template.yaml: its visibility timeout and
    // redrive policy are the deployed ones.
    let app = TestApp::aws_emulator(usage::routes()).await;
    let (db, queue) = (&app.db, app.sqs_queue().expect("an SQS queue on the emulator"));
    let caller = partner();
    send_all(&queue, (0..LOGS).map(|n| record(n, caller))).await;
    // A copy of some, as if SQS delivered them twice.
    send_all(&queue, (0..20).map(|n| record(n, caller))).await;
    queue_raw(&queue, "{not json").await;

    let summary = drain(&queue, &db.request_log_table, BUDGET).await;

    report_calls("moto SQS + DynamoDB", &summary);
    assert_eq!(summary.failure, None);
    assert_eq!((summary.written, summary.duplicates, summary.malformed), (LOGS, 20, 1), "{summary:?}");
    assert_eq!(summary.remaining, Some(0), "only the malformed message is left, invisible until it comes back");
    assert_eq!(db.scan_request_log().await.len(), LOGS);
    // Writes and deletes are batched from what was received, whatever sizes SQS returns.
    assert_eq!(summary.calls.batch_write, LOGS.div_ceil(25));
    assert_eq!(summary.calls.delete, (LOGS + 20).div_ceil(10));
    assert!(summary.calls.receive <= (LOGS + 21) / 10 * 3, "a receive brings several messages: {summary:?}");
}

async fn queue_raw(queue: &SqsQueue, body: &str) {
    let sqs = steller::aws::sqs(&steller::aws::for_endpoint(&aws_emulator_endpoint()).await);
    sqs.send_message().queue_url(queue.queue_url()).message_body(body).send().await.expect("sent");
}

/// A queue whose deletes succeed but delete nothing: SQS when the delete's answer is
/// lost, or the function times out before it deletes.
#[derive(Debug)]
struct LostDeletes(InProcessQueue);

#[async_trait::async_trait]
impl RequestLogSource for LostDeletes {
    async fn receive(&self, max: usize) -> Result<Vec<QueuedMessage>, RequestLogError> {
        self.0.receive(max).await
    }

    async fn delete(&self, _receipts: &[String]) -> Result<(), RequestLogError> {
        Ok(())
    }
}

/// A queue that answers `receives_left` receives, then fails.
#[derive(Debug)]
struct FailsAfter {
    queue: InProcessQueue,
    receives_left: AtomicUsize,
}

#[async_trait::async_trait]
impl RequestLogSource for FailsAfter {
    async fn receive(&self, max: usize) -> Result<Vec<QueuedMessage>, RequestLogError> {
        if self.receives_left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_err() {
            return Err(RequestLogError::new("receive", "the queue is unreachable"));
        }
        self.queue.receive(max).await
    }

    async fn delete(&self, receipts: &[String]) -> Result<(), RequestLogError> {
        self.queue.delete(receipts).await
    }
}
