//! A Lambda whose `/api/panic` route panics, served by the same entry point as every
//! function: the tests prove a panic becomes an error reported to the runtime and the
//! process lives on to answer the next event.

use axum::Router;
use axum::routing::get;

async fn boom() -> &'static str {
    panic!("a handler bug")
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let router = Router::new().route("/api/panic", get(boom)).route("/api/ok", get(|| async { "ok" }));
    steller::lambda::run(async { router }).await
}
