//! The delivery Lambda: `webhook_delivery::serve_delivery`, fed by the delivery queue.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    webhook_delivery::serve_delivery().await
}
