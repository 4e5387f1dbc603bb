//! The request log's producing side on both engines: every request through the real
//! routers puts exactly one record on the app's queue (in process on dynoxide, SQS on
//! the AWS emulator), and no record carries a key, a query string or a body.

use std::sync::Arc;

use axum::body::Body;
use http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};
use steller::request_log::RequestLogRecord;
use steller::testing::{FailingRequestLog, TestApp, TestResponse};

mod support;

on_both_engines!(every_request_is_logged_once_without_its_key_query_or_body, a_failed_log_send_changes_no_response,);

const COMPANY: &str = "Quill & Ledger Cartography";
const QUERY_MARKER: &str = "limit=3";

async fn call(app: &TestApp, method: Method, uri: &str, bearer: Option<&str>, api_key: Option<&str>) -> TestResponse {
    let mut request = Request::builder().method(method).uri(uri).header(header::USER_AGENT, "steller-tests/1");
    if let Some(key) = bearer {
        request = request.header(header::AUTHORIZATION, format!("Bearer {key}"));
    }
    if let Some(key) = api_key {
        request = request.header("x-api-key", key);
    }
    app.send(request.body(Body::empty()).expect("a valid request")).await
}

fn request_id(response: &TestResponse) -> String {
    response.headers.get("x-request-id").and_then(|v| v.to_str().ok()).expect("an X-Request-Id").to_owned()
}

async fn every_request_is_logged_once_without_its_key_query_or_body(app: TestApp) {
    let email = format!("log-{}@quill.example", steller::testing::unique_prefix());
    let signup = app.post("/api/public/signup", None, json!({"company_name": COMPANY, "email": email})).await;
    assert_eq!(signup.status, StatusCode::CREATED, "{}", signup.body);
    let key = signup.body["api_key"].as_str().expect("a key").to_owned();
    let partner_id = signup.body["partner"]["id"].as_str().expect("a partner id").to_owned();

    let calls = [
        call(&app, Method::GET, "/api/wallet", Some(&key), None).await,
        call(&app, Method::GET, &format!("/api/wallet/transactions?{QUERY_MARKER}"), Some(&key), None).await,
        call(&app, Method::GET, "/api/orders/ord_01J000000000000000000000?expand=all", Some(&key), None).await,
        call(&app, Method::GET, &format!("/api/keys?{QUERY_MARKER}"), None, Some(&key)).await,
        call(&app, Method::GET, "/api/no/such/route", Some(&key), None).await,
        call(&app, Method::GET, "/api/wallet", Some("stl_sandbox_not0a0real0key0000000000000000"), None).await,
    ];
    let statuses: Vec<u16> = calls.iter().map(|response| response.status.as_u16()).collect();
    assert_eq!(statuses, [200, 200, 404, 200, 404, 401]);

    let bodies = app.take_request_log().await;

    let mut records: Vec<RequestLogRecord> =
        bodies.iter().map(|body| serde_json::from_str(body).expect("every message is a record")).collect();
    records.sort_by(|a, b| a.request_id.cmp(&b.request_id));
    let mut expected_ids: Vec<String> = std::iter::once(&signup).chain(&calls).map(request_id).collect();
    expected_ids.sort();
    let logged_ids: Vec<&str> = records.iter().map(|record| record.request_id.as_str()).collect();
    assert_eq!(logged_ids, expected_ids, "exactly one message per request");

    let route_of = |response: &TestResponse| {
        let id = request_id(response);
        let record = records.iter().find(|record| record.request_id == id).expect("logged");
        (record.method.as_str(), record.route.clone(), record.status, record.partner_id.map(|id| id.to_string()))
    };
    let partner = Some(partner_id);
    assert_eq!(route_of(&signup), ("POST", "/api/public/signup".into(), 201, None));
    assert_eq!(route_of(&calls[1]), ("GET", "/api/wallet/transactions".into(), 200, partner.clone()));
    assert_eq!(route_of(&calls[2]), ("GET", "/api/orders/{id}".into(), 404, partner.clone()));
    assert_eq!(route_of(&calls[3]), ("GET", "/api/keys".into(), 200, partner.clone()));
    assert_eq!(route_of(&calls[4]), ("GET", "unmatched".into(), 404, partner));
    assert_eq!(route_of(&calls[5]), ("GET", "/api/wallet".into(), 401, None));

    for body in &bodies {
        for secret in [key.as_str(), "stl_", "Bearer", "bearer", QUERY_MARKER, "expand", "?", COMPANY, "Quill", &email]
        {
            assert!(!body.contains(secret), "a logged message holds {secret:?}: {body}");
        }
        let fields: Vec<String> = serde_json::from_str::<Value>(body)
            .expect("JSON")
            .as_object()
            .expect("an object")
            .keys()
            .cloned()
            .collect();
        let allowed =
            ["request_id", "timestamp", "partner_id", "mode", "method", "route", "status", "latency_ms", "user_agent"];
        assert!(fields.iter().all(|field| allowed.contains(&field.as_str())), "unexpected fields: {fields:?}");
    }
}

async fn a_failed_log_send_changes_no_response(app: TestApp) {
    let partner = app.new_partner().await;
    let failing = FailingRequestLog::new();
    let logged_before = app.get("/api/wallet", &partner.key).await;
    let app = app.with_request_log(Arc::new(failing.clone()));

    let wallet = app.get("/api/wallet", &partner.key).await;
    let refused = app.get("/api/wallet", "stl_sandbox_not0a0real0key0000000000000000").await;

    assert_eq!((wallet.status, &wallet.body), (logged_before.status, &logged_before.body));
    refused.assert_problem(401, "unauthorized");
    assert_eq!(failing.calls(), 2, "each request tried its one send");
    assert_eq!(app.take_request_log().await.len(), 1, "only the request before the outage reached the queue");
}

fn record(n: usize) -> RequestLogRecord {
    RequestLogRecord {
        request_id: format!("req_{n:026}"),
        timestamp: "2026-11-23T10:00:00.000Z".parse().expect("a time"),
        partner_id: None,
        mode: None,
        method: "GET".into(),
        route: "/api/wallet".into(),
        status: 200,
        latency_ms: 4,
        user_agent: None,
    }
}

/// The SQS adapter against the emulator's SQS: batches of at most 10, deletes that stick,
/// and a batch delete whose entries fail is an error, not a silent success.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqs_queue_sends_receives_in_tens_and_reports_failed_deletes() {
    use steller::request_log::{RequestLogSink, RequestLogSource};
    let app = TestApp::aws_emulator(steller_local::routes()).await;
    let queue = app.sqs_queue().expect("an SQS queue on the emulator");
    for n in 0..12 {
        queue.send(&record(n)).await.expect("sent");
    }
    assert_eq!(queue.remaining().await.expect("counted"), Some(12));

    let first = queue.receive(10).await.expect("received");
    assert!(!first.is_empty() && first.len() <= 10, "{} messages", first.len());
    let receipts: Vec<String> = first.iter().map(|message| message.receipt.clone()).collect();
    queue.delete(&receipts).await.expect("deleted");
    let rest = steller::testing::drain_bodies(&queue).await;

    assert_eq!(first.len() + rest.len(), 12, "every message once, none after its delete");
    let bad = queue.delete(&["not-a-receipt-handle".to_owned()]).await;
    assert!(bad.is_err(), "a failed entry of a batch delete is an error");
    assert!(queue.receive(11).await.is_err() && queue.delete(&vec![String::new(); 11]).await.is_err());
}
