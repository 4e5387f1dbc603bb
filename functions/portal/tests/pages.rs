//! The portal's pages in-process, over an embedded dynoxide: sign-up, sign-in by emailed
//! code (expiry, the wrong-try lockout, no hint of which emails are registered), the
//! session cookie, sign-out, CSRF on every form, keys, and the ops console.

mod support;

use axum::http::StatusCode;
use steller::domain::{
    ApiKey, Audience, Email, KeyRole, Mode, PartnerId, Principal, SessionId, SignInCode, Timestamp, TopUpStatus,
};
use steller::testing::TestApp;
use support::{Visitor, last_code};
use utoipa_axum::router::OpenApiRouter;

async fn app() -> TestApp {
    TestApp::embedded(OpenApiRouter::new()).await
}

async fn partner_of(app: &TestApp, email: &str) -> PartnerId {
    let email = Email::parse(Some(email)).expect("valid");
    app.state.store.partner_by_email(&email).await.expect("read").expect("signed up")
}

#[tokio::test]
async fn signing_up_shows_the_sandbox_key_once_with_a_copy_button_and_a_curl_call() {
    let app = app().await;
    let mut visitor = Visitor::new(&app);

    let page = visitor.sign_up("Acme Ltd", "Dev@Acme.example").await;

    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let start = page.html.find("stl_sandbox_").expect("the key is on the page");
    let key = &page.html[start..start + 52];
    let key = ApiKey::parse(key).expect("a whole sandbox key");
    assert!(matches!(app.state.store.principal(&key).await, Ok(Some(Principal::Partner { mode: Mode::Sandbox, .. }))));
    assert!(page.html.contains("shown only once"));
    assert!(
        page.html.contains(r#"<button type="button" data-copy="api-key" hidden>Copy</button>"#),
        "a copy button for the key, hidden until the script shows it (it does nothing without): {}",
        page.html
    );
    assert!(page.html.contains("curl -s http://127.0.0.1:3000/api/wallet"), "a ready call, for this host");
    assert!(page.html.contains("1000.00 USD"), "the sandbox credit, as the API writes money");
    assert_eq!(app.outbox().len(), 1, "the welcome email");
    assert!(!app.outbox()[0].text.contains(key.expose()), "the key is never emailed");
}

#[tokio::test]
async fn a_sign_up_with_bad_fields_names_each_next_to_its_input_and_keeps_what_was_typed() {
    let app = app().await;
    let mut visitor = Visitor::new(&app);
    let form = visitor.get("/signup").await;
    let token = form.hidden("form_token").expect("a token");

    let page = visitor
        .post("/signup", &[("form_token", &token), ("company_name", ""), ("email", "\u{200b}dev@acme.example")])
        .await;

    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    for field in ["company_name", "email"] {
        assert!(page.html.contains(&format!("id=\"{field}-error\"")), "{field}'s error is next to it");
        assert!(page.html.contains(&format!("aria-describedby=\"{field}-error")), "{field} names its error");
    }
    assert!(page.html.contains("invisible"), "the email's error says why");
    assert!(page.html.contains("value=\"\u{200b}dev@acme.example\""), "what was typed is kept");
    assert!(page.html.contains("role=\"alert\""), "a summary for whoever reads from the top");
}

#[tokio::test]
async fn an_address_no_email_reaches_is_refused_with_the_reason_on_both_forms() {
    let app = app().await;
    let mut visitor = Visitor::new(&app);
    let form = visitor.get("/signup").await;
    let token = form.hidden("form_token").expect("a token");

    let signup = visitor
        .post("/signup", &[("form_token", &token), ("company_name", "Acme"), ("email", "ren\u{e9}e@acme.example")])
        .await;
    let signin = Visitor::new(&app).ask_code("/signin", "ren\u{e9}e@acme.example").await;

    for (form, page) in [("sign-up", signup), ("sign-in", signin)] {
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{form}: {}", page.html);
        assert!(page.html.contains("ASCII letters, digits"), "{form} says why: {}", page.html);
        assert!(page.html.contains("value=\"ren\u{e9}e@acme.example\""), "{form} keeps what was typed");
    }
    assert!(app.outbox().is_empty(), "no email to an address SES cannot take");
}

#[tokio::test]
async fn an_internationalised_domain_signs_in_by_either_spelling() {
    let app = app().await;
    Visitor::new(&app).sign_up("B\u{fc}cher GmbH", "dev@b\u{fc}cher.example").await;

    let mut visitor = Visitor::new(&app);
    let signed_in = visitor.sign_in(&app, "/signin", "dev@xn--bcher-kva.example").await;

    assert_eq!(signed_in.status, StatusCode::SEE_OTHER, "{}", signed_in.html);
    assert_eq!(signed_in.location(), Some("/dashboard/sandbox"));
    let partner = partner_of(&app, "dev@b\u{fc}cher.example").await;
    assert_eq!(partner_of(&app, "dev@xn--bcher-kva.example").await, partner);
    let dashboard = visitor.get("/dashboard/sandbox").await;
    assert!(dashboard.html.contains(&partner.to_string()), "that partner's ledger: {}", dashboard.html);
}

#[tokio::test]
async fn a_page_answering_an_error_says_error_first_in_its_title_and_only_then() {
    let app = app().await;
    let mut visitor = Visitor::new(&app);
    let form = visitor.get("/signup").await;
    let token = form.hidden("form_token").expect("a token");

    let refused = visitor.post("/signup", &[("form_token", &token), ("company_name", ""), ("email", "")]).await;
    let missing = visitor.get("/no-such-page").await;
    let expired = visitor.post("/signup", &[("company_name", "Acme"), ("email", "dev@acme.example")]).await;

    assert!(form.html.contains("<title>Sign up · Steller</title>"), "{}", form.html);
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.html.contains("<title>Error: Sign up · Steller</title>"), "{}", refused.html);
    assert!(refused.html.contains("<h1>Sign up</h1>"), "the heading stays the page's name");
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.html.contains("<title>Error: Not found · Steller</title>"), "{}", missing.html);
    assert!(missing.html.contains("<h1>Not found</h1>"), "{}", missing.html);
    assert!(expired.status.is_client_error(), "{}", expired.status);
    assert_eq!(expired.html.matches("Error: ").count(), 1, "said once: {}", expired.html);
}

#[tokio::test]
async fn an_error_page_offers_a_signed_in_partner_no_sign_in_link() {
    let app = app().await;
    let mut partner = Visitor::new(&app);
    partner.sign_up("Acme", "dev@acme.example").await;
    partner.sign_in(&app, "/signin", "dev@acme.example").await;

    let missing = partner.get("/dashboard/sandbox/no-such-page").await;

    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(!missing.html.contains("href=\"/signin\""), "{}", missing.html);
    assert!(!missing.html.contains("href=\"/signup\""), "{}", missing.html);
    assert!(missing.html.contains("<a href=\"/\">Home</a>"), "{}", missing.html);
    let home = partner.get("/").await;
    assert_eq!(home.status, StatusCode::SEE_OTHER, "home takes the partner on to the dashboard");
}

#[tokio::test]
async fn a_sign_up_with_a_taken_email_says_so_next_to_the_email() {
    let app = app().await;
    Visitor::new(&app).sign_up("Acme", "dev@acme.example").await;

    let page = Visitor::new(&app).sign_up("Other", "DEV@acme.example").await;

    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.html.contains("already exists"), "{}", page.html);
    assert!(page.html.contains("id=\"email-error\""));
}

#[tokio::test]
async fn forms_posted_without_their_token_are_refused_and_change_nothing() {
    let app = app().await;
    let mut visitor = Visitor::new(&app);
    visitor.get("/signup").await;

    let forged =
        visitor.post("/signup", &[("form_token", "forged"), ("company_name", "Acme"), ("email", "a@b.example")]).await;
    let mut stranger = Visitor::new(&app);
    let no_cookie = stranger.post("/signup", &[("company_name", "Acme"), ("email", "c@d.example")]).await;

    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(no_cookie.status, StatusCode::FORBIDDEN);
    let email = Email::parse(Some("a@b.example")).expect("valid");
    assert_eq!(app.state.store.partner_by_email(&email).await.expect("read"), None, "nobody signed up");
}

#[tokio::test]
async fn signing_in_with_the_emailed_code_opens_a_session_and_verifies_the_email() {
    let app = app().await;
    Visitor::new(&app).sign_up("Acme", "dev@acme.example").await;
    let partner = partner_of(&app, "dev@acme.example").await;
    assert!(!app.state.store.partner(&partner).await.expect("a partner").email_verified());
    let mut visitor = Visitor::new(&app);

    let signed_in = visitor.sign_in(&app, "/signin", "dev@acme.example").await;

    assert_eq!(signed_in.status, StatusCode::SEE_OTHER, "{}", signed_in.html);
    assert_eq!(signed_in.location(), Some("/dashboard/sandbox"));
    let cookie = signed_in.set_cookie("steller_session").expect("a session cookie");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain-http loopback cannot keep a Secure cookie: {cookie}");
    let stored: String = app.db.scan().await.iter().flat_map(|item| item.values().map(|v| format!("{v:?}"))).collect();
    let id = visitor.cookie("steller_session").expect("kept");
    assert!(!stored.contains(id), "the session id is stored only as its SHA-256");
    assert!(app.state.store.partner(&partner).await.expect("a partner").email_verified(), "the email is verified");
    let dashboard = visitor.get("/dashboard/sandbox").await;
    assert_eq!(dashboard.status, StatusCode::OK);
    assert!(dashboard.html.contains("1000.00 USD") && dashboard.html.contains("signup_credit"), "{}", dashboard.html);
}

#[tokio::test]
async fn behind_https_the_session_cookie_is_secure() {
    let app = app().await;
    Visitor::new(&app).sign_up("Acme", "dev@acme.example").await;
    let mut visitor = Visitor::new(&app);
    visitor.host = "api.steller.example".into();

    let signed_in = visitor.sign_in(&app, "/signin", "dev@acme.example").await;

    let cookie = signed_in.set_cookie("steller_session").expect("a session cookie");
    assert!(cookie.contains("Secure") && cookie.contains("HttpOnly"), "{cookie}");
}

#[tokio::test]
async fn the_answer_is_the_same_for_an_unknown_email_and_no_code_is_sent() {
    let app = app().await;
    Visitor::new(&app).sign_up("Acme", "dev@acme.example").await;
    let before = app.outbox().len();

    let known = Visitor::new(&app).ask_code("/signin", "dev@acme.example").await;
    let unknown = Visitor::new(&app).ask_code("/signin", "nobody@acme.example").await;

    assert_eq!((known.status, unknown.status), (StatusCode::OK, StatusCode::OK));
    let without_email = |html: &str, email: &str| html.replace(email, "EMAIL");
    let tokenless = |html: String| {
        let start = html.find("name=\"form_token\" value=\"").map_or(0, |at| at + 25);
        html[..start].to_owned() + &html[start + 43..]
    };
    assert_eq!(
        tokenless(without_email(&known.html, "dev@acme.example")),
        tokenless(without_email(&unknown.html, "nobody@acme.example")),
        "the pages differ only in the address typed"
    );
    assert_eq!(app.outbox().len(), before + 1, "only the registered address got a code");
    let mut guesser = Visitor::new(&app);
    guesser.ask_code("/signin", "nobody@acme.example").await;
    let wrong = guesser.type_code("/signin", "nobody@acme.example", "123456").await;
    assert!(wrong.html.contains("4 more tries"), "a wrong code reads the same as for a real account");
}

#[tokio::test]
async fn five_wrong_codes_void_the_code_even_for_the_right_one() {
    let app = app().await;
    Visitor::new(&app).sign_up("Acme", "dev@acme.example").await;
    let mut visitor = Visitor::new(&app);
    visitor.ask_code("/signin", "dev@acme.example").await;
    let code = last_code(&app, "dev@acme.example").expect("a code");
    let wrong = if code == "000000" { "111111" } else { "000000" };

    let mut answers = Vec::new();
    for _ in 0..5 {
        answers.push(visitor.type_code("/signin", "dev@acme.example", wrong).await);
    }
    let right_too_late = visitor.type_code("/signin", "dev@acme.example", &code).await;

    assert!(answers[0].html.contains("4 more tries"), "{}", answers[0].html);
    assert!(answers[3].html.contains("1 more try"), "{}", answers[3].html);
    assert!(answers[4].html.contains("no longer works"), "the fifth wrong try voids it");
    assert_eq!(right_too_late.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(right_too_late.html.contains("no longer works"));
    assert!(visitor.cookie("steller_session").is_none(), "no session was opened");
    let fresh = visitor.sign_in(&app, "/signin", "dev@acme.example").await;
    assert_eq!(fresh.status, StatusCode::SEE_OTHER, "a new code works again");
}

#[tokio::test]
async fn a_code_works_for_ten_minutes_only() {
    let app = app().await;
    Visitor::new(&app).sign_up("Acme", "dev@acme.example").await;
    let email = Email::parse(Some("dev@acme.example")).expect("valid");
    let code = SignInCode::generate();
    let eleven_minutes_ago =
        Timestamp::from_datetime(Timestamp::now().datetime() - time::Duration::minutes(11)).expect("a time");
    app.state.store.issue_sign_in_code(Audience::Partner, &email, &code, eleven_minutes_ago).await.expect("kept");
    let mut visitor = Visitor::new(&app);
    visitor.get("/signin").await;

    let late = visitor.type_code("/signin", "dev@acme.example", code.expose()).await;

    assert_eq!(late.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(late.html.contains("no longer works"), "{}", late.html);
}

#[tokio::test]
async fn signing_out_ends_the_session_on_the_server() {
    let app = app().await;
    Visitor::new(&app).sign_up("Acme", "dev@acme.example").await;
    let mut visitor = Visitor::new(&app);
    visitor.sign_in(&app, "/signin", "dev@acme.example").await;
    let id = visitor.cookie("steller_session").expect("a session").to_owned();
    let dashboard = visitor.get("/dashboard/sandbox").await;
    let csrf = dashboard.hidden("csrf").expect("the sign-out form's token");

    let out = visitor.post("/signout", &[("csrf", &csrf)]).await;

    assert_eq!((out.status, out.location()), (StatusCode::SEE_OTHER, Some("/signin")));
    assert!(visitor.cookie("steller_session").is_none(), "the cookie is cleared");
    visitor.set("steller_session", &id);
    let replayed = visitor.get("/dashboard/sandbox").await;
    assert_eq!(
        (replayed.status, replayed.location()),
        (StatusCode::SEE_OTHER, Some("/signin?session=ended")),
        "the old id opens nothing"
    );
    assert!(visitor.cookie("steller_session").is_none(), "the dead cookie is dropped");
    let told = visitor.get("/signin?session=ended").await;
    assert!(told.html.contains("Your session has ended"), "{}", told.html);
    assert!(told.html.contains(r#"role="status""#), "announced, not an error: {}", told.html);
}

#[tokio::test]
async fn a_session_that_ran_out_mid_task_is_explained_and_another_doors_session_is_kept() {
    let app = app().await;
    Visitor::new(&app).sign_up("Acme", "dev@acme.example").await;
    let mut partner = Visitor::new(&app);
    partner.sign_in(&app, "/signin", "dev@acme.example").await;
    let csrf = partner.get("/dashboard/live/keys").await.hidden("csrf").expect("a token");
    let id = partner.cookie("steller_session").expect("a session").to_owned();
    let session = SessionId::parse(&id).expect("a session id");

    // A partner's session at the ops console is no session there, and it goes on working.
    let console = partner.get("/ops").await;
    assert_eq!(console.location(), Some("/ops/signin"), "no word of an ended session");
    assert_eq!(partner.cookie("steller_session"), Some(id.as_str()), "the cookie is kept");
    assert!(!partner.get("/ops/signin").await.html.contains("session has ended"));
    assert_eq!(partner.get("/dashboard/live/keys").await.status, StatusCode::OK);

    // Ended on the server (as expiry ends it) while a form is open: the post is refused
    // with the reason, and nothing is made.
    app.state.store.end_session(&session).await.expect("ended");
    let create = partner.post("/dashboard/live/keys", &[("csrf", &csrf), ("name", "ci")]).await;
    assert_eq!((create.status, create.location()), (StatusCode::SEE_OTHER, Some("/signin?session=ended")));
    let partner_id = partner_of(&app, "dev@acme.example").await;
    let keys = app.state.store.list_keys(&partner_id, Some(Mode::Live), &steller::store::PageRequest::default()).await;
    assert!(keys.expect("listed").items.is_empty(), "no key was made");
    let page = partner.get("/signin?session=ended").await;
    assert!(page.html.contains("sessions last 12 hours"), "{}", page.html);
    assert!(page.html.contains(r#"name="email""#), "with the form to sign in again");
}

#[tokio::test]
async fn pages_for_signed_in_people_send_others_to_sign_in() {
    let app = app().await;
    let mut visitor = Visitor::new(&app);

    let dashboard = visitor.get("/dashboard/live").await;
    let console = visitor.get("/ops").await;
    let unknown_mode = visitor.get("/dashboard/nope").await;

    assert_eq!(dashboard.location(), Some("/signin"));
    assert_eq!(console.location(), Some("/ops/signin"));
    assert_eq!(unknown_mode.status, StatusCode::SEE_OTHER, "no session, no page at all");
}

#[tokio::test]
async fn the_owner_makes_a_live_key_shown_once_and_revokes_it() {
    let app = app().await;
    Visitor::new(&app).sign_up("Acme", "dev@acme.example").await;
    let mut visitor = Visitor::new(&app);
    visitor.sign_in(&app, "/signin", "dev@acme.example").await;
    let keys = visitor.get("/dashboard/live/keys").await;
    let csrf = keys.hidden("csrf").expect("a token");
    assert!(
        keys.html.contains("No live keys yet: create one above.") && !keys.html.contains("<table"),
        "{}",
        keys.html
    );
    assert!(keys.html.contains(r#"<a href="/dashboard/live/keys" aria-current="page">API keys</a>"#), "{}", keys.html);
    assert!(
        keys.html.contains(r#"<a class="switch" href="/dashboard/sandbox/keys">Switch to sandbox</a>"#),
        "switching mode keeps the section: {}",
        keys.html
    );

    let forged = visitor.post("/dashboard/live/keys", &[("csrf", "forged"), ("name", "x")]).await;
    let created = visitor.post("/dashboard/live/keys", &[("csrf", &csrf), ("name", "production")]).await;

    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(created.status, StatusCode::OK, "{}", created.html);
    let start = created.html.find("stl_live_").expect("the new key, shown once");
    let key = ApiKey::parse(&created.html[start..start + 49]).expect("a whole live key");
    assert_eq!(key.role(), KeyRole::Partner(Mode::Live));
    assert!(matches!(app.state.store.principal(&key).await, Ok(Some(Principal::Partner { mode: Mode::Live, .. }))));
    let listed = visitor.get("/dashboard/live/keys").await;
    assert!(!listed.html.contains(key.expose()), "a listing never shows the key again");
    let confirm =
        format!(r#"<details class="confirm"><summary aria-label="Revoke key {}">Revoke…</summary>"#, key.prefix());
    let (opened, revoke) = (listed.html.find(&confirm), listed.html.find("/revoke\""));
    assert!(opened.is_some() && opened < revoke, "revoking takes a second click, after a warning: {}", listed.html);
    let start = listed.html.find("/dashboard/live/keys/key_").expect("a revoke form") + "/dashboard/live/keys/".len();
    let id = &listed.html[start..start + 30];

    let revoked = visitor.post(&format!("/dashboard/live/keys/{id}/revoke"), &[("csrf", &csrf)]).await;

    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    let confirmed = format!("/dashboard/live/keys?revoked={id}");
    assert_eq!(revoked.location(), Some(confirmed.as_str()));
    assert_eq!(app.state.store.principal(&key).await.expect("looked up"), None, "the key no longer works");
    let shown = visitor.get(&confirmed).await;
    assert!(
        shown.html.contains(&format!(
            r#"<div class="notice" role="status"><p>Key “production” (<code>{id}</code>) was revoked; it stops working at once.</p></div>"#
        )),
        "{}",
        shown.html
    );
}

#[tokio::test]
async fn a_revoked_flag_that_names_no_revoked_key_of_the_list_shows_no_confirmation() {
    let app = app().await;
    Visitor::new(&app).sign_up("Acme", "dev@acme.example").await;
    let mut visitor = Visitor::new(&app);
    visitor.sign_in(&app, "/signin", "dev@acme.example").await;
    let csrf = visitor.get("/dashboard/sandbox/keys").await.hidden("csrf").expect("a token");
    visitor.post("/dashboard/sandbox/keys", &[("csrf", &csrf), ("name", "ci")]).await;
    let listed = visitor.get("/dashboard/sandbox/keys").await;
    let start =
        listed.html.find("/dashboard/sandbox/keys/key_").expect("a revoke form") + "/dashboard/sandbox/keys/".len();
    let active = &listed.html[start..start + 30];

    for flag in [active, "key_01ARZ3NDEKTSV4RRFFQ69G5FAV", "%3Cscript%3Ealert(1)%3C/script%3E", ""] {
        let page = visitor.get(&format!("/dashboard/sandbox/keys?revoked={flag}")).await;

        assert_eq!(page.status, StatusCode::OK, "{flag}: {}", page.html);
        assert!(!page.html.contains(r#"role="status""#), "{flag}: {}", page.html);
        assert!(!page.html.contains("<script>alert"), "never echoed: {}", page.html);
    }
}

#[tokio::test]
async fn a_key_name_with_control_characters_is_named_next_to_its_input() {
    let app = app().await;
    Visitor::new(&app).sign_up("Acme", "dev@acme.example").await;
    let mut visitor = Visitor::new(&app);
    visitor.sign_in(&app, "/signin", "dev@acme.example").await;
    let csrf = visitor.get("/dashboard/sandbox/keys").await.hidden("csrf").expect("a token");

    let refused = visitor.post("/dashboard/sandbox/keys", &[("csrf", &csrf), ("name", "ci\u{202e}")]).await;

    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.html.contains("id=\"name-error\""), "{}", refused.html);
}

#[tokio::test]
async fn a_code_goes_only_to_the_ops_address_and_opens_the_console() {
    let app = app().await;
    let ops = app.state.config.ops_email.clone().expect("the tests' ops address");
    let before = app.outbox().len();

    Visitor::new(&app).ask_code("/ops/signin", "mallory@acme.example").await;
    assert_eq!(app.outbox().len(), before, "no code for an address that is not ops");
    let mut operator = Visitor::new(&app);
    let signed_in = operator.sign_in(&app, "/ops/signin", &ops).await;

    assert_eq!((signed_in.status, signed_in.location()), (StatusCode::SEE_OTHER, Some("/ops")));
    let console = operator.get("/ops").await;
    assert_eq!(console.status, StatusCode::OK);
    assert!(console.html.contains("Pending top-ups"));
    let dashboard = operator.get("/dashboard/sandbox").await;
    assert_eq!(dashboard.location(), Some("/signin"), "an operator's session is no partner's");
}

#[tokio::test]
async fn an_operator_approves_and_rejects_in_the_console_and_the_history_says_who() {
    let app = app().await;
    let first = app.db.pending_live_top_up("300.00").await;
    let second = app.db.pending_live_top_up("45.00").await;
    let key = ApiKey::generate(KeyRole::Ops);
    let key_id = app.state.store.register_ops_key(&key, "console test").await.expect("registered");
    let mut operator = Visitor::new(&app);
    let form = operator.get("/ops/signin").await;
    let token = form.hidden("form_token").expect("a token");
    let signed_in = operator.post("/ops/signin/key", &[("form_token", &token), ("ops_key", key.expose())]).await;
    assert_eq!(signed_in.location(), Some("/ops"), "{}", signed_in.html);
    let pending = operator.get("/ops").await;
    let (a, b) = (pending.html.find(&first.id.to_string()), pending.html.find(&second.id.to_string()));
    assert!(a.is_some() && a < b, "oldest first");
    assert!(pending.html.contains("300.00 USD") && pending.html.contains("Topped Ltd"), "amount and partner");
    let csrf = pending.hidden("csrf").expect("a token");

    let forged = operator.post(&format!("/ops/top-ups/{}/approve", first.id), &[("csrf", "forged")]).await;
    let approved = operator.post(&format!("/ops/top-ups/{}/approve", first.id), &[("csrf", &csrf)]).await;
    let again = operator.post(&format!("/ops/top-ups/{}/approve", first.id), &[("csrf", &csrf)]).await;
    let no_reason =
        operator.post(&format!("/ops/top-ups/{}/reject", second.id), &[("csrf", &csrf), ("reason", " ")]).await;
    let rejected = operator
        .post(&format!("/ops/top-ups/{}/reject", second.id), &[("csrf", &csrf), ("reason", "No transfer arrived")])
        .await;

    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(approved.status, StatusCode::SEE_OTHER);
    assert_eq!(again.status, StatusCode::CONFLICT, "decided once");
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(no_reason.html.contains("-error\""), "the reason's error is next to it");
    assert_eq!(rejected.status, StatusCode::SEE_OTHER);
    let wallet = app.state.store.wallet(&first.partner_id, Mode::Live).await.expect("a wallet");
    assert_eq!(wallet.balance.to_string(), "300.00", "credited exactly once");
    let second_now = app.state.store.top_up_by_id(&second.id).await.expect("stored");
    assert_eq!(second_now.status, TopUpStatus::Rejected);
    let history = operator.get("/ops/decided").await;
    assert!(history.html.contains(&format!("ops_key:{key_id}")), "who decided: {}", history.html);
    assert!(history.html.contains("No transfer arrived"));
    let emails: Vec<String> = app.outbox().iter().map(|email| email.subject.clone()).collect();
    assert!(
        emails.iter().any(|s| s.contains("approved")) && emails.iter().any(|s| s.contains("rejected")),
        "{emails:?}"
    );
}

/// Asks for a code at `door` for `email` `times` times, each from a new visitor; the answers.
async fn ask_times(app: &TestApp, door: &str, email: &str, times: usize) -> Vec<support::Page> {
    let mut answers = Vec::new();
    for _ in 0..times {
        answers.push(Visitor::new(app).ask_code(door, email).await);
    }
    answers
}

#[tokio::test]
async fn a_sixth_code_within_the_hour_is_refused_at_either_door_and_not_emailed() {
    let app = app().await;
    Visitor::new(&app).sign_up("Acme", "dev@acme.example").await;
    let ops = app.state.config.ops_email.clone().expect("the tests' ops address");

    for (door, email) in [("/signin", "dev@acme.example"), ("/ops/signin", ops.as_str())] {
        let before = app.outbox().len();
        let asked = ask_times(&app, door, email, 5).await;
        assert!(asked.iter().all(|page| page.status == StatusCode::OK), "five codes an hour are sent at {door}");
        assert_eq!(app.outbox().len(), before + 5);
        let fifth = last_code(&app, email).expect("a code");

        let mut visitor = Visitor::new(&app);
        let sixth = visitor.ask_code(door, email).await;

        assert_eq!(sixth.status, StatusCode::TOO_MANY_REQUESTS, "{}", sixth.html);
        let retry_after = sixth.headers.get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
        assert!(matches!(retry_after, Some(3590..=3600)), "the window of an hour ends in {retry_after:?} s");
        assert!(sixth.html.contains("role=\"alert\"") && sixth.html.contains("No new code was sent"), "{}", sixth.html);
        assert_eq!(app.outbox().len(), before + 5, "no sixth email at {door}");
        let signed_in = visitor.type_code(door, email, &fifth).await;
        assert_eq!(signed_in.status, StatusCode::SEE_OTHER, "the code sent earlier still works at {door}");
    }
}

/// Every spelling of an internationalised domain is one mailbox, so they share one code
/// and one hour's five: spelling the domain another way (or in full-width letters) gets
/// no sixth email into it.
#[tokio::test]
async fn the_spellings_of_a_domain_share_one_code_and_one_limit() {
    let app = app().await;
    Visitor::new(&app).sign_up("B\u{fc}cher GmbH", "dev@b\u{fc}cher.example").await;
    let before = app.outbox().len();

    ask_times(&app, "/signin", "dev@b\u{fc}cher.example", 3).await;
    ask_times(&app, "/signin", "dev@xn--bcher-kva.example", 2).await;
    let fifth = last_code(&app, "dev@xn--bcher-kva.example").expect("a code");
    let mut visitor = Visitor::new(&app);
    let sixth = visitor.ask_code("/signin", "DEV@B\u{dc}CHER.\u{ff45}xample").await;

    assert_eq!(sixth.status, StatusCode::TOO_MANY_REQUESTS, "{}", sixth.html);
    assert_eq!(app.outbox().len(), before + 5, "no sixth email into the mailbox");
    let signed_in = visitor.type_code("/signin", "dev@b\u{fc}cher.example", &fifth).await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER, "the code works whichever spelling it is typed with");
}

#[tokio::test]
async fn the_refusal_of_a_sixth_code_reads_the_same_for_an_address_without_an_account() {
    let app = app().await;
    Visitor::new(&app).sign_up("Acme", "dev@acme.example").await;
    ask_times(&app, "/signin", "dev@acme.example", 5).await;
    ask_times(&app, "/signin", "nobody@acme.example", 5).await;

    let known = Visitor::new(&app).ask_code("/signin", "dev@acme.example").await;
    let unknown = Visitor::new(&app).ask_code("/signin", "nobody@acme.example").await;

    assert_eq!((known.status, unknown.status), (StatusCode::TOO_MANY_REQUESTS, StatusCode::TOO_MANY_REQUESTS));
    let tokenless = |html: &str, email: &str| {
        let html = html.replace(email, "EMAIL");
        let start = html.find("name=\"form_token\" value=\"").map_or(0, |at| at + 25);
        html[..start].to_owned() + &html[start + 43..]
    };
    assert_eq!(
        tokenless(&known.html, "dev@acme.example"),
        tokenless(&unknown.html, "nobody@acme.example"),
        "the pages differ only in the address typed"
    );
}

#[tokio::test]
async fn asking_again_over_the_limit_does_not_give_back_the_tries() {
    let app = app().await;
    Visitor::new(&app).sign_up("Acme", "dev@acme.example").await;
    ask_times(&app, "/signin", "dev@acme.example", 5).await;
    let code = last_code(&app, "dev@acme.example").expect("a code");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let mut guesser = Visitor::new(&app);
    guesser.get("/signin").await;
    for _ in 0..4 {
        guesser.type_code("/signin", "dev@acme.example", wrong).await;
    }

    let asked = guesser.ask_code("/signin", "dev@acme.example").await;
    let fifth_wrong = guesser.type_code("/signin", "dev@acme.example", wrong).await;
    let right_too_late = guesser.type_code("/signin", "dev@acme.example", &code).await;

    assert_eq!(asked.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(fifth_wrong.html.contains("no longer works"), "the tries were not reset: {}", fifth_wrong.html);
    assert!(right_too_late.html.contains("no longer works"));
    assert!(guesser.cookie("steller_session").is_none(), "no session was opened");
}

#[tokio::test]
async fn the_code_step_has_its_own_title_and_a_one_time_code_input() {
    let app = app().await;

    let step = Visitor::new(&app).ask_code("/signin", "dev@acme.example").await;

    assert!(step.html.contains("<title>Enter your code · Steller</title>"), "{}", step.html);
    let input = &step.html[step.html.find("name=\"code\"").expect("the code input")..];
    let input = &input[..input.find('>').expect("the input ends")];
    assert!(input.contains("autocomplete=\"one-time-code\"") && input.contains("inputmode=\"numeric\""), "{input}");
    assert!(input.contains("aria-describedby=\"code-hint\""), "{input}");
}

#[tokio::test]
async fn an_invalid_address_at_the_ops_door_shows_the_ops_form_again() {
    let app = app().await;

    let page = Visitor::new(&app).ask_code("/ops/signin", "not an address").await;

    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.html.contains("Ops email") && page.html.contains("/ops/signin/key"), "{}", page.html);
    assert!(page.html.contains("<title>Error: Ops sign-in · Steller</title>"));
    assert!(page.html.contains("value=\"not an address\""), "what was typed is kept");
    assert!(page.html.contains("id=\"email-error\""), "the error is next to the email");
    assert!(!page.html.contains("dev@acme.example"), "no partner example at the ops door");
}

/// An operator signed in to the console with a new ops key; the key's id, the visitor and
/// a pending live request.
async fn console_with_key(app: &TestApp) -> (steller::domain::KeyId, Visitor, steller::domain::TopUpRequest) {
    let request = app.db.pending_live_top_up("300.00").await;
    let key = ApiKey::generate(KeyRole::Ops);
    let key_id = app.state.store.register_ops_key(&key, "console test").await.expect("registered");
    let mut operator = Visitor::new(app);
    let token = operator.get("/ops/signin").await.hidden("form_token").expect("a token");
    let signed_in = operator.post("/ops/signin/key", &[("form_token", &token), ("ops_key", key.expose())]).await;
    assert_eq!(signed_in.location(), Some("/ops"), "{}", signed_in.html);
    (key_id, operator, request)
}

#[tokio::test]
async fn revoking_an_ops_key_ends_its_console_sessions_at_the_next_request() {
    let app = app().await;
    let (key_id, mut operator, request) = console_with_key(&app).await;
    let csrf = operator.get("/ops").await.hidden("csrf").expect("a token");

    app.state.store.revoke_ops_key(&key_id).await.expect("revoked");
    let approve = operator.post(&format!("/ops/top-ups/{}/approve", request.id), &[("csrf", &csrf)]).await;
    let console = operator.get("/ops").await;

    assert_eq!((approve.status, approve.location()), (StatusCode::SEE_OTHER, Some("/ops/signin?session=ended")));
    assert_eq!(
        (console.status, console.location()),
        (StatusCode::SEE_OTHER, Some("/ops/signin")),
        "the cookie is gone"
    );
    let now = app.state.store.top_up_by_id(&request.id).await.expect("stored");
    assert_eq!(now.status, TopUpStatus::Pending, "nothing was decided");
    let wallet = app.state.store.wallet(&request.partner_id, Mode::Live).await.expect("a wallet");
    assert_eq!(wallet.balance.to_string(), "0.00");
}

#[tokio::test]
async fn a_console_session_of_an_address_that_is_no_longer_ops_is_ended() {
    let app = app().await;
    let request = app.db.pending_live_top_up("300.00").await;
    let ops = app.state.config.ops_email.clone().expect("the tests' ops address");
    let mut operator = Visitor::new(&app);
    operator.sign_in(&app, "/ops/signin", &ops).await;
    let csrf = operator.get("/ops").await.hidden("csrf").expect("a token");
    let session = operator.cookie("steller_session").expect("a session").to_owned();
    let config = steller::Config { ops_email: Some("new-ops@steller.example".into()), ..(*app.state.config).clone() };
    let moved = app.clone().with_state(steller::AppState { config: std::sync::Arc::new(config), ..app.state.clone() });
    let mut after_the_change = Visitor::new(&moved);
    after_the_change.set("steller_session", &session);

    let approve = after_the_change.post(&format!("/ops/top-ups/{}/approve", request.id), &[("csrf", &csrf)]).await;
    let console = after_the_change.get("/ops").await;

    assert_eq!((approve.status, approve.location()), (StatusCode::SEE_OTHER, Some("/ops/signin?session=ended")));
    assert_eq!(console.location(), Some("/ops/signin"), "the ended session's cookie is gone");
    assert_eq!(app.state.store.top_up_by_id(&request.id).await.expect("stored").status, TopUpStatus::Pending);
}

#[tokio::test]
async fn rejecting_with_a_too_long_reason_keeps_what_was_typed() {
    let app = app().await;
    let (_, mut operator, request) = console_with_key(&app).await;
    let csrf = operator.get("/ops").await.hidden("csrf").expect("a token");
    let long = "No transfer arrived. ".repeat(60);

    let refused =
        operator.post(&format!("/ops/top-ups/{}/reject", request.id), &[("csrf", &csrf), ("reason", &long)]).await;

    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.html.contains(&format!("value=\"{long}\"")), "the reason comes back as typed: {}", refused.html);
}

#[tokio::test]
async fn rejecting_a_decided_request_without_a_reason_says_it_is_decided() {
    let app = app().await;
    let (_, mut operator, request) = console_with_key(&app).await;
    let csrf = operator.get("/ops").await.hidden("csrf").expect("a token");
    operator.post(&format!("/ops/top-ups/{}/approve", request.id), &[("csrf", &csrf)]).await;

    let late = operator.post(&format!("/ops/top-ups/{}/reject", request.id), &[("csrf", &csrf), ("reason", "")]).await;

    assert_eq!(late.status, StatusCode::CONFLICT, "{}", late.html);
    assert!(late.html.contains("already approved"), "{}", late.html);
}

#[tokio::test]
async fn the_same_key_form_sent_twice_makes_one_key_and_says_the_form_was_sent() {
    let app = app().await;
    Visitor::new(&app).sign_up("Acme", "dev@acme.example").await;
    let mut visitor = Visitor::new(&app);
    visitor.sign_in(&app, "/signin", "dev@acme.example").await;
    let keys = visitor.get("/dashboard/sandbox/keys").await;
    let csrf = keys.hidden("csrf").expect("a token");
    let token = keys.hidden("submission").expect("the form carries a one-time token");
    let form = [("csrf", csrf.as_str()), ("submission", token.as_str()), ("name", "ci")];

    let first = visitor.post("/dashboard/sandbox/keys", &form).await;
    let again = visitor.post("/dashboard/sandbox/keys", &form).await;

    assert_eq!(first.status, StatusCode::OK, "{}", first.html);
    assert!(first.html.contains("stl_sandbox_"), "the key, shown once");
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.html);
    assert!(again.html.contains("This form was already sent"), "{}", again.html);
    assert!(!again.html.contains("stl_sandbox_"), "no key the second time");
    let partner = partner_of(&app, "dev@acme.example").await;
    let listed = app
        .state
        .store
        .list_keys(&partner, Some(Mode::Sandbox), &steller::store::PageRequest::default())
        .await
        .expect("listed");
    assert_eq!(listed.items.len(), 2, "the sign-up key and one more");
    let fresh = first.hidden("submission").expect("the answer's form has its own token");
    assert_ne!(fresh, token);
}
