//! `cargo run -p steller-local` as a developer runs it: the banner, requests, Ctrl-C.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[tokio::test]
async fn the_binary_prints_its_urls_serves_requests_and_stops_on_ctrl_c() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_steller-local"))
        .args(["--in-memory", "--port", "0"])
        .env_remove("STELLER_OPS_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let portal = lines.next().expect("a portal line").expect("readable");
    assert!(portal.starts_with("Steller portal") && portal.contains("/ops"), "{portal}");
    let banner = lines.next().expect("an API line").expect("readable");
    let api = banner.split_whitespace().last().expect("a URL").to_owned();
    assert!(banner.starts_with("Steller local API") && api.starts_with("http://127.0.0.1:"), "{banner}");
    let docs = lines.next().expect("a docs line").expect("readable");
    assert!(docs.starts_with("API docs") && docs.ends_with("/api/public/docs"), "{docs}");
    let openapi = lines.next().expect("an OpenAPI line").expect("readable");
    assert!(openapi.contains("/api/public/openapi.json"), "{openapi}");
    let seeded = steller::seed::products().expect("the seed parses").len();
    let catalog = lines.nth(1).expect("a catalog line").expect("readable");
    assert_eq!(catalog, format!("Catalog             {seeded} products (infra/seed/products.json)"));
    let email = lines.next().expect("an email line").expect("readable");
    assert_eq!(email, "Email               printed here (outbox)");
    // The embedded engine's URL, for steller-ops: it answers, with the server's tables.
    let ops = lines.find(|line| line.as_ref().is_ok_and(|line| line.starts_with("Ops CLI"))).expect("an ops line");
    let ops = ops.expect("readable");
    let engine = ops.split_whitespace().nth(4).expect("a URL").to_owned();
    assert!(ops.contains("steller-ops --endpoint http://127.0.0.1:") && ops.ends_with("(docs/ops.md)"), "{ops}");
    let sdk = steller::aws::for_endpoint(&engine).await;
    let tables = steller::aws::dynamodb(&sdk).list_tables().send().await.expect("the engine answers at the URL");
    assert!(tables.table_names().iter().any(|name| name == "steller-local-domain"), "{tables:?}");

    let http = reqwest::Client::new();
    let response = http
        .post(format!("{api}/public/signup"))
        .json(&serde_json::json!({"company_name": "Acme", "email": "bin@acme.example"}))
        .send()
        .await
        .expect("the server answers");
    assert_eq!(response.status(), 201);
    let signup: serde_json::Value = response.json().await.expect("JSON");
    let key = signup["api_key"].as_str().expect("a key");
    let products: serde_json::Value = http
        .get(format!("{api}/products?limit=100"))
        .bearer_auth(key)
        .send()
        .await
        .expect("the catalog answers")
        .json()
        .await
        .expect("JSON");
    assert_eq!(products["items"].as_array().map(Vec::len), Some(seeded), "the seed is served: {products}");
    let home = http.get(api.trim_end_matches("/api")).send().await.expect("the portal answers");
    assert_eq!(home.status(), 200);
    assert!(home.text().await.expect("a page").contains("Sign up"), "the portal is served at /");

    let interrupted = Command::new("kill").args(["-INT", &child.id().to_string()]).status().expect("kill runs");
    assert!(interrupted.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().expect("waitable") {
            break status;
        }
        assert!(Instant::now() < deadline, "the server did not stop within 15 s of Ctrl-C");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "a clean exit on Ctrl-C, got {status}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert_eq!(rest.last().map(String::as_str), Some("Stopped."));
    let printed = rest.join("\n");
    assert!(
        printed.contains("To:      bin@acme.example") && printed.contains("Subject: Welcome to Steller, Acme"),
        "the welcome email is printed to the console:\n{printed}"
    );
    assert!(!printed.contains(key), "the printed email holds no key");
}
