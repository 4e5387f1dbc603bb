//! The catalog Lambda: the router of `catalog::router`, served by lambda_http.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    steller::telemetry::init_json();
    let state = steller::AppState::from_env(catalog::VARIABLES).await?;
    steller::lambda::run(catalog::router(state)).await
}
