//! What every page carries against other sites and caches: the security headers
//! (a self-only Content-Security-Policy, no framing, no sniffing, no Referer) and
//! `Cache-Control: no-store` on everything but the assets.

mod support;

use axum::http::{HeaderMap, StatusCode};
use steller::testing::TestApp;
use support::{Page, Visitor};
use utoipa_axum::router::OpenApiRouter;

async fn app() -> TestApp {
    TestApp::embedded(OpenApiRouter::new()).await
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// A signed-up and signed-in browser.
async fn signed_in(app: &TestApp) -> Visitor {
    Visitor::new(app).sign_up("Acme", "dev@acme.example").await;
    let mut visitor = Visitor::new(app);
    visitor.sign_in(app, "/signin", "dev@acme.example").await;
    visitor
}

#[track_caller]
fn assert_protected(path: &str, page: &Page) {
    let policy = header(&page.headers, "content-security-policy").unwrap_or_else(|| panic!("{path}: no CSP"));
    for directive in ["default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"] {
        assert!(policy.contains(directive), "{path}: {directive} is not in {policy}");
    }
    assert!(!policy.contains("unsafe"), "{path}: {policy}");
    assert_eq!(header(&page.headers, "x-frame-options"), Some("DENY"), "{path}");
    assert_eq!(header(&page.headers, "x-content-type-options"), Some("nosniff"), "{path}");
    assert_eq!(header(&page.headers, "referrer-policy"), Some("no-referrer"), "{path}");
    assert_eq!(header(&page.headers, "cache-control"), Some("no-store"), "{path}");
}

#[tokio::test]
async fn every_page_forbids_framing_and_caching_and_loads_only_its_own_files() {
    let app = app().await;
    let mut visitor = Visitor::new(&app);
    let mut pages = vec![
        ("/", visitor.get("/").await),
        ("/signup", visitor.get("/signup").await),
        ("/signin", visitor.get("/signin").await),
        ("/nope", visitor.get("/nope").await),
    ];
    let mut owner = signed_in(&app).await;
    for path in
        ["/dashboard/sandbox", "/dashboard/sandbox/keys", "/dashboard/live/webhooks", "/dashboard/sandbox/top-ups"]
    {
        let page = owner.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        pages.push((path, page));
    }

    for (path, page) in &pages {
        assert_protected(path, page);
    }
}

#[tokio::test]
async fn the_pages_that_show_a_new_key_are_never_stored() {
    let app = app().await;
    let signed_up = Visitor::new(&app).sign_up("Acme", "dev@acme.example").await;
    let mut owner = Visitor::new(&app);
    owner.sign_in(&app, "/signin", "dev@acme.example").await;
    let keys = owner.get("/dashboard/sandbox/keys").await;
    let mut fields = vec![("name", "ci".to_owned())];
    for hidden in ["csrf", "submission"] {
        if let Some(value) = keys.hidden(hidden) {
            fields.push((hidden, value));
        }
    }
    let fields: Vec<(&str, &str)> = fields.iter().map(|(name, value)| (*name, value.as_str())).collect();

    let created = owner.post("/dashboard/sandbox/keys", &fields).await;

    assert!(signed_up.html.contains("stl_sandbox_"), "{}", signed_up.html);
    assert_protected("POST /signup", &signed_up);
    assert_eq!(created.status, StatusCode::OK, "{}", created.html);
    assert!(created.html.contains("shown only once"), "{}", created.html);
    assert_protected("POST /dashboard/sandbox/keys", &created);
}

#[tokio::test]
async fn the_assets_keep_their_hour_of_caching_and_are_not_sniffed() {
    let app = app().await;
    let mut visitor = Visitor::new(&app);

    let css = visitor.get("/assets/portal.css").await;

    assert_eq!(header(&css.headers, "cache-control"), Some("public, max-age=3600"));
    assert_eq!(header(&css.headers, "x-content-type-options"), Some("nosniff"));
}

/// `method path` with `content_type` and `body`, straight to the portal's router.
async fn raw(app: &TestApp, method: &str, path: &str, content_type: &str, body: Vec<u8>) -> Page {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let request = axum::http::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "127.0.0.1:3000")
        .header("content-type", content_type)
        .body(axum::body::Body::from(body))
        .expect("a request");
    let response = portal::router(app.state.clone()).oneshot(request).await.expect("an answer");
    let (status, headers) = (response.status(), response.headers().clone());
    let bytes = response.into_body().collect().await.expect("a body").to_bytes();
    Page { status, headers, html: String::from_utf8_lossy(&bytes).into_owned() }
}

#[tokio::test]
async fn a_wrong_method_a_body_that_is_no_form_or_too_large_are_pages_that_say_so() {
    let app = app().await;
    let form = "application/x-www-form-urlencoded";

    let wrong_method =
        raw(&app, "GET", "/dashboard/sandbox/keys/key_01JD2X8Q9V4K7M3N5P6R8S0T2W/revoke", form, vec![]).await;
    let json = raw(&app, "POST", "/signup", "application/json", br#"{"email":"a@b.example"}"#.to_vec()).await;
    let large =
        raw(&app, "POST", "/signup", form, format!("company_name={}", "a".repeat(70 * 1024)).into_bytes()).await;

    for (page, status, says) in [
        (&wrong_method, StatusCode::METHOD_NOT_ALLOWED, "does not take that request"),
        (&json, StatusCode::UNSUPPORTED_MEDIA_TYPE, "not sent as a web form"),
        (&large, StatusCode::PAYLOAD_TOO_LARGE, "over 64 KiB"),
    ] {
        assert_eq!(page.status, status, "{}", page.html);
        assert!(
            header(&page.headers, "content-type").is_some_and(|t| t.starts_with("text/html")),
            "{:?}",
            page.headers
        );
        assert!(page.html.contains(says), "{}", page.html);
        assert!(!page.html.contains("JSON"), "{}", page.html);
        assert_protected(&status.to_string(), page);
    }
}

#[tokio::test]
async fn email_fields_let_the_browser_fill_in_the_address() {
    let app = app().await;
    let mut visitor = Visitor::new(&app);

    for path in ["/signup", "/signin"] {
        let page = visitor.get(path).await;

        assert!(page.html.contains(r#"type="email" value="" autocomplete="email""#), "{path}: {}", page.html);
    }
}
