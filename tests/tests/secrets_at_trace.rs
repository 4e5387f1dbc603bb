//! What `RUST_LOG=trace` writes: everything Steller logs, and never a DynamoDB body,
//! which holds webhook secrets and sign-in code hashes. The AWS SDK and the embedded
//! engine log every body they send and receive at `trace`; the subscriber telemetry
//! builds holds them at `debug` whatever `RUST_LOG` says. One test in this binary: it
//! installs the process's global subscriber.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::json;
use steller::telemetry::text_subscriber;
use steller::testing::TestApp;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::util::SubscriberInitExt;

/// Everything logged, as text.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    /// The local server's subscriber, as `RUST_LOG=trace` makes it, writing here.
    fn capture_at_trace() -> Self {
        let logs = Logs::default();
        let writer = logs.clone();
        text_subscriber(EnvFilter::new("trace"), move || writer.clone()).init();
        logs
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}

impl Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_trace_a_webhook_secret_written_and_read_back_is_never_logged() {
    let logs = Logs::capture_at_trace();
    let app = TestApp::embedded(webhooks::routes()).await;
    let partner = app.new_partner().await;

    // Written (TransactWriteItems), read back (GetItem, in the rotation), and written again.
    let body = json!({"url": "https://8.8.8.8/hooks", "events": ["order.created"]});
    let created = app.post("/api/webhook-endpoints", Some(&partner.key), body).await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.body);
    let id = created.body["id"].as_str().expect("an id");
    let rotated = app.post(&format!("/api/webhook-endpoints/{id}/rotate-secret"), Some(&partner.key), json!({})).await;
    assert_eq!(rotated.status.as_u16(), 200, "{}", rotated.body);

    let text = logs.text();
    assert!(text.contains("DEBUG"), "the SDK and the engine still log, at debug:\n{text}");
    for secret in [&created.body["secret"], &rotated.body["secret"]] {
        let secret = secret.as_str().expect("a secret");
        let bytes = secret.trim_start_matches("whsec_");
        assert!(!text.contains(bytes), "the secret {secret} is in the logs:\n{text}");
    }
    assert!(!text.contains("whsec_"), "no secret at all is in the logs");
    assert!(!text.contains(&partner.key), "nor the partner's key");
}
