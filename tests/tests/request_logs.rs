//! A partner's request logs on both engines: rows drained from a queue into the
//! request-log table, read back one by one by `GET /api/requests` (newest first, filtered,
//! paged) and `GET /api/requests/{request_id}`, for the caller's partner and mode only.

use std::time::Duration;

use serde_json::{Value, json};
use steller::domain::{Mode, PartnerId, Timestamp};
use steller::request_log::{InProcessQueue, LoggedRequestId, MAX_EXAMINED, RequestLogRecord, RequestLogSink, drain};
use steller::testing::{TestApp, TestPartner};

mod support;

on_both_engines!(
    requests_are_listed_newest_first_with_exactly_their_logged_fields,
    filters_by_status_class_code_and_route_show_only_the_matching_requests,
    pages_follow_the_cursor_to_the_last_request_with_and_without_a_filter,
    one_request_is_found_by_its_id_only_by_its_partner_in_its_mode,
    bad_filters_are_422_naming_the_parameter_and_bad_cursors_400,
    a_request_made_through_the_api_is_found_by_the_x_request_id_it_answered,
);

const BUDGET: Duration = Duration::from_secs(60);

/// A request id the edge could have made at `at`.
fn request_id(at: Timestamp, n: u64) -> String {
    LoggedRequestId::made_at(at, u128::from(n)).to_string()
}

/// One logged request: who made it (`None`: no partner), when, and what it was.
struct Logged<'a> {
    caller: Option<(&'a TestPartner, Mode)>,
    at: &'a str,
    method: &'a str,
    route: &'a str,
    status: u16,
    latency_ms: u64,
}

fn record(n: u64, logged: &Logged<'_>) -> RequestLogRecord {
    let caller = logged.caller.map(|(partner, mode)| (PartnerId::parse(&partner.id).expect("a partner id"), mode));
    let timestamp: Timestamp = logged.at.parse().expect("a time");
    RequestLogRecord {
        request_id: request_id(timestamp, n),
        timestamp,
        partner_id: caller.map(|(id, _)| id),
        mode: caller.map(|(_, mode)| mode),
        method: logged.method.into(),
        route: logged.route.into(),
        status: logged.status,
        latency_ms: logged.latency_ms,
        user_agent: Some("acme-backend/2.1".into()),
    }
}

/// Writes `records` to the request-log table as the analytics drain does.
async fn log(app: &TestApp, records: &[RequestLogRecord]) {
    let queue = InProcessQueue::new();
    for record in records {
        queue.send(record).await.expect("queued");
    }
    let drained = drain(&queue, &app.db.request_log_table, BUDGET).await;
    assert_eq!((drained.written, drained.failure.is_none()), (records.len(), true), "{drained:?}");
}

/// The API's view of a record: exactly these fields.
fn view(record: &RequestLogRecord) -> Value {
    json!({
        "request_id": record.request_id,
        "timestamp": record.timestamp.to_string(),
        "method": record.method,
        "route": record.route,
        "status": record.status,
        "latency_ms": record.latency_ms,
    })
}

/// Alice's sandbox history (`alice[0]` oldest), plus a request of her live key, one of
/// Bob's and one without a key, all in the same seconds.
struct History {
    alice: TestPartner,
    alice_live_key: String,
    bob: TestPartner,
    alice_sandbox: Vec<RequestLogRecord>,
    alice_live: RequestLogRecord,
    bobs: RequestLogRecord,
}

async fn history(app: &TestApp) -> History {
    let alice = app.new_partner().await;
    let alice_live_key = support::live_key(app, &alice.key).await;
    let bob = app.new_partner().await;
    let sandbox = Some((&alice, Mode::Sandbox));
    let get = |at, route, status, latency_ms| Logged { caller: sandbox, at, method: "GET", route, status, latency_ms };
    let post = |at, route, status, latency_ms| Logged { method: "POST", ..get(at, route, status, latency_ms) };
    let alice_sandbox: Vec<RequestLogRecord> = [
        get("2026-11-22T10:00:00.000Z", "/api/wallet", 200, 12),
        post("2026-11-22T10:00:01.000Z", "/api/orders", 201, 80),
        post("2026-11-22T10:00:02.000Z", "/api/orders", 402, 30),
        get("2026-11-22T10:00:03.000Z", "/api/orders/{id}", 404, 7),
        get("2026-11-22T10:00:04.000Z", "/api/orders/{id}", 200, 9),
        get("2026-11-22T10:00:05.000Z", "/api/wallet", 503, 5),
        get("2026-11-22T10:00:06.000Z", "unmatched", 404, 1),
    ]
    .iter()
    .zip(0..)
    .map(|(logged, n)| record(n, logged))
    .collect();
    let alice_live = record(
        100,
        &Logged { caller: Some((&alice, Mode::Live)), ..get("2026-11-22T10:00:03.500Z", "/api/wallet", 200, 3) },
    );
    let bobs = record(
        101,
        &Logged { caller: Some((&bob, Mode::Sandbox)), ..get("2026-11-22T10:00:03.700Z", "/api/wallet", 200, 4) },
    );
    let nobodys = record(102, &Logged { caller: None, ..get("2026-11-22T10:00:04.500Z", "/api/wallet", 401, 1) });
    let mut all = alice_sandbox.clone();
    all.extend([alice_live.clone(), bobs.clone(), nobodys]);
    log(app, &all).await;
    History { alice, alice_live_key, bob, alice_sandbox, alice_live, bobs }
}

/// The views of `history.alice_sandbox[indexes]`, in that order.
fn views(history: &History, indexes: &[usize]) -> Value {
    Value::Array(indexes.iter().map(|&index| view(&history.alice_sandbox[index])).collect())
}

async fn requests_are_listed_newest_first_with_exactly_their_logged_fields(app: TestApp) {
    let history = history(&app).await;

    let list = app.get("/api/requests", &history.alice.key).await;

    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.body, json!({"items": views(&history, &[6, 5, 4, 3, 2, 1, 0]), "next_cursor": null}));
    let live = app.get("/api/requests", &history.alice_live_key).await;
    assert_eq!(live.body["items"], json!([view(&history.alice_live)]), "the live key sees its mode only");
    let bobs = app.get("/api/requests", &history.bob.key).await;
    assert_eq!(bobs.body["items"], json!([view(&history.bobs)]));
}

async fn filters_by_status_class_code_and_route_show_only_the_matching_requests(app: TestApp) {
    let history = history(&app).await;
    let cases: [(&str, &[usize]); 9] = [
        ("status=2xx", &[4, 1, 0]),
        ("status=4xx", &[6, 3, 2]),
        ("status=4XX", &[6, 3, 2]),
        ("status=404", &[6, 3]),
        ("status=5xx", &[5]),
        ("status=1xx", &[]),
        ("route=/api/orders/%7Bid%7D", &[4, 3]),
        ("route=/api/orders/{id}&status=404", &[3]),
        ("route=unmatched", &[6]),
    ];
    for (query, expected) in cases {
        let list = app.get(&format!("/api/requests?{query}"), &history.alice.key).await;

        assert_eq!(list.status, 200, "{query}: {}", list.body);
        assert_eq!(list.body["items"], views(&history, expected), "{query}");
        assert_eq!(list.body["next_cursor"], Value::Null, "{query}");
    }
}

async fn pages_follow_the_cursor_to_the_last_request_with_and_without_a_filter(app: TestApp) {
    let history = history(&app).await;
    let key = &history.alice.key;

    let first = app.get("/api/requests?limit=3", key).await;
    let cursor = first.body["next_cursor"].as_str().expect("a second page").to_owned();
    let second = app.get(&format!("/api/requests?limit=3&cursor={cursor}"), key).await;
    let cursor = second.body["next_cursor"].as_str().expect("a third page").to_owned();
    let third = app.get(&format!("/api/requests?limit=3&cursor={cursor}"), key).await;

    assert_eq!(first.body["items"], views(&history, &[6, 5, 4]));
    assert_eq!(second.body["items"], views(&history, &[3, 2, 1]));
    assert_eq!(third.body, json!({"items": views(&history, &[0]), "next_cursor": null}));
    let exact = app.get("/api/requests?limit=7", key).await;
    assert_eq!(exact.body["next_cursor"], Value::Null, "no cursor to an empty page: {}", exact.body);
    let errors = support::all_pages(&app, "/api/requests?status=4xx", key, 2).await;
    assert_eq!(Value::Array(errors), views(&history, &[6, 3, 2]));
    let orders = support::all_pages(&app, "/api/requests?route=/api/orders", key, 1).await;
    assert_eq!(Value::Array(orders), views(&history, &[2, 1]));
}

async fn one_request_is_found_by_its_id_only_by_its_partner_in_its_mode(app: TestApp) {
    let history = history(&app).await;
    let not_found = view(&history.alice_sandbox[3]);
    let id = not_found["request_id"].as_str().expect("an id");
    let path = format!("/api/requests/{id}");

    let own = app.get(&path, &history.alice.key).await;

    assert_eq!(own.status, 200, "{}", own.body);
    assert_eq!(own.body, not_found);
    app.get(&path, &history.bob.key).await.assert_problem(404, "not_found");
    app.get(&path, &history.alice_live_key).await.assert_problem(404, "not_found");
    let live = app.get(&format!("/api/requests/{}", history.alice_live.request_id), &history.alice_live_key).await;
    assert_eq!(live.body, view(&history.alice_live));
    app.get(&format!("/api/requests/{}", history.alice_live.request_id), &history.alice.key)
        .await
        .assert_problem(404, "not_found");
    app.get(&format!("/api/requests/{}", history.bobs.request_id), &history.alice.key)
        .await
        .assert_problem(404, "not_found");
    let unknown = request_id("2026-11-22T10:00:03.000Z".parse().expect("a time"), 999);
    for missing in [unknown.as_str(), "req_nope", "ord_01JD2X8Q9V4K7M3N5P6R8S0T2W", "%FF"] {
        app.get(&format!("/api/requests/{missing}"), &history.alice.key).await.assert_problem(404, "not_found");
    }
}

async fn bad_filters_are_422_naming_the_parameter_and_bad_cursors_400(app: TestApp) {
    let history = history(&app).await;
    let long_route = format!("/{}", "a".repeat(256));
    let cases: [(String, &[&str]); 10] = [
        ("status=6xx".into(), &["status"]),
        ("status=abc".into(), &["status"]),
        ("status=99".into(), &["status"]),
        ("status=".into(), &["status"]),
        ("route=".into(), &["route"]),
        ("route=api/orders".into(), &["route"]),
        (format!("route={long_route}"), &["route"]),
        ("status=600&route=/api/orders%20x".into(), &["status", "route"]),
        ("limit=0".into(), &["limit"]),
        ("limit=101&status=2xx".into(), &["limit"]),
    ];
    for (query, fields) in cases {
        let response = app.get(&format!("/api/requests?{query}"), &history.alice.key).await;
        response.assert_problem(422, "validation_failed");
        assert_eq!(response.error_fields(), fields, "{query}: {}", response.body);
    }
    app.get("/api/requests?cursor=not-a-cursor", &history.alice.key).await.assert_problem(400, "malformed_request");
    // A page of Alice's requests cannot continue in Bob's partition.
    let alices_page = app.get("/api/requests?limit=1", &history.alice.key).await;
    let cursor = alices_page.body["next_cursor"].as_str().expect("Alice has more");
    app.get(&format!("/api/requests?cursor={cursor}"), &history.bob.key).await.assert_problem(400, "malformed_request");
}

/// The app logs to its own queue (in process on dynoxide, SQS on the emulator), so these
/// rows carry the ids and times the edge and the request-log layer really gave them.
async fn a_request_made_through_the_api_is_found_by_the_x_request_id_it_answered(app: TestApp) {
    let partner = app.new_partner().await;
    let mut made = Vec::new();
    for (method, path, body, status) in [
        (http::Method::GET, "/api/wallet", None, 200),
        (http::Method::GET, "/api/orders/ord_01JD2X8Q9V4K7M3N5P6R8S0T2W", None, 404),
        (http::Method::POST, "/api/orders", Some(json!({})), 422),
    ] {
        let response = app.call(method, path, Some(&partner.key), body).await;
        assert_eq!(response.status, status, "{path}: {}", response.body);
        let id = response.headers.get("x-request-id").and_then(|v| v.to_str().ok()).expect("an X-Request-Id");
        made.push(id.to_owned());
        // Two requests of one millisecond would sort by their random ULID parts.
        tokio::time::sleep(Duration::from_millis(3)).await;
    }

    let drained = drain(app.log_queue(), &app.db.request_log_table, BUDGET).await;

    assert_eq!(drained.written, 3, "{drained:?}");
    let list = app.get("/api/requests", &partner.key).await;
    let listed: Vec<(&str, &str, &str, u64)> = list.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| {
            let text = |name: &str| item[name].as_str().unwrap_or_default();
            (text("request_id"), text("method"), text("route"), item["status"].as_u64().unwrap_or_default())
        })
        .collect();
    assert_eq!(
        listed,
        [
            (made[2].as_str(), "POST", "/api/orders", 422),
            (made[1].as_str(), "GET", "/api/orders/{id}", 404),
            (made[0].as_str(), "GET", "/api/wallet", 200),
        ]
    );
    for (id, item) in made.iter().rev().zip(list.body["items"].as_array().expect("items")) {
        let one = app.get(&format!("/api/requests/{id}"), &partner.key).await;
        assert_eq!(one.status, 200, "{id}: {}", one.body);
        assert_eq!(&one.body, item, "the same request, by id and in the list");
    }
}

/// On dynoxide only: the emulator serialises every call, and writing a thousand rows there
/// takes over a minute; the reads are the same `Query` calls the other scenarios make on both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filter_matching_few_of_many_requests_reads_a_bounded_page_and_goes_on() {
    let app = TestApp::embedded(steller_local::routes()).await;
    let partner = app.new_partner().await;
    let at = |millis: usize| format!("2026-11-22T10:00:{:02}.{:03}Z", millis / 1000, millis % 1000);
    // Two server errors, then more successes after them than one page examines.
    let count = MAX_EXAMINED + 2;
    let records: Vec<RequestLogRecord> = (0..count)
        .map(|n| {
            let at = at(n);
            let status = if n < 2 { 500 } else { 200 };
            let logged = Logged {
                caller: Some((&partner, Mode::Sandbox)),
                at: &at,
                method: "GET",
                route: "/api/wallet",
                status,
                latency_ms: 1,
            };
            record(u64::try_from(n).expect("small"), &logged)
        })
        .collect();
    log(&app, &records).await;

    let first = app.get("/api/requests?status=5xx&limit=10", &partner.key).await;

    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["items"], json!([]), "the newest {MAX_EXAMINED} requests are all 200");
    let cursor = first.body["next_cursor"].as_str().expect("a cursor past the rows examined");
    let second = app.get(&format!("/api/requests?status=5xx&limit=10&cursor={cursor}"), &partner.key).await;
    assert_eq!(second.body, json!({"items": [view(&records[1]), view(&records[0])], "next_cursor": null}));
    let unfiltered = app.get("/api/requests?limit=100", &partner.key).await;
    let items = unfiltered.body["items"].as_array().expect("items");
    assert_eq!((items.len(), &items[0]), (100, &view(&records[records.len() - 1])));
}
