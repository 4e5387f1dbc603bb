//! The analytics Lambda: `analytics::serve`, run by lambda_runtime on EventBridge's
//! schedule.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    steller::telemetry::init_json();
    analytics::serve().await
}
