//! The interactive API docs in a real browser: headless Chromium opens Swagger UI on the
//! local server, which lists every operation of docs/openapi.json, and nothing is loaded
//! from another host.

mod browser;

use browser::{Browser, DESKTOP, LocalServer, PHONE, png_size};
use serde_json::Value;

/// Every operation of the committed document, as `(METHOD, path)`, sorted.
fn documented_operations() -> Vec<(String, String)> {
    let document = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json"))
        .expect("docs/openapi.json");
    let document: Value = serde_json::from_str(&document).expect("valid JSON");
    let mut operations: Vec<(String, String)> = document["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object().into_iter().flatten().map(move |(method, _)| (method.to_uppercase(), path.clone()))
        })
        .collect();
    operations.sort();
    operations
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swagger_ui_loads_and_lists_every_route() {
    let expected = documented_operations();
    assert!(expected.len() > 20, "the document lists the API: {expected:?}");
    let server = LocalServer::start().await;
    let browser = Browser::start("swagger_ui_loads_and_lists_every_route").await;

    browser.goto(&format!("{}/api/public/docs", server.base)).await;
    browser
        .wait_until(
            &format!("return document.querySelectorAll('.opblock').length >= {}", expected.len()),
            "return document.querySelector('#swagger-ui')?.innerText ?? document.body.innerText",
        )
        .await;

    // Each operation is an .opblock showing its method and its path (with zero-width
    // spaces before each slash, so long paths can wrap).
    let listed = browser
        .script(
            "return Array.from(document.querySelectorAll('.opblock')).map(block => [
                block.querySelector('.opblock-summary-method')?.textContent.trim(),
                block.querySelector('.opblock-summary-path')?.textContent.replace(/\\u200b/g, '').trim(),
            ]);",
        )
        .await;
    let mut listed: Vec<(String, String)> =
        serde_json::from_value(listed).expect("each .opblock shows a method and a path");
    listed.sort();
    assert_eq!(listed, expected, "Swagger UI lists exactly the document's operations");
    let authorize = browser.script("return document.querySelector('.auth-wrapper .authorize') !== null").await;
    assert_eq!(authorize, true, "an Authorize button, for the bearer and X-Api-Key schemes");
    let badge =
        browser.script("return document.querySelector('.validator-badge, img[src*=\"validator\"]') === null").await;
    assert_eq!(badge, true, "no validator badge, which would call validator.swagger.io");
    let desktop = browser.screenshot("desktop").await;
    assert_eq!(png_size(&desktop), DESKTOP);

    // Everything the page fetched came from the local server: the page's own files and
    // the document, never a CDN or a validator.
    let fetched = browser
        .script("return [location.origin, performance.getEntriesByType('resource').map(entry => entry.name)]")
        .await;
    let (origin, resources): (String, Vec<String>) = serde_json::from_value(fetched).expect("an origin and URLs");
    assert_eq!(origin, server.base);
    for wanted in ["/api/public/openapi.json", "/api/public/docs/swagger-ui-bundle.js"] {
        assert!(resources.contains(&format!("{origin}{wanted}")), "{wanted} was fetched: {resources:?}");
    }
    let elsewhere: Vec<&String> = resources.iter().filter(|url| !url.starts_with(&format!("{origin}/"))).collect();
    assert!(elsewhere.is_empty(), "fetched from another host: {elsewhere:?}");

    browser.phone().await;
    let width = browser.script("return window.innerWidth").await;
    assert_eq!(width, PHONE.0, "laid out at phone width (a page without a viewport meta tag gets 980)");
    let phone = browser.screenshot("phone").await;
    assert_eq!(png_size(&phone), PHONE);

    browser.quit().await;
    server.stop().await;
}

/// Scrolls to the button `css` selects and clicks it, as a user would.
async fn press(browser: &Browser, css: &str) {
    let button = browser.find(css).await;
    button.scroll_into_view().await.unwrap_or_else(|error| panic!("scrolling to `{css}`: {error}"));
    button.click().await.unwrap_or_else(|error| panic!("clicking `{css}`: {error}"));
}

/// Authorize with a sandbox key, then "Try it out" on `GET /api/wallet`: Swagger UI calls
/// the same host with `Authorization: Bearer <key>` and shows the wallet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn try_it_out_calls_the_same_host_with_the_bearer_key() {
    let server = LocalServer::start().await;
    let signup = reqwest::Client::new()
        .post(format!("{}/api/public/signup", server.base))
        .json(&serde_json::json!({"company_name": "Docs Reader", "email": "reader@acme.example"}))
        .send()
        .await
        .expect("a signup");
    assert_eq!(signup.status(), 201);
    let signup: Value = signup.json().await.expect("a JSON body");
    let key = signup["api_key"].as_str().expect("an api_key").to_owned();

    let browser = Browser::start("try_it_out_calls_the_same_host_with_the_bearer_key").await;
    browser.goto(&format!("{}/api/public/docs", server.base)).await;
    browser
        .wait_until(
            "return document.querySelector('.auth-wrapper .authorize') !== null",
            "return document.body.innerText",
        )
        .await;

    // Authorize: the bearer scheme's field, then the modal's Authorize and Close.
    browser.find(".auth-wrapper .authorize").await.click().await.expect("opening Authorize");
    browser.wait_until("return document.querySelector('.modal-ux') !== null", "return document.body.innerText").await;
    let bearer = browser
        .script(
            "const box = Array.from(document.querySelectorAll('.modal-ux .auth-container'))
                .find(c => c.textContent.includes('bearer'));
             if (!box) return null;
             box.querySelector('input').id = 'bearer-value';
             return true;",
        )
        .await;
    assert_eq!(bearer, true, "the bearer scheme has a field");
    browser.fill("#bearer-value", &key).await;
    browser
        .script(
            "Array.from(document.querySelectorAll('.modal-ux .auth-container'))
                .find(c => c.textContent.includes('bearer'))
                .querySelector('button.authorize').click(); return true;",
        )
        .await;
    browser.find(".modal-ux .btn-done").await.click().await.expect("closing the modal");

    // Open GET /api/wallet, then Execute.
    let opened = browser
        .script(
            "const block = Array.from(document.querySelectorAll('.opblock-get')).find(b =>
                 b.querySelector('.opblock-summary-path')?.textContent.replace(/\\u200b/g, '').trim() === '/api/wallet');
             if (!block) return null;
             block.id = 'wallet-operation';
             return true;",
        )
        .await;
    assert_eq!(opened, true, "GET /api/wallet is listed");
    let summary = browser.find("#wallet-operation .opblock-summary-path").await;
    summary.scroll_into_view().await.expect("scrolled to the operation");
    summary.click().await.expect("opening the operation");
    browser
        .wait_until(
            "return document.querySelector('#wallet-operation .try-out__btn') !== null",
            "return document.querySelector('#wallet-operation').innerText",
        )
        .await;
    // "Try it out" starts switched on (the page's config), so Execute is there at once.
    let switched_on = browser.text("#wallet-operation .try-out__btn").await;
    assert_eq!(switched_on, "Cancel", "Try it out is on when the operation opens");
    browser
        .wait_until(
            "return document.querySelector('#wallet-operation .execute') !== null",
            "return document.querySelector('#wallet-operation').innerText",
        )
        .await;
    press(&browser, "#wallet-operation .execute").await;
    browser
        .wait_until(
            "return document.querySelector('#wallet-operation .live-responses-table tr.response .response-col_status') !== null",
            "return document.querySelector('#wallet-operation').innerText",
        )
        .await;

    let status = browser.text("#wallet-operation .live-responses-table tr.response .response-col_status").await;
    assert!(status.starts_with("200"), "the call answered {status}");
    let url = browser.text("#wallet-operation .request-url pre").await;
    assert_eq!(url.trim(), format!("{}/api/wallet", server.base), "called on the same host");
    let curl = browser.text("#wallet-operation .curl-command").await;
    assert!(curl.contains(&format!("Authorization: Bearer {key}")), "with the bearer key: {curl}");
    let body = browser.text("#wallet-operation .live-responses-table tr.response .response-col_description").await;
    for shown in ["\"mode\": \"sandbox\"", "\"balance\": \"1000.00\""] {
        assert!(body.contains(shown), "the wallet is shown ({shown}): {body}");
    }
    browser.screenshot("try-it-out").await;

    browser.quit().await;
    server.stop().await;
}
