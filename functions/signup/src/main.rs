//! The signup Lambda: the router of `signup::router`, served by lambda_http.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    steller::telemetry::init_json();
    let state = steller::AppState::from_env(signup::VARIABLES).await?;
    steller::lambda::run(signup::router(state)).await
}
