//! `steller-ops rate-limits show|set|clear` against an endpoint: the same quotas the
//! admin routes set, copied onto the partner's keys, and bad input refused with nothing
//! changed.

use std::process::{Command, Output};

use steller::domain::{ApiKey, Mode, Money, PartnerId};
use steller::store::Admission;
use steller::testing::{TestDatabase, sign_up, unique_email};

fn ops(db: &TestDatabase, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_steller-ops"))
        .args(args)
        .args(["--endpoint", &db.endpoint, "--table", db.store.table()])
        .output()
        .expect("steller-ops runs")
}

fn stdout(output: &Output) -> String {
    assert!(output.status.success(), "steller-ops failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The quota the partner's key is admitted under now.
async fn quota_of(db: &TestDatabase, key: &ApiKey) -> u32 {
    match db.store.admit(key).await.expect("the store answers") {
        Admission::Admitted { quota, .. } | Admission::Limited { quota, .. } => quota.quota.get(),
        Admission::Unknown => panic!("the key is known"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limits_are_shown_set_and_cleared_from_the_command_line() {
    let db = TestDatabase::embedded().await;
    let signup = sign_up(&db.store, "Acme", &unique_email("ops"), Money::dollars(10)).await;
    let partner: PartnerId = signup.partner.id;
    let id = partner.to_string();
    let key = signup.first_key.key.clone();

    let shown = stdout(&ops(&db, &["rate-limits", "show", "--partner", &id]));
    assert!(shown.contains("sandbox     25 req/s per key  (default)"), "{shown}");
    assert!(shown.contains("live       100 req/s per key  (default)"), "{shown}");

    let set = stdout(&ops(
        &db,
        &["rate-limits", "set", "--partner", &id, "--mode", "sandbox", "--requests-per-second", "400"],
    ));
    assert!(set.contains("sandbox    400 req/s per key  (override)"), "{set}");
    assert_eq!(quota_of(&db, &key).await, 400, "the partner's existing key has the new quota");

    for bad in ["0", "1001"] {
        let refused =
            ops(&db, &["rate-limits", "set", "--partner", &id, "--mode", "sandbox", "--requests-per-second", bad]);
        assert!(!refused.status.success(), "{bad} is refused");
        assert!(String::from_utf8_lossy(&refused.stderr).contains("nothing was changed"));
    }
    assert_eq!(db.store.rate_limits(&partner).await.expect("read").of(Mode::Sandbox).requests_per_second.get(), 400);

    let cleared = stdout(&ops(&db, &["rate-limits", "clear", "--partner", &id, "--mode", "sandbox"]));
    assert!(cleared.contains("sandbox     25 req/s per key  (default)"), "{cleared}");
    assert_eq!(quota_of(&db, &key).await, 25);

    let unknown = ops(&db, &["rate-limits", "show", "--partner", "ptn_01JD2X8Q9V4K7M3N5P6R8S0T2W"]);
    assert!(!unknown.status.success(), "an unknown partner is an error");
}
