//! What a partner waits for when reading the wallet: the API-key lookup and the wallet
//! read, counted through a proxy under the Runtime API emulator; the request-log record
//! leaves after the answer and is not awaited.

use steller::testing::call_budget::CountedFunction;
use steller::testing::lambda::{http_event, sandbox_key};

#[tokio::test(flavor = "multi_thread")]
async fn a_wallet_read_awaits_the_key_lookup_and_the_wallet_read_only() {
    let function = CountedFunction::start(env!("CARGO_BIN_EXE_wallet")).await;
    let key = sandbox_key(&function.db).await;

    for _ in 0..2 {
        let read = function.invoke(http_event("GET", "/api/wallet", "$default", Some(&key), None, false)).await;
        read.assert_within("a wallet read", 200, 2);
    }
    // The records do leave, through the same proxy, only later.
    let started = std::time::Instant::now();
    while function.proxy.calls("SendMessage") < 2 {
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "each request's record is sent");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Every route of the function, each call it makes checked against its policy in
/// template.yaml (no engine here enforces IAM).
#[tokio::test(flavor = "multi_thread")]
async fn every_route_makes_only_calls_its_policy_allows() {
    let function = CountedFunction::start(env!("CARGO_BIN_EXE_wallet")).await;
    let key = sandbox_key(&function.db).await;
    let call = async |method: &str, path: &str, body: Option<serde_json::Value>| {
        function.invoke(http_event(method, path, "$default", Some(&key), body.as_ref(), false)).await
    };

    let created = call("POST", "/api/keys", Some(serde_json::json!({"name": "policy", "mode": "sandbox"}))).await;
    assert_eq!(created.response["statusCode"], 201, "{:?}", created.response);
    let id = created.body()["id"].as_str().expect("a key id").to_owned();
    for (method, path) in [("GET", "/api/wallet"), ("GET", "/api/keys"), ("GET", "/api/wallet/transactions")] {
        assert_eq!(call(method, path, None).await.response["statusCode"], 200, "{method} {path}");
    }
    let revoked = call("DELETE", &format!("/api/keys/{id}"), None).await;
    assert_eq!(revoked.response["statusCode"], 200, "{:?}", revoked.response);

    function.assert_policy_allows_every_call("WalletFunction");
}
