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
