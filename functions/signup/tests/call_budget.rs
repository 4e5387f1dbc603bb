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

/// An internationalised domain's signup also checks, in the same transaction, that no
/// account claimed the address under its other spelling (`Email::earlier_claims`): still
/// one call, and one the policy allows (a `ConditionCheck` needs its own IAM action).
#[tokio::test(flavor = "multi_thread")]
async fn an_internationalised_domains_signup_awaits_one_call_its_policy_allows() {
    let function = CountedFunction::start(env!("CARGO_BIN_EXE_signup")).await;

    let email = unique_email("idn").replace("example.com", "b\u{fc}cher.example");
    let body = json!({"company_name": "B\u{fc}cher GmbH", "email": email});
    let signup = function.invoke(http_event("POST", "/api/public/signup", "$default", None, Some(&body), false)).await;

    signup.assert_within("a signup at an internationalised domain", 201, 1);
    assert!(function.proxy.operations().contains("ConditionCheckItem"), "{:?}", function.proxy.operations());
    function.assert_policy_allows_every_call("SignupFunction");
}
