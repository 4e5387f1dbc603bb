//! `steller-ops`: operations on a deployed stack (AWS, through the default chain) or on an
//! emulator (`--endpoint`), with the same shared code the Lambdas run.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use steller::domain::{ApiKey, KeyRole, TopUpStatus};
use steller::schema::{SchemaError, TableNames, bootstrap, bootstrap_queues, tables};

mod keys;
mod products;
mod rate_limits;
mod sender;
mod target;
mod top_ups;
use steller::aws;
use target::DomainTable;

#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Creates every table and queue template.yaml declares that the emulator does not
    /// have yet (queues are skipped where it has no SQS), for the local server and tests.
    ///
    /// For emulators only: on AWS, SAM creates and owns a deployed stack's tables and
    /// queues, and bootstrap would only add unmanaged copies beside them.
    Bootstrap {
        /// The emulator (dynoxide, moto, LocalStack) that gets the DynamoDB, SQS and SES
        /// calls. Required: bootstrap never runs against AWS itself.
        #[arg(long, value_name = "URL")]
        endpoint: String,
        /// Tables and queues are named `<prefix>-domain`, `<prefix>-request-log`, … Must
        /// match what the functions are given.
        #[arg(long, default_value = "steller-local")]
        table_prefix: String,
        /// The address emails are sent from (STELLER_SENDER_EMAIL), verified with SES at
        /// the endpoint; skipped where there is no SES.
        #[arg(long, value_name = "ADDRESS", default_value = steller::config::DEFAULT_SENDER_EMAIL)]
        sender_email: String,
    },
    /// Upserts the catalog products of infra/seed/products.json.
    ///
    /// Each product is written whole, so running it again rewrites the same products and
    /// puts back any price or `active` flag changed since.
    Seed(DomainTable),
    /// Checks every wallet against its ledger; exits non-zero on any finding.
    ///
    /// A wallet passes when its ledger entries sum to its balance and the balance is not
    /// negative; ledger entries without a wallet are findings too. Reads the whole domain
    /// table with a strongly consistent scan, so run it off-peak. A scan is not a
    /// snapshot: confirm findings made while orders were being placed with a second run.
    Audit(DomainTable),
    /// Creates an ops key and prints it once; only its SHA-256 is stored.
    CreateOpsKey {
        /// Who or what the key is for ("alice@ops", "ci").
        #[arg(long)]
        name: String,
        #[command(flatten)]
        target: DomainTable,
    },
    /// Lists or revokes ops keys (by id; never shows a key).
    #[command(subcommand)]
    OpsKeys(keys::OpsKeysCommand),
    /// Lists a partner's keys, or revokes one (a leaked key) on their behalf.
    #[command(subcommand)]
    PartnerKeys(keys::PartnerKeysCommand),
    /// Lists, approves or rejects live top-up requests.
    #[command(subcommand)]
    TopUps(TopUpsCommand),
    /// Adds or changes catalog products.
    #[command(subcommand)]
    Products(ProductsCommand),
    /// Shows, sets or clears a partner's rate limits (requests per second per key).
    #[command(subcommand)]
    RateLimits(rate_limits::RateLimitsCommand),
}

#[derive(Debug, Subcommand)]
enum TopUpsCommand {
    /// Live requests with a status; pending ones oldest first.
    List {
        #[arg(long, default_value = "pending", value_parser = ["pending", "approved", "rejected"])]
        status: String,
        #[command(flatten)]
        target: DomainTable,
    },
    /// Approves a pending request: the live wallet is credited once, in one transaction
    /// that also records who approved it.
    Approve {
        /// The request's id (`tur_…`).
        id: String,
        #[command(flatten)]
        by: top_ups::Operator,
        #[command(flatten)]
        target: DomainTable,
    },
    /// Rejects a pending request, recording who rejected it; no money moves and the
    /// partner is told the reason.
    Reject {
        /// The request's id (`tur_…`).
        id: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        by: top_ups::Operator,
        #[command(flatten)]
        target: DomainTable,
    },
}

#[derive(Debug, Subcommand)]
enum ProductsCommand {
    /// Writes one product whole (creating it, or replacing the one with --id).
    Upsert {
        #[command(flatten)]
        product: products::ProductArgs,
        #[command(flatten)]
        target: DomainTable,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    steller::telemetry::init_text();
    match Cli::parse().command {
        Command::Bootstrap { endpoint, table_prefix, sender_email } => {
            let sdk = aws::for_endpoint(&endpoint).await;
            let names = TableNames::new(table_prefix);
            let created =
                bootstrap(&aws::dynamodb(&sdk), &names).await.with_context(|| format!("bootstrapping {endpoint}"))?;
            for spec in tables()? {
                let name = names.name_of(&spec.logical_id);
                let state = if created.contains(&name) { "created" } else { "already there" };
                println!("{:<26} {name:<40} {state}", spec.logical_id);
            }
            print_queues(&endpoint, &names, bootstrap_queues(&aws::sqs(&sdk), &names).await)?;
            sender::verify(&endpoint, &sender_email).await?;
        }
        Command::Seed(target) => {
            let store = target.store().await?;
            let count = steller::seed::seed_products(&store)
                .await
                .with_context(|| format!("seeding the catalog into {}", store.table()))?;
            for product in steller::seed::products()? {
                let state = if product.active { "" } else { "  (inactive)" };
                println!("{}  {:>10}  {}{state}", product.id, product.unit_price.to_string(), product.name);
            }
            println!("seeded {count} products into {}", store.table());
        }
        Command::Audit(target) => {
            let store = target.store().await?;
            let report = store.audit().await.with_context(|| format!("auditing {}", store.table()))?;
            return Ok(print_audit(&report));
        }
        Command::CreateOpsKey { name, target } => {
            let store = target.store().await?;
            let key = ApiKey::generate(KeyRole::Ops);
            let key_id = store.register_ops_key(&key, name.trim()).await.context("storing the ops key")?;
            println!("created ops key {key_id} ({})", name.trim());
            println!("{}", key.expose());
            eprintln!("This is the only time the key is shown: store it in your secrets manager now.");
        }
        Command::OpsKeys(command) => keys::ops_keys(command).await?,
        Command::PartnerKeys(command) => keys::partner_keys(command).await?,
        Command::RateLimits(command) => rate_limits::rate_limits(command).await?,
        Command::TopUps(TopUpsCommand::List { status, target }) => {
            let status: TopUpStatus = status.parse().map_err(|error| anyhow::anyhow!("--status {error}"))?;
            let requests = top_ups::list(&target.store().await?, status).await?;
            for request in &requests {
                println!("{}", top_ups::line(request));
            }
            println!("{} {} request(s)", requests.len(), status.as_str());
        }
        Command::TopUps(TopUpsCommand::Approve { id, by, target }) => {
            let by = by.decider()?;
            let (store, email, config) = target.store_and_notifier().await?;
            let id = top_ups::parse_id(&id)?;
            let approved = store
                .approve_top_up(&id, &by)
                .await
                .map_err(|error| top_ups::decision_error("approving", &id, error))?;
            println!("approved  {}", top_ups::line(&approved));
            steller::notices::top_up_decided(&*email, &config, &store, &approved).await;
        }
        Command::TopUps(TopUpsCommand::Reject { id, reason, by, target }) => {
            let by = by.decider()?;
            let (store, email, config) = target.store_and_notifier().await?;
            let reason = top_ups::parse_reason(&reason)?;
            let id = top_ups::parse_id(&id)?;
            let rejected = store
                .reject_top_up(&id, &by, &reason)
                .await
                .map_err(|error| top_ups::decision_error("rejecting", &id, error))?;
            println!("rejected  {}", top_ups::line(&rejected));
            steller::notices::top_up_decided(&*email, &config, &store, &rejected).await;
        }
        Command::Products(ProductsCommand::Upsert { product, target }) => {
            let product = product.product()?;
            let store = target.store().await?;
            store.upsert_product(&product).await.context("writing the product")?;
            let state = if product.active { "active" } else { "inactive" };
            println!("{}  {:>10}  {}  ({state})", product.id, product.unit_price.to_string(), product.name);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One line per queue with its URL (what STELLER_REQUEST_LOG_QUEUE_URL is set to), or
/// why the queues were skipped: an endpoint without SQS is no error, as the local server
/// then keeps its request log in process.
fn print_queues(
    endpoint: &str,
    names: &TableNames,
    queues: Result<steller::schema::Queues, SchemaError>,
) -> anyhow::Result<()> {
    match queues {
        Ok(queues) => {
            for queue in queues.iter() {
                let state = if queue.created { "created" } else { "already there" };
                println!("{:<26} {:<40} {state}  {}", queue.logical_id, queue.name, queue.url);
            }
        }
        Err(SchemaError::NoSqs(_)) => {
            for spec in steller::schema::queues()? {
                let name = names.queue_name_of(&spec.logical_id);
                println!("{:<26} {name:<40} skipped: no SQS at {endpoint}", spec.logical_id);
            }
        }
        Err(error) => return Err(error).with_context(|| format!("creating the queues on {endpoint}")),
    }
    Ok(())
}

/// One line per wallet, one per ledger without a wallet, then the verdict.
fn print_audit(report: &steller::store::AuditReport) -> ExitCode {
    for wallet in &report.wallets {
        let findings = wallet.findings();
        if findings.is_empty() {
            println!(
                "ok        {} {:<7} balance {} USD = the sum of {}",
                wallet.partner_id,
                wallet.mode.as_str(),
                wallet.balance,
                count(wallet.entries, "ledger entry", "ledger entries")
            );
        } else {
            let explained: Vec<String> = findings.iter().map(ToString::to_string).collect();
            println!("MISMATCH  {}", explained.join("; "));
        }
    }
    for orphaned in &report.orphaned {
        println!("MISMATCH  {}", orphaned.finding());
    }
    let findings = report.mismatches().len();
    let verdict = if findings == 0 { "clean".to_owned() } else { count(findings, "finding", "findings") };
    println!(
        "checked {}, {}: {verdict}",
        count(report.wallets.len(), "wallet", "wallets"),
        count(report.ledger_entries(), "ledger entry", "ledger entries")
    );
    if findings == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
