//! The dashboard's orders, top-ups and usage pages, in process: the portal's router over
//! a fresh in-memory DynamoDB, a partner signed in by a session opened straight in the
//! store (its cookie kept by a `support::Visitor`, its CSRF token posted with each form),
//! and every page read back as HTML.

mod support;

use axum::http::StatusCode;
use steller::AppState;
use steller::domain::{
    ClientReference, Mode, Money, Order, PartnerId, PlaceOrder, Product, ProductId, Quantity, SessionId, SessionOwner,
    Timestamp,
};
use steller::request_log::{LogRow, RequestLogRecord};
use steller::testing::{TestApp, sign_up, unique_email};
use support::Visitor;
use utoipa_axum::router::OpenApiRouter;

async fn app() -> TestApp {
    TestApp::embedded(OpenApiRouter::new()).await
}

/// A partner's owner, signed in: a browser holding the session's cookie.
struct Owner {
    partner: PartnerId,
    email: String,
    session: SessionId,
    browser: Visitor,
    csrf: String,
}

impl Owner {
    /// Another browser with this owner's session, on `app` (another configuration, say).
    fn browser_on(&self, app: &TestApp) -> Visitor {
        let mut browser = Visitor::new(app);
        browser.set("steller_session", self.session.expose());
        browser
    }
}

/// A new partner with 1000.00 of sandbox money and an open session: signed in, but with
/// the email not yet verified (a sign-in by code would verify it).
async fn signed_in(app: &TestApp) -> Owner {
    let email = unique_email("pages");
    let signup = sign_up(&app.state.store, "Pages Ltd", &email, Money::dollars(1000)).await;
    let session = SessionId::generate();
    let owner = SessionOwner::Partner(signup.partner.id);
    app.state.store.open_session(&session, owner, Timestamp::now()).await.expect("the session opens");
    let mut browser = Visitor::new(app);
    browser.set("steller_session", session.expose());
    Owner { partner: signup.partner.id, email, csrf: session.csrf_token(), session, browser }
}

/// A partner signed in as a code does it: the email verified too.
async fn verified(app: &TestApp) -> Owner {
    let owner = signed_in(app).await;
    app.state.store.verify_email(&owner.partner, Timestamp::now()).await.expect("verified");
    owner
}

/// A product that is not (or no longer) in the catalog; orders keep its id.
fn off_catalog(name: &str, price: &str) -> Product {
    Product {
        id: ProductId::generate(),
        name: name.into(),
        description: "For the dashboard tests".into(),
        unit_price: Money::parse(price).expect("a price"),
        active: true,
    }
}

/// A product in the catalog.
async fn product(app: &TestApp, name: &str, price: &str) -> Product {
    let product = off_catalog(name, price);
    app.state.store.upsert_product(&product).await.expect("the product is stored");
    product
}

/// A sandbox order, paid as `POST /api/orders` pays it.
async fn order(app: &TestApp, owner: &Owner, product: &Product, quantity: i64, reference: Option<&str>) -> Order {
    let quantity = Quantity::try_from(quantity).expect("a quantity");
    let reference = reference.map(|text| ClientReference::parse(Some(text)).expect("a reference"));
    let command = PlaceOrder::new(owner.partner, Mode::Sandbox, product.clone(), quantity, reference)
        .expect("an order of an active product");
    app.state.store.place_order(&command, None).await.expect("the order is paid")
}

async fn balance(app: &TestApp, owner: &Owner, mode: Mode) -> String {
    app.state.store.wallet(&owner.partner, mode).await.expect("the wallet").balance.to_string()
}

async fn top_up_count(app: &TestApp, owner: &Owner, mode: Mode) -> usize {
    let page = steller::store::PageRequest::default();
    app.state.store.list_top_ups(&owner.partner, mode, &page).await.expect("listed").items.len()
}

/// Where `needle` first is in `html`, for asserting what comes before what.
#[track_caller]
fn at(html: &str, needle: &str) -> usize {
    html.find(needle).unwrap_or_else(|| panic!("{needle:?} is not on the page:\n{html}"))
}

// Tables.

#[tokio::test]
async fn each_scrolling_table_is_a_named_region_a_keyboard_can_focus() {
    let app = app().await;
    let mut alice = signed_in(&app).await;
    order(&app, &alice, &product(&app, "Widget", "4.99").await, 1, None).await;

    let wallet = alice.browser.get("/dashboard/sandbox").await;
    let orders = alice.browser.get("/dashboard/sandbox/orders").await;
    let keys = alice.browser.get("/dashboard/sandbox/keys").await;

    let ledger = r#"<div class="scroll" tabindex="0" role="region" aria-label="Balance changes, newest first"><table><caption class="visually-hidden">Balance changes, newest first</caption>"#;
    assert!(wallet.html.contains(ledger), "{}", wallet.html);
    let listed = r#"<div class="scroll" tabindex="0" role="region" aria-label="Your sandbox orders, newest first">"#;
    assert!(orders.html.contains(listed), "{}", orders.html);
    let named = r#"<div class="scroll" tabindex="0" role="region" aria-label="Your sandbox keys"><table><caption class="visually-hidden">Your sandbox keys</caption>"#;
    assert!(keys.html.contains(named), "a table without a caption before gets one: {}", keys.html);
    for page in [&wallet, &orders, &keys] {
        let boxes = page.html.matches(r#"<div class="scroll""#).count();
        assert_eq!(page.html.matches(r#"<div class="scroll" tabindex="0" role="region" aria-label=""#).count(), boxes);
    }
}

// Orders.

#[tokio::test]
async fn the_orders_list_shows_the_modes_orders_newest_first_with_product_names_where_known() {
    let app = app().await;
    let mut alice = signed_in(&app).await;
    let widget = product(&app, "Widget <Deluxe>", "4.99").await;
    let first = order(&app, &alice, &widget, 2, None).await;
    let second = order(&app, &alice, &off_catalog("Gone", "1.50"), 3, None).await;

    let sandbox = alice.browser.get("/dashboard/sandbox/orders").await;

    assert_eq!(sandbox.status, StatusCode::OK, "{}", sandbox.html);
    let html = &sandbox.html;
    assert!(at(html, &second.id.to_string()) < at(html, &first.id.to_string()), "newest first");
    assert!(html.contains("<td>Widget &lt;Deluxe&gt;</td>"), "the catalog's name, escaped");
    assert!(html.contains(&format!("<td><code>{}</code></td>", second.product_id)), "no name: the product's id");
    assert!(html.contains(r#"<span class="money">9.98 USD</span>"#) && html.contains("4.50 USD"), "totals");
    assert!(html.contains(r#"<td class="num">3</td>"#), "quantities");
    assert!(html.contains(&format!(r#"href="/dashboard/sandbox/orders/{}""#, first.id)), "each links to its page");
    assert!(html.contains(&format!(r#"<time datetime="{0}">{0}</time>"#, first.created_at)));
    assert_eq!(html.matches(r#"<span class="status-completed">completed</span>"#).count(), 2);
    assert!(html.contains(r#"<th scope="col">Product</th>"#));

    let live = alice.browser.get("/dashboard/live/orders").await;
    assert_eq!(live.status, StatusCode::OK);
    assert!(live.html.contains("No live orders yet") && !live.html.contains(&first.id.to_string()));
}

#[tokio::test]
async fn the_orders_list_pages_with_an_older_link() {
    let app = app().await;
    let mut alice = signed_in(&app).await;
    let widget = product(&app, "Widget", "1.00").await;
    let mut orders = Vec::new();
    for _ in 0..21 {
        orders.push(order(&app, &alice, &widget, 1, None).await);
    }

    let newest = alice.browser.get("/dashboard/sandbox/orders").await;

    assert!(!newest.html.contains(&orders[0].id.to_string()), "the oldest is on the next page");
    let start = at(&newest.html, r#"href="/dashboard/sandbox/orders?cursor="#) + "href=\"".len();
    let next = &newest.html[start..start + newest.html[start..].find('"').expect("a closing quote")];
    let older = alice.browser.get(next).await;
    assert_eq!(older.status, StatusCode::OK);
    assert!(older.html.contains(&orders[0].id.to_string()), "{}", older.html);
    assert!(!older.html.contains(r#"rel="next""#), "no page after the last");
}

#[tokio::test]
async fn an_orders_page_shows_every_field_of_the_api_view_and_a_cancel_form_while_completed() {
    let app = app().await;
    let mut alice = signed_in(&app).await;
    let widget = product(&app, "Widget", "4.99").await;
    let order = order(&app, &alice, &widget, 2, Some("PO-42")).await;

    let page = alice.browser.get(&format!("/dashboard/sandbox/orders/{}", order.id)).await;

    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let html = &page.html;
    for (label, value) in [
        ("Order", format!("<code>{}</code>", order.id)),
        ("Product", format!("Widget <code>{}</code>", widget.id)),
        ("Quantity", "2".to_owned()),
        ("Unit price", r#"<span class="money">4.99 USD</span>"#.to_owned()),
        ("Total", r#"<span class="money">9.98 USD</span>"#.to_owned()),
        ("Currency", "USD".to_owned()),
        ("Mode", "sandbox".to_owned()),
        ("Status", r#"<span class="status-completed">completed</span>"#.to_owned()),
        ("Your reference", "PO-42".to_owned()),
        ("Placed", format!(r#"<time datetime="{0}">{0}</time>"#, order.created_at)),
        ("Cancelled", "—".to_owned()),
        ("Wallet balance after", r#"<span class="money">990.02 USD</span>"#.to_owned()),
    ] {
        assert!(html.contains(&format!("<dt>{label}</dt><dd>{value}</dd>")), "{label}: {value}\n{html}");
    }
    assert!(html.contains(&format!(r#"action="/dashboard/sandbox/orders/{}/cancel""#, order.id)));
    assert!(html.contains(&format!(r#"name="csrf" value="{}""#, alice.csrf)), "the form carries the token");
}

#[tokio::test]
async fn cancelling_refunds_once_and_shows_the_order_and_a_second_cancel_is_409() {
    let app = app().await;
    let mut alice = signed_in(&app).await;
    let widget = product(&app, "Widget", "4.99").await;
    let order = order(&app, &alice, &widget, 2, None).await;
    let path = format!("/dashboard/sandbox/orders/{}", order.id);
    let csrf = alice.csrf.clone();

    let cancelled = alice.browser.post(&format!("{path}/cancel"), &[("csrf", &csrf)]).await;

    assert_eq!(cancelled.status, StatusCode::SEE_OTHER, "{}", cancelled.html);
    let confirmed = format!("{path}?cancelled={}", order.id);
    assert_eq!(cancelled.location(), Some(confirmed.as_str()));
    assert_eq!(balance(&app, &alice, Mode::Sandbox).await, "1000.00", "refunded");
    let page = alice.browser.get(&confirmed).await;
    assert!(
        page.html.contains(&format!(
            r#"<div class="notice" role="status"><p>Order <code>{}</code> was cancelled and its total, <span class="money">9.98 USD</span>, refunded to your sandbox wallet.</p></div>"#,
            order.id
        )),
        "{}",
        page.html
    );
    assert!(page.html.contains(r#"<span class="status-cancelled">cancelled</span>"#), "{}", page.html);
    assert!(page.html.contains("(refunded)") && !page.html.contains("/cancel\""), "no cancel form any more");

    let again = alice.browser.post(&format!("{path}/cancel"), &[("csrf", &csrf)]).await;

    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.html.contains("The order was not cancelled: the order is already cancelled."), "{}", again.html);
    assert!(again.html.contains(&order.id.to_string()), "the order's page, with the reason");
    assert_eq!(balance(&app, &alice, Mode::Sandbox).await, "1000.00", "refunded once");
}

#[tokio::test]
async fn a_cancelled_flag_that_is_not_this_cancelled_orders_id_shows_no_confirmation() {
    let app = app().await;
    let mut alice = signed_in(&app).await;
    let widget = product(&app, "Widget", "4.99").await;
    let completed = order(&app, &alice, &widget, 1, None).await;
    let cancelled = order(&app, &alice, &widget, 1, None).await;
    let csrf = alice.csrf.clone();
    alice.browser.post(&format!("/dashboard/sandbox/orders/{}/cancel", cancelled.id), &[("csrf", &csrf)]).await;

    for (shown, flag) in [
        (&completed.id, completed.id.to_string()),
        (&cancelled.id, completed.id.to_string()),
        (&cancelled.id, "%3Cscript%3Ealert(1)%3C/script%3E".to_owned()),
        (&cancelled.id, String::new()),
    ] {
        let page = alice.browser.get(&format!("/dashboard/sandbox/orders/{shown}?cancelled={flag}")).await;

        assert_eq!(page.status, StatusCode::OK, "{flag}: {}", page.html);
        assert!(!page.html.contains(r#"role="status""#), "{shown} {flag}: {}", page.html);
        assert!(!page.html.contains("<script>alert"), "never echoed: {}", page.html);
    }
}

#[tokio::test]
async fn another_partners_or_another_modes_order_is_the_404_page() {
    let app = app().await;
    let mut alice = signed_in(&app).await;
    let mut bob = signed_in(&app).await;
    let widget = product(&app, "Widget", "4.99").await;
    let order = order(&app, &alice, &widget, 1, None).await;

    let seen = bob.browser.get(&format!("/dashboard/sandbox/orders/{}", order.id)).await;
    let cancelled =
        bob.browser.post(&format!("/dashboard/sandbox/orders/{}/cancel", order.id), &[("csrf", &bob.csrf)]).await;
    let live = alice.browser.get(&format!("/dashboard/live/orders/{}", order.id)).await;
    let malformed = alice.browser.get("/dashboard/sandbox/orders/not-an-id").await;

    for answer in [&seen, &cancelled, &live, &malformed] {
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{}", answer.html);
        assert!(answer.html.contains("There is nothing here, or nothing you can see."));
    }
    let kept = app.state.store.order(&alice.partner, Mode::Sandbox, &order.id).await.expect("still there");
    assert_eq!((kept.status.as_str(), balance(&app, &alice, Mode::Sandbox).await), ("completed", "995.01".to_owned()));
}

#[tokio::test]
async fn a_cancel_without_this_sessions_csrf_token_is_refused_and_changes_nothing() {
    let app = app().await;
    let mut alice = signed_in(&app).await;
    let mallory = signed_in(&app).await;
    let widget = product(&app, "Widget", "4.99").await;
    let order = order(&app, &alice, &widget, 1, None).await;
    let path = format!("/dashboard/sandbox/orders/{}/cancel", order.id);

    let without = alice.browser.post(&path, &[]).await;
    let with_anothers = alice.browser.post(&path, &[("csrf", &mallory.csrf)]).await;

    for answer in [&without, &with_anothers] {
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.html);
        assert!(answer.html.contains("This form has expired"));
    }
    assert_eq!(balance(&app, &alice, Mode::Sandbox).await, "995.01", "nothing refunded");
}

#[tokio::test]
async fn dashboard_pages_send_a_visitor_to_sign_in() {
    let app = app().await;
    let mut visitor = Visitor::new(&app);

    for path in ["/dashboard/sandbox/orders", "/dashboard/sandbox/top-ups", "/dashboard/sandbox/usage"] {
        let answer = visitor.get(path).await;
        assert_eq!((answer.status, answer.location()), (StatusCode::SEE_OTHER, Some("/signin")), "{path}");
    }
}

// Top-ups.

#[tokio::test]
async fn a_sandbox_top_up_is_credited_at_once_and_shown_first_in_the_list() {
    let app = app().await;
    let mut alice = signed_in(&app).await;
    let form = [
        ("csrf", alice.csrf.as_str()),
        ("amount", "250.00"),
        ("payment_reference", "TEST-1"),
        ("note", "For load tests"),
    ];

    let made = alice.browser.post("/dashboard/sandbox/top-ups", &form).await;

    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.html);
    let location = made.location().expect("a redirect").to_owned();
    assert!(location.starts_with("/dashboard/sandbox/top-ups?requested=tur_"), "{location}");
    assert_eq!(balance(&app, &alice, Mode::Sandbox).await, "1250.00", "credited at once");
    let list = alice.browser.get(&location).await;
    assert_eq!(list.status, StatusCode::OK);
    let html = &list.html;
    assert!(html.contains(r#"was approved and credited to your sandbox wallet"#), "{html}");
    assert!(html.contains(r#"<td class="status-approved">approved</td>"#) && html.contains("<td>TEST-1</td>"));
    assert!(html.contains(r#"<td class="num"><span class="money">250.00 USD</span></td>"#));
    assert_eq!(html.matches("<time datetime=").count(), 2, "requested and decided, both as times");
    let sent = app.outbox();
    assert_eq!(
        sent.iter().map(|email| email.to.as_str()).collect::<Vec<_>>(),
        [alice.email.as_str()],
        "no ops email in sandbox"
    );
}

#[tokio::test]
async fn a_live_top_up_waits_for_ops_and_both_the_partner_and_ops_are_told() {
    let app = app().await;
    let mut alice = verified(&app).await;

    let made = alice.browser.post("/dashboard/live/top-ups", &[("csrf", &alice.csrf), ("amount", "1500")]).await;

    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.html);
    let list = alice.browser.get(made.location().expect("a redirect")).await;
    assert!(list.html.contains("It stays pending until ops find your payment"), "{}", list.html);
    assert!(list.html.contains(r#"<td class="status-pending">pending</td>"#) && list.html.contains("1500.00 USD"));
    assert_eq!(balance(&app, &alice, Mode::Live).await, "0.00", "nothing credited before ops approve");
    let ops = app.state.config.ops_email.clone().expect("an ops address");
    let recipients: Vec<String> = app.outbox().into_iter().map(|email| email.to).collect();
    assert_eq!(recipients, [alice.email.clone(), ops]);
}

#[tokio::test]
async fn a_live_top_up_needs_a_verified_email() {
    let app = app().await;
    let mut alice = signed_in(&app).await;

    let refused = alice.browser.post("/dashboard/live/top-ups", &[("csrf", &alice.csrf), ("amount", "1500")]).await;

    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.html);
    assert!(refused.html.contains("Live top-ups need a verified email address."), "{}", refused.html);
    assert!(refused.html.contains(r#"value="1500""#), "what was typed is kept");
    assert_eq!(top_up_count(&app, &alice, Mode::Live).await, 0);
    assert!(app.outbox().is_empty());
}

#[tokio::test]
async fn an_invalid_top_up_is_shown_again_with_each_error_next_to_its_field() {
    let app = app().await;
    let mut alice = signed_in(&app).await;
    let long_reference = "R".repeat(256);

    let refused = alice
        .browser
        .post(
            "/dashboard/sandbox/top-ups",
            &[("csrf", &alice.csrf), ("amount", "5"), ("payment_reference", &long_reference), ("note", "kept")],
        )
        .await;

    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.html);
    let html = &refused.html;
    let amount_error = r#"<p class="error" id="amount-error">Amount must be from 10.00 to 100000.00</p>"#;
    let reference_error =
        r#"<p class="error" id="payment_reference-error">Payment reference must be at most 255 characters</p>"#;
    assert!(at(html, r#"id="amount""#) < at(html, amount_error), "the error follows its input");
    assert!(at(html, amount_error) < at(html, r#"id="payment_reference""#), "and comes before the next field");
    assert!(at(html, r#"id="payment_reference""#) < at(html, reference_error));
    assert!(
        html.contains(
            r#"value="5" inputmode="decimal" aria-invalid="true" aria-describedby="amount-error amount-hint""#
        ),
        "{html}"
    );
    assert!(html.contains(&format!(r#"value="{long_reference}""#)) && html.contains(">kept</textarea>"), "kept");
    assert!(html.contains(r##"<a href="#amount">Amount must be from 10.00 to 100000.00</a>"##), "in the summary too");
    assert!(!html.contains("note-error"), "a valid note has no error");
    assert_eq!(top_up_count(&app, &alice, Mode::Sandbox).await, 0);
    assert_eq!(balance(&app, &alice, Mode::Sandbox).await, "1000.00");
}

#[tokio::test]
async fn a_top_up_without_this_sessions_csrf_token_is_refused() {
    let app = app().await;
    let mut alice = signed_in(&app).await;

    let refused = alice.browser.post("/dashboard/sandbox/top-ups", &[("amount", "250")]).await;

    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.html);
    assert_eq!(top_up_count(&app, &alice, Mode::Sandbox).await, 0);
    assert_eq!(balance(&app, &alice, Mode::Sandbox).await, "1000.00");
}

// Usage.

fn row(
    n: usize,
    who: Option<(&Owner, Mode)>,
    at: &str,
    method: &str,
    route: &str,
    status: u16,
    latency_ms: u64,
) -> LogRow {
    LogRow::from_record(RequestLogRecord {
        request_id: format!("req_{n:04}"),
        timestamp: at.parse().expect("a time"),
        partner_id: who.map(|(who, _)| who.partner),
        mode: who.map(|(_, mode)| mode),
        method: method.into(),
        route: route.into(),
        status,
        latency_ms,
        user_agent: None,
    })
    .expect("a valid row")
}

#[tokio::test]
async fn the_usage_page_charts_every_day_of_the_range_and_each_route_from_the_request_log() {
    let app = app().await;
    let mut alice = signed_in(&app).await;
    let bob = signed_in(&app).await;
    let mine = Some((&alice, Mode::Sandbox));
    let rows = [
        row(0, mine, "2026-11-22T08:00:00.000Z", "GET", "/api/wallet", 200, 10),
        row(1, mine, "2026-11-22T09:00:00.000Z", "GET", "/api/wallet", 200, 40),
        row(2, mine, "2026-11-22T10:00:00.000Z", "POST", "/api/orders", 402, 100),
        row(3, mine, "2026-11-24T12:00:00.000Z", "GET", "/api/wallet", 503, 20),
        // Outside the range, another mode, another partner: none of them on the page.
        row(4, mine, "2026-11-25T00:00:00.000Z", "GET", "/api/wallet", 200, 1),
        row(5, Some((&alice, Mode::Live)), "2026-11-23T10:00:00.000Z", "GET", "/api/live-only", 200, 900),
        row(6, Some((&bob, Mode::Sandbox)), "2026-11-23T10:00:00.000Z", "GET", "/api/keys", 200, 900),
    ];
    app.db.request_log_table.record(&rows).await.expect("the rows are recorded");

    let page = alice.browser.get("/dashboard/sandbox/usage?from=2026-11-22&to=2026-11-24").await;

    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let html = &page.html;
    assert_eq!(html.matches(r#"<g class="day""#).count(), 3, "one group per day of the range");
    for day in ["2026-11-22: 3 requests, 1 error", "2026-11-23: 0 requests, 0 errors", "2026-11-24: 1 request, 1 error"]
    {
        assert!(html.contains(&format!("<title>{day}</title>")), "{day}\n{html}");
    }
    assert!(html.contains(r#"role="img" aria-labelledby="usage-days-title usage-days-desc""#));
    assert!(html.contains(r#"role="img" aria-labelledby="usage-routes-title usage-routes-desc""#));
    assert!(
        html.contains(r#"<th scope="row"><time datetime="2026-11-23">2026-11-23</time></th><td class="num">0</td>"#)
    );
    let wallet = r#"<th scope="row"><code>GET /api/wallet</code></th><td class="num">3</td><td class="num">1</td><td class="num">20</td><td class="num">50</td>"#;
    let orders = r#"<th scope="row"><code>POST /api/orders</code></th><td class="num">1</td><td class="num">1</td><td class="num">100</td><td class="num">100</td>"#;
    assert!(at(html, wallet) < at(html, orders), "busiest route first");
    // p95 is the upper bound of its latency bucket: 40 ms is in (30, 50].
    assert!(html.contains(">50 ms</text>") && html.contains(">100 ms</text>"), "p95 on the bars");
    assert!(html.contains("<strong>4</strong> requests, <strong>2</strong> errors"), "{html}");
    assert!(!html.contains("/api/live-only") && !html.contains("/api/keys"), "only this partner's mode");
    assert!(
        html.contains(r#"value="2026-11-22""#) && html.contains(r#"value="2026-11-24""#),
        "the form shows the range"
    );
}

#[tokio::test]
async fn without_dates_the_usage_page_shows_the_last_fourteen_days_ending_today() {
    let app = app().await;
    let mut alice = signed_in(&app).await;
    let today = Timestamp::now().to_string()[..10].to_owned();

    let page = alice.browser.get("/dashboard/live/usage").await;

    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert_eq!(page.html.matches(r#"<g class="day""#).count(), 14);
    assert!(page.html.contains(&format!(r#"<g class="day" data-date="{today}">"#)), "{}", page.html);
    assert!(page.html.contains("No requests in this range"));
}

#[tokio::test]
async fn a_bad_range_is_the_form_again_with_the_error_next_to_the_date() {
    let app = app().await;
    let mut alice = signed_in(&app).await;

    let page = alice.browser.get("/dashboard/sandbox/usage?from=2026-01-01&to=2026-06-01").await;

    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", page.html);
    let error = r#"<p class="error" id="to-error">The range must be at most 92 days, both days included</p>"#;
    assert!(at(&page.html, r#"id="to""#) < at(&page.html, error));
    assert!(page.html.contains(r#"aria-describedby="to-error to-hint""#));
    assert!(!page.html.contains("<svg"), "no chart for a range that was refused");
}

#[tokio::test]
async fn usage_without_a_request_log_table_is_a_503_page_that_says_so() {
    let app = app().await;
    let alice = signed_in(&app).await;
    let state = AppState { request_log_table: None, ..app.state.clone() };
    let app = app.with_state(state);

    let page = alice.browser_on(&app).get("/dashboard/sandbox/usage").await;

    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE, "{}", page.html);
    assert!(page.html.contains("Usage is not configured here"), "{}", page.html);
    assert!(page.html.contains("Sign out"), "still the signed-in dashboard");
}

#[tokio::test]
async fn the_same_top_up_form_sent_twice_credits_once_and_shows_the_first_request_again() {
    let app = app().await;
    let mut alice = signed_in(&app).await;
    let shown = alice.browser.get("/dashboard/sandbox/top-ups").await;
    let token = shown.hidden("submission").expect("the form carries a one-time token");
    let form = [("csrf", alice.csrf.as_str()), ("submission", token.as_str()), ("amount", "250.00")];

    let first = alice.browser.post("/dashboard/sandbox/top-ups", &form).await;
    let again = alice.browser.post("/dashboard/sandbox/top-ups", &form).await;
    let changed = [("csrf", alice.csrf.as_str()), ("submission", token.as_str()), ("amount", "999.00")];
    let reused = alice.browser.post("/dashboard/sandbox/top-ups", &changed).await;

    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.html);
    assert_eq!((again.status, again.location()), (StatusCode::SEE_OTHER, first.location()), "the same result");
    assert_eq!(reused.status, StatusCode::CONFLICT, "{}", reused.html);
    assert!(reused.html.contains("already sent"), "{}", reused.html);
    assert_eq!(balance(&app, &alice, Mode::Sandbox).await, "1250.00", "credited once");
    assert_eq!(top_up_count(&app, &alice, Mode::Sandbox).await, 1);
    let fresh = alice.browser.get("/dashboard/sandbox/top-ups").await.hidden("submission");
    assert!(fresh.is_some_and(|fresh| fresh != token), "each form shown gets its own token");
}
