//! The dispatch Lambda: `webhook_delivery::serve_dispatch`, fed by the domain table's
//! DynamoDB stream (new event items only).

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    webhook_delivery::serve_dispatch().await
}
