//! The signup binary as a real Lambda, under the Runtime API emulator.

use base64::Engine;
use serde_json::json;
use steller::testing::TestDatabase;
use steller::testing::lambda::{LambdaProcess, assert_answers_http_events, http_event};

#[tokio::test(flavor = "multi_thread")]
async fn the_signup_lambda_answers_api_gateway_http_events() {
    let db = TestDatabase::embedded().await;
    let lambda = LambdaProcess::start(env!("CARGO_BIN_EXE_signup"), &db).await;

    let document = assert_answers_http_events(&lambda, "GET", "/api/public/openapi.json", None, None).await;
    let docs_page = assert_answers_http_events(&lambda, "GET", "/api/public/docs", None, None).await;
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

    assert_eq!(document, [200, 200, 200]);
    assert_eq!(docs_page, [200, 200, 200]);
    assert_eq!(bad_signup, [422, 422, 422], "the base64 body is decoded and validated");
    assert_eq!(created["statusCode"], 201, "{created}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_signup_lambda_sends_a_gzipped_docs_file_base64_encoded_for_api_gateway() {
    let db = TestDatabase::embedded().await;
    let lambda = LambdaProcess::start(env!("CARGO_BIN_EXE_signup"), &db).await;
    let mut event = http_event("GET", "/api/public/docs/swagger-ui-bundle.js", "staging", None, None, false);
    event["headers"]["accept-encoding"] = json!("gzip, deflate, br");

    let answer = lambda.invoke(event).await.response();

    assert_eq!(answer["statusCode"], 200, "{answer}");
    assert_eq!(answer["headers"]["content-encoding"], "gzip", "{}", answer["headers"]);
    assert_eq!(answer["isBase64Encoded"], true, "API Gateway passes binary bodies base64-encoded");
    let body = base64::engine::general_purpose::STANDARD
        .decode(answer["body"].as_str().expect("a body"))
        .expect("valid base64");
    assert!(body.starts_with(&[0x1f, 0x8b]), "a gzip stream, not text mangled on the way");
}
