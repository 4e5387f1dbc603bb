//! The dashboard's webhooks page, in process: the portal's router over a fresh in-memory
//! DynamoDB, a partner signed in by a session opened straight in the store (its cookie
//! kept by a `support::Visitor`, its CSRF token posted with each form), redeliveries
//! queued to a queue that records them, and every page read back as HTML.

mod support;

use std::sync::{Arc, Mutex};

use axum::http::{StatusCode, header};
use steller::domain::{
    DeliveryAttempt, Endpoint, EndpointDescription, EventRecord, EventType, Mode, Money, NewEndpoint, PartnerId,
    PlaceOrder, Product, ProductId, Quantity, SessionId, SessionOwner, Timestamp,
};
use steller::store::{MAX_ENDPOINTS, PageRequest, StoreError};
use steller::testing::{TestApp, sign_up, unique_email};
use steller::webhooks::address::UrlPolicy;
use steller::webhooks::dispatch::{Delivery, DeliveryQueue};
use support::{Page, Visitor};
use utoipa_axum::router::OpenApiRouter;

/// A delivery queue that keeps what it is given, for the tests to read.
#[derive(Debug, Default)]
struct RecordingQueue(Mutex<Vec<Delivery>>);

impl RecordingQueue {
    fn deliveries(&self) -> Vec<Delivery> {
        self.0.lock().expect("the queue's lock").clone()
    }
}

#[async_trait::async_trait]
impl DeliveryQueue for RecordingQueue {
    async fn enqueue(&self, deliveries: &[Delivery]) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.0.lock().expect("the queue's lock").extend_from_slice(deliveries);
        Ok(())
    }
}

/// The portal as the local server runs it: plain http to loopback allowed, and
/// redeliveries queued to the returned queue.
async fn app() -> (TestApp, Arc<RecordingQueue>) {
    let app = TestApp::embedded(OpenApiRouter::new()).await;
    let queue = Arc::new(RecordingQueue::default());
    let state = app.state.clone().with_webhook_urls(UrlPolicy::AllowLoopbackHttp).with_webhooks(queue.clone());
    (app.with_state(state), queue)
}

/// The portal as a fresh state has it (AWS's rules): public https only, no delivery queue.
async fn bare_app() -> TestApp {
    TestApp::embedded(OpenApiRouter::new()).await
}

/// A partner's owner, signed in: a browser holding the session's cookie.
struct Owner {
    partner: PartnerId,
    browser: Visitor,
    csrf: String,
}

async fn signed_in(app: &TestApp) -> Owner {
    let signup = sign_up(&app.state.store, "Hooks Ltd", &unique_email("hooks"), Money::dollars(1000)).await;
    let session = SessionId::generate();
    let owner = SessionOwner::Partner(signup.partner.id);
    app.state.store.open_session(&session, owner, Timestamp::now()).await.expect("the session opens");
    let mut browser = Visitor::new(app);
    browser.set("steller_session", session.expose());
    Owner { partner: signup.partner.id, csrf: session.csrf_token(), browser }
}

/// An endpoint registered straight in the store, as the API would.
async fn endpoint(app: &TestApp, owner: &Owner, mode: Mode, url: &str, events: &[EventType]) -> Endpoint {
    let new = NewEndpoint {
        partner_id: owner.partner,
        mode,
        url: url.into(),
        events: events.to_vec(),
        description: Some(EndpointDescription::parse(Some("order sync <prod>")).expect("a description")),
    };
    app.state.store.create_endpoint(&new).await.expect("the endpoint is stored")
}

/// A sandbox order, paid as `POST /api/orders` pays it: its `order.created` event.
async fn order_event(app: &TestApp, owner: &Owner) -> EventRecord {
    let product = Product {
        id: ProductId::generate(),
        name: "Widget".into(),
        description: "For the webhook tests".into(),
        unit_price: Money::parse("4.99").expect("a price"),
        active: true,
    };
    let quantity = Quantity::try_from(1).expect("a quantity");
    let command = PlaceOrder::new(owner.partner, Mode::Sandbox, product, quantity, None).expect("an order");
    app.state.store.place_order(&command, None).await.expect("the order is paid");
    let events = app.state.store.list_events(&owner.partner, Mode::Sandbox, &PageRequest::default()).await;
    events.expect("the events").items.into_iter().next().expect("the order's event")
}

async fn endpoint_count(app: &TestApp, owner: &Owner, mode: Mode) -> usize {
    app.state.store.endpoints(&owner.partner, mode).await.expect("the endpoints").len()
}

/// The new-endpoint form as a browser sends it: the session's CSRF token, the form's
/// one-time token, `url`, and `order.created`.
fn endpoint_form<'a>(csrf: &'a str, token: &'a str, url: &'a str) -> [(&'static str, &'a str); 4] {
    [("csrf", csrf), ("submission", token), ("url", url), ("events", "order.created")]
}

/// The one-time token of the form on `page` that posts to `action`.
fn token_of(page: &Page, action: &str) -> Option<String> {
    let form = page.html.split(&format!(r#"action="{action}""#)).nth(1)?.split("</form>").next()?;
    let rest = form.split(r#"name="submission" value=""#).nth(1)?;
    Some(rest.split('"').next()?.to_owned())
}

/// The create form's one-time token (each endpoint's rotate form has its own).
fn create_token(page: &Page) -> Option<String> {
    token_of(page, "/dashboard/sandbox/webhooks")
}

/// The signing secret a page shows, if it shows one.
fn shown_secret(page: &Page) -> Option<String> {
    let start = page.html.find("whsec_")?;
    let end = page.html[start..].find('"')? + start;
    Some(page.html[start..end].to_owned())
}

/// Where `needle` first is in `html`, for asserting what comes before what.
#[track_caller]
fn at(html: &str, needle: &str) -> usize {
    html.find(needle).unwrap_or_else(|| panic!("{needle:?} is not on the page:\n{html}"))
}

#[tokio::test]
async fn the_page_lists_the_modes_endpoints_and_its_newest_events_with_each_attempt() {
    let (app, _queue) = app().await;
    let mut alice = signed_in(&app).await;
    let hook = endpoint(&app, &alice, Mode::Sandbox, "https://hooks.example/steller", &[EventType::OrderCreated]).await;
    let live = endpoint(&app, &alice, Mode::Live, "https://live.example/steller", &[EventType::OrderCreated]).await;
    let record = order_event(&app, &alice).await;
    let store = &app.state.store;
    let delivered =
        DeliveryAttempt { endpoint_id: hook.id, at: Timestamp::now(), status: Some(200), error: None, duration_ms: 84 };
    let timed_out = DeliveryAttempt {
        status: None,
        error: Some("timed out after 15 s".into()),
        duration_ms: 15000,
        ..delivered.clone()
    };
    store.record_attempt(&record.event, &timed_out).await.expect("recorded");
    store.record_attempt(&record.event, &delivered).await.expect("recorded");

    let page = alice.browser.get("/dashboard/sandbox/webhooks").await;

    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let html = &page.html;
    assert!(
        html.contains(r#"<a href="/dashboard/sandbox/webhooks" aria-current="page">Webhooks</a>"#),
        "in the dashboard's navigation"
    );
    assert!(html.contains("<code>https://hooks.example/steller</code>") && html.contains(&hook.id.to_string()));
    assert!(html.contains("<code>order.created</code>") && html.contains("order sync &lt;prod&gt;"), "escaped");
    assert!(html.contains(r#"<span class="status-completed">enabled</span>"#));
    assert!(html.contains(&format!(r#"<time datetime="{0}">{0}</time>"#, hook.created_at)), "created");
    for action in ["rotate", "delete"] {
        let form = format!(
            r#"<form class="inline" method="post" action="/dashboard/sandbox/webhooks/{}/{action}"><input type="hidden" name="csrf" value="{}">"#,
            hook.id, alice.csrf
        );
        assert!(html.contains(&form), "a {action} button posting the token\n{html}");
    }
    assert!(!html.contains(hook.secret.expose()) && !html.contains("whsec_"), "no secret on the list");
    assert!(!html.contains("live.example") && !html.contains(&live.id.to_string()), "only the mode's endpoints");
    let event = record.event.id.to_string();
    assert!(at(html, "Recent deliveries") < at(html, &event));
    assert!(html.contains(&format!(r#"action="/dashboard/sandbox/events/{event}/redeliver""#)), "a redeliver button");
    let first = format!(
        r#"<time datetime="{0}">{0}</time> to <code>{1}</code>: <span class="status-rejected">no answer: timed out after 15 s</span> in 15000 ms"#,
        timed_out.at, hook.id
    );
    let second = format!(
        r#"<time datetime="{0}">{0}</time> to <code>{1}</code>: <span class="status-completed">HTTP 200, delivered</span> in 84 ms"#,
        delivered.at, hook.id
    );
    assert!(at(html, &first) < at(html, &second), "each attempt, oldest first\n{html}");

    let in_live = alice.browser.get("/dashboard/live/webhooks").await;
    assert_eq!(in_live.status, StatusCode::OK);
    assert!(in_live.html.contains("live.example") && !in_live.html.contains("hooks.example"), "{}", in_live.html);
    assert!(in_live.html.contains("No live events yet"), "sandbox events stay in sandbox");
}

#[tokio::test]
async fn older_deliveries_are_a_page_away_newest_first() {
    let (app, _queue) = app().await;
    let mut alice = signed_in(&app).await;
    let mut events = Vec::new();
    for _ in 0..21 {
        events.push(order_event(&app, &alice).await.event.id.to_string());
    }
    let (oldest, newest) = (&events[0], &events[20]);

    let first = alice.browser.get("/dashboard/sandbox/webhooks").await;

    assert!(first.html.contains("Recent deliveries"), "{}", first.html);
    assert!(first.html.contains(newest.as_str()) && !first.html.contains(oldest.as_str()), "the newest 20 first");
    let marker = r#"<p class="pager"><a href=""#;
    let start = at(&first.html, marker) + marker.len();
    let link = first.html[start..].split('"').next().expect("a link").replace("&amp;", "&");
    assert!(link.starts_with("/dashboard/sandbox/webhooks?cursor="), "{link}");
    assert!(first.html.contains(r#"rel="next">Older →</a>"#), "the pager says where it goes");
    let older = alice.browser.get(&link).await;
    assert_eq!(older.status, StatusCode::OK, "{}", older.html);
    assert!(older.html.contains("Older deliveries"), "{}", older.html);
    assert!(older.html.contains(oldest.as_str()) && !older.html.contains(newest.as_str()), "{}", older.html);
    assert!(!older.html.contains(r#"class="pager""#), "the last page has no further link");
    let forged = alice.browser.get("/dashboard/sandbox/webhooks?cursor=not-a-cursor").await;
    assert_eq!(forged.status, StatusCode::NOT_FOUND, "a cursor this page did not give: {}", forged.html);
}

#[tokio::test]
async fn creating_an_endpoint_shows_its_secret_once_and_the_list_afterwards_does_not() {
    let (app, _queue) = app().await;
    let mut alice = signed_in(&app).await;
    let form = [
        ("csrf", alice.csrf.as_str()),
        ("url", "http://127.0.0.1:4000/hooks"),
        ("events", "wallet.credited"),
        ("events", "order.created"),
        ("description", "local receiver"),
    ];

    let created = alice.browser.post("/dashboard/sandbox/webhooks", &form).await;

    assert_eq!(created.status, StatusCode::OK, "{}", created.html);
    let stored = app.state.store.endpoints(&alice.partner, Mode::Sandbox).await.expect("listed");
    let [endpoint] = stored.as_slice() else { panic!("one endpoint: {stored:?}") };
    assert_eq!(
        (endpoint.url.as_str(), endpoint.description.as_deref()),
        ("http://127.0.0.1:4000/hooks", Some("local receiver"))
    );
    assert_eq!(endpoint.events, [EventType::OrderCreated, EventType::WalletCredited]);
    assert_eq!(shown_secret(&created).as_deref(), Some(endpoint.secret.expose()), "the stored secret is shown");
    assert!(created.html.contains(r#"<div class="secret" role="region" aria-label="Your new signing secret">"#));
    assert!(created.html.contains("it is shown only now."), "{}", created.html);
    assert!(created.html.contains(r#"<label for="new-secret">Signing secret</label>"#), "labelled");
    assert_eq!(created.headers.get(header::CACHE_CONTROL).map(|v| v.to_str().ok()), Some(Some("no-store")));
    assert!(created.html.contains(r#"name="url" type="text" value="""#), "a blank form for the next one");

    let later = alice.browser.get("/dashboard/sandbox/webhooks").await;

    assert!(later.html.contains("<code>http://127.0.0.1:4000/hooks</code>"), "{}", later.html);
    assert!(!later.html.contains(endpoint.secret.expose()) && shown_secret(&later).is_none(), "never shown again");
}

/// A form sent again after its URL stopped passing (a name that no longer resolves, here
/// rules made stricter between the sendings) is answered as sent: the endpoint exists, and
/// a field error would send the partner to make another. A fresh form with that URL is
/// still refused with the field's error.
#[tokio::test]
async fn an_endpoint_form_sent_again_after_its_url_stopped_passing_says_it_was_sent() {
    let (app, _queue) = app().await;
    let alice = signed_in(&app).await;
    let mut browser = alice.browser;
    let shown = browser.get("/dashboard/sandbox/webhooks").await;
    let token = create_token(&shown).expect("the form carries a one-time token");
    let form = endpoint_form(&alice.csrf, &token, "http://127.0.0.1:4000/hooks");
    let first = browser.post("/dashboard/sandbox/webhooks", &form).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.html);

    let mut browser = browser.now_over(app.state.clone().with_webhook_urls(UrlPolicy::PublicOnly));
    let again = browser.post("/dashboard/sandbox/webhooks", &form).await;

    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.html);
    assert!(again.html.contains("This form was already sent"), "{}", again.html);
    assert!(
        again.html.contains(r#"<a href="/dashboard/sandbox/webhooks">Go to the list</a>"#),
        "a link to the list that holds the endpoint: {}",
        again.html
    );
    assert!(shown_secret(&again).is_none(), "no secret the second time");
    let fresh = create_token(&first).expect("the answer's form has its own token");
    let fresh_form = endpoint_form(&alice.csrf, &fresh, "http://127.0.0.1:4000/hooks");
    let refused = browser.post("/dashboard/sandbox/webhooks", &fresh_form).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.html);
    assert!(refused.html.contains("must use https"), "the field's error: {}", refused.html);
    let endpoints = app.state.store.endpoints(&alice.partner, Mode::Sandbox).await.expect("the endpoints");
    assert_eq!(endpoints.len(), 1, "one endpoint");
}

#[tokio::test]
async fn the_same_endpoint_form_sent_twice_makes_one_endpoint_and_says_the_form_was_sent() {
    let (app, _queue) = app().await;
    let mut alice = signed_in(&app).await;
    let shown = alice.browser.get("/dashboard/sandbox/webhooks").await;
    let token = create_token(&shown).expect("the form carries a one-time token");
    let form = endpoint_form(&alice.csrf, &token, "http://127.0.0.1:4000/hooks");

    let first = alice.browser.post("/dashboard/sandbox/webhooks", &form).await;
    let again = alice.browser.post("/dashboard/sandbox/webhooks", &form).await;

    assert_eq!(first.status, StatusCode::OK, "{}", first.html);
    assert!(shown_secret(&first).is_some(), "the secret, shown once");
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.html);
    assert!(again.html.contains("This form was already sent"), "{}", again.html);
    assert!(shown_secret(&again).is_none(), "no secret the second time");
    assert_eq!(endpoint_count(&app, &alice, Mode::Sandbox).await, 1, "one endpoint");
    let fresh = create_token(&first).expect("the answer's form has its own token");
    assert_ne!(fresh, token);
}

#[tokio::test]
async fn a_bad_url_and_no_event_types_are_the_form_again_with_each_error_and_a_422() {
    let app = bare_app().await;
    let mut alice = signed_in(&app).await;

    let refused = alice
        .browser
        .post("/dashboard/sandbox/webhooks", &[("csrf", &alice.csrf), ("url", "ftp://x"), ("description", "kept")])
        .await;

    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.html);
    let html = &refused.html;
    let url_error = r#"<p class="error" id="url-error">URL must use https</p>"#;
    assert!(at(html, r#"id="url""#) < at(html, url_error), "the error follows its input");
    assert!(html.contains(r#"value="ftp://x" aria-invalid="true" aria-describedby="url-error url-hint""#), "{html}");
    let events_error = r#"<p class="error" id="events-error">Events: choose at least one event type</p>"#;
    assert!(html.contains(r#"<fieldset class="field invalid" id="events" aria-describedby="events-error events-hint"><legend>Events</legend>"#));
    assert!(at(html, "<legend>Events</legend>") < at(html, events_error), "{html}");
    assert!(html.contains(r#"<input type="checkbox" name="events" value="order.created" aria-invalid="true">"#));
    assert!(html.contains(r##"<a href="#url">URL must use https</a>"##), "in the summary too");
    assert!(html.contains(r##"<a href="#events">Events: choose at least one event type</a>"##));
    assert!(html.contains(r#"value="kept""#) && !html.contains("description-error"), "a valid description is kept");

    let unknown = alice
        .browser
        .post(
            "/dashboard/sandbox/webhooks",
            &[
                ("csrf", &alice.csrf),
                ("url", "https://169.254.169.254/latest"),
                ("events", "order.created"),
                ("events", "order.updated"),
                ("description", &"d".repeat(201)),
            ],
        )
        .await;

    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", unknown.html);
    let private = "URL must not point inside a private network (169.254.169.254 is a private address)";
    assert!(unknown.html.contains(&format!(r#"<p class="error" id="url-error">{private}</p>"#)), "{}", unknown.html);
    assert!(
        unknown.html.contains("Events hold &quot;order.updated&quot;, which is not an event type"),
        "{}",
        unknown.html
    );
    assert!(
        unknown
            .html
            .contains(r#"<p class="error" id="description-error">Description must be at most 200 characters</p>"#)
    );
    assert!(unknown.html.contains(r#"value="order.created" checked"#), "what was ticked stays ticked");
    assert_eq!(endpoint_count(&app, &alice, Mode::Sandbox).await, 0, "nothing was created");
}

#[tokio::test]
async fn the_seventeenth_endpoint_of_a_mode_is_refused_with_a_409_saying_why() {
    let (app, _queue) = app().await;
    let mut alice = signed_in(&app).await;
    for n in 0..MAX_ENDPOINTS {
        endpoint(&app, &alice, Mode::Sandbox, &format!("https://hooks.example/{n}"), &[EventType::OrderCreated]).await;
    }
    let form = [("csrf", alice.csrf.as_str()), ("url", "https://hooks.example/more"), ("events", "order.created")];

    let refused = alice.browser.post("/dashboard/sandbox/webhooks", &form).await;

    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.html);
    assert!(
        refused.html.contains(
            "The endpoint was not created: a partner may register at most 16 webhook endpoints in each mode."
        ),
        "{}",
        refused.html
    );
    assert!(refused.html.contains(r#"value="https://hooks.example/more""#), "what was typed is kept");
    assert_eq!(endpoint_count(&app, &alice, Mode::Sandbox).await, MAX_ENDPOINTS);
}

#[tokio::test]
async fn webhook_forms_without_this_sessions_csrf_token_are_refused_and_change_nothing() {
    let (app, queue) = app().await;
    let mut alice = signed_in(&app).await;
    let mallory = signed_in(&app).await;
    let hook = endpoint(&app, &alice, Mode::Sandbox, "https://hooks.example/a", &[EventType::OrderCreated]).await;
    let event = order_event(&app, &alice).await.event.id;
    let create = [("url", "https://hooks.example/b"), ("events", "order.created")];

    let answers = [
        alice.browser.post("/dashboard/sandbox/webhooks", &create).await,
        alice.browser.post("/dashboard/sandbox/webhooks", &[("csrf", &mallory.csrf), create[0], create[1]]).await,
        alice
            .browser
            .post(&format!("/dashboard/sandbox/webhooks/{}/rotate", hook.id), &[("csrf", &mallory.csrf)])
            .await,
        alice.browser.post(&format!("/dashboard/sandbox/webhooks/{}/delete", hook.id), &[]).await,
        alice.browser.post(&format!("/dashboard/sandbox/events/{event}/redeliver"), &[("csrf", "forged")]).await,
    ];

    for answer in &answers {
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.html);
        assert!(answer.html.contains("This form has expired") && shown_secret(answer).is_none());
    }
    let kept = app.state.store.endpoint(&alice.partner, Mode::Sandbox, &hook.id).await.expect("not deleted");
    assert_eq!(kept.secret, hook.secret, "not rotated");
    assert_eq!(endpoint_count(&app, &alice, Mode::Sandbox).await, 1, "none created");
    assert!(queue.deliveries().is_empty(), "nothing redelivered");
}

#[tokio::test]
async fn rotating_shows_a_new_secret_once_and_says_the_old_one_signs_for_24_hours() {
    let (app, _queue) = app().await;
    let mut alice = signed_in(&app).await;
    let hook = endpoint(&app, &alice, Mode::Live, "https://hooks.example/live", &[EventType::WalletCredited]).await;

    let rotated =
        alice.browser.post(&format!("/dashboard/live/webhooks/{}/rotate", hook.id), &[("csrf", &alice.csrf)]).await;

    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.html);
    let shown = shown_secret(&rotated).expect("the new secret is shown");
    assert_ne!(shown, hook.secret.expose(), "a new secret");
    let stored = app.state.store.endpoint(&alice.partner, Mode::Live, &hook.id).await.expect("the endpoint");
    assert_eq!(shown, stored.secret.expose(), "the one deliveries are now signed with");
    let (previous, until) = stored.previous_secret.expect("the old one is kept for a while");
    assert_eq!(previous, hook.secret);
    assert!(rotated.html.contains("it is shown only now."));
    assert!(
        rotated.html.contains("The old secret keeps signing deliveries, beside this one, for 24 hours"),
        "{}",
        rotated.html
    );
    assert!(rotated.html.contains(&format!(r#"(until <time datetime="{0}">{0}</time>)"#, until)));
    assert!(!rotated.html.contains(hook.secret.expose()), "the old secret is not shown");
    assert_eq!(rotated.headers.get(header::CACHE_CONTROL).map(|v| v.to_str().ok()), Some(Some("no-store")));

    let later = alice.browser.get("/dashboard/live/webhooks").await;
    assert!(shown_secret(&later).is_none() && later.html.contains("Old secret signs until"), "{}", later.html);
}

#[tokio::test]
async fn a_form_refused_for_the_cap_can_be_sent_again_once_there_is_room() {
    let (app, _queue) = app().await;
    let mut alice = signed_in(&app).await;
    let mut hooks = Vec::new();
    for n in 0..MAX_ENDPOINTS {
        let url = format!("https://hooks.example/{n}");
        hooks.push(endpoint(&app, &alice, Mode::Sandbox, &url, &[EventType::OrderCreated]).await);
    }
    let token = create_token(&alice.browser.get("/dashboard/sandbox/webhooks").await).expect("a token");
    let form = endpoint_form(&alice.csrf, &token, "https://hooks.example/more");
    let refused = alice.browser.post("/dashboard/sandbox/webhooks", &form).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.html);
    assert_eq!(create_token(&refused), Some(token.clone()), "the refused form keeps its token: nothing was made");
    let path = format!("/dashboard/sandbox/webhooks/{}/delete", hooks[0].id);
    assert_eq!(alice.browser.post(&path, &[("csrf", &alice.csrf)]).await.status, StatusCode::SEE_OTHER);

    let again = alice.browser.post("/dashboard/sandbox/webhooks", &form).await;

    assert_eq!(again.status, StatusCode::OK, "the refusal did not use the form up: {}", again.html);
    assert!(shown_secret(&again).is_some(), "the new endpoint's secret, shown once");
    assert_eq!(endpoint_count(&app, &alice, Mode::Sandbox).await, MAX_ENDPOINTS);
    let twice = alice.browser.post("/dashboard/sandbox/webhooks", &form).await;
    assert_eq!(twice.status, StatusCode::CONFLICT, "{}", twice.html);
    assert!(twice.html.contains("This form was already sent"), "now it is used: {}", twice.html);
}

#[tokio::test]
async fn a_rotate_form_sent_again_rotates_nothing_so_the_old_secret_keeps_signing() {
    let (app, _queue) = app().await;
    let mut alice = signed_in(&app).await;
    let hook = endpoint(&app, &alice, Mode::Sandbox, "https://hooks.example/rotate", &[EventType::OrderCreated]).await;
    let page = alice.browser.get("/dashboard/sandbox/webhooks").await;
    let token = create_token(&page).expect("a token");
    let action = format!("/dashboard/sandbox/webhooks/{}/rotate", hook.id);
    let rotate_token = token_of(&page, &action).expect("the rotate form carries a one-time token");
    assert_ne!(rotate_token, token, "its own, not the create form's");
    let form = [("csrf", alice.csrf.as_str()), ("submission", rotate_token.as_str())];

    let first = alice.browser.post(&action, &form).await;
    let reloaded = alice.browser.post(&action, &form).await;

    assert_eq!(first.status, StatusCode::OK, "{}", first.html);
    let shown = shown_secret(&first).expect("the new secret, shown once");
    assert_eq!(reloaded.status, StatusCode::CONFLICT, "{}", reloaded.html);
    assert!(reloaded.html.contains("This form was already sent"), "{}", reloaded.html);
    assert!(shown_secret(&reloaded).is_none(), "no other secret");
    let stored = app.state.store.endpoint(&alice.partner, Mode::Sandbox, &hook.id).await.expect("the endpoint");
    assert_eq!(stored.secret.expose(), shown, "the secret shown is the one that signs");
    let previous = stored.previous_secret.as_ref().map(|(secret, _)| secret.expose());
    assert_eq!(previous, Some(hook.secret.expose()), "the secret the receiver holds still signs");
}

#[tokio::test]
async fn deleting_removes_the_endpoint_and_the_page_says_so() {
    let (app, _queue) = app().await;
    let mut alice = signed_in(&app).await;
    let hook = endpoint(&app, &alice, Mode::Sandbox, "https://hooks.example/gone", &[EventType::OrderCreated]).await;
    let listed = alice.browser.get("/dashboard/sandbox/webhooks").await;
    let confirm = r#"<details class="confirm"><summary aria-label="Delete the endpoint https://hooks.example/gone">Delete…</summary>"#;
    let (opened, delete) = (listed.html.find(confirm), listed.html.find(&format!("{}/delete\"", hook.id)));
    assert!(opened.is_some() && opened < delete, "deleting takes a second click, after a warning: {}", listed.html);

    let deleted =
        alice.browser.post(&format!("/dashboard/sandbox/webhooks/{}/delete", hook.id), &[("csrf", &alice.csrf)]).await;

    assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.html);
    assert_eq!(deleted.location(), Some("/dashboard/sandbox/webhooks?done=deleted"));
    let gone = app.state.store.endpoint(&alice.partner, Mode::Sandbox, &hook.id).await;
    assert!(matches!(gone, Err(StoreError::NotFound)), "{gone:?}");
    let page = alice.browser.get("/dashboard/sandbox/webhooks?done=deleted").await;
    assert!(
        page.html.contains(
            r#"<div class="notice" role="status"><p>The endpoint was deleted: nothing more is sent to it.</p></div>"#
        ),
        "{}",
        page.html
    );
    assert!(!page.html.contains("hooks.example/gone") && page.html.contains("No sandbox endpoints yet"));

    let again =
        alice.browser.post(&format!("/dashboard/sandbox/webhooks/{}/delete", hook.id), &[("csrf", &alice.csrf)]).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND, "a second delete finds nothing");
}

#[tokio::test]
async fn another_partners_or_another_modes_endpoint_or_event_is_the_404_page() {
    let (app, queue) = app().await;
    let mut alice = signed_in(&app).await;
    let mut bob = signed_in(&app).await;
    let hook = endpoint(&app, &alice, Mode::Sandbox, "https://hooks.example/alice", &[EventType::OrderCreated]).await;
    let event = order_event(&app, &alice).await.event.id;

    let answers = [
        bob.browser.post(&format!("/dashboard/sandbox/webhooks/{}/rotate", hook.id), &[("csrf", &bob.csrf)]).await,
        bob.browser.post(&format!("/dashboard/sandbox/webhooks/{}/delete", hook.id), &[("csrf", &bob.csrf)]).await,
        bob.browser.post(&format!("/dashboard/sandbox/events/{event}/redeliver"), &[("csrf", &bob.csrf)]).await,
        alice.browser.post(&format!("/dashboard/live/webhooks/{}/rotate", hook.id), &[("csrf", &alice.csrf)]).await,
        alice.browser.post(&format!("/dashboard/live/webhooks/{}/delete", hook.id), &[("csrf", &alice.csrf)]).await,
        alice.browser.post(&format!("/dashboard/live/events/{event}/redeliver"), &[("csrf", &alice.csrf)]).await,
        alice.browser.post("/dashboard/sandbox/webhooks/not-an-id/delete", &[("csrf", &alice.csrf)]).await,
        alice.browser.post(&format!("/dashboard/sandbox/events/{}/redeliver", hook.id), &[("csrf", &alice.csrf)]).await,
    ];

    for answer in &answers {
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{}", answer.html);
        assert!(
            answer.html.contains("There is nothing here, or nothing you can see.") && shown_secret(answer).is_none()
        );
    }
    let kept = app.state.store.endpoint(&alice.partner, Mode::Sandbox, &hook.id).await.expect("still there");
    assert_eq!(kept.secret, hook.secret, "not rotated");
    assert!(queue.deliveries().is_empty(), "nothing redelivered");
    let bobs = bob.browser.get("/dashboard/sandbox/webhooks").await;
    assert!(!bobs.html.contains("hooks.example/alice") && !bobs.html.contains(&event.to_string()), "{}", bobs.html);
}

#[tokio::test]
async fn redelivering_queues_the_event_for_each_endpoint_that_takes_it_and_says_for_how_many() {
    let (app, queue) = app().await;
    let mut alice = signed_in(&app).await;
    let takes = endpoint(&app, &alice, Mode::Sandbox, "https://hooks.example/orders", &[EventType::OrderCreated]).await;
    endpoint(&app, &alice, Mode::Sandbox, "https://hooks.example/money", &[EventType::WalletCredited]).await;
    let event = order_event(&app, &alice).await.event.id;

    let redelivered =
        alice.browser.post(&format!("/dashboard/sandbox/events/{event}/redeliver"), &[("csrf", &alice.csrf)]).await;

    assert_eq!(redelivered.status, StatusCode::SEE_OTHER, "{}", redelivered.html);
    let location = redelivered.location().expect("a redirect").to_owned();
    assert_eq!(location, "/dashboard/sandbox/webhooks?done=redelivered&endpoints=1");
    let expected = Delivery { partner_id: alice.partner, mode: Mode::Sandbox, event_id: event, endpoint_id: takes.id };
    assert_eq!(queue.deliveries(), [expected], "queued once, for the endpoint that takes order.created");
    let page = alice.browser.get(&location).await;
    assert!(page.html.contains("The event was queued for delivery to 1 endpoint."), "{}", page.html);
}

#[tokio::test]
async fn without_a_delivery_queue_redelivery_is_a_503_page_that_says_so() {
    let app = bare_app().await;
    let mut alice = signed_in(&app).await;
    let event = order_event(&app, &alice).await.event.id;

    let page = alice.browser.get("/dashboard/sandbox/webhooks").await;
    let refused =
        alice.browser.post(&format!("/dashboard/sandbox/events/{event}/redeliver"), &[("csrf", &alice.csrf)]).await;

    assert!(
        page.html.contains("Redelivery is unavailable here") && !page.html.contains("/redeliver\""),
        "{}",
        page.html
    );
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE, "{}", refused.html);
    assert!(refused.html.contains(r#"<div class="summary" role="alert"><p>Redelivery is unavailable here: no delivery queue is configured. Nothing was sent.</p></div>"#), "{}", refused.html);
    assert!(refused.html.contains("Sign out"), "still the signed-in dashboard");
}

#[tokio::test]
async fn the_webhooks_page_sends_a_visitor_to_sign_in() {
    let app = bare_app().await;
    let mut visitor = Visitor::new(&app);

    let answer = visitor.get("/dashboard/sandbox/webhooks").await;

    assert_eq!((answer.status, answer.location()), (StatusCode::SEE_OTHER, Some("/signin")));
}
