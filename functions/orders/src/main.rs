//! The orders Lambda: the router of `orders::router`, served by lambda_http.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    steller::lambda::serve(orders::VARIABLES, orders::router).await
}
