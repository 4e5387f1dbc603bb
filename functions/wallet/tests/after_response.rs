//! The request-log record leaves after the response: under the Runtime API emulator, the
//! wallet binary posts its answer first, then sends the record (to a stand-in SQS that
//! takes 300 ms to answer), and asks for the next invocation only once the send is over.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::Value;
use steller::testing::TestDatabase;
use steller::testing::lambda::{LambdaProcess, RuntimeCall, http_event, sandbox_key};
use steller::testing::slow_queue::SlowQueue;

const SEND_TAKES: Duration = Duration::from_millis(300);

/// The wallet binary on `db`, its request-log queue at `queue`.
async fn wallet(db: &TestDatabase, queue: &SlowQueue) -> LambdaProcess {
    let config = db.config();
    let resources = HashMap::from([
        ("DomainTable", config.table.clone()),
        ("RequestLogTable", config.request_log_table.unwrap_or_default()),
        ("RequestLogQueue", queue.queue_url()),
    ]);
    let sqs = vec![("AWS_ENDPOINT_URL_SQS".to_owned(), queue.endpoint.clone())];
    LambdaProcess::deployed_with(env!("CARGO_BIN_EXE_wallet"), &db.endpoint, &resources, sqs).await
}

/// Waits until the function has asked for `count` invocations in all.
async fn wait_for_next_polls(lambda: &LambdaProcess, count: usize) -> Vec<(Instant, RuntimeCall)> {
    let started = Instant::now();
    loop {
        let calls = lambda.runtime_calls();
        if calls.iter().filter(|(_, call)| *call == RuntimeCall::Next).count() >= count {
            return calls;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the function never asked again: {calls:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_record_is_sent_after_the_response_and_before_the_next_invocation() {
    let db = TestDatabase::embedded().await;
    let key = sandbox_key(&db).await;
    let queue = SlowQueue::start(SEND_TAKES, false).await;
    let lambda = wallet(&db, &queue).await;

    let mut answers = Vec::new();
    for _ in 0..2 {
        let answer = lambda.invoke(http_event("GET", "/api/wallet", "$default", Some(&key), None, false)).await;
        let answer = answer.response();
        assert_eq!(answer["statusCode"], 200, "{answer}");
        answers.push(answer);
    }
    // Init's poll, one after each of the two invocations.
    let calls = wait_for_next_polls(&lambda, 3).await;
    let sends = queue.sends();
    assert_eq!(sends.len(), 2, "one record per request: {sends:?}");

    let posted: Vec<Instant> =
        calls.iter().filter(|(_, call)| matches!(call, RuntimeCall::Response(_))).map(|(at, _)| *at).collect();
    assert_eq!(posted.len(), 2, "{calls:?}");
    for (n, ((send, posted), answer)) in sends.iter().zip(&posted).zip(&answers).enumerate() {
        // The emulator hands the caller the response as it is posted, so a send that starts
        // after the post never held the caller up. (Comparing the caller's own clock with
        // the send's end would measure how late a loaded machine woke the test.)
        assert!(send.arrived > *posted, "invocation {n}: the send started before the response was posted");
        let next = calls
            .iter()
            .find(|(at, call)| *call == RuntimeCall::Next && at > posted)
            .map(|(at, _)| *at)
            .expect("a poll after the response");
        assert!(send.answered <= next, "invocation {n}: the next invocation was taken before the send was over");

        let record: Value =
            serde_json::from_str(send.body["MessageBody"].as_str().expect("a message body")).expect("a JSON record");
        assert_eq!(record["route"], "/api/wallet", "{record}");
        assert_eq!(record["status"], 200, "{record}");
        assert_eq!(record["request_id"], answer["headers"]["x-request-id"], "the record is this request's");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_send_changes_no_answer_and_the_function_goes_on() {
    let db = TestDatabase::embedded().await;
    let key = sandbox_key(&db).await;
    let queue = SlowQueue::start(Duration::ZERO, true).await;
    let mut lambda = wallet(&db, &queue).await;

    for _ in 0..2 {
        let answer = lambda.invoke(http_event("GET", "/api/wallet", "$default", Some(&key), None, false)).await;
        let answer = answer.response();
        assert_eq!(answer["statusCode"], 200, "{answer}");
        assert_eq!(
            serde_json::from_str::<Value>(answer["body"].as_str().expect("a body")).expect("JSON")["mode"],
            "sandbox"
        );
    }
    wait_for_next_polls(&lambda, 3).await;
    assert!(!queue.sends().is_empty(), "the sends were tried");
    assert!(lambda.is_running(), "a failed send does not stop the function");
}

/// The work after the response never runs an invocation past its deadline: with 600 ms
/// given and a record send that would take 2 s (its own limit; the queue takes 5 s), the
/// function asks for the next invocation long before the send could have ended.
#[tokio::test(flavor = "multi_thread")]
async fn the_work_after_the_response_stops_at_the_invocations_deadline() {
    let db = TestDatabase::embedded().await;
    let key = sandbox_key(&db).await;
    let queue = SlowQueue::start(Duration::from_secs(5), false).await;
    let lambda = wallet(&db, &queue).await;
    lambda.set_timeout(Duration::from_millis(600));

    lambda.invoke(http_event("GET", "/api/wallet", "$default", Some(&key), None, false)).await;
    let calls = wait_for_next_polls(&lambda, 2).await;

    let delivered = calls.iter().find(|(_, call)| matches!(call, RuntimeCall::Delivered(_))).expect("delivered").0;
    let next = calls.iter().rfind(|(_, call)| *call == RuntimeCall::Next).expect("a poll").0;
    let waited = next.duration_since(delivered);
    assert!(waited < Duration::from_millis(1500), "the next poll came {waited:?} after the event, past its deadline");
    assert_eq!(queue.arrivals().len(), 1, "the record's send was under way when it was stopped");
    assert!(queue.sends().is_empty(), "and never answered");
}
