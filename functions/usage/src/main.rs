//! The usage Lambda: the router of `usage::router`, served by lambda_http.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    steller::telemetry::init_json();
    let state = steller::AppState::from_env(usage::VARIABLES).await?;
    steller::lambda::run(usage::router(state)).await
}
