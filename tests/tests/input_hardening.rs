//! Input a fuzzer sent from outside (issue 14): amounts not in canonical form, empty query
//! parameters on list routes, and two `Idempotency-Key` headers are each a clear problem,
//! on both engines, and a refused request changes nothing.

use http::StatusCode;
use serde_json::json;
use steller::testing::{TestApp, TestResponse};
use support::{balance, ops_key};

mod support;

on_both_engines!(
    an_amount_not_in_canonical_form_is_refused_naming_the_field_and_records_nothing,
    canonical_amounts_are_accepted_and_answered_with_two_decimals,
    an_empty_query_parameter_on_a_list_route_is_refused_naming_it,
    a_limit_and_a_valid_cursor_still_page_through_a_list,
    two_idempotency_keys_in_one_request_are_refused_and_record_nothing,
    a_field_of_the_wrong_json_type_is_named_beside_every_other_invalid_field,
    a_body_that_gives_a_field_twice_is_malformed_naming_it,
    an_unknown_query_parameter_is_ignored_with_or_without_a_value,
    a_limit_not_written_as_a_plain_whole_number_is_refused,
    a_cursor_edited_within_the_callers_own_list_is_refused,
    a_missing_currency_or_mode_is_required_not_unknown,
);

/// `body`, sent as it is written (serde_json's `Value` cannot hold a repeated key).
async fn post_text(app: &TestApp, path: &str, key: Option<&str>, body: &str) -> TestResponse {
    let mut request =
        http::Request::builder().method(http::Method::POST).uri(path).header("content-type", "application/json");
    if let Some(key) = key {
        request = request.header("authorization", format!("Bearer {key}"));
    }
    app.send(request.body(axum::body::Body::from(body.to_owned())).expect("a request")).await
}

/// Each field's message, in the order the problem lists them.
fn messages(response: &TestResponse) -> Vec<(String, String)> {
    let errors = response.body["errors"].as_array().cloned().unwrap_or_default();
    errors.iter().map(|e| (e["field"].as_str().unwrap_or("").to_owned(), e["message"].to_string())).collect()
}

async fn request_top_up(app: &TestApp, key: &str, amount: &str) -> TestResponse {
    app.post("/api/wallet/top-up-requests", Some(key), json!({"amount": amount, "currency": "USD"})).await
}

async fn top_up_count(app: &TestApp, key: &str) -> Option<usize> {
    app.get("/api/wallet/top-up-requests?limit=100", key).await.body["items"].as_array().map(Vec::len)
}

async fn an_amount_not_in_canonical_form_is_refused_naming_the_field_and_records_nothing(app: TestApp) {
    let partner = app.new_partner().await;

    for amount in [
        "10.000",
        " 10",
        "10 ",
        "010.00",
        "00.5",
        "1e1",
        "10.",
        ".5",
        "+50",
        "-10",
        "",
        "1_000",
        "1,000.00",
        "\u{661}\u{660}", // Arabic-Indic digits for "10"
        "50.00\n",
    ] {
        let response = request_top_up(&app, &partner.key, amount).await;

        response.assert_problem(422, "validation_failed");
        assert_eq!(response.error_fields(), ["amount"], "amount {amount:?}: {}", response.body);
    }
    assert_eq!(top_up_count(&app, &partner.key).await, Some(0), "no request was recorded");
    assert_eq!(balance(&app, &partner.key).await, "1000.00", "the sandbox wallet was not credited");
}

async fn canonical_amounts_are_accepted_and_answered_with_two_decimals(app: TestApp) {
    let partner = app.new_partner().await;

    for (amount, answered) in [("10", "10.00"), ("10.5", "10.50"), ("10.50", "10.50"), ("100000", "100000.00")] {
        let response = request_top_up(&app, &partner.key, amount).await;

        assert_eq!(response.status, StatusCode::CREATED, "amount {amount:?}: {}", response.body);
        assert_eq!(response.body["amount"], answered);
    }
    assert_eq!(balance(&app, &partner.key).await, "101031.00");
}

async fn an_empty_query_parameter_on_a_list_route_is_refused_naming_it(app: TestApp) {
    let partner = app.new_partner().await;
    let ops = ops_key(&app).await;
    let cases = [
        ("/api/admin/top-up-requests?status=", &ops, vec!["status"]),
        ("/api/admin/top-up-requests?status", &ops, vec!["status"]),
        ("/api/orders?cursor=", &partner.key, vec!["cursor"]),
        ("/api/wallet/transactions?limit=", &partner.key, vec!["limit"]),
        ("/api/products?limit=&cursor=", &partner.key, vec!["limit", "cursor"]),
    ];

    for (path, key, fields) in cases {
        let response = app.get(path, key).await;

        response.assert_problem(422, "validation_failed");
        assert_eq!(response.error_fields(), fields, "{path}: {}", response.body);
    }
    assert_eq!(app.get("/api/admin/top-up-requests?status=pending", &ops).await.status, StatusCode::OK);
}

async fn a_limit_and_a_valid_cursor_still_page_through_a_list(app: TestApp) {
    let partner = app.new_partner().await;
    for amount in ["10.00", "20.00", "30.00"] {
        assert_eq!(request_top_up(&app, &partner.key, amount).await.status, StatusCode::CREATED);
    }

    let first = app.get("/api/wallet/top-up-requests?limit=1", &partner.key).await;
    let cursor = first.body["next_cursor"].as_str().expect("a next page");
    let rest = app.get(&format!("/api/wallet/top-up-requests?limit=10&cursor={cursor}"), &partner.key).await;

    assert_eq!(rest.status, StatusCode::OK, "{}", rest.body);
    let amounts: Vec<_> =
        rest.body["items"].as_array().expect("items").iter().map(|item| item["amount"].clone()).collect();
    assert_eq!(amounts, [json!("20.00"), json!("10.00")]);
    assert!(rest.body["next_cursor"].is_null());
}

async fn two_idempotency_keys_in_one_request_are_refused_and_record_nothing(app: TestApp) {
    let partner = app.new_partner().await;
    let send = |keys: &[&str]| {
        let mut request = http::Request::builder()
            .method(http::Method::POST)
            .uri("/api/wallet/top-up-requests")
            .header("authorization", format!("Bearer {}", partner.key))
            .header("content-type", "application/json");
        for key in keys {
            request = request.header("idempotency-key", *key);
        }
        let body = axum::body::Body::from(json!({"amount": "40.00", "currency": "USD"}).to_string());
        app.send(request.body(body).expect("a request"))
    };

    send(&["topup-1", "topup-2"]).await.assert_problem(400, "malformed_request");
    send(&["topup-1", "topup-1"]).await.assert_problem(400, "malformed_request");
    assert_eq!(top_up_count(&app, &partner.key).await, Some(0), "no request was recorded");
    assert_eq!(balance(&app, &partner.key).await, "1000.00");

    let once = send(&["topup-1"]).await;
    assert_eq!(once.status, StatusCode::CREATED, "one key is as before: {}", once.body);
    assert!(once.headers.get("idempotent-replayed").is_none(), "the refused requests did not use the key");
}

async fn a_field_of_the_wrong_json_type_is_named_beside_every_other_invalid_field(app: TestApp) {
    let partner = app.new_partner().await;

    let order = app
        .post("/api/orders", Some(&partner.key), json!({"product_id": 5, "quantity": 0, "client_reference": "a\nb"}))
        .await;
    let quantity_only = app.post("/api/orders", Some(&partner.key), json!({"quantity": "2"})).await;
    let signup = app
        .post(
            "/api/public/signup",
            None,
            json!({"company_name": "x".repeat(201), "email": "a@b.co", "contact_name": 7}),
        )
        .await;

    order.assert_problem(422, "validation_failed");
    assert_eq!(order.error_fields(), ["product_id", "quantity", "client_reference"], "{}", order.body);
    assert!(messages(&order)[0].1.contains("invalid type: integer `5`"), "{}", order.body);
    quantity_only.assert_problem(422, "validation_failed");
    assert_eq!(quantity_only.error_fields(), ["product_id", "quantity"], "{}", quantity_only.body);
    assert!(messages(&quantity_only)[1].1.contains("invalid type"), "not `is required`: {}", quantity_only.body);
    signup.assert_problem(422, "validation_failed");
    assert_eq!(signup.error_fields(), ["company_name", "contact_name"], "{}", signup.body);
    assert!(messages(&signup)[1].1.contains("invalid type: integer `7`"), "{}", signup.body);
    assert_eq!(balance(&app, &partner.key).await, "1000.00", "nothing was ordered");
}

async fn a_body_that_gives_a_field_twice_is_malformed_naming_it(app: TestApp) {
    let partner = app.new_partner().await;
    let product = support::product(&app, "1.00", true).await;

    let twice = format!(r#"{{"product_id":"{product}","quantity":1,"quantity":2}}"#);
    let response = post_text(&app, "/api/orders", Some(&partner.key), &twice).await;

    let problem = response.assert_problem(400, "malformed_request");
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("`quantity`") && !detail.contains("must be a JSON object"), "{detail}");
    assert_eq!(balance(&app, &partner.key).await, "1000.00", "nothing was ordered");
}

async fn an_unknown_query_parameter_is_ignored_with_or_without_a_value(app: TestApp) {
    let partner = app.new_partner().await;
    let ops = ops_key(&app).await;
    let paths = [
        ("/api/orders?utm_source=", &partner.key),
        ("/api/orders?foo", &partner.key),
        // `status` filters the admin queue; the partner's lists have no such parameter.
        ("/api/orders?status=", &partner.key),
        ("/api/wallet/top-up-requests?status=", &partner.key),
        ("/api/events?status", &partner.key),
        ("/api/products?limit=2&utm_source=&foo", &partner.key),
        ("/api/admin/top-up-requests?utm_source=", &ops),
    ];

    for (path, key) in paths {
        let response = app.get(path, key).await;

        assert_eq!(response.status, StatusCode::OK, "{path}: {}", response.body);
    }
}

async fn a_limit_not_written_as_a_plain_whole_number_is_refused(app: TestApp) {
    let partner = app.new_partner().await;

    for limit in ["%2B5", "05", "007", "%2020", "20%20", "0", "101", "1e1", "5.0", "%EF%BC%95"] {
        let response = app.get(&format!("/api/orders?limit={limit}"), &partner.key).await;

        response.assert_problem(422, "validation_failed");
        assert_eq!(response.error_fields(), ["limit"], "limit {limit:?}: {}", response.body);
    }
    for limit in ["1", "20", "100"] {
        let response = app.get(&format!("/api/orders?limit={limit}"), &partner.key).await;

        assert_eq!(response.status, StatusCode::OK, "limit {limit:?}: {}", response.body);
    }
}

async fn a_cursor_edited_within_the_callers_own_list_is_refused(app: TestApp) {
    let partner = app.new_partner().await;
    let product = support::product(&app, "1.00", true).await;
    for _ in 0..2 {
        assert_eq!(support::order(&app, &partner.key, &product, 1).await.status, StatusCode::CREATED);
    }
    let first = app.get("/api/orders?limit=1", &partner.key).await;
    let cursor = first.body["next_cursor"].as_str().expect("a next page").to_owned();
    let key: serde_json::Value = serde_json::from_slice(&base64url::decode(&cursor)).expect("JSON");
    let pk = key["pk"].as_str().expect("a pk").to_owned();
    let sk = key["sk"].as_str().expect("an sk").to_owned();
    let order_id = sk.rsplit('#').next().expect("an order id").to_owned();
    let encode = |key: serde_json::Value| base64url::encode(key.to_string().as_bytes());

    let edited = [
        json!({"pk": pk, "sk": "ORDER#sandbox#"}),
        json!({"pk": pk, "sk": "ORDER#sandbox#ord_7ZZZZ"}),
        json!({"pk": pk, "sk": "ORDER#sandbox#ord_7ZZZZZZZZZZZZZZZZZZZZZZZZZ#"}),
        json!({"pk": pk, "sk": format!("ORDER#sandbox#{}", order_id.to_lowercase())}),
        json!({"pk": pk, "sk": format!("ORDER#sandbox#{}", order_id.replace("ord_", "txn_"))}),
        json!({"pk": pk, "sk": sk, "extra": "x"}),
    ];
    for key in edited {
        let response = app.get(&format!("/api/orders?cursor={}", encode(key.clone())), &partner.key).await;

        response.assert_problem(400, "malformed_request");
        assert!(response.body.to_string().contains("cursor"), "{key}: {}", response.body);
    }
    let as_given = app.get(&format!("/api/orders?cursor={cursor}"), &partner.key).await;
    assert_eq!(as_given.status, StatusCode::OK, "{}", as_given.body);
}

async fn a_missing_currency_or_mode_is_required_not_unknown(app: TestApp) {
    let partner = app.new_partner().await;
    let top_up = |body| app.post("/api/wallet/top-up-requests", Some(&partner.key), body);
    let create_key = |body| app.post("/api/keys", Some(&partner.key), body);

    let missing = [
        top_up(json!({"amount": "10.00"})).await,
        top_up(json!({"amount": "10.00", "currency": null})).await,
        top_up(json!({"amount": "10.00", "currency": "  "})).await,
        create_key(json!({})).await,
        create_key(json!({"mode": null, "name": "ci"})).await,
        create_key(json!({"mode": ""})).await,
    ];
    let unknown =
        [top_up(json!({"amount": "10.00", "currency": "EUR"})).await, create_key(json!({"mode": "test"})).await];

    for response in missing {
        response.assert_problem(422, "validation_failed");
        assert_eq!(messages(&response).len(), 1, "{}", response.body);
        assert_eq!(messages(&response)[0].1, "\"is required\"", "{}", response.body);
    }
    for response in unknown {
        response.assert_problem(422, "validation_failed");
        assert!(messages(&response)[0].1.starts_with("\"must be"), "{}", response.body);
    }
    assert_eq!(top_up_count(&app, &partner.key).await, Some(0), "no request was recorded");
}

/// Unpadded base64url, as cursors are written (this crate does not depend on `base64`).
mod base64url {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    pub fn encode(bytes: &[u8]) -> String {
        let bits: String = bytes.iter().map(|b| format!("{b:08b}")).collect();
        bits.as_bytes()
            .chunks(6)
            .map(|six| {
                let six = format!("{:0<6}", String::from_utf8_lossy(six));
                char::from(ALPHABET[usize::from_str_radix(&six, 2).expect("binary")])
            })
            .collect()
    }

    pub fn decode(text: &str) -> Vec<u8> {
        let bits: String = text
            .bytes()
            .map(|c| format!("{:06b}", ALPHABET.iter().position(|a| *a == c).expect("a base64url character")))
            .collect();
        bits.as_bytes()
            .chunks_exact(8)
            .map(|eight| u8::from_str_radix(std::str::from_utf8(eight).expect("ASCII"), 2).expect("binary"))
            .collect()
    }
}
