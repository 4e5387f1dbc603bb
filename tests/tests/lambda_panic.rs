//! A panic in a handler becomes an error reported to the Lambda runtime, not a dead
//! process (the release profile keeps `panic = "unwind"` for this; see workspace.rs).

use steller::testing::TestDatabase;
use steller::testing::lambda::{LambdaProcess, Outcome, http_event};

#[tokio::test(flavor = "multi_thread")]
async fn a_panicking_handler_is_reported_as_an_error_and_the_process_keeps_serving() {
    let db = TestDatabase::embedded().await;
    let mut lambda =
        LambdaProcess::with_environment(env!("CARGO_BIN_EXE_panicking-lambda"), &db.endpoint, Vec::new()).await;

    let panicked = lambda.invoke(http_event("GET", "/api/panic", "$default", None, None, false)).await;
    let next = lambda.invoke(http_event("GET", "/api/ok", "$default", None, None, false)).await;

    assert!(matches!(panicked, Outcome::Error(_)), "the panic is reported to the runtime: {panicked:?}");
    assert_eq!(next.response()["statusCode"], 200, "the same process answers the next event");
    assert!(lambda.is_running());
}
