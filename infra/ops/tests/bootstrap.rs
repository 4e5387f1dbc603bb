//! `steller-ops bootstrap --endpoint URL` creates the template's tables, once.

use std::process::Command;

use steller::engine::{EmbeddedEngine, Storage};

fn bootstrap(endpoint: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_steller-ops"))
        .args(["bootstrap", "--endpoint", endpoint, "--table-prefix", "steller-ci"])
        .output()
        .expect("steller-ops runs");
    assert!(output.status.success(), "bootstrap failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn bootstrap_creates_the_template_tables_and_a_second_run_changes_nothing() {
    let engine = EmbeddedEngine::start(Storage::Memory).await.expect("dynoxide starts");

    let first = bootstrap(engine.endpoint());
    let second = bootstrap(engine.endpoint());

    assert!(
        first.contains("DomainTable") && first.contains("steller-ci-domain") && first.contains("created"),
        "{first}"
    );
    assert!(second.contains("already there") && !second.contains("created"), "{second}");
    let client = steller::aws::dynamodb(&steller::aws::for_endpoint(engine.endpoint()).await);
    let ttl = client.describe_time_to_live().table_name("steller-ci-domain").send().await.expect("described");
    let attribute = ttl.time_to_live_description().and_then(|d| d.attribute_name());
    assert_eq!(attribute, Some("expires_at"), "TTL is enabled as template.yaml declares");
}
