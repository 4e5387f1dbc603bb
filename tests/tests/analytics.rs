//! The analytics processor over real ports: records on a queue, `drain`, rows in the
//! request-log table. On dynoxide with the in-process queue; on the AWS emulator with
//! SQS (fewer records there: moto answers one request at a time for the whole suite).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use steller::domain::{Mode, PartnerId};
use steller::request_log::{
    DRAIN_WORKERS, DrainCalls, DrainSummary, InProcessQueue, QueuedMessage, RequestLogError, RequestLogRecord,
    RequestLogSink, RequestLogSource, SqsQueue, drain, drain_with,
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

/// The requests and errors the table's roll-ups count, over every partner, day and route.
async fn rolled_up(db: &TestDatabase) -> (u64, u64) {
    let count = |item: &HashMap<String, AttributeValue>, name: &str| -> u64 {
        item.get(name).and_then(|value| value.as_n().ok()).and_then(|n| n.parse().ok()).unwrap_or_default()
    };
    let route_days = db.scan_route_days().await;
    (
        route_days.iter().map(|item| count(item, "requests")).sum(),
        route_days.iter().map(|item| count(item, "errors")).sum(),
    )
}

fn report_calls(engine: &str, summary: &DrainSummary) {
    let per_thousand = |calls: usize| calls * 1000 / summary.written.max(1);
    let DrainCalls { receive, transact_write, delete, remaining } = summary.calls;
    println!(
        "{engine}: AWS calls per 1,000 drained logs: {} ReceiveMessage, {} TransactWriteItems, {} DeleteMessageBatch, \
         {} GetQueueAttributes; {} in all ({} logs drained)",
        per_thousand(receive),
        per_thousand(transact_write),
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
    assert_eq!(rolled_up(&db).await, (1000, 100), "every request counted once; every tenth is a 404");
    assert_eq!(db.scan_route_days().await.len(), 3, "one roll-up per day and route");
    assert!(queue.is_empty(), "every message is deleted once its row is written");
    assert_eq!(summary.remaining, Some(0));
    // 100 full receives and the empty one that ends the run (the in-process queue answers
    // at once, so no other worker is mid-receive then); one transaction and one delete
    // per received batch; one look at what remains.
    assert_eq!(summary.calls, DrainCalls { receive: 101, transact_write: 100, delete: 100, remaining: 1 });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivering_the_same_messages_twice_adds_no_rows_and_counts_nothing_twice() {
    let db = TestDatabase::embedded().await;
    let queue = InProcessQueue::new();
    let caller = partner();
    send_all(&queue, (0..30).map(|n| record(n, caller))).await;
    // The first run records every row but its deletes are lost, so SQS shows the
    // messages again after the visibility timeout.
    let first = drain(&LostDeletes(queue.clone()), &db.request_log_table, BUDGET).await;
    assert_eq!(counts(&first), (30, 30, 0, 0));
    let rows_before = db.scan_request_log().await;
    let route_days_before = db.scan_route_days().await;
    assert_eq!(rolled_up(&db).await, (30, 3));
    queue.redeliver_unacked();
    // And the producer sent a copy of each, which arrives in the same run.
    send_all(&queue, (0..30).map(|n| record(n, caller))).await;

    let second = drain(&queue, &db.request_log_table, BUDGET).await;

    assert_eq!(counts(&second), (60, 0, 60, 0), "every request id was recorded before: {second:?}");
    assert_eq!(canonical(&db.scan_request_log().await), canonical(&rows_before), "no row is added or changed");
    assert_eq!(canonical(&db.scan_route_days().await), canonical(&route_days_before), "no count is added");
    assert!(queue.is_empty(), "the copies are deleted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_in_the_same_receive_as_new_messages_is_dropped_and_the_new_ones_are_recorded() {
    let db = TestDatabase::embedded().await;
    let queue = InProcessQueue::new();
    let caller = partner();
    send_all(&queue, (0..4).map(|n| record(n, caller))).await;
    drain(&queue, &db.request_log_table, BUDGET).await;
    // One batch: two already recorded (refused by their rows' condition), two new, and a
    // new one twice.
    send_all(&queue, [0, 5, 1, 6, 6].map(|n| record(n, caller))).await;

    let summary = drain_with(&queue, &db.request_log_table, BUDGET, 1).await;

    assert_eq!(counts(&summary), (5, 2, 3, 0), "{summary:?}");
    assert_eq!(summary.calls.transact_write, 2, "refused once for the two old rows, then the rest committed");
    assert_eq!(rolled_up(&db).await, (6, 1), "requests 0, 1, 2, 3, 5 and 6, of which 0 is a 404");
    assert_eq!(db.scan_request_log().await.len(), 6);
    assert!(queue.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_stops_halfway_and_the_run_after_it_count_every_request_exactly_once() {
    let db = TestDatabase::embedded().await;
    let queue = InProcessQueue::new();
    let caller = partner();
    send_all(&queue, (0..50).map(|n| record(n, caller))).await;
    // Two batches are recorded and deleted, a third recorded but its delete fails: the
    // run stops there, with the rest of what its workers received not recorded.
    let failing = DeletesFailAfter { queue: queue.clone(), deletes_left: AtomicUsize::new(2) };
    let first = drain_with(&failing, &db.request_log_table, BUDGET, 2).await;
    assert!(first.failure.is_some(), "{first:?}");
    assert!(first.written < 50 && first.written >= 30, "{first:?}");
    queue.redeliver_unacked();

    let second = drain(&queue, &db.request_log_table, BUDGET).await;

    assert_eq!(second.failure, None);
    assert_eq!(first.written + second.written, 50, "{first:?} {second:?}");
    assert_eq!(second.duplicates, first.written - 20, "the recorded but undeleted batches come back as duplicates");
    assert_eq!(rolled_up(&db).await, (50, 5));
    assert_eq!(db.scan_request_log().await.len(), 50);
    assert!(queue.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_a_full_receive_shows_a_backlog_the_workers_of_a_run_receive_at_the_same_time() {
    let db = TestDatabase::embedded().await;
    let queue = InProcessQueue::new();
    send_all(&queue, (0..100).map(|n| record(n, partner()))).await;
    let slow = SlowReceives::waiting_for(&queue, 4);

    let summary = drain_with(&slow, &db.request_log_table, BUDGET, 4).await;

    assert_eq!(counts(&summary), (100, 100, 0, 0), "{summary:?}");
    assert_eq!(slow.most(), 4, "four receives were waiting at once");
    assert!((11..=14).contains(&summary.calls.receive), "ten full receives, then at least one empty: {summary:?}");
    assert!(queue.is_empty());

    send_all(&queue, (100..200).map(|n| record(n, partner()))).await;
    let slow = SlowReceives::waiting_for(&queue, DRAIN_WORKERS);
    drain(&slow, &db.request_log_table, BUDGET).await;
    assert_eq!(slow.most(), DRAIN_WORKERS, "drain runs DRAIN_WORKERS at once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_over_a_queue_without_a_backlog_receives_with_one_worker_only() {
    let db = TestDatabase::embedded().await;
    let queue = InProcessQueue::new();
    send_all(&queue, (0..7).map(|n| record(n, partner()))).await;
    let slow = SlowReceives::new(&queue);

    let summary = drain(&slow, &db.request_log_table, BUDGET).await;

    assert_eq!(counts(&summary), (7, 7, 0, 0), "{summary:?}");
    assert_eq!(slow.most(), 1, "no receive came back full, so no other worker started");
    assert_eq!(summary.calls, DrainCalls { receive: 2, transact_write: 1, delete: 1, remaining: 1 });
    let empty = drain(&slow, &db.request_log_table, BUDGET).await;
    assert_eq!(empty.calls.receive, 1, "an empty queue costs one receive, not one per worker");
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
    for row in rows.into_iter().chain(db.scan_route_days().await) {
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
    assert_eq!(summary.calls.transact_write, 2, "one failed transaction per received batch");
    assert!(summary.failure.as_deref().is_some_and(|failure| failure.contains("TransactWriteItems")), "{summary:?}");
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
    assert_eq!(rolled_up(&db).await.0, 10);
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
    assert_eq!(rolled_up(db).await, (LOGS as u64, LOGS as u64 / 10), "the copies are not counted again");
    // One transaction (and one more per batch holding a copy already recorded) and one
    // delete per received batch, whatever sizes SQS returns.
    assert!(
        summary.calls.delete < summary.calls.receive && summary.calls.transact_write < summary.calls.receive + 20,
        "{summary:?}"
    );
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

/// A queue whose first `deletes_left` deletes work, and the rest fail.
#[derive(Debug)]
struct DeletesFailAfter {
    queue: InProcessQueue,
    deletes_left: AtomicUsize,
}

#[async_trait::async_trait]
impl RequestLogSource for DeletesFailAfter {
    async fn receive(&self, max: usize) -> Result<Vec<QueuedMessage>, RequestLogError> {
        self.queue.receive(max).await
    }

    async fn delete(&self, receipts: &[String]) -> Result<(), RequestLogError> {
        if self.deletes_left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_err() {
            return Err(RequestLogError::new("delete", "the queue is unreachable"));
        }
        self.queue.delete(receipts).await
    }
}

/// A queue whose receives take a while, counting the most that were waiting at once.
/// Each receive waits 20 ms, then until `together` receives are waiting (at most 500 ms
/// more): a worker busy writing its batch on a loaded machine still meets the others'
/// receives, so the count says how many the drain runs at once, not how fast it wrote.
#[derive(Debug)]
struct SlowReceives {
    queue: InProcessQueue,
    together: usize,
    in_flight: AtomicUsize,
    most: AtomicUsize,
}

impl SlowReceives {
    fn new(queue: &InProcessQueue) -> Self {
        Self::waiting_for(queue, 1)
    }

    fn waiting_for(queue: &InProcessQueue, together: usize) -> Self {
        SlowReceives { queue: queue.clone(), together, in_flight: AtomicUsize::new(0), most: AtomicUsize::new(0) }
    }

    fn most(&self) -> usize {
        self.most.load(Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl RequestLogSource for SlowReceives {
    async fn receive(&self, max: usize) -> Result<Vec<QueuedMessage>, RequestLogError> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(20)).await;
        let until = std::time::Instant::now() + Duration::from_millis(500);
        while self.in_flight.load(Ordering::SeqCst) < self.together && std::time::Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        self.queue.receive(max).await
    }

    async fn delete(&self, receipts: &[String]) -> Result<(), RequestLogError> {
        self.queue.delete(receipts).await
    }
}
