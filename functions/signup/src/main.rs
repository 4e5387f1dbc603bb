//! The signup Lambda: the router of `signup::router`, served by lambda_http.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    steller::lambda::serve(signup::VARIABLES, signup::router).await
}
