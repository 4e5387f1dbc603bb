//! The wallet Lambda: the router of `wallet::router`, served by lambda_http.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    steller::telemetry::init_json();
    let state = steller::AppState::from_env(wallet::VARIABLES).await?;
    steller::lambda::run(wallet::router(state)).await
}
