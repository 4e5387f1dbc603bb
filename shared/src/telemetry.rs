//! Logging: JSON lines through `tracing` (CloudWatch on Lambda), plain text locally; the
//! id of the request being handled, which every log line and problem body carries; and
//! error chains written out whole for the log line.

use std::future::Future;

use tracing_subscriber::EnvFilter;

/// The levels when `RUST_LOG` is not set: `info` for Steller. The embedded engine
/// (dynoxide) logs every 4xx it answers as a warning, but a failed condition is how
/// the store learns it lost a race or an email is taken: an expected answer, which
/// the store itself reports where it matters. Its real errors still show.
pub const DEFAULT_FILTER: &str = "info,dynoxide=error";

/// The filter `RUST_LOG` sets, or `DEFAULT_FILTER`.
pub fn filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER))
}

/// JSON logs for Lambda. The level comes from `RUST_LOG` (default `info`).
pub fn init_json() {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter())
        .with_current_span(true)
        .without_time() // CloudWatch stamps every line itself
        .try_init();
}

/// Human-readable logs for the local server and the CLI.
pub fn init_text() {
    let _ = tracing_subscriber::fmt().with_env_filter(filter()).with_target(false).try_init();
}

tokio::task_local! {
    static REQUEST_ID: String;
}

/// Runs `work` as the handling of request `id`: `current_request_id` answers `id` inside it.
pub async fn with_request_id<F: Future>(id: String, work: F) -> F::Output {
    REQUEST_ID.scope(id, work).await
}

/// The id of the request being handled, or `"-"` outside one.
pub fn current_request_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_else(|_| "-".to_owned())
}

/// The whole cause chain of an error, for the log line.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_request_id_is_known_inside_its_request_only() {
        assert_eq!(current_request_id(), "-");
        let inside = with_request_id("req_1".into(), async { current_request_id() }).await;
        assert_eq!(inside, "req_1");
    }

    #[derive(Debug, thiserror::Error)]
    #[error("sending the email failed")]
    struct Failed(#[source] std::io::Error);

    #[test]
    fn a_chain_names_every_cause() {
        let error = Failed(std::io::Error::other("connection refused"));
        assert_eq!(chain(&error), "sending the email failed: connection refused");
    }
}
