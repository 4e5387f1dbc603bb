//! The top-ups Lambda: the router of `top_ups::router`, served by lambda_http.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    steller::lambda::serve(top_ups::VARIABLES, top_ups::router).await
}
