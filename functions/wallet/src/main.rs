//! The wallet Lambda: the router of `wallet::router`, served by lambda_http.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    steller::telemetry::init_json();
    steller::lambda::serve(wallet::VARIABLES, wallet::router).await
}
