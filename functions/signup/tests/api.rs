//! The signup function through its router, over an in-process dynoxide.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use std::sync::Arc;

use serde_json::{Value, json};
use steller::testing::{FailingEmail, TestApp, TestResponse};

async fn app() -> TestApp {
    TestApp::embedded(signup::routes()).await
}

async fn sign_up(app: &TestApp, body: Value) -> TestResponse {
    app.post("/api/public/signup", None, body).await
}

/// What kinds of items the table holds (`PARTNER WALLET#sandbox`, …), ids left out.
async fn stored_kinds(app: &TestApp) -> Vec<String> {
    let mut kinds: Vec<String> = app
        .db
        .scan()
        .await
        .iter()
        .map(|item| {
            let pk = item["pk"].as_s().expect("pk is a string");
            let sk = item["sk"].as_s().expect("sk is a string");
            let sk_kind = match sk.split('#').collect::<Vec<_>>()[..] {
                [kind @ ("WALLET" | "LEDGER"), mode, ..] => format!("{kind}#{mode}"),
                [kind, ..] => kind.to_owned(),
                [] => String::new(),
            };
            format!("{} {sk_kind}", pk.split('#').next().unwrap_or_default())
        })
        .collect();
    kinds.sort();
    kinds
}

#[tokio::test]
async fn a_signup_creates_the_partner_a_sandbox_key_and_a_credited_sandbox_wallet() {
    let app = app().await;

    let response =
        sign_up(&app, json!({"company_name": "Acme Ltd", "email": "Dev@Acme.example", "contact_name": "Ada"})).await;

    assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);
    let body = &response.body;
    assert!(body["partner"]["id"].as_str().is_some_and(|id| id.starts_with("ptn_")));
    assert_eq!(body["partner"]["company_name"], "Acme Ltd");
    assert_eq!(body["partner"]["email"], "dev@acme.example", "normalised: NFC, lower case");
    assert!(body["partner"]["created_at"].as_str().is_some_and(|at| at.ends_with('Z')));
    assert!(body["api_key"].as_str().is_some_and(|key| key.starts_with("stl_sandbox_") && key.len() >= 44));
    assert_eq!(body["wallet"], json!({"mode": "sandbox", "currency": "USD", "balance": "1000.00"}));
    assert!(response.headers.get("x-request-id").is_some());

    let key = steller::domain::ApiKey::parse(body["api_key"].as_str().unwrap_or_default()).expect("a valid key");
    let principal = app.state.store.principal(&key).await.expect("the store answers");
    assert!(
        matches!(principal, Some(steller::domain::Principal::Partner { mode: steller::domain::Mode::Sandbox, .. })),
        "the returned key authenticates as the new partner's sandbox key"
    );
}

#[tokio::test]
async fn a_signup_writes_every_item_in_one_go_and_the_ledger_matches_the_balance() {
    let app = app().await;
    let response = sign_up(&app, json!({"company_name": "Acme", "email": "ledger@acme.example"})).await;
    assert_eq!(response.status, StatusCode::CREATED);

    assert_eq!(
        stored_kinds(&app).await,
        [
            "APIKEY APIKEY",
            "EMAIL EMAIL",
            "PARTNER KEY",
            "PARTNER LEDGER#sandbox",
            "PARTNER PROFILE",
            "PARTNER WALLET#live",
            "PARTNER WALLET#sandbox",
        ]
    );
    let items = app.db.scan().await;
    let ledger =
        items.iter().find(|i| i["sk"].as_s().is_ok_and(|sk| sk.starts_with("LEDGER#"))).expect("a ledger entry");
    assert_eq!(ledger["type"].as_s().map(String::as_str), Ok("signup_credit"));
    let number = |item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>, name: &str| {
        item[name].as_n().expect("a number").parse::<rust_decimal::Decimal>().expect("a decimal")
    };
    assert_eq!(number(ledger, "amount"), rust_decimal::Decimal::new(1000, 0));
    assert_eq!(number(ledger, "balance_after"), rust_decimal::Decimal::new(1000, 0));
    let sandbox =
        items.iter().find(|i| i["sk"].as_s().is_ok_and(|sk| sk == "WALLET#sandbox")).expect("a sandbox wallet");
    assert_eq!(number(sandbox, "balance"), number(ledger, "amount"), "the ledger sums to the balance");
    let live = items.iter().find(|i| i["sk"].as_s().is_ok_and(|sk| sk == "WALLET#live")).expect("a live wallet");
    assert!(number(live, "balance").is_zero(), "no live money at signup");
}

#[tokio::test]
async fn the_configured_sandbox_credit_is_what_a_new_wallet_gets() {
    let app = app().await;
    let config = steller::Config::from_lookup(|name| match name {
        "STELLER_TABLE" => Some(app.db.store.table().to_owned()),
        "STELLER_SANDBOX_CREDIT" => Some("25.5".to_owned()),
        "STELLER_SENDER_EMAIL" => Some("no-reply@steller.example".to_owned()),
        _ => None,
    })
    .expect("a valid config");
    let state = app.state.clone();
    let app = app.with_state(steller::AppState { config: Arc::new(config), ..state });

    let response = sign_up(&app, json!({"company_name": "Acme", "email": "credit@acme.example"})).await;

    assert_eq!(response.status, StatusCode::CREATED);
    assert_eq!(response.body["wallet"]["balance"], "25.50");
}

#[tokio::test]
async fn a_signup_sends_one_welcome_email_from_the_configured_sender_without_the_key() {
    let app = app().await;
    let config = steller::Config { sender_email: Some("hello@steller.example".into()), ..(*app.state.config).clone() };
    let state = app.state.clone();
    let app = app.with_state(steller::AppState { config: Arc::new(config), ..state });

    let response = sign_up(&app, json!({"company_name": "Acme & Sons", "email": "Dev@Acme.example"})).await;

    assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);
    let key = response.body["api_key"].as_str().expect("a key");
    let [email] = &app.outbox()[..] else { panic!("one email: {:?}", app.outbox()) };
    assert_eq!((email.from.as_str(), email.to.as_str()), ("hello@steller.example", "dev@acme.example"));
    assert!(email.subject.contains("Acme & Sons"), "{}", email.subject);
    assert!(email.text.contains("Acme & Sons"), "{}", email.text);
    assert!(email.html.contains("Acme &amp; Sons") && email.html.contains("<html>"), "{}", email.html);
    let partner_id = response.body["partner"]["id"].as_str().expect("an id");
    assert!(email.text.contains(partner_id) && email.html.contains(partner_id));
    for body in [&email.subject, &email.text, &email.html] {
        assert!(!body.contains(key), "the welcome email holds the key");
        assert!(!body.contains("stl_"), "the welcome email holds something like a key");
    }
}

#[tokio::test]
async fn a_signup_succeeds_even_when_the_welcome_email_fails() {
    let failing = FailingEmail::new();
    let app = app().await.with_email(Arc::new(failing.clone()));

    let response = sign_up(&app, json!({"company_name": "Acme", "email": "down@acme.example"})).await;

    assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);
    assert_eq!(failing.attempted().len(), 1, "the welcome email was tried");
    let key = steller::domain::ApiKey::parse(response.body["api_key"].as_str().unwrap_or_default()).expect("a key");
    let principal = app.state.store.principal(&key).await.expect("the store answers");
    assert!(principal.is_some(), "the partner and its key are kept");
    assert!(stored_kinds(&app).await.contains(&"PARTNER PROFILE".to_owned()));
}

#[tokio::test]
async fn a_refused_signup_sends_no_email() {
    let app = app().await;
    assert_eq!(sign_up(&app, json!({"company_name": "Acme", "email": "dev@acme.example"})).await.status, 201);

    sign_up(&app, json!({"company_name": "Other", "email": "DEV@acme.example"}))
        .await
        .assert_problem(409, "email_taken");
    sign_up(&app, json!({"company_name": "Other", "email": "not-an-email"}))
        .await
        .assert_problem(422, "validation_failed");

    let sent = app.outbox();
    assert_eq!(sent.len(), 1, "only the first signup is welcomed: {sent:?}");
    assert_eq!(sent[0].to, "dev@acme.example");
}

#[tokio::test]
async fn every_invalid_field_is_named_in_one_422() {
    let app = app().await;

    let response = sign_up(&app, json!({})).await;
    response.assert_problem(422, "validation_failed");
    assert_eq!(response.error_fields(), ["company_name", "email"]);

    let response =
        sign_up(&app, json!({"company_name": "x".repeat(201), "email": "not-an-email", "contact_name": "Ada\u{7}"}))
            .await;
    response.assert_problem(422, "validation_failed");
    assert_eq!(response.error_fields(), ["company_name", "email", "contact_name"]);
    let messages: Vec<&str> =
        response.body["errors"].as_array().into_iter().flatten().filter_map(|e| e["message"].as_str()).collect();
    assert_eq!(
        messages,
        ["must be at most 200 characters", "is not a valid email address", "must not contain control characters"]
    );

    let response = sign_up(&app, json!({"company_name": "  ", "email": "ada@example.com"})).await;
    assert_eq!(response.error_fields(), ["company_name"]);

    assert!(stored_kinds(&app).await.is_empty(), "a refused signup writes nothing");
}

#[tokio::test]
async fn a_field_of_the_wrong_type_is_a_422_naming_it() {
    let app = app().await;
    let response = sign_up(&app, json!({"company_name": "Acme", "email": 42})).await;
    response.assert_problem(422, "validation_failed");
    assert_eq!(response.error_fields(), ["email"]);
}

#[tokio::test]
async fn the_same_email_in_another_case_is_taken_and_leaves_nothing_behind() {
    let app = app().await;
    let first = sign_up(&app, json!({"company_name": "Acme", "email": "dev@acme.example"})).await;
    assert_eq!(first.status, StatusCode::CREATED);
    let before = stored_kinds(&app).await;

    let second = sign_up(&app, json!({"company_name": "Other", "email": "DEV@Acme.Example"})).await;

    second.assert_problem(409, "email_taken");
    assert_eq!(stored_kinds(&app).await, before, "the refused signup wrote nothing");
}

#[tokio::test]
async fn twenty_parallel_signups_with_one_email_make_exactly_one_partner() {
    let app = app().await;
    let attempts = (0..20).map(|i| {
        let email = if i % 2 == 0 { "race@acme.example" } else { "RACE@acme.example" };
        sign_up(&app, json!({"company_name": format!("Racer {i}"), "email": email}))
    });

    let responses = futures::future::join_all(attempts).await;

    let created = responses.iter().filter(|r| r.status == StatusCode::CREATED).count();
    let taken =
        responses.iter().filter(|r| r.status == StatusCode::CONFLICT && r.body["code"] == "email_taken").count();
    assert_eq!((created, taken), (1, 19));
    let partners = stored_kinds(&app).await.iter().filter(|k| k.as_str() == "PARTNER PROFILE").count();
    assert_eq!(partners, 1);
    assert_eq!(app.outbox().len(), 1, "one partner, one welcome email");
}

#[tokio::test]
async fn a_body_that_is_not_json_gets_a_problem_not_axums_plain_text() {
    let app = app().await;
    let send = |content_type: Option<&'static str>, body: Vec<u8>| {
        let mut request = Request::builder().method(Method::POST).uri("/api/public/signup");
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        app.send(request.body(Body::from(body)).expect("a request"))
    };

    send(Some("application/json"), b"{\"company_name\": ".to_vec()).await.assert_problem(400, "malformed_request");
    send(Some("application/json"), b"".to_vec()).await.assert_problem(400, "malformed_request");
    send(Some("text/plain"), b"{}".to_vec()).await.assert_problem(415, "unsupported_media_type");
    send(None, b"{}".to_vec()).await.assert_problem(415, "unsupported_media_type");
    let huge = format!("{{\"company_name\": \"{}\"}}", "x".repeat(70 * 1024)).into_bytes();
    send(Some("application/json"), huge).await.assert_problem(413, "payload_too_large");
    let ok =
        send(Some("application/json; charset=utf-8"), br#"{"company_name":"A","email":"cs@acme.example"}"#.to_vec())
            .await;
    assert_eq!(ok.status, StatusCode::CREATED, "charset parameters are accepted");
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_problem_json() {
    let app = app().await;
    app.call(Method::GET, "/api/public/nothing-here", None, None).await.assert_problem(404, "not_found");
    app.call(Method::GET, "/api/public/signup", None, None).await.assert_problem(405, "method_not_allowed");
}

#[tokio::test]
async fn the_openapi_document_is_served_publicly() {
    let app = app().await;
    let response = app.call(Method::GET, "/api/public/openapi.json", None, None).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body["openapi"], "3.1.0");
    assert!(response.body["paths"]["/api/public/signup"]["post"].is_object());
}

/// A request to `path` with this `Accept-Encoding`, and the response's raw bytes (the docs'
/// files are not JSON, and may be gzip).
async fn fetch(app: &TestApp, path: &str, accept_encoding: Option<&str>) -> (StatusCode, http::HeaderMap, Vec<u8>) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let mut request = Request::builder().method(Method::GET).uri(path);
    if let Some(accepted) = accept_encoding {
        request = request.header(header::ACCEPT_ENCODING, accepted);
    }
    let response = app
        .router
        .clone()
        .oneshot(request.body(Body::empty()).expect("a valid request"))
        .await
        .expect("the router answers");
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.expect("the body reads").to_bytes().to_vec();
    (parts.status, parts.headers, bytes)
}

fn header_of(headers: &http::HeaderMap, name: header::HeaderName) -> &str {
    headers.get(name).and_then(|value| value.to_str().ok()).unwrap_or_default()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut plain).expect("a gzip stream");
    plain
}

/// Every `href="…"` and `src="…"` of an HTML page.
fn links(html: &str) -> Vec<String> {
    ["href=\"", "src=\""]
        .iter()
        .flat_map(|attribute| html.split(attribute).skip(1))
        .filter_map(|rest| rest.split('"').next().map(str::to_owned))
        .collect()
}

/// Every `http://` or `https://` URL in `text`.
fn absolute_urls(text: &str) -> Vec<&str> {
    text.match_indices("http")
        .map(|(at, _)| &text[at..])
        .filter(|rest| rest.starts_with("http://") || rest.starts_with("https://"))
        .map(|rest| rest.split(['"', '\'', ' ', ')', '>']).next().unwrap_or(rest))
        .collect()
}

#[tokio::test]
async fn the_docs_page_is_html_loading_only_files_relative_to_itself() {
    let app = app().await;

    let (status, headers, body) = fetch(&app, "/api/public/docs", None).await;

    assert_eq!(status, StatusCode::OK);
    assert!(header_of(&headers, header::CONTENT_TYPE).starts_with("text/html"), "{headers:?}");
    let page = String::from_utf8(body).expect("UTF-8");
    assert!(page.contains(r#"<div id="swagger-ui">"#), "{page}");
    let links = links(&page);
    assert!(links.len() >= 5, "the stylesheets and scripts: {links:?}");
    for link in &links {
        assert!(
            link.starts_with("docs/") && !link.contains("//") && !link.contains(".."),
            "{link} is not a file of docs/ relative to the page (a named API Gateway stage must keep working)"
        );
    }
    assert_eq!(absolute_urls(&page), Vec::<&str>::new(), "nothing is loaded from another host");
}

#[tokio::test]
async fn every_file_the_docs_page_loads_answers_with_its_content_type() {
    let app = app().await;
    let (_, _, page) = fetch(&app, "/api/public/docs", None).await;
    let page = String::from_utf8(page).expect("UTF-8");

    for link in links(&page) {
        // Relative to /api/public/docs, whose folder is /api/public/.
        let path = format!("/api/public/{link}");
        let (status, headers, body) = fetch(&app, &path, Some("gzip, deflate, br")).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let content_type = header_of(&headers, header::CONTENT_TYPE);
        let expected = match link.rsplit('.').next() {
            Some("css") => "text/css",
            Some("js") => "javascript",
            Some("png") => "image/png",
            other => panic!("{link}: a file the test does not know ({other:?})"),
        };
        assert!(content_type.contains(expected), "{path} is {content_type}, not {expected}");
        let plain = if header_of(&headers, header::CONTENT_ENCODING) == "gzip" { gunzip(&body) } else { body };
        assert!(plain.len() > 100, "{path} has {} bytes", plain.len());
    }
}

#[tokio::test]
async fn the_docs_initializer_reads_openapi_json_with_try_it_out_on_and_the_validator_off() {
    let app = app().await;

    let (status, headers, body) = fetch(&app, "/api/public/docs/swagger-initializer.js", Some("gzip")).await;

    assert_eq!(status, StatusCode::OK);
    assert!(header_of(&headers, header::CONTENT_TYPE).contains("javascript"), "{headers:?}");
    let script = String::from_utf8(body).expect("the initializer is sent as text");
    for setting in [
        r#""url": "openapi.json""#,
        r#""tryItOutEnabled": true"#,
        r#""persistAuthorization": true"#,
        r#""validatorUrl": "none""#,
        r##""dom_id": "#swagger-ui""##,
    ] {
        assert!(script.contains(setting), "the initializer lacks {setting}:\n{script}");
    }
    assert!(!script.contains("{{config}}"), "the configuration is filled in:\n{script}");
    assert_eq!(absolute_urls(&script), Vec::<&str>::new(), "nothing is loaded from another host:\n{script}");
}

#[tokio::test]
async fn a_docs_file_is_gzipped_only_for_a_client_that_accepts_gzip() {
    let app = app().await;
    let path = "/api/public/docs/swagger-ui-bundle.js";

    let (zipped_status, zipped_headers, zipped) = fetch(&app, path, Some("gzip, deflate, br, zstd")).await;
    let (plain_status, plain_headers, plain) = fetch(&app, path, None).await;
    let (_, identity_headers, identity) = fetch(&app, path, Some("identity")).await;

    assert_eq!((zipped_status, plain_status), (StatusCode::OK, StatusCode::OK));
    assert_eq!(header_of(&zipped_headers, header::CONTENT_ENCODING), "gzip");
    assert!(zipped.starts_with(&[0x1f, 0x8b]), "a gzip stream");
    assert!(zipped.len() * 3 < plain.len(), "compressed: {} of {} bytes", zipped.len(), plain.len());
    assert_eq!(gunzip(&zipped), plain, "the same file either way");
    assert!(String::from_utf8_lossy(&plain).contains("SwaggerUIBundle"), "Swagger UI's bundle");
    for headers in [&plain_headers, &identity_headers] {
        assert!(headers.get(header::CONTENT_ENCODING).is_none(), "{headers:?}");
    }
    assert_eq!(identity, plain);
    assert_eq!(header_of(&zipped_headers, header::VARY), "accept-encoding", "caches key on the request's encoding");
}

#[tokio::test]
async fn an_unknown_docs_file_is_a_404_problem() {
    let app = app().await;
    // Swagger UI's own index.html would look for the document in docs/, and the ES-module
    // bundles are for bundlers: embedded by the crate, but not served.
    for file in ["nothing.js", "index.html", "swagger-ui-es-bundle.js", "oauth2-redirect.html", "..%2Fopenapi.json"] {
        app.call(Method::GET, &format!("/api/public/docs/{file}"), None, None).await.assert_problem(404, "not_found");
    }
    app.call(Method::GET, "/api/public/docs/", None, None).await.assert_problem(404, "not_found");
}

#[tokio::test]
async fn the_new_key_is_never_stored_by_a_cache_and_nothing_is_sniffed() {
    let app = app().await;

    let response = sign_up(&app, json!({"company_name": "Acme Ltd", "email": "dev@acme.example"})).await;

    assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);
    let headers = &response.headers;
    assert_eq!(headers.get(header::CACHE_CONTROL).and_then(|v| v.to_str().ok()), Some("no-store"));
    assert_eq!(headers.get(header::X_CONTENT_TYPE_OPTIONS).and_then(|v| v.to_str().ok()), Some("nosniff"));
}

#[tokio::test]
async fn the_docs_page_has_its_own_policy_loading_only_its_files_and_cannot_be_framed() {
    let app = app().await;

    let page = app.call(Method::GET, "/api/public/docs", None, None).await;

    assert_eq!(page.status, StatusCode::OK);
    let policy = page.headers.get(header::CONTENT_SECURITY_POLICY).and_then(|v| v.to_str().ok()).unwrap_or_default();
    for directive in ["default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"] {
        assert!(policy.contains(directive), "{directive} is not in {policy:?}");
    }
    assert!(!policy.contains("unsafe-eval"), "{policy}");
    assert!(!signup::api_docs::INDEX_HTML.contains("<script>"), "no inline script: each has a src");
    assert_eq!(page.headers.get(header::X_FRAME_OPTIONS).and_then(|v| v.to_str().ok()), Some("DENY"));
    assert_eq!(page.headers.get(header::X_CONTENT_TYPE_OPTIONS).and_then(|v| v.to_str().ok()), Some("nosniff"));
}
