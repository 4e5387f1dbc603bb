//! The local server's composition root over real HTTP: every function's routes on one
//! port, over an embedded in-memory dynoxide, with an ops key from STELLER_OPS_KEY.

use serde_json::{Value, json};
use steller_local::{Engine, Options};
use tokio::sync::oneshot;

const OPS_KEY: &str = "stl_ops_local0123456789abcdefghijklmnopqrstuv";

#[tokio::test]
async fn the_local_server_serves_signup_wallet_keys_and_the_openapi_document() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let base = format!("http://{}", listener.local_addr().expect("an address"));
    let (stop, stopped) = oneshot::channel::<()>();
    let options = Options {
        engine: Engine::Embedded(None),
        table_prefix: "steller-local".into(),
        ops_key: Some(OPS_KEY.into()),
    };
    let (ready_tx, ready_rx) = oneshot::channel::<()>();
    let server = tokio::spawn(steller_local::serve(
        options,
        listener,
        move |_| {
            let _ = ready_tx.send(());
        },
        async move {
            let _ = stopped.await;
        },
    ));
    ready_rx.await.expect("the server gets ready");
    let http = reqwest::Client::new();

    let signup: Value = http
        .post(format!("{base}/api/public/signup"))
        .json(&json!({"company_name": "Acme", "email": "local@acme.example"}))
        .send()
        .await
        .expect("signup answers")
        .json()
        .await
        .expect("JSON");
    let key = signup["api_key"].as_str().expect("a key");

    let wallet = http
        .get(format!("{base}/api/wallet"))
        .bearer_auth(key)
        .send()
        .await
        .expect("wallet answers");
    assert!(wallet.headers().contains_key("x-request-id"));
    let wallet: Value = wallet.json().await.expect("JSON");
    assert_eq!(wallet["balance"], "1000.00");

    let keys: Value = http
        .get(format!("{base}/api/keys"))
        .header("x-api-key", key)
        .send()
        .await
        .expect("keys")
        .json()
        .await
        .expect("JSON");
    assert_eq!(keys["items"].as_array().map(Vec::len), Some(1));

    let ops = http
        .get(format!("{base}/api/wallet"))
        .bearer_auth(OPS_KEY)
        .send()
        .await
        .expect("answers");
    assert_eq!(
        ops.status(),
        403,
        "STELLER_OPS_KEY is registered as an ops key, which has no wallet"
    );

    let document: Value = http
        .get(format!("{base}/api/public/openapi.json"))
        .send()
        .await
        .expect("docs")
        .json()
        .await
        .expect("JSON");
    assert_eq!(document["openapi"], "3.1.0");

    stop.send(()).expect("the server is still running");
    server
        .await
        .expect("the server task ends")
        .expect("the server stops cleanly");
}

#[tokio::test]
async fn a_malformed_ops_key_is_refused_at_start_up() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let options = Options {
        engine: Engine::Embedded(None),
        table_prefix: "steller-local".into(),
        ops_key: Some("stl_ops_short".into()),
    };

    let result = steller_local::serve(options, listener, |_| {}, async {}).await;

    let error = result.expect_err("a short ops key is refused");
    assert!(error.to_string().contains("STELLER_OPS_KEY"), "{error}");
}
