//! `steller-ops audit` checks every wallet against its ledger and exits non-zero when
//! a balance and its ledger disagree, or ledger entries have no wallet.

use std::process::Command;

use aws_sdk_dynamodb::types::AttributeValue;
use steller::domain::{Money, PartnerId};
use steller::testing::TestDatabase;

struct Audit {
    succeeded: bool,
    stdout: String,
}

fn audit(db: &TestDatabase) -> Audit {
    let output = Command::new(env!("CARGO_BIN_EXE_steller-ops"))
        .args(["audit", "--endpoint", &db.endpoint, "--table", db.store.table()])
        .output()
        .expect("steller-ops runs");
    assert!(
        output.status.code().is_some_and(|code| code <= 1),
        "the audit ran (exit 0 or 1), got {:?}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    Audit { succeeded: output.status.success(), stdout: String::from_utf8_lossy(&output.stdout).into_owned() }
}

/// A partner signed up through the store: a 1000.00 sandbox wallet with its credit entry,
/// and an empty live wallet.
async fn sign_up(db: &TestDatabase, email: &str) -> PartnerId {
    steller::testing::sign_up(&db.store, "Audited Ltd", email, Money::dollars(1000)).await.partner.id
}

fn key(pk: String, sk: &str) -> std::collections::HashMap<String, AttributeValue> {
    [("pk".to_owned(), AttributeValue::S(pk)), ("sk".to_owned(), AttributeValue::S(sk.to_owned()))].into()
}

#[tokio::test(flavor = "multi_thread")]
async fn wallets_whose_ledgers_match_audit_clean_and_exit_zero() {
    let db = TestDatabase::embedded().await;
    let alice = sign_up(&db, "alice@audit.example").await;
    let bob = sign_up(&db, "bob@audit.example").await;
    steller::seed::seed_products(&db.store).await.expect("products are seeded");

    let audit = audit(&db);

    assert!(audit.succeeded, "{}", audit.stdout);
    assert!(audit.stdout.contains("checked 4 wallets, 2 ledger entries: clean"), "{}", audit.stdout);
    assert_eq!(audit.stdout.lines().filter(|line| line.starts_with("ok")).count(), 4, "{}", audit.stdout);
    assert!(!audit.stdout.contains("MISMATCH"));
    for partner in [alice, bob] {
        assert_eq!(audit.stdout.matches(&partner.to_string()).count(), 2, "both wallets of {partner}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_balance_changed_behind_the_ledgers_back_fails_the_audit_and_names_the_partner() {
    let db = TestDatabase::embedded().await;
    let alice = sign_up(&db, "alice@audit.example").await;
    let bob = sign_up(&db, "bob@audit.example").await;
    db.store
        .client()
        .update_item()
        .table_name(db.store.table())
        .set_key(Some(key(format!("PARTNER#{alice}"), "WALLET#sandbox")))
        .update_expression("SET balance = :forged")
        .expression_attribute_values(":forged", AttributeValue::N("1500.00".into()))
        .send()
        .await
        .expect("the wallet is updated");

    let audit = audit(&db);

    assert!(!audit.succeeded, "{}", audit.stdout);
    let mismatch = audit.stdout.lines().find(|line| line.starts_with("MISMATCH")).expect("a MISMATCH line");
    assert!(mismatch.contains(&alice.to_string()) && mismatch.contains("sandbox"), "{mismatch}");
    assert!(mismatch.contains("1500.00") && mismatch.contains("1000.00"), "{mismatch}");
    assert!(!mismatch.contains(&bob.to_string()));
    assert!(audit.stdout.contains("checked 4 wallets, 2 ledger entries: 1 finding"), "{}", audit.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn ledger_entries_whose_wallet_is_missing_are_reported() {
    let db = TestDatabase::embedded().await;
    let alice = sign_up(&db, "alice@audit.example").await;
    db.store
        .client()
        .delete_item()
        .table_name(db.store.table())
        .set_key(Some(key(format!("PARTNER#{alice}"), "WALLET#sandbox")))
        .send()
        .await
        .expect("the wallet is deleted");

    let audit = audit(&db);

    assert!(!audit.succeeded, "{}", audit.stdout);
    let mismatch = audit.stdout.lines().find(|line| line.starts_with("MISMATCH")).expect("a MISMATCH line");
    assert!(mismatch.contains(&alice.to_string()) && mismatch.contains("no sandbox wallet"), "{mismatch}");
    assert!(audit.stdout.contains("checked 1 wallet, 1 ledger entry: 1 finding"), "{}", audit.stdout);
}
