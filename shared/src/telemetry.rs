//! Logging: JSON lines through `tracing` (CloudWatch on Lambda), plain text locally; the
//! id of the request being handled, which every log line and problem body carries; and
//! error chains written out whole for the log line.

use std::future::Future;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The levels when `RUST_LOG` is not set: `info` for Steller. The embedded engine
/// (dynoxide) logs every 4xx it answers as a warning, but a failed condition is how
/// the store learns it lost a race or an email is taken: an expected answer, which
/// the store itself reports where it matters. Its real errors still show.
pub const DEFAULT_FILTER: &str = "info,dynoxide=error";

/// The filter `RUST_LOG` sets, or `DEFAULT_FILTER`.
pub fn filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER))
}

/// JSON logs for Lambda. The levels come from `RUST_LOG` (default `DEFAULT_FILTER`),
/// read as `target=level` directives (`Targets`), not as an `EnvFilter`: parsing an
/// `EnvFilter` compiles a regular expression, about 0.06× of a hello-world Lambda's init
/// (docs/performance.md). A `RUST_LOG` that is not such a list is ignored.
pub fn init_json() {
    let _ = tracing_subscriber::registry()
        .with(lambda_targets(std::env::var("RUST_LOG").ok().as_deref()))
        // No time: CloudWatch stamps every line itself.
        .with(tracing_subscriber::fmt::layer().json().with_current_span(true).without_time())
        .try_init();
}

/// The levels `RUST_LOG` asks for, or `DEFAULT_FILTER`'s.
fn lambda_targets(rust_log: Option<&str>) -> Targets {
    rust_log
        .and_then(|directives| directives.parse().ok())
        .or_else(|| DEFAULT_FILTER.parse().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO))
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

    #[test]
    fn lambda_levels_come_from_rust_log_or_the_default() {
        use tracing::Level;
        let default = lambda_targets(None);
        assert!(default.would_enable("steller::store", &Level::INFO));
        assert!(!default.would_enable("steller::store", &Level::DEBUG));
        assert!(!default.would_enable("dynoxide::actions", &Level::WARN), "the engine's expected 4xx stay quiet");
        assert!(default.would_enable("dynoxide::actions", &Level::ERROR));

        let asked = lambda_targets(Some("warn,steller::store=debug"));
        assert!(asked.would_enable("steller::store::movement", &Level::DEBUG));
        assert!(!asked.would_enable("steller::http", &Level::INFO));

        let garbled = lambda_targets(Some("steller=loud"));
        assert!(garbled.would_enable("steller::store", &Level::INFO), "an unreadable RUST_LOG is ignored");
        assert!(!garbled.would_enable("steller::store", &Level::DEBUG));
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
