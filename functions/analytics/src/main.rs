//! The analytics Lambda: `analytics::Analytics` on EventBridge's schedule, served by
//! lambda_runtime.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    steller::telemetry::init_json();
    let analytics = analytics::Analytics::from_env().await?;
    analytics::run(analytics).await
}
