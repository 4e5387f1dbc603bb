//! What a developer waits for when signing up: the one transaction that creates the
//! partner, its key and wallets. The welcome email and the request-log record leave
//! after the answer and are not awaited.

use serde_json::json;
use steller::testing::call_budget::CountedFunction;
use steller::testing::lambda::http_event;
use steller::testing::unique_email;

#[tokio::test(flavor = "multi_thread")]
async fn a_signup_awaits_its_transaction_only() {
    let function = CountedFunction::start(env!("CARGO_BIN_EXE_signup")).await;

    let body = json!({"company_name": "Budget Ltd", "email": unique_email("budget")});
    let signup = function.invoke(http_event("POST", "/api/public/signup", "$default", None, Some(&body), false)).await;

    signup.assert_within("a signup", 201, 1);
    // The welcome email and the record do leave, through the same proxy, only later.
    let started = std::time::Instant::now();
    while function.proxy.calls("SendEmail") == 0 || function.proxy.calls("SendMessage") == 0 {
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "the email and the record are sent");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    function.assert_policy_allows_every_call("SignupFunction");
}
