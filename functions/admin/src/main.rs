//! The admin Lambda: the router of `admin::router`, served by lambda_http.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    steller::telemetry::init_json();
    let state = steller::AppState::from_env(admin::VARIABLES).await?;
    steller::lambda::run(admin::router(state)).await
}
