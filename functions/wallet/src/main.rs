//! The wallet Lambda.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    steller::telemetry::init_json();
    let config = steller::Config::from_env()?;
    let aws = steller::aws::from_environment().await;
    let state = steller::AppState::new(
        steller::Store::new(steller::aws::dynamodb(&aws), &config.table),
        config,
    );
    lambda_http::run(wallet::router(state)).await
}
