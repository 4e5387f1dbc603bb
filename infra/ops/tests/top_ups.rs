//! `steller-ops create-ops-key`, `top-ups list|approve|reject` and `products upsert`
//! against an endpoint, through the same store the Lambdas use.

use std::process::{Command, Output};

use steller::domain::{
    ApiKey, Decider, KeyRole, Mode, OperatorName, PartnerId, Principal, ProductId, TopUpId, TopUpStatus,
};
use steller::testing::TestDatabase;

/// `steller-ops args` against the test database, with no USER (so nothing depends on who
/// runs the tests).
fn ops(db: &TestDatabase, args: &[&str]) -> Output {
    ops_as(db, args, None)
}

/// `steller-ops args` with USER set to `user`, or unset.
fn ops_as(db: &TestDatabase, args: &[&str], user: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_steller-ops"));
    command.args(args).args(["--endpoint", &db.endpoint, "--table", db.store.table()]);
    match user {
        Some(user) => command.env("USER", user),
        None => command.env_remove("USER"),
    };
    command.output().expect("steller-ops runs")
}

async fn decided(db: &TestDatabase, id: &str) -> (TopUpStatus, Option<Decider>) {
    let request = db.store.top_up_by_id(&TopUpId::parse(id).expect("an id")).await.expect("found");
    (request.status, request.decided_by)
}

fn operator(name: &str) -> Decider {
    Decider::Cli(OperatorName::parse(Some(name)).expect("a valid name"))
}

fn stdout(output: &Output) -> String {
    assert!(output.status.success(), "steller-ops failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

async fn live_request(db: &TestDatabase, amount: &str) -> (PartnerId, String) {
    let request = db.pending_live_top_up(amount).await;
    (request.partner_id, request.id.to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn create_ops_key_prints_a_working_key_once_and_stores_only_its_hash() {
    let db = TestDatabase::embedded().await;

    let printed = stdout(&ops(&db, &["create-ops-key", "--name", "alice@ops"]));

    let key_line = printed.lines().find(|line| line.starts_with("stl_ops_")).expect("the key is printed");
    let key = ApiKey::parse(key_line).expect("a valid key");
    assert_eq!(key.role(), KeyRole::Ops);
    assert!(matches!(db.store.principal(&key).await.expect("looked up"), Some(Principal::Ops { .. })));
    let stored = format!("{:?}", db.scan().await);
    assert!(!stored.contains(key_line), "the key is not stored in clear text");
    assert!(stored.contains(key.hash().as_str()));
}

#[tokio::test(flavor = "multi_thread")]
async fn top_ups_are_listed_approved_once_and_rejected_from_the_command_line() {
    let db = TestDatabase::embedded().await;
    let (partner, first) = live_request(&db, "300.00").await;
    let (_, second) = live_request(&db, "45.00").await;

    let pending = stdout(&ops(&db, &["top-ups", "list"]));
    assert!(pending.find(&first) < pending.find(&second) && pending.contains("2 pending"), "oldest first: {pending}");

    let approved = stdout(&ops(&db, &["top-ups", "approve", &first, "--by", "alice"]));
    assert!(approved.starts_with("approved") && approved.contains("300.00"), "{approved}");
    assert!(approved.contains("by: cli:alice"), "{approved}");
    assert!(approved.contains("Your top-up of 300.00 USD is approved"), "the partner's email is printed: {approved}");
    assert_eq!(db.store.wallet(&partner, Mode::Live).await.expect("a wallet").balance.to_string(), "300.00");
    let again = ops(&db, &["top-ups", "approve", &first, "--by", "alice"]);
    assert!(!again.status.success(), "a decided request cannot be approved again");
    assert!(String::from_utf8_lossy(&again.stderr).contains("already approved"));
    assert_eq!(db.store.wallet(&partner, Mode::Live).await.expect("a wallet").balance.to_string(), "300.00");

    let rejected = stdout(&ops(&db, &["top-ups", "reject", &second, "--reason", "No transfer arrived", "--by", "bob"]));
    assert!(rejected.contains("reason: No transfer arrived"), "{rejected}");
    assert!(
        rejected.contains("was rejected") && rejected.contains("@ops.example"),
        "the partner is emailed: {rejected}"
    );
    let listed = stdout(&ops(&db, &["top-ups", "list", "--status", "rejected"]));
    assert!(listed.contains(&second) && listed.contains("1 rejected"), "{listed}");
    assert!(listed.contains("by: cli:bob  reason: No transfer arrived"), "who rejected it is listed: {listed}");
    let listed = stdout(&ops(&db, &["top-ups", "list", "--status", "approved"]));
    assert!(listed.contains("by: cli:alice"), "who approved it is listed: {listed}");
    assert!(stdout(&ops(&db, &["top-ups", "list"])).contains("0 pending"));
    let audit = db.store.audit().await.expect("audited");
    assert!(audit.is_clean(), "{:?}", audit.mismatches());
    assert_eq!(decided(&db, &first).await, (TopUpStatus::Approved, Some(operator("alice"))));
    assert_eq!(decided(&db, &second).await, (TopUpStatus::Rejected, Some(operator("bob"))));
}

#[tokio::test(flavor = "multi_thread")]
async fn deciding_a_request_that_is_not_a_live_one_says_where_to_look_and_decides_nothing() {
    let db = TestDatabase::embedded().await;
    let unknown = TopUpId::generate().to_string();

    for args in [
        &["top-ups", "approve", unknown.as_str(), "--by", "alice"][..],
        &["top-ups", "reject", unknown.as_str(), "--reason", "No transfer arrived", "--by", "alice"],
    ] {
        let refused = ops(&db, args);

        assert_eq!(refused.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(stderr.contains(&format!("there is no live top-up request {unknown}")), "{args:?}: {stderr}");
        assert!(stderr.contains("`steller-ops top-ups list`") && stderr.contains("nothing was approved"), "{stderr}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cli_decision_records_the_operator_named_by_by_or_else_user() {
    let db = TestDatabase::embedded().await;
    let (_, first) = live_request(&db, "300.00").await;
    let (_, second) = live_request(&db, "45.00").await;

    let by_wins = stdout(&ops_as(&db, &["top-ups", "approve", &first, "--by", "  Ada Lovelace  "], Some("root")));
    let from_user =
        stdout(&ops_as(&db, &["top-ups", "reject", &second, "--reason", "No transfer arrived"], Some("grace")));

    assert!(by_wins.contains("by: cli:Ada Lovelace"), "--by beats USER, trimmed: {by_wins}");
    assert!(from_user.contains("by: cli:grace"), "USER when there is no --by: {from_user}");
    assert_eq!(decided(&db, &first).await, (TopUpStatus::Approved, Some(operator("Ada Lovelace"))));
    assert_eq!(decided(&db, &second).await, (TopUpStatus::Rejected, Some(operator("grace"))));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cli_decision_with_no_operator_is_refused_before_anything_is_decided() {
    let db = TestDatabase::embedded().await;
    let (partner, id) = live_request(&db, "300.00").await;

    let attempts = [
        ops_as(&db, &["top-ups", "approve", &id], None),
        ops_as(&db, &["top-ups", "approve", &id], Some("")),
        ops_as(&db, &["top-ups", "approve", &id, "--by", "   "], Some("root")),
        ops_as(&db, &["top-ups", "reject", &id, "--reason", "No transfer"], None),
    ];
    let too_long = ops_as(&db, &["top-ups", "approve", &id, "--by", &"o".repeat(65)], Some("root"));

    for attempt in &attempts {
        assert!(!attempt.status.success(), "refused");
        let stderr = String::from_utf8_lossy(&attempt.stderr);
        assert!(stderr.contains("pass --by NAME (or set USER)"), "{stderr}");
        assert!(stderr.contains("nothing was approved or rejected"), "{stderr}");
    }
    assert!(String::from_utf8_lossy(&too_long.stderr).contains("--by must be at most 64 characters"));
    assert_eq!(decided(&db, &id).await, (TopUpStatus::Pending, None), "the request is still undecided");
    assert_eq!(db.store.wallet(&partner, Mode::Live).await.expect("a wallet").balance.to_string(), "0.00");
}

#[tokio::test(flavor = "multi_thread")]
async fn products_upsert_adds_and_changes_a_product() {
    let db = TestDatabase::embedded().await;

    let created = stdout(&ops(&db, &["products", "upsert", "--name", "Voice minutes, 500", "--price", "12.00"]));
    let id = created.split_whitespace().next().expect("the id is printed").to_owned();
    let changed = stdout(&ops(
        &db,
        &["products", "upsert", "--id", &id, "--name", "Voice minutes, 500", "--price", "11.50", "--inactive"],
    ));

    assert!(changed.contains("inactive"), "{changed}");
    let product = db.store.product(&ProductId::parse(&id).expect("an id")).await.expect("read").expect("stored");
    assert_eq!((product.unit_price.to_string(), product.active), ("11.50".to_owned(), false));
    let refused = ops(&db, &["products", "upsert", "--name", "Free", "--price", "0"]);
    assert!(!refused.status.success());
}
