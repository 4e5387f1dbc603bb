//! The admin Lambda: the router of `admin::router`, served by lambda_http.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    steller::lambda::serve(admin::VARIABLES, admin::router).await
}
