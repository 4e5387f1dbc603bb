//! What `RUST_LOG=trace` writes: everything Steller logs, and never a DynamoDB body,
//! which holds webhook secrets and sign-in code hashes. The AWS SDK and the embedded
//! engine log every body they send and receive at `trace`; the subscriber telemetry
//! builds holds them at `debug` whatever `RUST_LOG` says. One test in this binary: it
//! installs the process's global subscriber.

use serde_json::json;
use steller::testing::{CapturedLogs, TestApp};
use tracing_subscriber::EnvFilter;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_trace_a_webhook_secret_written_and_read_back_is_never_logged() {
    let logs = CapturedLogs::install(EnvFilter::new("trace"));
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
