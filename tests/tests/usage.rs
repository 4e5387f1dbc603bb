//! Usage through the whole pipeline on both engines: records drained from a queue into the
//! request-log table, read back by `GET /api/usage` for the caller's partner and mode only.
//! End to end, requests go through the routers' request-log layer to the in-process
//! queue (dynoxide) or to SQS (the AWS emulator), and the processor drains them.

use std::time::Duration;

use serde_json::{Value, json};
use steller::domain::{Mode, PartnerId};
use steller::request_log::{
    InProcessQueue, QueuedMessage, RequestLogError, RequestLogRecord, RequestLogSink, RequestLogSource, drain,
    drain_with,
};
use steller::testing::{TestApp, TestPartner};

mod support;

on_both_engines!(
    usage_counts_exactly_the_callers_requests_in_the_callers_mode,
    requests_reach_usage_through_the_layer_the_queue_and_the_processor,
    usage_stays_exact_when_messages_come_twice_and_a_run_stops_halfway,
);

const BUDGET: Duration = Duration::from_secs(60);

struct Logged<'a> {
    caller: Option<(&'a TestPartner, Mode)>,
    at: &'a str,
    method: &'a str,
    route: &'a str,
    status: u16,
    latency_ms: u64,
}

fn record(n: usize, logged: &Logged<'_>) -> RequestLogRecord {
    let caller = logged.caller.map(|(partner, mode)| (PartnerId::parse(&partner.id).expect("a partner id"), mode));
    RequestLogRecord {
        request_id: format!("req_{n:04}"),
        timestamp: logged.at.parse().expect("a time"),
        partner_id: caller.map(|(id, _)| id),
        mode: caller.map(|(_, mode)| mode),
        method: logged.method.into(),
        route: logged.route.into(),
        status: logged.status,
        latency_ms: logged.latency_ms,
        user_agent: None,
    }
}

async fn usage_counts_exactly_the_callers_requests_in_the_callers_mode(app: TestApp) {
    let alice = app.new_partner().await;
    let alice_live = support::live_key(&app, &alice.key).await;
    let bob = app.new_partner().await;
    let sandbox = |partner| Some((partner, Mode::Sandbox));
    let get = |caller, at, route, status, latency_ms| Logged { caller, at, method: "GET", route, status, latency_ms };
    let log = [
        // Alice's sandbox requests: the ones her usage must show.
        get(sandbox(&alice), "2026-11-22T00:00:00.000Z", "/api/wallet", 200, 40),
        get(sandbox(&alice), "2026-11-22T08:00:00.000Z", "/api/wallet", 200, 10),
        get(sandbox(&alice), "2026-11-22T09:00:00.000Z", "/api/wallet", 200, 30),
        get(sandbox(&alice), "2026-11-22T10:00:00.000Z", "/api/wallet", 200, 20),
        Logged { method: "POST", ..get(sandbox(&alice), "2026-11-22T11:00:00.000Z", "/api/orders", 201, 100) },
        Logged { method: "POST", ..get(sandbox(&alice), "2026-11-22T12:00:00.000Z", "/api/orders", 402, 50) },
        get(sandbox(&alice), "2026-11-24T12:00:00.000Z", "/api/wallet", 503, 5),
        get(sandbox(&alice), "2026-11-24T23:59:59.999Z", "/api/orders/{id}", 404, 7),
        // Alice's, but outside the range by a millisecond.
        get(sandbox(&alice), "2026-11-21T23:59:59.999Z", "/api/wallet", 200, 1),
        get(sandbox(&alice), "2026-11-25T00:00:00.000Z", "/api/wallet", 200, 1),
        // Alice's live key, Bob, and no one: never in Alice's sandbox usage.
        get(Some((&alice, Mode::Live)), "2026-11-22T10:00:00.000Z", "/api/wallet", 200, 900),
        get(sandbox(&bob), "2026-11-22T10:00:00.000Z", "/api/wallet", 500, 900),
        get(sandbox(&bob), "2026-11-23T10:00:00.000Z", "/api/keys", 200, 900),
        get(None, "2026-11-23T10:00:00.000Z", "/api/wallet", 401, 900),
    ];
    let queue = InProcessQueue::new();
    for (n, logged) in log.iter().enumerate() {
        queue.send(&record(n, logged)).await.expect("queued");
    }
    let drained = drain(&queue, &app.db.request_log_table, BUDGET).await;
    assert_eq!(drained.written, log.len(), "{drained:?}");

    let usage = app.get("/api/usage?from=2026-11-22&to=2026-11-24", &alice.key).await;

    assert_eq!(usage.status, 200, "{}", usage.body);
    assert_eq!(
        usage.body,
        json!({
            "from": "2026-11-22",
            "to": "2026-11-24",
            "total_requests": 8,
            "by_day": [
                {"date": "2026-11-22", "requests": 6, "errors": 1},
                {"date": "2026-11-23", "requests": 0, "errors": 0},
                {"date": "2026-11-24", "requests": 2, "errors": 2},
            ],
            "by_route": [
                // Latencies 5, 10, 20, 30, 40: nearest rank 3 of 5 (20 ms, a bucket's upper
                // bound) and 5 of 5 (40 ms, in the bucket (30, 50], reported as 50).
                {"method": "GET", "route": "/api/wallet", "requests": 5, "errors": 1, "p50_ms": 20, "p95_ms": 50},
                {"method": "POST", "route": "/api/orders", "requests": 2, "errors": 1, "p50_ms": 50, "p95_ms": 100},
                {"method": "GET", "route": "/api/orders/{id}", "requests": 1, "errors": 1, "p50_ms": 7, "p95_ms": 7},
            ],
        })
    );
    let live = app.get("/api/usage?from=2026-11-22&to=2026-11-24", &alice_live).await;
    assert_eq!(
        (live.body["total_requests"].as_u64(), live.body["by_route"][0]["p50_ms"].as_u64()),
        (Some(1), Some(1000)),
        "900 ms is in the bucket (700, 1000]"
    );
    let other = app.get("/api/usage?from=2026-11-22&to=2026-11-24", &bob.key).await;
    assert_eq!(other.body["total_requests"], 2);
    assert_eq!(other.body["by_day"][0]["errors"], 1);
}

async fn usage_stays_exact_when_messages_come_twice_and_a_run_stops_halfway(app: TestApp) {
    let partner = app.new_partner().await;
    let queue = InProcessQueue::new();
    let at = |n: usize| if n < 20 { "2026-11-22T10:00:00.000Z" } else { "2026-11-23T10:00:00.000Z" };
    let logged = |n: usize| {
        let status = if n.is_multiple_of(5) { 500 } else { 200 };
        record(
            n,
            &Logged {
                caller: Some((&partner, Mode::Sandbox)),
                at: at(n),
                method: "GET",
                route: "/api/wallet",
                status,
                latency_ms: 12,
            },
        )
    };
    for n in 0..35 {
        queue.send(&logged(n)).await.expect("queued");
    }
    // A copy of a few, as if SQS delivered them twice.
    for n in [0, 1, 2] {
        queue.send(&logged(n)).await.expect("queued");
    }
    // The first run records its first batch, then loses the deletes: it stops there.
    let first = drain_with(&DeletesFail(queue.clone()), &app.db.request_log_table, BUDGET, 1).await;
    assert!(first.failure.is_some() && first.written == 10, "{first:?}");
    queue.redeliver_unacked();

    let second = drain(&queue, &app.db.request_log_table, BUDGET).await;
    // A last copy, after everything was recorded and deleted.
    queue.send(&logged(34)).await.expect("queued");
    let third = drain(&queue, &app.db.request_log_table, BUDGET).await;

    assert_eq!((second.failure, second.written, second.duplicates), (None, 25, 13));
    assert_eq!((third.written, third.duplicates), (0, 1));
    let usage = app.get("/api/usage?from=2026-11-22&to=2026-11-23", &partner.key).await;
    assert_eq!(usage.status, 200, "{}", usage.body);
    assert_eq!(usage.body["total_requests"], 35, "{}", usage.body);
    assert_eq!(
        usage.body["by_day"],
        json!([{"date": "2026-11-22", "requests": 20, "errors": 4}, {"date": "2026-11-23", "requests": 15, "errors": 3}])
    );
    assert_eq!(
        usage.body["by_route"],
        json!([{"method": "GET", "route": "/api/wallet", "requests": 35, "errors": 7, "p50_ms": 15, "p95_ms": 15}])
    );
    assert!(queue.is_empty());
}

/// A queue whose deletes all fail: a run that stops after its first batch is recorded.
#[derive(Debug)]
struct DeletesFail(InProcessQueue);

#[async_trait::async_trait]
impl RequestLogSource for DeletesFail {
    async fn receive(&self, max: usize) -> Result<Vec<QueuedMessage>, RequestLogError> {
        self.0.receive(max).await
    }

    async fn delete(&self, _receipts: &[String]) -> Result<(), RequestLogError> {
        Err(RequestLogError::new("delete", "the queue is unreachable"))
    }
}

/// The app logs to its own queue: in process on dynoxide, SQS on the AWS emulator.
async fn requests_reach_usage_through_the_layer_the_queue_and_the_processor(app: TestApp) {
    let partner = app.new_partner().await;
    let other = app.new_partner().await;
    let from = today();

    for _ in 0..3 {
        assert_eq!(app.get("/api/wallet", &partner.key).await.status, 200);
    }
    assert_eq!(app.get("/api/orders/ord_01JD2X8Q9V4K7M3N5P6R8S0T2W", &partner.key).await.status, 404);
    assert_eq!(app.get("/api/no/such/route?secret=stl_x", &partner.key).await.status, 404);
    assert_eq!(app.get("/api/wallet", &other.key).await.status, 200);
    assert_eq!(app.call(http::Method::GET, "/api/wallet", None, None).await.status, 401);
    let to = today();

    let drained = drain(app.log_queue(), &app.db.request_log_table, BUDGET).await;

    assert_eq!((drained.received, drained.written, drained.malformed), (7, 7, 0), "{drained:?}");
    let usage = app.get(&format!("/api/usage?from={from}&to={to}"), &partner.key).await;
    assert_eq!(usage.status, 200, "{}", usage.body);
    assert_eq!(usage.body["total_requests"], 5, "{}", usage.body);
    let routes: Vec<(String, u64, u64)> = usage.body["by_route"]
        .as_array()
        .expect("by_route")
        .iter()
        .map(|r| {
            (format!("{} {}", text(&r["method"]), text(&r["route"])), number(&r["requests"]), number(&r["errors"]))
        })
        .collect();
    assert_eq!(
        routes,
        [
            ("GET /api/wallet".to_owned(), 3, 0),
            ("GET /api/orders/{id}".to_owned(), 1, 1),
            (format!("GET {}", steller::http::UNMATCHED_ROUTE), 1, 1),
        ]
    );
    let rows = app.db.scan_request_log().await;
    assert_eq!(rows.len(), 7, "one row per request, the 401 included");
    for row in &rows {
        let row = format!("{row:?}");
        assert!(!row.contains("stl_") && !row.contains(&partner.key), "a row holds a key: {row}");
    }
}

fn today() -> String {
    steller::domain::Timestamp::now().date()
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}

fn number(value: &Value) -> u64 {
    value.as_u64().unwrap_or_default()
}
