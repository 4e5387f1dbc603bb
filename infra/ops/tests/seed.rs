//! `steller-ops seed` upserts infra/seed/products.json into a domain table, once per
//! product however often it runs.

use std::process::{Command, Output};

use steller::engine::{EmbeddedEngine, Storage};
use steller::testing::TestDatabase;

/// `steller-ops args`, without a STELLER_TABLE from the test's environment, which would
/// name the table in place of --table-prefix.
fn steller_ops(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_steller-ops"))
        .env_remove("STELLER_TABLE")
        .args(args)
        .output()
        .expect("steller-ops runs")
}

fn succeeded(output: Output) -> String {
    assert!(output.status.success(), "steller-ops failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn seed_ids() -> Vec<String> {
    steller::seed::products().expect("the seed parses").iter().map(|p| p.id.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn seeding_twice_stores_each_seed_product_once() {
    let db = TestDatabase::embedded().await;
    let args = ["seed", "--endpoint", &db.endpoint, "--table", db.store.table()];

    let first = succeeded(steller_ops(&args));
    let second = succeeded(steller_ops(&args));

    let expected = seed_ids();
    for output in [&first, &second] {
        assert!(output.contains(&format!("seeded {} products into {}", expected.len(), db.store.table())), "{output}");
        assert!(expected.iter().all(|id| output.contains(id.as_str())), "every product is printed: {output}");
        assert!(output.contains("2500.00") && output.contains("(inactive)"), "{output}");
    }
    let mut stored: Vec<String> = db
        .scan()
        .await
        .iter()
        .filter(|item| item.get("pk").and_then(|v| v.as_s().ok()).is_some_and(|pk| pk == "CATALOG"))
        .filter_map(|item| item.get("product_id").and_then(|v| v.as_s().ok()).cloned())
        .collect();
    stored.sort();
    assert_eq!(stored, expected, "each seed product is stored exactly once");
    for product in steller::seed::products().expect("the seed parses") {
        assert_eq!(db.store.product(&product.id).await.expect("readable"), Some(product));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn with_a_table_prefix_the_seed_goes_into_the_prefixed_domain_table() {
    let engine = EmbeddedEngine::start(Storage::Memory).await.expect("dynoxide starts");
    let endpoint = engine.endpoint();
    succeeded(steller_ops(&["bootstrap", "--endpoint", endpoint, "--table-prefix", "steller-ci"]));

    let output = succeeded(steller_ops(&["seed", "--endpoint", endpoint, "--table-prefix", "steller-ci"]));

    assert!(output.contains("into steller-ci-domain"), "{output}");
    let client = steller::aws::dynamodb(&steller::aws::for_endpoint(endpoint).await);
    let store = steller::Store::new(client, "steller-ci-domain");
    let listed = store.list_products(&Default::default()).await.expect("the catalog lists");
    assert_eq!(listed.items.len(), seed_ids().len());
}

#[test]
fn a_table_and_a_table_prefix_cannot_be_given_together() {
    for command in ["seed", "audit"] {
        let output =
            steller_ops(&[command, "--endpoint", "http://127.0.0.1:9", "--table", "t-domain", "--table-prefix", "t"]);

        assert_eq!(output.status.code(), Some(2), "a usage error");
        assert!(String::from_utf8_lossy(&output.stderr).contains("cannot be used with"));
    }
}

#[test]
fn the_help_says_how_to_name_the_table() {
    for command in ["seed", "audit"] {
        let help = succeeded(steller_ops(&[command, "--help"]));

        assert!(help.contains("--table <NAME>") && help.contains("--table-prefix <P>"), "{help}");
        assert!(help.contains("exact name"), "{help}");
    }
}
