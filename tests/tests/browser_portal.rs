//! The portal in a real browser: headless Chromium walks a partner from sign-up to a live
//! balance, with an operator approving the top-up in the console between, and tries what
//! must be refused (a locked-out code, a forged form, a sandbox key reaching for live).
//!
//! Every page visited is saved under `target/browser/<test>/` for review.

mod browser;

use browser::{Browser, LocalServer, OPS_KEY};
use serde_json::{Value, json};
use thirtyfour::prelude::*;
use thirtyfour::{Cookie, SameSite};

const SESSION_COOKIE: &str = "steller_session";

/// Calls the API as a partner's key would, outside the browser.
struct Api {
    base: String,
    key: String,
    http: reqwest::Client,
}

impl Api {
    fn new(server: &LocalServer, key: &str) -> Self {
        Api { base: server.base.clone(), key: key.to_owned(), http: reqwest::Client::new() }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(&self.key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap_or_else(|error| panic!("{path}: {error}"));
        let status = response.status().as_u16();
        let text = response.text().await.expect("a body");
        (
            status,
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("{path} answered {status} without JSON: {text}")),
        )
    }

    async fn get(&self, path: &str) -> Value {
        let (status, body) = self.call(reqwest::Method::GET, path, None).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }
}

/// Checks what every portal page owes its visitor, and saves it for review.
async fn review(browser: &Browser, name: &str) {
    let unlabelled = browser.unlabelled().await;
    assert!(unlabelled.is_empty(), "{name}: controls a screen reader cannot name: {unlabelled:?}");
    browser.screenshot(name).await;
}

/// Signs up through the form using only the keyboard, and returns the key shown.
async fn sign_up_by_keyboard(browser: &Browser, server: &LocalServer, email: &str) -> String {
    browser.goto(&format!("{}/signup", server.base)).await;
    assert_eq!(browser.heading().await, "Sign up");
    review(browser, "signup").await;
    browser.find("#company_name").await.click().await.expect("focus the first field");
    let driver = browser.driver();
    for (id, typed) in [("company_name", "Acme Rockets"), ("email", email), ("contact_name", "Dev Eloper")] {
        let focused = driver.active_element().await.expect("a focused element");
        assert_eq!(focused.id().await.expect("an id").as_deref(), Some(id), "Tab reaches #{id} next");
        focused.send_keys(typed).await.expect("typing");
        if id != "contact_name" {
            focused.send_keys(Key::Tab).await.expect("Tab");
        }
    }
    let last = driver.active_element().await.expect("a focused element");
    browser.navigates("pressing Enter in the last field", last.send_keys(Key::Enter)).await;
    assert_eq!(browser.heading().await, "Your sandbox key", "{}", browser.text("main").await);
    let key = browser.find("#api-key").await.value().await.expect("the key field").expect("a key");
    assert!(key.starts_with("stl_sandbox_"), "a sandbox key: {key}");
    let curl = browser.text("#curl").await;
    assert!(curl.contains(&key) && curl.contains(&format!("{}/api/wallet", server.base)), "a ready call: {curl}");
    // Drawn hidden (without JavaScript they could do nothing), the copy buttons are shown
    // by the portal's script.
    for target in ["api-key", "curl"] {
        let button = browser.find(&format!("button[data-copy='{target}']")).await;
        assert!(button.is_displayed().await.expect("displayed or not"), "the {target} copy button is shown");
    }
    review(browser, "signup-key-shown").await;
    key
}

/// Signs in at `/signin` with the code from the outbox, landing on the sandbox dashboard.
async fn sign_in(browser: &Browser, server: &LocalServer, email: &str) {
    browser.goto(&format!("{}/signin", server.base)).await;
    review(browser, "signin").await;
    browser.fill("#email", email).await;
    browser.click("form[action='/signin'] button[type=submit]").await;
    review(browser, "signin-code").await;
    let code = server.last_code(email).await.expect("a sign-in code was emailed");
    browser.fill("#code", &code).await;
    browser.click("form[action='/signin/code'] button[type=submit]").await;
    assert_eq!(browser.path().await, "/dashboard/sandbox", "{}", browser.text("main").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_goes_from_signup_to_a_live_balance_approved_by_ops() {
    let server = LocalServer::start().await;
    let browser = Browser::start("a_partner_goes_from_signup_to_a_live_balance").await;
    let email = "dev@acme.example";

    // 1. Sign up; the key is shown once.
    let sandbox_key = sign_up_by_keyboard(&browser, &server, email).await;
    let sandbox = Api::new(&server, &sandbox_key);
    assert_eq!(sandbox.get("/api/wallet").await["mode"], "sandbox", "the key shown works");
    browser.goto(&format!("{}/signup", server.base)).await;
    let page = browser.text("body").await;
    assert!(!page.contains(&sandbox_key), "the key is never shown again");

    // A sandbox key reaching for live money is refused.
    let (status, problem) = sandbox.post("/api/keys", json!({"name": "sneaky", "mode": "live"})).await;
    assert_eq!((status, problem["code"].as_str()), (403, Some("forbidden")), "{problem}");

    // 2. Sign in with the emailed code; the session cookie is private to the server.
    sign_in(&browser, &server, email).await;
    let cookie = browser.driver().get_named_cookie(SESSION_COOKIE).await.expect("a session cookie");
    assert_eq!(cookie.http_only, Some(true), "scripts cannot read the session: {cookie:?}");
    assert_eq!(cookie.same_site, Some(SameSite::Lax), "{cookie:?}");
    assert_eq!(cookie.secure, Some(false), "plain-http loopback is the one place without Secure: {cookie:?}");
    let readable = browser.script("return document.cookie").await;
    assert!(!readable.as_str().unwrap_or_default().contains(SESSION_COOKIE), "document.cookie: {readable}");

    // 3. Place an order with the key over the API.
    let products = sandbox.get("/api/products").await;
    let product = &products["items"][0];
    let (status, order) = sandbox.post("/api/orders", json!({"product_id": product["id"], "quantity": 1})).await;
    assert_eq!(status, 201, "{order}");
    let order_id = order["id"].as_str().expect("an order id");

    // 4. The order and its ledger entry, in the dashboard, exactly as the API gives them.
    browser.click("a[href='/dashboard/sandbox/orders']").await;
    assert!(browser.text("main").await.contains(order_id), "the order is listed: {}", browser.text("main").await);
    review(&browser, "dashboard-orders").await;
    browser.click(&format!("a[href='/dashboard/sandbox/orders/{order_id}']")).await;
    let detail = browser.text("main").await;
    assert!(detail.contains(&format!("{} USD", order["total"].as_str().expect("a total"))), "{detail}");
    review(&browser, "dashboard-order").await;
    browser.click("a[href='/dashboard/sandbox']").await;
    let entry = &sandbox.get("/api/wallet/transactions").await["items"][0];
    let row = browser.text("tbody tr").await;
    for shown in [format!("{} USD", entry["amount"].as_str().expect("an amount")), entry["reference"].to_string()] {
        assert!(row.contains(shown.trim_matches('"')), "the newest ledger row {row:?} shows {shown}");
    }
    let balance = sandbox.get("/api/wallet").await["balance"].as_str().expect("a balance").to_owned();
    assert_eq!(browser.text("p.figure").await, format!("{balance} USD"));
    review(&browser, "dashboard-sandbox-wallet").await;

    // 5. Create a live key in the portal; it is shown once.
    browser.click("a.switch").await;
    assert_eq!(browser.path().await, "/dashboard/live");
    review(&browser, "dashboard-live-wallet").await;
    browser.click("a[href='/dashboard/live/keys']").await;
    browser.fill("#name", "production backend").await;
    browser.click("form[action='/dashboard/live/keys'] button[type=submit]").await;
    let live_key = browser.find("#new-key").await.value().await.expect("the key field").expect("a key");
    assert!(live_key.starts_with("stl_live_"), "a live key: {live_key}");
    assert!(browser.text("tbody").await.contains("production backend"), "listed by name");
    review(&browser, "dashboard-live-key-created").await;
    let live = Api::new(&server, &live_key);
    assert_eq!(live.get("/api/wallet").await["balance"], "0.00", "a live wallet starts empty");

    // 6. Request a live top-up.
    browser.click("a[href='/dashboard/live/top-ups']").await;
    browser.fill("#amount", "250.00").await;
    browser.fill("#payment_reference", "WIRE-2026-1130").await;
    browser.click("form[action='/dashboard/live/top-ups'] button[type=submit]").await;
    let path = browser.path().await;
    let top_up_id = path.strip_prefix("/dashboard/live/top-ups?requested=").expect("the request to confirm").to_owned();
    assert!(browser.text("[role=status]").await.contains("250.00 USD"), "{}", browser.text("main").await);
    review(&browser, "dashboard-live-top-up-requested").await;

    // 7. An operator approves it in the console.
    let ops = Browser::start("a_partner_goes_from_signup_to_a_live_balance_ops").await;
    ops.goto(&format!("{}/ops/signin", server.base)).await;
    review(&ops, "ops-signin").await;
    ops.fill("#ops_key", OPS_KEY).await;
    ops.click("form[action='/ops/signin/key'] button[type=submit]").await;
    assert_eq!(ops.path().await, "/ops");
    let pending = ops.text("main").await;
    for shown in [top_up_id.as_str(), "250.00 USD", "Acme Rockets", "WIRE-2026-1130", "live"] {
        assert!(pending.contains(shown), "the pending request shows {shown}: {pending}");
    }
    review(&ops, "ops-pending").await;
    ops.click(&format!("form[action='/ops/top-ups/{top_up_id}/approve'] button")).await;
    assert!(ops.text("main").await.contains("Nothing is waiting"), "{}", ops.text("main").await);
    ops.click("a[href='/ops/decided']").await;
    let decided = ops.text("tbody tr").await;
    assert!(decided.contains(&top_up_id) && decided.contains("approved"), "{decided}");
    review(&ops, "ops-decided").await;
    ops.quit().await;

    // 8. The partner sees the live balance, as the API gives it.
    browser.click("a[href='/dashboard/live']").await;
    let balance = live.get("/api/wallet").await["balance"].as_str().expect("a balance").to_owned();
    assert_eq!(balance, "250.00");
    assert_eq!(browser.text("p.figure").await, "250.00 USD");
    review(&browser, "dashboard-live-wallet-credited").await;

    // The sandbox key's calls, counted by the analytics, drawn as charts.
    browser.goto(&format!("{}/dashboard/sandbox/usage", server.base)).await;
    let started = std::time::Instant::now();
    while browser.text("p.lead").await.starts_with("0 requests") {
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "usage never counted the API calls");
        tokio::time::sleep(browser::ANALYTICS_INTERVAL).await;
        browser.driver().refresh().await.expect("a reload");
    }
    let lead = browser.text("p.lead").await;
    assert!(!lead.contains(" 0 errors"), "the 403 for a live key is an error: {lead}");
    let charts = browser.script("return document.querySelectorAll('main svg[role=img]').length").await;
    assert!(charts.as_u64().unwrap_or_default() >= 2, "requests per day and p95 per route are drawn: {charts}");
    let bars = browser.script("return document.querySelectorAll('main svg rect').length").await;
    assert!(bars.as_u64().unwrap_or_default() > 0, "with bars: {bars}");
    review(&browser, "dashboard-sandbox-usage").await;

    // The same calls one by one, and one found again by pasting its X-Request-Id.
    browser.goto(&format!("{}/dashboard/sandbox/requests", server.base)).await;
    review(&browser, "dashboard-sandbox-requests").await;
    let id = browser.text("main tbody tr td:last-child code").await;
    browser.fill("#request_id", &id).await;
    browser.click("form.find button").await;
    assert_eq!(browser.path().await, format!("/dashboard/sandbox/requests/{id}"));
    assert_eq!(browser.heading().await, "Sandbox request");

    // Every dashboard page reads at phone width without scrolling sideways.
    browser.phone().await;
    for (name, path) in [
        ("phone-wallet", "/dashboard/sandbox"),
        ("phone-orders", "/dashboard/sandbox/orders"),
        ("phone-keys", "/dashboard/live/keys"),
        ("phone-top-ups", "/dashboard/live/top-ups"),
        ("phone-usage", "/dashboard/sandbox/usage"),
        ("phone-requests", "/dashboard/sandbox/requests"),
    ] {
        browser.goto(&format!("{}{path}", server.base)).await;
        assert_eq!(browser.path().await, path);
        assert!(browser.overflow().await <= 0, "{path} scrolls sideways at phone width");
        browser.screenshot(name).await;
    }
    browser.desktop().await;

    // Sign-out ends the session on the server: its cookie, put back, opens nothing.
    browser.goto(&format!("{}/dashboard/sandbox", server.base)).await;
    let session = browser.driver().get_named_cookie(SESSION_COOKIE).await.expect("a session cookie");
    browser.click("form[action='/signout'] button").await;
    assert_eq!(browser.path().await, "/signin");
    browser.driver().add_cookie(Cookie::new(SESSION_COOKIE, session.value)).await.expect("the old cookie back");
    browser.goto(&format!("{}/dashboard/sandbox", server.base)).await;
    assert_eq!(browser.path().await, "/signin?session=ended", "an ended session opens nothing");
    let told = browser.text("div.notice").await;
    assert!(told.starts_with("Your session has ended"), "the page says why it is asking again: {told}");
    review(&browser, "signin-session-ended").await;

    browser.quit().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_wrong_codes_void_the_sign_in_code() {
    let server = LocalServer::start().await;
    let browser = Browser::start("five_wrong_codes_void_the_sign_in_code").await;
    let email = "locked@acme.example";
    sign_up_by_keyboard(&browser, &server, email).await;

    browser.goto(&format!("{}/signin", server.base)).await;
    browser.fill("#email", email).await;
    browser.click("form[action='/signin'] button[type=submit]").await;
    let code = server.last_code(email).await.expect("a sign-in code was emailed");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for tries_left in (0..5).rev() {
        browser.fill("#code", wrong).await;
        browser.click("form[action='/signin/code'] button[type=submit]").await;
        let error = browser.text("#code-error").await;
        let expected = match tries_left {
            0 => "This code no longer works".to_owned(),
            1 => "That code is not right. 1 more try".to_owned(),
            n => format!("That code is not right. {n} more tries"),
        };
        assert!(error.starts_with(&expected), "after a wrong code: {error:?}, wanted {expected:?}");
        let invalid = browser.find("#code").await.attr("aria-invalid").await.expect("an attribute");
        assert_eq!(invalid.as_deref(), Some("true"), "the field is marked invalid");
    }
    browser.screenshot("code-locked-out").await;

    browser.fill("#code", &code).await;
    browser.click("form[action='/signin/code'] button[type=submit]").await;
    assert!(browser.text("#code-error").await.starts_with("This code no longer works"), "the right code is void too");
    let session = browser.driver().get_named_cookie(SESSION_COOKIE).await;
    assert!(session.is_err(), "no session was opened: {session:?}");
    browser.goto(&format!("{}/dashboard/sandbox", server.base)).await;
    assert_eq!(browser.path().await, "/signin");

    browser.quit().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_without_its_csrf_token_changes_nothing() {
    let server = LocalServer::start().await;
    let browser = Browser::start("a_form_without_its_csrf_token_changes_nothing").await;

    // Before sign-in: the sign-up form without its form cookie creates no account.
    browser.goto(&format!("{}/signup", server.base)).await;
    browser.fill("#company_name", "Forged Inc").await;
    browser.fill("#email", "forged@acme.example").await;
    browser.driver().delete_cookie("steller_form").await.expect("the form cookie is deleted");
    browser.click("form[action='/signup'] button[type=submit]").await;
    assert_eq!(browser.heading().await, "This form has expired");
    browser.screenshot("signup-forged").await;
    let forged = steller::domain::Email::parse(Some("forged@acme.example")).expect("an email");
    assert!(server.store.partner_by_email(&forged).await.expect("a lookup").is_none(), "no account was created");

    // Signed in: a keys form whose token was changed creates no key.
    let email = "csrf@acme.example";
    sign_up_by_keyboard(&browser, &server, email).await;
    sign_in(&browser, &server, email).await;
    browser.goto(&format!("{}/dashboard/sandbox/keys", server.base)).await;
    let keys_before = browser.text("tbody").await;
    browser.fill("#name", "forged key").await;
    browser
        .script("document.querySelector(\"form[action='/dashboard/sandbox/keys'] input[name=csrf]\").value = 'x'.repeat(43); return true")
        .await;
    browser.click("form[action='/dashboard/sandbox/keys'] button[type=submit]").await;
    assert_eq!(browser.heading().await, "This form has expired");
    assert!(browser.driver().find(By::Css("#new-key")).await.is_err(), "no key was shown");
    browser.screenshot("keys-forged").await;
    browser.goto(&format!("{}/dashboard/sandbox/keys", server.base)).await;
    assert_eq!(browser.text("tbody").await, keys_before, "no key was created");
    assert!(!keys_before.contains("forged key"));

    browser.quit().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_adds_an_endpoint_sees_its_secret_once_rotates_it_and_deletes_it() {
    let server = LocalServer::start().await;
    let browser = Browser::start("a_partner_adds_an_endpoint_sees_its_secret_once_rotates_it_and_deletes_it").await;
    let email = "hooks@acme.example";
    sign_up_by_keyboard(&browser, &server, email).await;
    sign_in(&browser, &server, email).await;
    let form = "form[action='/dashboard/sandbox/webhooks'] button[type=submit]";

    // 1. The webhooks page, from the dashboard's navigation.
    browser.click("a[href='/dashboard/sandbox/webhooks']").await;
    assert_eq!(browser.heading().await, "Sandbox webhooks");
    assert!(browser.text("main").await.contains("No sandbox endpoints yet"), "{}", browser.text("main").await);
    review(&browser, "webhooks").await;

    // 2. No event ticked: the form again, the error with the boxes.
    browser.fill("#url", "http://127.0.0.1:9/steller-hooks").await;
    browser.click(form).await;
    assert!(browser.text("#events-error").await.contains("choose at least one event type"));
    let focused = browser.script("return document.activeElement.className").await;
    assert_eq!(focused.as_str(), Some("summary"), "the page opens at what to fix");
    assert_eq!(
        browser.find("#url").await.value().await.expect("the URL field").as_deref(),
        Some("http://127.0.0.1:9/steller-hooks")
    );
    review(&browser, "webhooks-invalid").await;

    // 3. A loopback receiver, as the local server allows: its secret is shown once.
    browser.find("input[name=events][value='order.created']").await.click().await.expect("ticking a box");
    browser.fill("#description", "local receiver").await;
    browser.click(form).await;
    let secret = browser.find("#new-secret").await.value().await.expect("the secret field").expect("a secret");
    assert!(secret.starts_with("whsec_"), "a signing secret: {secret}");
    assert!(browser.text(".secret").await.contains("shown only now"), "{}", browser.text(".secret").await);
    let row = browser.text("tbody tr").await;
    for shown in ["http://127.0.0.1:9/steller-hooks", "order.created", "enabled", "local receiver"] {
        assert!(row.contains(shown), "the endpoint's row shows {shown}: {row}");
    }
    review(&browser, "webhooks-created").await;

    // 4. Rotating shows a new secret once; the old one signs for a day more.
    browser.click("form[action$='/rotate'] button").await;
    let rotated = browser.find("#new-secret").await.value().await.expect("the secret field").expect("a secret");
    assert!(rotated.starts_with("whsec_") && rotated != secret, "a new secret");
    assert!(browser.text(".secret").await.contains("for 24 hours"), "{}", browser.text(".secret").await);
    review(&browser, "webhooks-rotated").await;
    // At desktop width every table fits its box: no action hides behind a sideways scroll.
    let hidden = browser
        .script("return [...document.querySelectorAll('.scroll')].map(box => box.scrollWidth - box.clientWidth)")
        .await;
    let hidden: Vec<i64> = hidden.as_array().expect("a list").iter().filter_map(Value::as_i64).collect();
    assert!(!hidden.is_empty() && hidden.iter().all(|px| *px <= 0), "table boxes scroll by {hidden:?} px");
    browser.goto(&format!("{}/dashboard/sandbox/webhooks", server.base)).await;
    assert!(browser.driver().find(By::Css("#new-secret")).await.is_err(), "no secret once the page is reloaded");
    assert!(!browser.text("body").await.contains(&rotated), "the secret is never shown again");

    // The page reads at phone width without scrolling sideways.
    // Laid out afresh at phone size, as the dashboard pages are above: switching the
    // viewport of a page already laid out at desktop width keeps its zoom.
    browser.phone().await;
    browser.goto(&format!("{}/dashboard/sandbox/webhooks", server.base)).await;
    assert!(browser.overflow().await <= 0, "the webhooks page scrolls sideways at phone width");
    browser.screenshot("phone-webhooks").await;
    browser.desktop().await;

    // 5. Deleting it takes a second click: the first opens the warning.
    let delete = browser.find("form[action$='/delete'] button").await;
    assert!(!delete.is_displayed().await.expect("displayed or not"), "no delete on one click");
    browser.find("details.confirm summary").await.click().await.expect("the warning opens");
    assert!(browser.text("details.confirm[open]").await.contains("cannot be undone"));
    // Then back to the page, which says so.
    browser.click("form[action$='/delete'] button").await;
    assert_eq!(browser.path().await, "/dashboard/sandbox/webhooks?done=deleted");
    assert!(browser.text("[role=status]").await.contains("The endpoint was deleted"));
    assert!(browser.text("main").await.contains("No sandbox endpoints yet"), "{}", browser.text("main").await);
    review(&browser, "webhooks-deleted").await;

    browser.quit().await;
    server.stop().await;
}
