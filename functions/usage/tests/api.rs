//! The usage function through its router, over an in-process dynoxide: who may call it,
//! and the date ranges it refuses.

use steller::AppState;
use steller::testing::TestApp;

async fn app() -> TestApp {
    TestApp::embedded(usage::routes()).await
}

#[tokio::test]
async fn a_partner_with_no_requests_logged_gets_zeros_for_every_day() {
    let app = app().await;
    let partner = app.new_partner().await;

    let response = app.get("/api/usage?from=2026-11-01&to=2026-11-03", &partner.key).await;

    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.body["from"], "2026-11-01");
    assert_eq!(response.body["to"], "2026-11-03");
    assert_eq!(response.body["total_requests"], 0);
    let days: Vec<&str> =
        response.body["by_day"].as_array().expect("by_day").iter().filter_map(|d| d["date"].as_str()).collect();
    assert_eq!(days, ["2026-11-01", "2026-11-02", "2026-11-03"]);
    assert_eq!(response.body["by_route"], serde_json::json!([]));
}

#[tokio::test]
async fn missing_malformed_reversed_and_too_long_ranges_are_422_naming_the_field() {
    let app = app().await;
    let partner = app.new_partner().await;
    let cases: [(&str, &[&str]); 9] = [
        ("/api/usage", &["from", "to"]),
        ("/api/usage?from=2026-11-01", &["to"]),
        ("/api/usage?to=2026-11-01", &["from"]),
        ("/api/usage?from=2026-11-31&to=2026-12-01", &["from"]),
        ("/api/usage?from=2026-11-01&to=01/12/2026", &["to"]),
        ("/api/usage?from=yesterday&to=today", &["from", "to"]),
        ("/api/usage?from=2026-11-02&to=2026-11-01", &["to"]),
        ("/api/usage?from=2026-07-01&to=2026-10-01", &["to"]),
        ("/api/usage?from=2026-01-01&to=2026-12-31", &["to"]),
    ];
    for (path, fields) in cases {
        let response = app.get(path, &partner.key).await;
        response.assert_problem(422, "validation_failed");
        assert_eq!(response.error_fields(), fields, "{path}: {}", response.body);
    }
}

#[tokio::test]
async fn a_range_of_exactly_92_days_is_accepted() {
    let app = app().await;
    let partner = app.new_partner().await;

    let response = app.get("/api/usage?from=2026-07-01&to=2026-09-30", &partner.key).await;

    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.body["by_day"].as_array().map(Vec::len), Some(92));
}

#[tokio::test]
async fn usage_needs_a_partner_key() {
    let app = app().await;
    let ops = steller::domain::ApiKey::generate(steller::domain::KeyRole::Ops);
    app.state.store.register_ops_key(&ops, "test ops").await.expect("registered");

    let anonymous = app.call(http::Method::GET, "/api/usage?from=2026-11-01&to=2026-11-01", None, None).await;
    let as_ops = app.get("/api/usage?from=2026-11-01&to=2026-11-01", ops.expose()).await;

    anonymous.assert_problem(401, "unauthorized");
    as_ops.assert_problem(403, "forbidden");
}

#[tokio::test]
async fn without_a_request_log_table_usage_is_unavailable() {
    let app = app().await;
    let partner = app.new_partner().await;
    let config = steller::Config { request_log_table: None, ..(*app.state.config).clone() };
    let state = AppState::new(app.state.store.clone(), config, app.state.email.clone());
    let app = app.with_state(state);

    let response = app.get("/api/usage?from=2026-11-01&to=2026-11-01", &partner.key).await;

    response.assert_problem(503, "unavailable");
}

#[tokio::test]
async fn request_logs_need_a_partner_key_and_a_request_log_table() {
    let app = app().await;
    let partner = app.new_partner().await;
    let ops = steller::domain::ApiKey::generate(steller::domain::KeyRole::Ops);
    app.state.store.register_ops_key(&ops, "test ops").await.expect("registered");
    let paths = ["/api/requests", "/api/requests/req_01JD2X8Q9V4K7M3N5P6R8S0T2W"];

    for path in paths {
        app.call(http::Method::GET, path, None, None).await.assert_problem(401, "unauthorized");
        app.get(path, ops.expose()).await.assert_problem(403, "forbidden");
    }
    let config = steller::Config { request_log_table: None, ..(*app.state.config).clone() };
    let state = AppState::new(app.state.store.clone(), config, app.state.email.clone());
    let app = app.with_state(state);
    for path in paths {
        app.get(path, &partner.key).await.assert_problem(503, "unavailable");
    }
}
