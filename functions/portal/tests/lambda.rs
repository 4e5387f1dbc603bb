//! The portal binary as a real Lambda (`steller::testing::lambda::assert_function_answers`).

use steller::testing::lambda::{Caller, Probe, assert_function_answers};

#[tokio::test(flavor = "multi_thread")]
async fn the_portal_lambda_answers_api_gateway_http_events() {
    let probes = [
        Probe::get("/", Caller::Nobody, 200),
        Probe::get("/signin", Caller::Nobody, 200),
        // No session: to the sign-in page.
        Probe::get("/dashboard/sandbox", Caller::Nobody, 303),
        Probe::get("/dashboard/sandbox/webhooks", Caller::Nobody, 303),
        Probe::get("/assets/portal.css", Caller::Nobody, 200),
        Probe::get("/no/such/page", Caller::Nobody, 404),
    ];
    assert_function_answers(env!("CARGO_BIN_EXE_portal"), &probes).await;
}
