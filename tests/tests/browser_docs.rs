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
