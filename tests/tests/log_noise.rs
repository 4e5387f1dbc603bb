//! Losing an optimistic race is what many partners ordering on one wallet do all day: it
//! logs at debug, never as a warning (neither Steller's nor the embedded engine's 400),
//! and the order that outlasted races says how many it lost. One test in this binary:
//! it installs the process's global subscriber.

use futures::future::join_all;
use serde_json::json;
use steller::telemetry::DEFAULT_FILTER;
use steller::testing::{CapturedLogs, TestApp};
use tracing_subscriber::EnvFilter;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn orders_racing_on_one_wallet_log_no_warning_and_count_the_races_they_lost() {
    let logs = CapturedLogs::install(EnvFilter::new(DEFAULT_FILTER));
    let app = TestApp::embedded(orders::routes()).await;
    steller::seed::seed_products(&app.db.store).await.expect("the catalog is seeded");
    let product = steller::seed::products().expect("the seed parses")[0].clone();
    let partner = app.new_partner().await;
    // One instance's own orders take turns (ADR 0015): the races are between instances.
    let instances = app.instances(8);

    // Rounds of 8 parallel orders on one wallet, one per instance, until one order lost a
    // race (the first round almost always has one); the logs of every round are checked.
    let mut placed = 0;
    for _round in 0..10 {
        let orders = instances.iter().map(|instance| {
            let body = json!({"product_id": product.id.to_string(), "quantity": 1});
            instance.post("/api/orders", Some(&partner.key), body)
        });
        for response in join_all(orders).await {
            assert_eq!(response.status.as_u16(), 201, "{}", response.body);
            placed += 1;
        }
        if logs.text().contains("races=") {
            break;
        }
    }

    let text = logs.text();
    let warnings: Vec<&str> = text.lines().filter(|line| line.contains(" WARN ")).collect();
    assert!(warnings.is_empty(), "lost races are not warnings:\n{}", warnings.join("\n"));
    assert!(text.contains("races="), "an order that outlasted lost races counts them ({placed} placed):\n{text}");
    assert!(!text.contains("error response"), "the engine's expected 400s stay below the default level");
}
