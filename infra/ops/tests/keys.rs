//! `steller-ops ops-keys list|revoke` and `partner-keys list|revoke` against an endpoint:
//! keys listed by id, name and prefix (never the key), and revoked by id so they stop
//! working at once, with a clear error and a non-zero exit for an id that is not there.

use std::process::{Command, Output};

use steller::domain::{ApiKey, KeyId, KeyName, Mode, Money, NewKey, PartnerId, Principal};
use steller::testing::TestDatabase;

fn ops(db: &TestDatabase, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_steller-ops"));
    command.args(args).args(["--endpoint", &db.endpoint, "--table", db.store.table()]);
    command.output().expect("steller-ops runs")
}

fn stdout(output: &Output) -> String {
    assert!(output.status.success(), "steller-ops failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr_of_failure(output: &Output) -> String {
    assert_eq!(output.status.code(), Some(1), "steller-ops fails: {}", String::from_utf8_lossy(&output.stdout));
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// An ops key created with the CLI, as ops do: the printed key and its id.
fn create_ops_key(db: &TestDatabase, name: &str) -> (ApiKey, KeyId) {
    let printed = stdout(&ops(db, &["create-ops-key", "--name", name]));
    let key = printed.lines().find(|line| line.starts_with("stl_ops_")).expect("the key is printed");
    let id = printed.split_whitespace().find(|word| word.starts_with("key_")).expect("the key's id is printed");
    (ApiKey::parse(key).expect("a valid key"), KeyId::parse(id).expect("a key id"))
}

/// A partner with its signup (sandbox) key and a second, live key.
struct Partner {
    id: PartnerId,
    first: NewKey,
    second: NewKey,
}

async fn partner(db: &TestDatabase, email: &str) -> Partner {
    let signup = steller::testing::sign_up(&db.store, "Keyed Ltd", email, Money::dollars(1000)).await;
    let second = NewKey::generate(Mode::Live, Some(KeyName::parse(Some("production")).expect("a valid name")));
    db.store.create_key(&signup.partner.id, &second).await.expect("a second key");
    Partner { id: signup.partner.id, first: signup.first_key, second }
}

async fn works(db: &TestDatabase, key: &ApiKey) -> bool {
    db.store.principal(key).await.expect("looked up").is_some()
}

#[tokio::test(flavor = "multi_thread")]
async fn ops_keys_are_listed_by_id_name_and_prefix_and_never_shown() {
    let db = TestDatabase::embedded().await;
    let (alice, alice_id) = create_ops_key(&db, "alice@ops");
    let (ci, ci_id) = create_ops_key(&db, "ci");

    let listed = stdout(&ops(&db, &["ops-keys", "list"]));

    for (key, id, name) in [(&alice, alice_id, "alice@ops"), (&ci, ci_id, "ci")] {
        let line = listed.lines().find(|line| line.starts_with(&id.to_string())).expect("a line per key");
        assert!(line.contains(name) && line.contains(&key.prefix()), "{line}");
        assert!(!line.contains("revoked"), "{line}");
        assert!(!listed.contains(key.expose()) && !listed.contains(key.hash().as_str()), "never the key: {listed}");
    }
    assert!(listed.ends_with("2 ops keys, 0 revoked\n"), "{listed}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ops_key_revoked_by_id_stops_working_and_is_listed_revoked() {
    let db = TestDatabase::embedded().await;
    let (leaked, leaked_id) = create_ops_key(&db, "leaked laptop");
    let (kept, _) = create_ops_key(&db, "kept");

    let revoked = stdout(&ops(&db, &["ops-keys", "revoke", &leaked_id.to_string()]));

    assert!(revoked.starts_with(&format!("revoked  {leaked_id}  leaked laptop")), "{revoked}");
    assert!(revoked.contains(&leaked.prefix()) && revoked.contains("  revoked 20"), "{revoked}");
    assert!(!revoked.contains(leaked.expose()));
    assert!(!works(&db, &leaked).await, "the revoked key no longer authenticates");
    assert!(works(&db, &kept).await, "the other ops key still does");
    let listed = stdout(&ops(&db, &["ops-keys", "list"]));
    let line = listed.lines().find(|line| line.starts_with(&leaked_id.to_string())).expect("still listed");
    assert!(revoked.contains(line), "the list shows it as revoke did: {line}");
    assert!(listed.ends_with("2 ops keys, 1 revoked\n"), "{listed}");

    let again = stdout(&ops(&db, &["ops-keys", "revoke", &leaked_id.to_string()]));

    assert_eq!(again, revoked, "revoking again changes nothing");
}

/// An ops key as versions before the ops list registered it: a lookup item only.
async fn unlisted_ops_key(db: &TestDatabase, name: Option<&str>) -> (ApiKey, KeyId) {
    use aws_sdk_dynamodb::types::AttributeValue;
    let key = ApiKey::generate(steller::domain::KeyRole::Ops);
    let id = KeyId::generate();
    let text = |value: &str| AttributeValue::S(value.to_owned());
    let mut put = db
        .store
        .client()
        .put_item()
        .table_name(db.store.table())
        .item("pk", text(&format!("APIKEY#{}", key.hash().as_str())))
        .item("sk", text("APIKEY"))
        .item("role", text("ops"))
        .item("key_id", text(&id.to_string()))
        .item("created_at", text("2026-10-01T09:00:00.000Z"));
    if let Some(name) = name {
        put = put.item("name", text(name));
    }
    put.send().await.expect("the lookup is written");
    (key, id)
}

#[tokio::test(flavor = "multi_thread")]
async fn ops_keys_from_before_the_list_are_adopted_once_then_listed_and_revoked_by_id() {
    let db = TestDatabase::embedded().await;
    let (listed, _) = create_ops_key(&db, "listed");
    let (old, old_id) = unlisted_ops_key(&db, Some("ci-2025")).await;
    let (nameless, nameless_id) = unlisted_ops_key(&db, None).await;
    assert!(!stdout(&ops(&db, &["ops-keys", "list"])).contains(&old_id.to_string()), "not listed before");
    let old_id_text = old_id.to_string();
    let revoke_old = ["ops-keys", "revoke", old_id_text.as_str()];
    let refused = ops(&db, &revoke_old);
    assert!(stderr_of_failure(&refused).contains("there is no ops key"));

    let adopted = stdout(&ops(&db, &["ops-keys", "adopt"]));

    assert!(adopted.contains(&format!("listed   {old_id}  ci-2025")), "{adopted}");
    assert!(adopted.contains(&format!("listed   {nameless_id}  registered before the ops list")), "{adopted}");
    assert!(adopted.contains("stl_ops_…") && adopted.ends_with("2 unlisted ops keys listed now\n"), "{adopted}");
    assert!(!adopted.contains(listed.expose()) && !adopted.contains(old.expose()), "no key is printed");
    let again = stdout(&ops(&db, &["ops-keys", "adopt"]));
    assert_eq!(again, "0 unlisted ops keys listed now\n", "adopting twice lists nothing new");
    let list = stdout(&ops(&db, &["ops-keys", "list"]));
    assert!(list.contains(&old_id.to_string()) && list.contains("3 ops keys, 0 revoked"), "{list}");
    assert!(db.store.ops_key_unrevoked(&old_id).await.expect("read"), "it may open the console now");

    assert!(works(&db, &old).await);
    stdout(&ops(&db, &revoke_old));
    assert!(!works(&db, &old).await, "revoked by id, it stops working");
    assert!(works(&db, &nameless).await && works(&db, &listed).await, "the others still work");
}

#[tokio::test(flavor = "multi_thread")]
async fn revoking_an_ops_key_that_is_not_there_fails_and_says_so() {
    let db = TestDatabase::embedded().await;
    let (ops_key, _) = create_ops_key(&db, "ops");
    let partner = partner(&db, "partner@keys.example").await;
    let unknown = KeyId::generate().to_string();
    let partner_key = partner.first.summary.id.to_string();

    let not_there = stderr_of_failure(&ops(&db, &["ops-keys", "revoke", &unknown]));
    let a_partners = stderr_of_failure(&ops(&db, &["ops-keys", "revoke", &partner_key]));
    let malformed = stderr_of_failure(&ops(&db, &["ops-keys", "revoke", "key_nope"]));

    assert!(not_there.contains(&format!("there is no ops key {unknown}")), "{not_there}");
    assert!(a_partners.contains(&format!("there is no ops key {partner_key}")), "{a_partners}");
    assert!(a_partners.contains("partner-keys revoke"), "points to the partner command: {a_partners}");
    assert!(malformed.contains("\"key_nope\" is not a valid key id"), "{malformed}");
    assert!(works(&db, &partner.first.key).await, "the partner's key was not touched");
    assert!(works(&db, &ops_key).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn partner_keys_revoke_stops_that_key_and_leaves_the_partners_other_keys_working() {
    let db = TestDatabase::embedded().await;
    let alice = partner(&db, "alice@keys.example").await;
    let bob = partner(&db, "bob@keys.example").await;
    let leaked = alice.second.summary.id.to_string();

    let output = ops(&db, &["partner-keys", "revoke", "--partner", &alice.id.to_string(), &leaked]);

    let revoked = stdout(&output);
    assert!(!String::from_utf8_lossy(&output.stderr).contains("no working key"), "alice still has a key");
    assert!(revoked.starts_with(&format!("revoked  {}  {leaked}  live", alice.id)), "{revoked}");
    assert!(revoked.contains("production") && revoked.contains(&alice.second.key.prefix()), "{revoked}");
    assert!(revoked.contains("  revoked 20") && !revoked.contains(alice.second.key.expose()), "{revoked}");
    assert!(!works(&db, &alice.second.key).await, "the leaked key no longer authenticates");
    assert!(matches!(
        db.store.principal(&alice.first.key).await.expect("looked up"),
        Some(Principal::Partner { partner_id, .. }) if partner_id == alice.id
    ));
    assert!(works(&db, &bob.second.key).await && works(&db, &bob.first.key).await, "bob's keys are untouched");
    let listed = stdout(&ops(&db, &["partner-keys", "list", "--partner", &alice.id.to_string()]));
    assert!(listed.lines().any(|line| line.starts_with(&leaked) && line.contains("revoked")), "{listed}");
    assert!(listed.ends_with(&format!("2 keys of {}, 1 revoked\n", alice.id)), "{listed}");
    assert!(!listed.contains(alice.first.key.expose()) && !listed.contains(alice.second.key.expose()));

    let again = stdout(&ops(&db, &["partner-keys", "revoke", "--partner", &alice.id.to_string(), &leaked]));

    assert_eq!(again, revoked, "revoking again changes nothing");
}

#[tokio::test(flavor = "multi_thread")]
async fn revoking_a_partners_last_working_key_warns_that_they_are_locked_out() {
    let db = TestDatabase::embedded().await;
    let alice = partner(&db, "alice@keys.example").await;
    let revoke = |key: &NewKey| {
        ops(&db, &["partner-keys", "revoke", "--partner", &alice.id.to_string(), &key.summary.id.to_string()])
    };
    stdout(&revoke(&alice.second));

    let last = revoke(&alice.first);

    stdout(&last);
    let warning = String::from_utf8_lossy(&last.stderr);
    assert!(warning.contains(&format!("partner {} has no working key left", alice.id)), "{warning}");
    assert!(!works(&db, &alice.first.key).await, "the key is revoked all the same");
}

#[tokio::test(flavor = "multi_thread")]
async fn partner_keys_revoke_refuses_unknown_partners_other_partners_keys_and_ops_keys() {
    let db = TestDatabase::embedded().await;
    let alice = partner(&db, "alice@keys.example").await;
    let bob = partner(&db, "bob@keys.example").await;
    let (ops_key, ops_id) = create_ops_key(&db, "ops");
    let alice_id = alice.id.to_string();
    let bobs = bob.first.summary.id.to_string();
    let nobody = PartnerId::generate().to_string();
    let revoke = |partner: &str, key: &str| ops(&db, &["partner-keys", "revoke", "--partner", partner, key]);

    let unknown_partner = stderr_of_failure(&revoke(&nobody, &bobs));
    let other_partners = stderr_of_failure(&revoke(&alice_id, &bobs));
    let an_ops_key = stderr_of_failure(&revoke(&alice_id, &ops_id.to_string()));
    let malformed_partner = stderr_of_failure(&revoke("alice", &bobs));
    let malformed_key = stderr_of_failure(&revoke(&alice_id, "ptn_01JD2X8Q9V4K7M3N5P6R8S0T2W"));
    let listed_nobody = stderr_of_failure(&ops(&db, &["partner-keys", "list", "--partner", &nobody]));

    assert!(unknown_partner.contains(&format!("there is no partner {nobody}")), "{unknown_partner}");
    assert!(listed_nobody.contains(&format!("there is no partner {nobody}")), "{listed_nobody}");
    assert!(other_partners.contains(&format!("partner {alice_id} has no key {bobs}")), "{other_partners}");
    assert!(an_ops_key.contains(&format!("partner {alice_id} has no key {ops_id}")), "{an_ops_key}");
    assert!(an_ops_key.contains("ops-keys revoke"), "points to the ops command: {an_ops_key}");
    assert!(malformed_partner.contains("--partner \"alice\" is not a valid partner id"), "{malformed_partner}");
    assert!(malformed_key.contains("is not a valid key id"), "{malformed_key}");
    assert!(works(&db, &bob.first.key).await, "bob's key was not touched");
    assert!(works(&db, &ops_key).await, "the ops key was not touched");
    for key in [&alice.first.key, &alice.second.key] {
        assert!(works(&db, key).await, "alice's keys were not touched");
    }
}
