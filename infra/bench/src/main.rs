//! `make bench`'s runner: `steller-bench --bin-dir target/release --out target/bench/latest.json`,
//! under `infra/emulator/run-with-emulator.sh` so the functions have an AWS emulator.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use serde_json::json;
use steller_bench::aws_calls::calls_table;
use steller_bench::cold_start::subjects;
use steller_bench::report::{cold_start_rows, cold_start_table};

/// Measures the release Lambda binaries beside a hello-world Lambda (docs/performance.md).
#[derive(Debug, Parser)]
struct Args {
    /// Where the release binaries are (the functions' and `hello`).
    #[arg(long, default_value = "target/release")]
    bin_dir: PathBuf,
    /// Where the figures are written as JSON.
    #[arg(long, default_value = "target/bench/latest.json")]
    out: PathBuf,
    /// Cold starts per binary; the table shows medians.
    #[arg(long, default_value_t = 15)]
    repetitions: usize,
    /// The AWS emulator (run-with-emulator.sh sets this variable). Without it only cold
    /// starts are measured.
    #[arg(long, env = "STELLER_TEST_AWS_ENDPOINT")]
    emulator: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // Nothing listens on the discard port: a function that calls AWS during a cold start
    // without an emulator fails fast instead of waiting.
    let endpoint = args.emulator.clone().unwrap_or_else(|| "http://127.0.0.1:9".to_owned());
    let mut subjects = subjects(&endpoint)?;
    steller_bench::cold_start::measure(&mut subjects, &args.bin_dir, args.repetitions).await?;
    let rows = cold_start_rows(&subjects);
    println!("Cold start: median of {} runs each, from process spawn\n", args.repetitions);
    println!("{}", cold_start_table(&rows));

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

    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let figures = json!({ "cold_start": rows, "aws_calls": calls });
    std::fs::write(&args.out, serde_json::to_string_pretty(&figures)?)
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!("Figures written to {}", args.out.display());
    Ok(())
}
