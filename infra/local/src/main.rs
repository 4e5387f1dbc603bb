//! `cargo run -p steller-local`: the whole Steller API on http://127.0.0.1:3000.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use steller_local::{Engine, Options, Running};

/// Serves every Steller function on one local port, on an embedded DynamoDB engine.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The port to listen on (127.0.0.1); 0 picks a free one.
    #[arg(long, default_value_t = 3000)]
    port: u16,
    /// Keep nothing: run dynoxide in memory instead of persisting to --data.
    #[arg(long)]
    in_memory: bool,
    /// Where the embedded engine persists its data.
    #[arg(long, default_value = ".steller/local.db")]
    data: PathBuf,
    /// Use the DynamoDB at this URL (LocalStack, moto or AWS) instead of the embedded
    /// engine; the tables are created when absent.
    #[arg(long, value_name = "URL")]
    aws_endpoint: Option<String>,
    /// Prefix of the table names.
    #[arg(long, default_value = "steller-local")]
    table_prefix: String,
    /// Seconds between two runs of the analytics processor, which drains the request-log
    /// queue into the request-log table that /api/usage reads (production: 2 minutes).
    #[arg(long, value_name = "SECS", default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..))]
    analytics_interval: u64,
    /// Multiplies every pause of the webhook retry schedule (5 s, 5 min, … 10 h) by this
    /// factor: 0.001 retries after 5 ms, …, 36 s, to watch retries and dead letters quickly.
    #[arg(long, value_name = "FACTOR", default_value_t = 1.0)]
    webhook_retry_scale: f64,
    /// Seconds a client may take to send a request's head, and then its body, before it is
    /// disconnected (slow clients hold connections open otherwise).
    #[arg(long, value_name = "SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    client_timeout: u64,
    /// Registers this exact key as an ops key at start-up (stl_ops_…, 40+ characters).
    #[arg(long, env = "STELLER_OPS_KEY", hide_env_values = true, hide = true)]
    ops_key: Option<String>,
}

fn banner(running: &Running) {
    let url = format!("http://{}", running.address);
    println!("Steller portal      {url}/  (ops console: {url}/ops)");
    println!("Steller local API   {url}/api");
    println!("API docs            {url}/api/public/docs");
    println!("OpenAPI document    {url}/api/public/openapi.json");
    println!("DynamoDB            {}", running.dynamodb);
    println!("Catalog             {} products (infra/seed/products.json)", running.products);
    println!("Email               {}", running.email);
    println!("Request log         {}", running.request_log);
    println!("Analytics           {}", running.analytics);
    println!("Webhooks            delivered in process (docs/webhooks.md)");
    println!("Ops CLI             steller-ops --endpoint {}  (docs/ops.md)", running.dynamodb_endpoint);
    println!("Try it              curl -s -X POST {url}/api/public/signup -H 'content-type: application/json' \\");
    println!("                      -d '{{\"company_name\": \"Acme\", \"email\": \"dev@acme.example\"}}'");
    println!("Press Ctrl-C to stop.");
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    steller::telemetry::init_text();
    let args = Args::parse();
    let engine = match args.aws_endpoint {
        Some(endpoint) => Engine::Endpoint(endpoint),
        None if args.in_memory => Engine::Embedded(None),
        None => Engine::Embedded(Some(args.data)),
    };
    let options = Options {
        engine,
        table_prefix: args.table_prefix,
        ops_key: args.ops_key,
        analytics_interval: Duration::from_secs(args.analytics_interval),
        webhook_retry_scale: args.webhook_retry_scale,
        client_timeout: Duration::from_secs(args.client_timeout),
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await?;
    steller_local::serve(options, listener, banner, steller_local::stop_signal()).await?;
    println!("Stopped.");
    Ok(())
}
