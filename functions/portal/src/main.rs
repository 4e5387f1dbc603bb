//! The portal Lambda: the pages of `portal::router`, served by lambda_http.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    steller::lambda::serve(portal::VARIABLES, portal::router).await
}
