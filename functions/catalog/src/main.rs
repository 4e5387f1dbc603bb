//! The catalog Lambda: the router of `catalog::router`, served by lambda_http.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    steller::lambda::serve(catalog::VARIABLES, catalog::router).await
}
