//! The orders Lambda: the router of `orders::router`, served by lambda_http.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    steller::telemetry::init_json();
    let state = steller::AppState::from_env(orders::VARIABLES).await?;
    steller::lambda::run(orders::router(state)).await
}
