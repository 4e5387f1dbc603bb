//! The webhooks Lambda: the router of `webhooks::router`, served by lambda_http.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    steller::lambda::serve(webhooks::VARIABLES, webhooks::router).await
}
