//! Logging: JSON lines through `tracing` (CloudWatch on Lambda), plain text locally; the
//! id of the request being handled, which every log line and problem body carries; and
//! error chains written out whole for the log line.

use std::future::Future;

use tracing::Level;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The levels when `RUST_LOG` is not set: `info` for Steller. The embedded engine
/// (dynoxide) logs every 4xx it answers as a warning, but a failed condition is how
/// the store learns it lost a race or an email is taken: an expected answer, which
/// the store itself reports where it matters. Its real errors still show.
pub const DEFAULT_FILTER: &str = "info,dynoxide=error";

/// Targets (prefixes) that write whole HTTP bodies at `trace`: the AWS SDK's
/// orchestrator logs each request and response it transmits (`transmitting request`,
/// `received response from service`) with its body, and the embedded engine each body
/// it is sent and answers (`request body`, `response body`). A DynamoDB body holds the
/// items: webhook secrets, sign-in code hashes (a six-digit code is found again from
/// its hash in a moment), key hashes. So they are held at `debug` at most, whatever
/// `RUST_LOG` asks: `body_cap`. `hyper` and `h2` are held too, in case a build turns
/// their tracing on; none of these logs anything Steller needs below `debug`.
pub const BODY_LOGGING_TARGETS: [&str; 4] = ["aws_", "dynoxide", "hyper", "h2"];

/// The cap every subscriber here carries beside the levels `RUST_LOG` asks for: both
/// must let an event through, so `RUST_LOG` can lower these targets but never raise
/// them to `trace`.
pub fn body_cap() -> Targets {
    BODY_LOGGING_TARGETS
        .iter()
        .fold(Targets::new().with_default(LevelFilter::TRACE), |cap, target| cap.with_target(*target, Level::DEBUG))
}

/// The filter `RUST_LOG` sets, or `DEFAULT_FILTER`. Use it only with `body_cap` beside
/// it, as `text_subscriber` does.
pub fn filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER))
}

/// JSON logs for Lambda. The levels come from `RUST_LOG` (default `DEFAULT_FILTER`),
/// read as `target=level` directives (`Targets`), not as an `EnvFilter`: parsing an
/// `EnvFilter` compiles a regular expression, about 0.06× of a hello-world Lambda's init
/// (docs/performance.md). A `RUST_LOG` that is not such a list is ignored.
pub fn init_json() {
    let _ = json_subscriber(std::env::var("RUST_LOG").ok().as_deref(), std::io::stdout).try_init();
}

/// Lambda's subscriber at the levels `rust_log` asks for (`RUST_LOG`'s form), capped by
/// `body_cap`, writing JSON lines to `writer`: what `init_json` installs.
pub fn json_subscriber<W>(rust_log: Option<&str>, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::registry()
        .with(lambda_targets(rust_log))
        .with(body_cap())
        // No time: CloudWatch stamps every line itself.
        .with(tracing_subscriber::fmt::layer().json().with_current_span(true).without_time().with_writer(writer))
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
    let _ = text_subscriber(filter(), true, std::io::stdout).try_init();
}

/// The local server's subscriber at `levels` (`filter()`: `RUST_LOG` or the default),
/// capped by `body_cap`, writing text to `writer`, in colour if `ansi`: what `init_text`
/// installs.
pub fn text_subscriber<W>(levels: EnvFilter, ansi: bool, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::registry()
        .with(levels)
        .with(body_cap())
        .with(tracing_subscriber::fmt::layer().with_ansi(ansi).with_target(false).with_writer(writer))
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

    #[test]
    fn bodies_stay_below_trace_whatever_rust_log_says() {
        let sink = || std::io::sink();
        let quiet = || tracing::enabled!(target: "aws_smithy_runtime::client::orchestrator", Level::TRACE);
        let engine = || tracing::enabled!(target: "dynoxide::server", Level::TRACE);
        let ours = || tracing::enabled!(target: "steller::store", Level::TRACE);
        for rust_log in ["trace", "aws_smithy_runtime=trace,dynoxide=trace,trace"] {
            let json = json_subscriber(Some(rust_log), sink);
            assert_eq!(tracing::subscriber::with_default(json, || (quiet(), engine(), ours())), (false, false, true));
            let text = text_subscriber(EnvFilter::new(rust_log), false, sink);
            assert_eq!(tracing::subscriber::with_default(text, || (quiet(), engine(), ours())), (false, false, true));
        }
        let debug = || tracing::enabled!(target: "aws_smithy_runtime::client::orchestrator", Level::DEBUG);
        let text = text_subscriber(EnvFilter::new("aws_smithy_runtime=debug"), false, sink);
        assert!(tracing::subscriber::with_default(text, debug), "debug is still there when asked for");
        let text = text_subscriber(EnvFilter::new("warn"), false, sink);
        assert!(!tracing::subscriber::with_default(text, debug), "the cap never raises a level");
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
