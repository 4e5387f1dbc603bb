//! The top-ups Lambda: the router of `top_ups::router`, served by lambda_http.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    steller::telemetry::init_json();
    let state = steller::AppState::from_env(top_ups::VARIABLES).await?;
    steller::lambda::run(top_ups::router(state)).await
}
