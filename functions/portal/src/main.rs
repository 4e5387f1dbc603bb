//! The portal Lambda: the pages of `portal::router`, served by lambda_http.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    steller::telemetry::init_json();
    let state = steller::AppState::from_env(portal::VARIABLES).await?;
    steller::lambda::run(portal::router(state)).await
}
