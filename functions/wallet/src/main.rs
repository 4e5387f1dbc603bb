//! The wallet Lambda: the router of `wallet::router`, served by lambda_http.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    steller::lambda::serve(wallet::VARIABLES, wallet::router).await
}
