//! The signup binary as a real Lambda, under the Runtime API emulator.

use serde_json::json;
use steller::testing::TestDatabase;
use steller::testing::lambda::{LambdaProcess, assert_answers_http_events};

#[tokio::test(flavor = "multi_thread")]
async fn the_signup_lambda_answers_api_gateway_http_events() {
    let db = TestDatabase::embedded().await;
    let lambda = LambdaProcess::start(env!("CARGO_BIN_EXE_signup"), &db).await;

    let docs = assert_answers_http_events(&lambda, "GET", "/api/public/openapi.json", None, None).await;
    let bad_signup =
        assert_answers_http_events(&lambda, "POST", "/api/public/signup", None, Some(json!({"company_name": ""})))
            .await;
    let signup = steller::testing::lambda::http_event(
        "POST",
        "/api/public/signup",
        "$default",
        None,
        Some(&json!({"company_name": "Acme", "email": "lambda@acme.example"})),
        true,
    );
    let created = lambda.invoke(signup).await.response();

    assert_eq!(docs, [200, 200, 200]);
    assert_eq!(bad_signup, [422, 422, 422], "the base64 body is decoded and validated");
    assert_eq!(created["statusCode"], 201, "{created}");
}
