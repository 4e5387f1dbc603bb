//! Logging: JSON lines through `tracing` (CloudWatch on Lambda), plain text locally.

use tracing_subscriber::EnvFilter;

/// JSON logs for Lambda. The level comes from `RUST_LOG` (default `info`).
pub fn init_json() {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_current_span(true)
        .without_time() // CloudWatch stamps every line itself
        .try_init();
}

/// Human-readable logs for the local server and the CLI.
pub fn init_text() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_target(false)
        .try_init();
}
