//! The usage Lambda: the router of `usage::router`, served by lambda_http.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    steller::lambda::serve(usage::VARIABLES, usage::router).await
}
