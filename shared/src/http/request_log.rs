//! The request-log layer: one `RequestLogRecord` per request goes to the
//! `RequestLogSink` after the response (`crate::after_response`). It records the route template, never the path, and no
//! key, body or query string; a failed send is logged and never changes the response.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;

use super::AppState;
use super::edge::{RequestId, as_problem};
use crate::after_response::after_response;
use crate::domain::{Principal, Timestamp};
use crate::request_log::RequestLogRecord;
use crate::telemetry::{chain, current_request_id};

/// The route of a request no route matched (the 404 fallback), so that probes of random
/// paths add one route to the usage, not one per path.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// The most characters of `User-Agent` kept: enough to tell clients apart, and a bound on
/// what a client can make every record carry.
pub const USER_AGENT_LIMIT: usize = 256;

pub async fn log_request(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let timestamp = Timestamp::now();
    // The edge put the id there; outside a router (never, in practice) the task-local is
    // the only other source of the same id.
    let request_id = request.extensions().get::<RequestId>().map_or_else(current_request_id, |id| id.0.clone());
    let method = request.method().to_string();
    let route = request.extensions().get::<MatchedPath>().map_or(UNMATCHED_ROUTE, MatchedPath::as_str).to_owned();
    let user_agent = request
        .headers()
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .map(|agent| agent.chars().take(USER_AGENT_LIMIT).collect::<String>());

    let response = next.run(request).await;

    let (partner_id, mode) = match response.extensions().get::<Principal>() {
        Some(Principal::Partner { partner_id, mode, .. }) => (Some(*partner_id), Some(*mode)),
        Some(Principal::Ops { .. }) | None => (None, None),
    };
    // The edge rewrites an error some layer answered in another shape; doing it here
    // first (it is idempotent) makes the logged status the one the client gets.
    let response = as_problem(response);
    let record = RequestLogRecord {
        request_id,
        timestamp,
        partner_id,
        mode,
        method,
        route,
        status: response.status().as_u16(),
        latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        user_agent,
    };
    // After the response (`after_response`): on Lambda the runtime posts the answer, then
    // sends this before it takes the next invocation; the sink bounds how long it takes.
    let sink = state.request_log.clone();
    after_response(async move {
        if let Err(error) = sink.send(&record).await {
            tracing::warn!(
                request_id = %record.request_id,
                error = %chain(&error),
                "request log record not sent; the response is unchanged"
            );
        }
    })
    .await;
    response
}

// These need a DynamoDB for the auth layer's key lookup: the in-process dynoxide that
// `test-support` brings (`cargo test --workspace --all-features`, as `make test` runs).
#[cfg(all(test, feature = "test-support"))]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use axum::body::Body;
    use axum::extract::Path;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use serde_json::{Value, json};
    use utoipa_axum::router::OpenApiRouter;

    use super::*;
    use crate::http::{ApiError, PartnerCaller};
    use crate::testing::{FailingRequestLog, TestApp, TestResponse};

    const USER_AGENT: &str = "acme-backend/2.1 (+https://acme.example)";

    async fn order(caller: PartnerCaller, Path(id): Path<String>) -> Result<axum::Json<Value>, ApiError> {
        match id.as_str() {
            "ord_missing" => Err(ApiError::NotFound),
            _ => Ok(axum::Json(json!({"id": id, "partner": caller.partner_id.to_string()}))),
        }
    }

    async fn slow() -> &'static str {
        tokio::time::sleep(Duration::from_millis(30)).await;
        "done"
    }

    /// A tiny API: a partner route with a path parameter, a slow public one, and one
    /// answering an error in a shape the edge must rewrite.
    fn routes() -> OpenApiRouter<AppState> {
        OpenApiRouter::new()
            .route("/api/orders/{id}", get(order))
            .route("/api/public/slow", get(slow))
            .route("/api/public/teapot", get(|| async { (StatusCode::IM_A_TEAPOT, "short and stout") }))
    }

    async fn app() -> TestApp {
        TestApp::embedded(routes()).await
    }

    async fn get_with(app: &TestApp, path: &str, key: Option<&str>) -> TestResponse {
        let mut request = Request::get(path).header(header::USER_AGENT, USER_AGENT);
        if let Some(key) = key {
            request = request.header(header::AUTHORIZATION, format!("Bearer {key}"));
        }
        app.send(request.body(Body::empty()).expect("a valid request")).await
    }

    /// The records on the app's queue, which must be one per request so far.
    fn records(app: &TestApp) -> Vec<RequestLogRecord> {
        let queue = app.request_log_queue().expect("an in-process queue on dynoxide");
        queue.bodies().iter().map(|body| serde_json::from_str(body).expect("each message is a record")).collect()
    }

    fn only(records: Vec<RequestLogRecord>) -> RequestLogRecord {
        let [record] = <[RequestLogRecord; 1]>::try_from(records).expect("exactly one record");
        record
    }

    fn header_request_id(response: &TestResponse) -> &str {
        response.headers.get("x-request-id").and_then(|v| v.to_str().ok()).expect("an X-Request-Id")
    }

    #[tokio::test]
    async fn an_authenticated_request_is_logged_once_with_the_route_template_and_its_partner() {
        let app = app().await;
        let partner = app.new_partner().await;

        let response = get_with(&app, "/api/orders/ord_42?secret=s3cr3t", Some(&partner.key)).await;

        assert_eq!(response.status, StatusCode::OK, "{}", response.body);
        let record = only(records(&app));
        assert_eq!(record.request_id, header_request_id(&response));
        assert_eq!((record.method.as_str(), record.route.as_str()), ("GET", "/api/orders/{id}"));
        assert_eq!(record.status, 200);
        assert_eq!(record.partner_id.map(|id| id.to_string()), Some(partner.id.clone()));
        assert_eq!(record.mode.map(|mode| mode.as_str()), Some("sandbox"));
        assert_eq!(record.user_agent.as_deref(), Some(USER_AGENT));
        let age = time::OffsetDateTime::now_utc() - record.timestamp.datetime();
        assert!(age.whole_seconds() < 60, "stamped when it arrived: {}", record.timestamp);
        let body = &app.request_log_queue().expect("in-process").bodies()[0];
        for secret in [partner.key.as_str(), "ord_42", "s3cr3t", "secret", "Bearer"] {
            assert!(!body.contains(secret), "the record holds {secret:?}: {body}");
        }
    }

    #[tokio::test]
    async fn a_request_without_a_key_is_logged_as_401_without_a_partner() {
        let app = app().await;

        let response = get_with(&app, "/api/orders/ord_42", None).await;

        response.assert_problem(401, "unauthorized");
        let record = only(records(&app));
        assert_eq!((record.route.as_str(), record.status), ("/api/orders/{id}", 401));
        assert_eq!((record.partner_id, record.mode), (None, None));
        assert_eq!(record.request_id, header_request_id(&response));
    }

    #[tokio::test]
    async fn an_error_answered_by_the_handler_is_logged_with_its_status() {
        let app = app().await;
        let partner = app.new_partner().await;

        let response = get_with(&app, "/api/orders/ord_missing", Some(&partner.key)).await;

        response.assert_problem(404, "not_found");
        let record = only(records(&app));
        assert_eq!((record.route.as_str(), record.status), ("/api/orders/{id}", 404));
        assert!(record.partner_id.is_some(), "the caller was authenticated before the 404");
    }

    #[tokio::test]
    async fn an_unknown_path_is_logged_as_the_unmatched_route() {
        let app = app().await;
        let partner = app.new_partner().await;

        let found_nothing = get_with(&app, "/api/nothing/here/ord_42", Some(&partner.key)).await;
        let no_key = get_with(&app, "/api/nothing/else", None).await;

        found_nothing.assert_problem(404, "not_found");
        no_key.assert_problem(404, "not_found");
        let logged: Vec<(String, u16)> = records(&app).into_iter().map(|r| (r.route, r.status)).collect();
        assert_eq!(logged, [(UNMATCHED_ROUTE.to_owned(), 404), (UNMATCHED_ROUTE.to_owned(), 404)]);
    }

    #[tokio::test]
    async fn a_wrong_method_is_logged_on_its_route_as_405() {
        let app = app().await;
        let partner = app.new_partner().await;

        let response = app.post("/api/orders/ord_42", Some(&partner.key), json!({})).await;

        response.assert_problem(405, "method_not_allowed");
        let record = only(records(&app));
        assert_eq!((record.method.as_str(), record.route.as_str(), record.status), ("POST", "/api/orders/{id}", 405));
    }

    #[tokio::test]
    async fn a_public_request_is_logged_without_a_partner_and_with_its_latency() {
        let app = app().await;

        let response = get_with(&app, "/api/public/slow", None).await;

        assert_eq!(response.status, StatusCode::OK);
        let record = only(records(&app));
        assert_eq!((record.route.as_str(), record.partner_id, record.mode), ("/api/public/slow", None, None));
        assert!(record.latency_ms >= 30, "the handler slept 30 ms: {}", record.latency_ms);
    }

    #[tokio::test]
    async fn an_error_the_edge_rewrites_is_logged_with_the_status_the_client_gets() {
        let app = app().await;

        let response = get_with(&app, "/api/public/teapot", None).await;

        response.assert_problem(500, "internal");
        assert_eq!(only(records(&app)).status, 500);
    }

    #[tokio::test]
    async fn a_long_user_agent_is_cut_and_a_missing_one_is_absent() {
        let app = app().await;
        let long = "x".repeat(USER_AGENT_LIMIT * 4);

        app.send(Request::get("/api/public/slow").header(header::USER_AGENT, &long).body(Body::empty()).expect("ok"))
            .await;
        app.send(Request::get("/api/public/slow").body(Body::empty()).expect("a valid request")).await;

        let agents: Vec<Option<usize>> = records(&app).iter().map(|r| r.user_agent.as_ref().map(String::len)).collect();
        assert_eq!(agents, [Some(USER_AGENT_LIMIT), None]);
    }

    #[tokio::test]
    async fn every_request_is_sent_exactly_once() {
        let app = app().await;
        let partner = app.new_partner().await;
        let paths = ["/api/orders/ord_1", "/api/orders/ord_missing", "/api/public/slow", "/api/unknown"];

        let mut ids = Vec::new();
        for path in paths {
            ids.push(header_request_id(&get_with(&app, path, Some(&partner.key)).await).to_owned());
        }

        let logged: Vec<String> = records(&app).into_iter().map(|r| r.request_id).collect();
        assert_eq!(logged, ids, "one record per request, in order");
    }

    #[tokio::test]
    async fn a_failing_sink_is_called_once_and_leaves_the_response_unchanged() {
        let logged = app().await;
        let partner = logged.new_partner().await;
        let failing = FailingRequestLog::new();
        let app = logged.with_request_log(Arc::new(failing.clone()));

        let ok = get_with(&app, "/api/orders/ord_7", Some(&partner.key)).await;
        let refused = get_with(&app, "/api/orders/ord_7", None).await;

        assert_eq!(ok.status, StatusCode::OK);
        assert_eq!(ok.body, json!({"id": "ord_7", "partner": partner.id}));
        refused.assert_problem(401, "unauthorized");
        assert_eq!(failing.calls(), 2, "one send per request, failed or not");
        assert!(app.request_log_queue().expect("in-process").is_empty(), "nothing reached the queue");
    }
}
