//! The baseline of `make bench`: the smallest `lambda_runtime` function, answering every
//! event with the same JSON. A function's cold start is read against this one's.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|_: LambdaEvent<Value>| async { Ok::<_, Error>(json!({"hello": "world"})) })).await
}
