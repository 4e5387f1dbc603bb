//! `steller-ops`: operations against any DynamoDB endpoint, with the same shared code the
//! Lambdas run.

use anyhow::Context;
use clap::{Parser, Subcommand};
use steller::aws;
use steller::schema::{TableNames, bootstrap, tables};

#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Creates every table template.yaml declares that the endpoint does not have yet.
    Bootstrap {
        /// The DynamoDB endpoint (dynoxide, moto, LocalStack or AWS).
        #[arg(long, value_name = "URL")]
        endpoint: String,
        /// Tables are named `<prefix>-domain`, … Must match what the functions are given.
        #[arg(long, default_value = "steller-local")]
        table_prefix: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    steller::telemetry::init_text();
    match Cli::parse().command {
        Command::Bootstrap { endpoint, table_prefix } => {
            let client = aws::dynamodb(&aws::for_endpoint(&endpoint).await);
            let names = TableNames::new(table_prefix);
            let created = bootstrap(&client, &names).await.with_context(|| format!("bootstrapping {endpoint}"))?;
            for spec in tables()? {
                let name = names.name_of(&spec.logical_id);
                let state = if created.contains(&name) { "created" } else { "already there" };
                println!("{:<16} {name:<40} {state}", spec.logical_id);
            }
        }
    }
    Ok(())
}
