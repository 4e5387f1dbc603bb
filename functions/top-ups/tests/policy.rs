//! The top-ups binary's AWS calls on every path, checked against its IAM policy in
//! template.yaml through a recording proxy (no engine here enforces IAM): a sandbox
//! top-up with an `Idempotency-Key` reads the wallet and the key's record together
//! (BatchGetItem), one without does not, and a live request emails ops and the partner.

use serde_json::{Value, json};
use steller::testing::call_budget::CountedFunction;
use steller::testing::lambda::{http_event, sandbox_key};

fn top_up(key: &str, amount: &str, idempotency_key: Option<&str>) -> Value {
    let body = json!({"amount": amount, "currency": "USD"});
    let mut event = http_event("POST", "/api/wallet/top-up-requests", "$default", Some(key), Some(&body), false);
    if let Some(idempotency_key) = idempotency_key {
        event["headers"]["idempotency-key"] = json!(idempotency_key);
    }
    event
}

#[tokio::test(flavor = "multi_thread")]
async fn every_top_up_path_makes_only_calls_its_policy_allows() {
    let function = CountedFunction::start(env!("CARGO_BIN_EXE_top-ups")).await;
    let key = sandbox_key(&function.db).await;

    let keyed = function.invoke(top_up(&key, "25.00", Some("policy-1"))).await;
    assert_eq!(keyed.response["statusCode"], 201, "{:?}", keyed.response);
    let replayed = function.invoke(top_up(&key, "25.00", Some("policy-1"))).await;
    assert_eq!(replayed.header("idempotent-replayed"), Some("true"), "{:?}", replayed.response);
    let plain = function.invoke(top_up(&key, "10.00", None)).await;
    assert_eq!(plain.response["statusCode"], 201, "{:?}", plain.response);
    let id = plain.body()["id"].as_str().expect("an id").to_owned();
    for path in ["/api/wallet/top-up-requests".to_owned(), format!("/api/wallet/top-up-requests/{id}")] {
        let read = function.invoke(http_event("GET", &path, "$default", Some(&key), None, false)).await;
        assert_eq!(read.response["statusCode"], 200, "{path}: {:?}", read.response);
    }

    assert!(function.proxy.calls("BatchGetItem") > 0, "the keyed top-up read the wallet and its record together");
    function.assert_policy_allows_every_call("TopUpsFunction");
}
