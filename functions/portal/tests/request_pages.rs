//! The dashboard's Requests pages, in process: a signed-in partner's logged requests of
//! the mode, newest first, filtered by status and route, paged, and one request found by
//! the `X-Request-Id` pasted into the find box; rows written to the request-log table as
//! the analytics drain writes them.

mod support;

use axum::http::StatusCode;
use steller::AppState;
use steller::domain::{Mode, Money, PartnerId, SessionId, SessionOwner, Timestamp};
use steller::request_log::{LogRow, LoggedRequestId, RequestLogRecord};
use steller::testing::{TestApp, sign_up, unique_email};
use support::Visitor;
use utoipa_axum::router::OpenApiRouter;

async fn app() -> TestApp {
    TestApp::embedded(OpenApiRouter::new()).await
}

/// A partner's owner, signed in: a browser holding the session's cookie.
struct Owner {
    partner: PartnerId,
    session: SessionId,
    browser: Visitor,
}

async fn signed_in(app: &TestApp) -> Owner {
    let signup = sign_up(&app.state.store, "Requests Ltd", &unique_email("requests"), Money::dollars(10)).await;
    let session = SessionId::generate();
    let owner = SessionOwner::Partner(signup.partner.id);
    app.state.store.open_session(&session, owner, Timestamp::now()).await.expect("the session opens");
    let mut browser = Visitor::new(app);
    browser.set("steller_session", session.expose());
    Owner { partner: signup.partner.id, session, browser }
}

/// A row of `who`'s request `n` in `mode`, made `n` seconds after 10:00.
fn row(n: u16, who: &Owner, mode: Mode, route: &str, status: u16) -> LogRow {
    let timestamp = Timestamp::parse(&format!("2026-11-22T10:{:02}:{:02}.000Z", n / 60, n % 60)).expect("a time");
    LogRow::from_record(RequestLogRecord {
        request_id: LoggedRequestId::made_at(timestamp, u128::from(n)).to_string(),
        timestamp,
        partner_id: Some(who.partner),
        mode: Some(mode),
        method: "GET".into(),
        route: route.into(),
        status,
        latency_ms: u64::from(n) + 3,
        user_agent: None,
    })
    .expect("a valid row")
}

async fn record(app: &TestApp, rows: &[LogRow]) {
    for batch in rows.chunks(steller::request_log::RECORD_BATCH) {
        app.db.request_log_table.record(batch).await.expect("the rows are recorded");
    }
}

/// Where `needle` starts in `html`.
fn at(html: &str, needle: &str) -> usize {
    html.find(needle).unwrap_or_else(|| panic!("{needle:?} is not on the page:\n{html}"))
}

/// The table row of a request on the list: its cells, in order.
fn listed(row: &LogRow) -> String {
    let record = row.record();
    format!(
        r#"<tr><td><time datetime="{at}">{at}</time></td><td>GET</td><td><code>{route}</code></td><td class="num">{status}</td><td class="num">{latency}</td><td><a href="/dashboard/sandbox/requests/{id}"><code>{id}</code></a></td></tr>"#,
        at = record.timestamp,
        route = record.route,
        status = record.status,
        latency = record.latency_ms,
        id = record.request_id,
    )
}

#[tokio::test]
async fn the_requests_page_lists_the_modes_requests_newest_first_and_nobody_elses() {
    let app = app().await;
    let mut alice = signed_in(&app).await;
    let bob = signed_in(&app).await;
    let rows = [
        row(1, &alice, Mode::Sandbox, "/api/wallet", 200),
        row(2, &alice, Mode::Sandbox, "/api/orders/{id}", 404),
        row(3, &alice, Mode::Live, "/api/live-only", 200),
        row(4, &bob, Mode::Sandbox, "/api/bobs-only", 200),
    ];
    record(&app, &rows).await;

    let page = alice.browser.get("/dashboard/sandbox/requests").await;

    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let html = &page.html;
    assert!(at(html, &listed(&rows[1])) < at(html, &listed(&rows[0])), "newest first");
    assert!(!html.contains("/api/live-only") && !html.contains("/api/bobs-only"), "only this partner's mode");
    for header in ["Time (UTC)", "Method", "Route", "Status", "Latency (ms)", "Request id"] {
        assert!(html.contains(&format!(r#"scope="col">{header}</th>"#)), "{header}");
    }
    let here = r#"<a href="/dashboard/sandbox/requests" aria-current="page">Requests</a>"#;
    assert!(html.contains(here), "in the navigation, marked as the page the reader is on");
    for field in ["request_id", "status", "route"] {
        assert!(html.contains(&format!(r#"<label for="{field}">"#)), "a labelled {field} field");
    }
    assert!(!html.contains(r#"rel="next""#), "one page");
}

#[tokio::test]
async fn the_filters_show_only_matching_requests_and_the_next_page_keeps_them() {
    let app = app().await;
    let mut alice = signed_in(&app).await;
    // 25 not-founds on one route, between successes on another.
    let rows: Vec<LogRow> = (0..50)
        .map(|n| match n % 2 {
            0 => row(n, &alice, Mode::Sandbox, "/api/orders/{id}", 404),
            _ => row(n, &alice, Mode::Sandbox, "/api/wallet", 200),
        })
        .collect();
    record(&app, &rows).await;

    let first = alice.browser.get("/dashboard/sandbox/requests?status=4xx&route=%2Fapi%2Forders%2F%7Bid%7D").await;

    assert_eq!(first.status, StatusCode::OK, "{}", first.html);
    assert_eq!(first.html.matches(r#"<td><code>/api/orders/{id}</code></td>"#).count(), 20, "a page of 20");
    assert!(!first.html.contains("/api/wallet"));
    assert!(
        first.html.contains(r#"value="4xx""#) && first.html.contains(r#"value="/api/orders/{id}""#),
        "kept in the form"
    );
    let next = first.html.split(r#"<p class="pager"><a href=""#).nth(1).and_then(|rest| rest.split('"').next());
    let next = next.expect("a next page link").replace("&amp;", "&");
    assert!(
        next.starts_with("/dashboard/sandbox/requests?status=4xx&route=%2Fapi%2Forders%2F%7Bid%7D&cursor="),
        "{next}"
    );
    let second = alice.browser.get(&next).await;
    assert_eq!(second.html.matches(r#"<td><code>/api/orders/{id}</code></td>"#).count(), 5, "{}", second.html);
    assert!(!second.html.contains("/api/wallet") && !second.html.contains(r#"rel="next""#));
    assert!(second.html.contains(&listed(&rows[0])), "the oldest on the last page");
    let successes = alice.browser.get("/dashboard/sandbox/requests?status=200&route=").await;
    assert_eq!(successes.html.matches(r#"<td><code>/api/wallet</code></td>"#).count(), 20);
    assert!(!successes.html.contains("/api/orders/{id}</code>"));
}

#[tokio::test]
async fn a_bad_filter_is_the_form_again_with_the_error_next_to_its_field() {
    let app = app().await;
    let mut alice = signed_in(&app).await;

    let page = alice.browser.get("/dashboard/sandbox/requests?status=6xx&route=orders").await;

    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", page.html);
    for field in ["status", "route"] {
        let error = format!(r#"<p class="error" id="{field}-error">"#);
        assert!(at(&page.html, &format!(r#"id="{field}""#)) < at(&page.html, &error), "{field}");
    }
    assert!(
        page.html.contains(r#"<div class="summary" role="alert" tabindex="-1" autofocus>"#),
        "the summary says what to fix, and takes the focus: {}",
        page.html
    );
}

#[tokio::test]
async fn a_pasted_request_id_lands_on_that_requests_page() {
    let app = app().await;
    let mut alice = signed_in(&app).await;
    let rows = [row(7, &alice, Mode::Sandbox, "/api/orders/{id}", 404)];
    record(&app, &rows).await;
    let id = rows[0].request_id().to_owned();

    let csrf = alice.session.csrf_token();
    let found =
        alice.browser.post("/dashboard/sandbox/requests", &[("csrf", &csrf), ("request_id", &format!(" {id} "))]).await;

    assert_eq!(found.status, StatusCode::SEE_OTHER, "{}", found.html);
    let location = found.location().expect("a redirect").to_owned();
    assert_eq!(location, format!("/dashboard/sandbox/requests/{id}"));
    let page = alice.browser.get(&location).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    for fact in [
        format!("<dt>Request id</dt><dd><code>{id}</code></dd>"),
        r#"<dt>Time (UTC)</dt><dd><time datetime="2026-11-22T10:00:07.000Z">2026-11-22T10:00:07.000Z</time></dd>"#
            .into(),
        "<dt>Method</dt><dd>GET</dd>".into(),
        "<dt>Route</dt><dd><code>/api/orders/{id}</code></dd>".into(),
        "<dt>Status</dt><dd>404</dd>".into(),
        "<dt>Latency</dt><dd>10 ms</dd>".into(),
    ] {
        assert!(page.html.contains(&fact), "{fact}\n{}", page.html);
    }
}

#[tokio::test]
async fn an_unknown_malformed_or_other_partners_id_is_a_friendly_not_found_page() {
    let app = app().await;
    let mut alice = signed_in(&app).await;
    let bob = signed_in(&app).await;
    let rows = [row(1, &bob, Mode::Sandbox, "/api/wallet", 200), row(2, &alice, Mode::Live, "/api/wallet", 200)];
    record(&app, &rows).await;
    let unknown = LoggedRequestId::made_at(Timestamp::now(), 42).to_string();
    let csrf = alice.session.csrf_token();

    let pages = [
        alice.browser.get(&format!("/dashboard/sandbox/requests/{unknown}")).await,
        alice.browser.get(&format!("/dashboard/sandbox/requests/{}", rows[0].request_id())).await,
        alice.browser.get(&format!("/dashboard/sandbox/requests/{}", rows[1].request_id())).await,
        alice.browser.post("/dashboard/sandbox/requests", &[("csrf", &csrf), ("request_id", "ord_123<script>")]).await,
    ];

    for page in &pages {
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{}", page.html);
        assert!(page.html.contains("<h1>Request not found</h1>"), "{}", page.html);
        assert!(page.html.contains(r#"<label for="request_id">"#), "the find box again");
        assert!(page.html.contains("Sign out"), "still the signed-in dashboard");
        assert!(!page.html.contains("<script>"), "the pasted text is escaped");
    }
    let other_mode = format!(r#"href="/dashboard/live/requests/{}""#, rows[1].request_id());
    assert!(pages[2].html.contains(&other_mode), "links the id in the other mode: {}", pages[2].html);
    let live = alice.browser.get(&format!("/dashboard/live/requests/{}", rows[1].request_id())).await;
    assert_eq!(live.status, StatusCode::OK, "the same id in its own mode: {}", live.html);
}

#[tokio::test]
async fn a_key_or_secret_pasted_into_the_find_box_is_never_shown_back_or_put_in_an_address() {
    let app = app().await;
    let mut alice = signed_in(&app).await;
    let csrf = alice.session.csrf_token();
    let list = alice.browser.get("/dashboard/sandbox/requests").await;
    assert!(list.html.contains(r#"<form class="find" method="post""#), "the box posts: {}", list.html);
    assert!(list.html.contains(&format!(r#"name="csrf" value="{csrf}""#)), "with the session's token");
    let key = "stl_live_0123456789abcdefghijABCDEFGHIJ0123456789";

    for pasted in
        [key.to_owned(), format!("Authorization: Bearer {key}"), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into()]
    {
        let page = alice.browser.post("/dashboard/sandbox/requests", &[("csrf", &csrf), ("request_id", &pasted)]).await;

        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{pasted}: {}", page.html);
        assert!(page.html.contains("not a request id"), "{}", page.html);
        assert!(!page.html.contains("0123456789abcdefghij") && !page.html.contains("MfKQ9r8G"), "{}", page.html);
        assert!(page.html.contains(r#"aria-invalid="true""#), "the field is marked: {}", page.html);
    }
    let through_the_path = alice.browser.get(&format!("/dashboard/sandbox/requests/{key}")).await;
    assert_eq!(through_the_path.status, StatusCode::NOT_FOUND);
    assert!(!through_the_path.html.contains("0123456789abcdefghij"), "{}", through_the_path.html);

    let empty = alice.browser.post("/dashboard/sandbox/requests", &[("csrf", &csrf), ("request_id", "  ")]).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", empty.html);
    assert!(empty.html.contains("Paste a request id"), "{}", empty.html);
    let forged =
        alice.browser.post("/dashboard/sandbox/requests", &[("csrf", "forged"), ("request_id", "req_x")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.html);
}

#[tokio::test]
async fn requests_without_a_request_log_table_are_a_503_page_that_says_so() {
    let app = app().await;
    let alice = signed_in(&app).await;
    let state = AppState { request_log_table: None, ..app.state.clone() };
    let app = app.with_state(state);
    let mut browser = Visitor::new(&app);
    browser.set("steller_session", alice.session.expose());

    let page = browser.get("/dashboard/sandbox/requests").await;

    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE, "{}", page.html);
    assert!(page.html.contains("Request logs are not configured here"), "{}", page.html);
}

#[tokio::test]
async fn a_pasted_header_line_is_read_for_its_request_id() {
    let app = app().await;
    let mut alice = signed_in(&app).await;
    let rows = [row(7, &alice, Mode::Sandbox, "/api/orders/{id}", 404)];
    record(&app, &rows).await;
    let id = rows[0].request_id().to_owned();

    let csrf = alice.session.csrf_token();
    for pasted in [format!("X-Request-Id: {id}"), format!(" x-request-id:{id} "), format!("X-REQUEST-ID:  {id}")] {
        let found =
            alice.browser.post("/dashboard/sandbox/requests", &[("csrf", &csrf), ("request_id", &pasted)]).await;

        assert_eq!(found.status, StatusCode::SEE_OTHER, "{pasted}: {}", found.html);
        assert_eq!(found.location(), Some(format!("/dashboard/sandbox/requests/{id}").as_str()), "{pasted}");
    }
}
