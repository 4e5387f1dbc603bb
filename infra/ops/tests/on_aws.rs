//! Without `--endpoint`, `steller-ops` works on AWS itself, as on a deployed stack: the
//! default chain (here pointed at a test database through AWS_ENDPOINT_URL, as the AWS CLI
//! can be), the domain table named exactly, and the partner emailed from the stack's sender.

use std::process::{Command, Output};

use steller::domain::{
    ApiKey, Mode, Money, PartnerId, Principal, ProductId, RequestTopUp, TopUpAmount, TopUpId, TopUpStatus,
};
use steller::schema::TableNames;
use steller::testing::{TestDatabase, emulator_sent_emails, unique_prefix};

/// `steller-ops args` with no `--endpoint` and nothing from the test's environment but the
/// default chain's region, credentials and AWS_ENDPOINT_URL (no profile, no STELLER_*),
/// plus `env`.
fn on_aws(endpoint: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    assert!(!args.contains(&"--endpoint"), "these tests run without --endpoint");
    Command::new(env!("CARGO_BIN_EXE_steller-ops"))
        .env_clear()
        .envs([
            ("AWS_ENDPOINT_URL", endpoint),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            // No instance metadata service to wait for: everything it could give is set.
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ])
        .envs(env.iter().copied())
        .args(args)
        .output()
        .expect("steller-ops runs")
}

fn succeeded(output: &Output) -> String {
    assert!(output.status.success(), "steller-ops failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn failed(output: &Output) -> String {
    assert_eq!(output.status.code(), Some(1), "steller-ops fails: {}", String::from_utf8_lossy(&output.stdout));
    String::from_utf8_lossy(&output.stderr).into_owned()
}

async fn sign_up(db: &TestDatabase) -> (PartnerId, String) {
    let email = format!("{}@deployed.example", ProductId::generate().to_string().to_lowercase());
    let signup = steller::testing::sign_up(&db.store, "Deployed Ltd", &email, Money::dollars(1000)).await;
    (signup.partner.id, email)
}

async fn live_request(db: &TestDatabase, partner: PartnerId) -> TopUpId {
    let command = RequestTopUp {
        partner_id: partner,
        mode: Mode::Live,
        amount: TopUpAmount::parse(Some("300.00")).expect("valid"),
        payment_reference: None,
        note: None,
    };
    db.store.request_top_up(&command, None).await.expect("requested").id
}

async fn live_balance(db: &TestDatabase, partner: &PartnerId) -> String {
    db.store.wallet(partner, Mode::Live).await.expect("a live wallet").balance.to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn without_an_endpoint_commands_reach_the_named_table_through_the_default_chain() {
    let db = TestDatabase::embedded().await;
    let (partner, _) = sign_up(&db).await;
    let table = db.store.table();

    let created = succeeded(&on_aws(&db.endpoint, &["create-ops-key", "--name", "ci", "--table", table], &[]));
    let audit = succeeded(&on_aws(&db.endpoint, &["audit"], &[("STELLER_TABLE", table)]));

    let key = created.lines().find(|line| line.starts_with("stl_ops_")).expect("the key is printed");
    let key = ApiKey::parse(key).expect("a valid key");
    let stored = db.store.principal(&key).await.expect("looked up");
    assert!(matches!(stored, Some(Principal::Ops { .. })), "the key is in the table --table names: {stored:?}");
    assert!(audit.contains("checked 2 wallets, 1 ledger entry: clean"), "STELLER_TABLE names the table: {audit}");
    assert!(audit.contains(&partner.to_string()), "{audit}");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_an_endpoint_a_command_needs_the_tables_exact_name_and_never_guesses_it() {
    let db = TestDatabase::embedded().await;
    // The table the --table-prefix default names, where a guess would land.
    let local = TableNames::new("steller-local");
    steller::schema::bootstrap(db.store.client(), &local).await.expect("the local tables are created");

    for args in [
        &["seed"][..],
        &["seed", "--table-prefix", "steller-local"],
        &["audit"],
        &["create-ops-key", "--name", "ci"],
        &["ops-keys", "list"],
        &["ops-keys", "revoke", "key_01JD2X8Q9V4K7M3N5P6R8S0T2W"],
        &["partner-keys", "list", "--partner", "ptn_01JD2X8Q9V4K7M3N5P6R8S0T2W"],
        &["partner-keys", "revoke", "--partner", "ptn_01JD2X8Q9V4K7M3N5P6R8S0T2W", "key_01JD2X8Q9V4K7M3N5P6R8S0T2W"],
        &["top-ups", "list"],
        &["top-ups", "approve", "tur_01JD2X8Q9V4K7M3N5P6R8S0T2W", "--by", "ci"],
        &["products", "upsert", "--name", "Voice minutes, 500", "--price", "12.00"],
    ] {
        let stderr = failed(&on_aws(&db.endpoint, args, &[("STELLER_SENDER_EMAIL", "no-reply@steller.example")]));

        assert!(
            stderr.contains("pass --table NAME (the stack's DomainTableName output)")
                && stderr.contains("--endpoint URL to work on an emulator"),
            "{args:?}: {stderr}"
        );
    }
    // An empty name, as `--table "$TABLE"` gives when the stack lookup failed, is no name.
    for (args, env) in [(&["audit", "--table", ""][..], &[][..]), (&["audit"], &[("STELLER_TABLE", " ")])] {
        let stderr = failed(&on_aws(&db.endpoint, args, env));
        assert!(stderr.contains("pass --table NAME (the stack's DomainTableName output)"), "{args:?}: {stderr}");
    }
    let written = db.store.client().scan().table_name(local.domain()).send().await.expect("scanned");
    assert_eq!(written.count, 0, "nothing reached the table the default prefix names");
}

#[tokio::test(flavor = "multi_thread")]
async fn on_aws_a_decision_without_the_stacks_sender_fails_before_any_money_moves() {
    let db = TestDatabase::embedded().await;
    let (partner, _) = sign_up(&db).await;
    let id = live_request(&db, partner).await.to_string();
    let table = db.store.table();

    for sender in [None, Some("  ")] {
        let mut env: Vec<(&str, &str)> = sender.map(|blank| ("STELLER_SENDER_EMAIL", blank)).into_iter().collect();
        env.push(("USER", "ci"));
        let approve = on_aws(&db.endpoint, &["top-ups", "approve", &id, "--table", table], &env);
        let reject =
            on_aws(&db.endpoint, &["top-ups", "reject", &id, "--reason", "No transfer", "--table", table], &env);

        for stderr in [failed(&approve), failed(&reject)] {
            assert!(stderr.contains("STELLER_SENDER_EMAIL is not set"), "{stderr}");
            assert!(stderr.contains("the stack's SenderEmail parameter"), "{stderr}");
            assert!(stderr.contains("nothing was approved or rejected"), "{stderr}");
        }
    }
    assert_eq!(live_balance(&db, &partner).await, "0.00", "the live wallet was not credited");
    let request = db.store.top_up_by_id(&TopUpId::parse(&id).expect("an id")).await.expect("found");
    assert_eq!(request.status, TopUpStatus::Pending, "the request is still undecided");
}

#[tokio::test(flavor = "multi_thread")]
async fn on_aws_a_decision_emails_the_partner_from_the_stacks_sender_and_never_asks_ses_to_verify_it() {
    let db = TestDatabase::aws_emulator().await;
    let ses = steller::aws::ses(&steller::aws::for_endpoint(&db.endpoint).await);
    let sender = format!("no-reply+{}@steller.example", unique_prefix());
    let env = [("STELLER_SENDER_EMAIL", sender.as_str()), ("USER", "ci")];
    let table = db.store.table();
    let (partner, partner_email) = sign_up(&db).await;
    let (first, second) = (live_request(&db, partner).await, live_request(&db, partner).await);

    let approved = on_aws(&db.endpoint, &["top-ups", "approve", &first.to_string(), "--table", table], &env);

    let printed = succeeded(&approved);
    assert!(printed.starts_with("approved") && printed.contains("300.00"), "{printed}");
    assert_eq!(live_balance(&db, &partner).await, "300.00");
    assert!(printed.contains("email refused"), "SES refuses the unverified sender, and says so: {printed}");
    let identities = ses.list_identities().send().await.expect("SES lists its identities");
    assert!(!identities.identities().contains(&sender), "the CLI never asked SES to verify {sender}");

    // Once the sender is verified, as ops do once for a stack, the partner is emailed.
    steller::email::verify_sender(&ses, &sender).await.expect("verified");
    let rejected = on_aws(
        &db.endpoint,
        &["top-ups", "reject", &second.to_string(), "--reason", "No transfer arrived", "--table", table],
        &env,
    );

    assert!(succeeded(&rejected).contains("reason: No transfer arrived"));
    let sent = emulator_sent_emails(&db.endpoint).await;
    let to_partner = sent
        .iter()
        .find(|message| message["source"] == sender.as_str())
        .expect("SES sent an email from the stack's sender");
    assert_eq!(to_partner["destinations"]["ToAddresses"][0], partner_email.as_str());
    assert!(to_partner["subject"].as_str().is_some_and(|subject| subject.contains("was rejected")), "{to_partner}");
}
