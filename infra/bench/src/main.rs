//! `make bench`'s runner: `steller-bench --bin-dir target/release --out target/bench/latest.json`,
//! under `infra/emulator/run-with-emulator.sh` so the functions have an AWS emulator.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use serde_json::{Map, Value, json};
use steller_bench::aws_calls::calls_table;
use steller_bench::cold_start::subjects;
use steller_bench::drain::drain_table;
use steller_bench::embedded::AWS_LATENCY;
use steller_bench::hot_wallet::{hot_wallet_table, latency_table};
use steller_bench::local_server::server_table;
use steller_bench::report::{cold_start_rows, cold_start_table};
use steller_bench::usage_query::{QUERIES, usage_table};

/// One part of the bench, as `--sections` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Section {
    ColdStart,
    AwsCalls,
    Usage,
    Drain,
    HotWallet,
    LocalServer,
}

/// Measures the release Lambda binaries beside a hello-world Lambda, and Steller's own
/// code in process (docs/performance.md).
#[derive(Debug, Parser)]
struct Args {
    /// Where the release binaries are (the functions' and `hello`).
    #[arg(long, default_value = "target/release")]
    bin_dir: PathBuf,
    /// Where the figures are written as JSON.
    #[arg(long, default_value = "target/bench/latest.json")]
    out: PathBuf,
    /// Cold starts per binary; the table shows medians. 15 moved a ratio by 0.1× from
    /// one run to the next; 61 holds it within about 0.03× (and takes seconds).
    #[arg(long, default_value_t = 61)]
    repetitions: usize,
    /// The AWS emulator (run-with-emulator.sh sets this variable). Without it the AWS
    /// calls and the drain on the emulator are not measured.
    #[arg(long, env = "STELLER_TEST_AWS_ENDPOINT")]
    emulator: Option<String>,
    /// The parts to run, all by default (the in-process ones need no binaries).
    #[arg(long, value_enum, value_delimiter = ',')]
    sections: Vec<Section>,
    /// The partner's day sizes of the usage query, in logged requests.
    #[arg(long, value_delimiter = ',', default_values_t = [1_000, 10_000, 100_000])]
    usage_requests: Vec<usize>,
    /// The backlog each drain run takes.
    #[arg(long, default_value_t = 2_000)]
    drain_records: usize,
    /// Concurrent clients of the hot wallet and the local server.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Orders each hot-wallet client places; requests of each kind each local-server
    /// client sends. (With 25 a hot-wallet run lasted half a second, and its ratios
    /// moved by 0.1× from one run to the next.)
    #[arg(long, default_value_t = 100)]
    per_client: usize,
    /// Rounds of the hot wallet's three runs; its verdicts are on the median round's
    /// ratios. (One round's ratio moved by 0.1× or more from one run to the next.)
    #[arg(long, default_value_t = 5, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..100))]
    hot_wallet_rounds: usize,
}

impl Args {
    fn runs(&self, section: Section) -> bool {
        self.sections.is_empty() || self.sections.contains(&section)
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut figures = Map::new();

    if args.runs(Section::ColdStart) {
        // Nothing listens on the discard port: a function that calls AWS during a cold
        // start without an emulator fails fast instead of waiting.
        let endpoint = args.emulator.clone().unwrap_or_else(|| "http://127.0.0.1:9".to_owned());
        let mut subjects = subjects(&endpoint)?;
        steller_bench::cold_start::measure(&mut subjects, &args.bin_dir, args.repetitions).await?;
        let rows = cold_start_rows(&subjects);
        println!("Cold start: median of {} runs each, from process spawn\n", args.repetitions);
        println!("{}", cold_start_table(&rows));
        figures.insert("cold_start".to_owned(), json!(rows));
    }

    if args.runs(Section::AwsCalls) {
        let calls = match &args.emulator {
            Some(emulator) => {
                let calls = steller_bench::aws_calls::measure(&args.bin_dir, emulator).await?;
                println!("AWS calls per operation (awaited: before the answer was posted)\n");
                println!("{}", calls_table(&calls));
                Some(calls)
            }
            None => {
                println!("AWS calls per operation: not measured (no STELLER_TEST_AWS_ENDPOINT; run `make bench`)\n");
                None
            }
        };
        figures.insert("aws_calls".to_owned(), json!(calls));
    }

    if args.runs(Section::Usage) {
        let usage = steller_bench::usage_query::measure(&args.usage_requests).await.context("the usage query")?;
        println!("Usage query of one partner's day (embedded engine; median of {QUERIES} queries)\n");
        println!("{}", usage_table(&usage));
        figures.insert("usage_query".to_owned(), json!(usage));
    }

    if args.runs(Section::Drain) {
        let drain = steller_bench::drain::measure(args.drain_records, args.emulator.as_deref())
            .await
            .context("the request-log drain")?;
        println!(
            "Request-log drain: records/s and calls per run ({} receive→record→delete workers)\n",
            steller::request_log::DRAIN_WORKERS
        );
        println!("{}", drain_table(&drain));
        figures.insert("drain".to_owned(), json!(drain));
    }

    if args.runs(Section::HotWallet) {
        let hot = steller_bench::hot_wallet::measure(args.clients, args.per_client, args.hot_wallet_rounds)
            .await
            .context("the hot wallet")?;
        println!(
            "Hot wallet: {} rounds of {} clients × {} orders on one wallet (one shared store, then a store each, then over {} stores), then on {} wallets (embedded engine, steller::Store)\n",
            args.hot_wallet_rounds,
            args.clients,
            args.per_client,
            steller_bench::hot_wallet::ENVIRONMENTS,
            args.clients
        );
        println!("{}", hot_wallet_table(&hot));
        figures.insert("hot_wallet".to_owned(), json!(hot));

        let per_client = args.per_client.div_ceil(steller_bench::hot_wallet::LATENCY_ORDERS_DIVISOR);
        let slow = steller_bench::hot_wallet::round(args.clients, per_client, AWS_LATENCY)
            .await
            .context("the hot wallet at AWS's round trip")?;
        println!(
            "Hot wallet at AWS's round trip: one round of {} clients × {per_client} orders, every call to the engine held {} ms\n",
            args.clients,
            AWS_LATENCY.as_millis()
        );
        println!("{}", latency_table(&slow, AWS_LATENCY));
        figures.insert("hot_wallet_at_aws_latency".to_owned(), json!(slow));
    }

    if args.runs(Section::LocalServer) {
        let server =
            steller_bench::local_server::measure(args.clients, args.per_client).await.context("the local server")?;
        println!("Local server over HTTP: {} clients × {} requests of each kind\n", args.clients, args.per_client);
        println!("{}", server_table(&server));
        figures.insert("local_server".to_owned(), json!(server));
    }

    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&args.out, serde_json::to_string_pretty(&Value::Object(figures))?)
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!("Figures written to {}", args.out.display());
    Ok(())
}
