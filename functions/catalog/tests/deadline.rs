//! A stalled dependency under the Runtime API emulator: the catalog binary, its DynamoDB
//! answering nothing, answers 503 problem+json with `Retry-After` before the invocation's
//! deadline, instead of running into the Lambda timeout.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;
use steller::domain::{ApiKey, KeyRole, Mode};
use steller::testing::lambda::{LambdaProcess, http_event};
use steller::testing::stalled::Stalled;

#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_database_is_a_503_before_the_deadline() {
    let stalled = Stalled::start().await;
    let resources = HashMap::from([
        ("DomainTable", "steller-domain".to_owned()),
        ("RequestLogTable", "steller-request-log".to_owned()),
        ("RequestLogQueue", String::new()),
    ]);
    let lambda = LambdaProcess::deployed(env!("CARGO_BIN_EXE_catalog"), &stalled.endpoint, &resources).await;
    let timeout = Duration::from_secs(2);
    lambda.set_timeout(timeout);
    let key = ApiKey::generate(KeyRole::Partner(Mode::Sandbox));

    let event = http_event("GET", "/api/products", "$default", Some(key.expose()), None, false);
    let (id, answer) = lambda.invocation(event).await;
    let answer = answer.response();
    assert_eq!(answer["statusCode"], 503, "{answer}");
    assert_eq!(answer["headers"]["retry-after"], "1", "{answer}");
    assert_eq!(answer["headers"]["content-type"], "application/problem+json", "{answer}");
    let problem: Value = serde_json::from_str(answer["body"].as_str().expect("a body")).expect("JSON");
    assert_eq!(problem["code"], "unavailable", "{problem}");
    assert_eq!(problem["request_id"], answer["headers"]["x-request-id"], "{problem}");

    let (delivered, posted) = lambda.awaited_span(&id).expect("the event was handed out and answered");
    assert!(posted - delivered < timeout, "answered {:?} after the event, past its {timeout:?}", posted - delivered);
}
