//! The OpenAPI document served at /api/public/openapi.json is generated from the code.
//!
//! docs/openapi.json is committed (the signup Lambda compiles it in); this test fails
//! when it is stale. Regenerate it with `STELLER_UPDATE_OPENAPI=1 cargo test -p steller-tests --test openapi`.

use std::path::PathBuf;

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json")
}

fn generated() -> String {
    let document = steller_local::openapi().to_pretty_json().expect("the document serialises");
    format!("{document}\n")
}

#[test]
fn the_committed_openapi_document_is_the_one_the_code_generates() {
    let generated = generated();
    if std::env::var_os("STELLER_UPDATE_OPENAPI").is_some() {
        std::fs::write(committed_path(), &generated).expect("docs/openapi.json is writable");
    }
    let committed = std::fs::read_to_string(committed_path()).expect("docs/openapi.json exists");
    assert!(
        committed == generated,
        "docs/openapi.json is stale; regenerate it with \
         `STELLER_UPDATE_OPENAPI=1 cargo test -p steller-tests --test openapi` and commit it"
    );
}

#[test]
fn the_document_is_openapi_3_1_and_lists_every_route() {
    let document: serde_json::Value = serde_json::from_str(&generated()).expect("valid JSON");
    assert_eq!(document["openapi"], "3.1.0");
    let expected = [
        ("post", "/api/public/signup"),
        ("get", "/api/public/openapi.json"),
        ("get", "/api/public/docs"),
        ("get", "/api/public/docs/{file}"),
        ("get", "/api/wallet"),
        ("get", "/api/keys"),
        ("post", "/api/keys"),
        ("delete", "/api/keys/{id}"),
        ("get", "/api/wallet/transactions"),
        ("get", "/api/products"),
        ("get", "/api/products/{id}"),
        ("post", "/api/orders"),
        ("get", "/api/orders"),
        ("get", "/api/orders/{id}"),
        ("post", "/api/orders/{id}/cancel"),
        ("post", "/api/wallet/top-up-requests"),
        ("get", "/api/wallet/top-up-requests"),
        ("get", "/api/wallet/top-up-requests/{id}"),
        ("get", "/api/admin/top-up-requests"),
        ("post", "/api/admin/top-up-requests/{id}/approve"),
        ("post", "/api/admin/top-up-requests/{id}/reject"),
        ("get", "/api/usage"),
        ("get", "/api/webhook-endpoints"),
        ("post", "/api/webhook-endpoints"),
        ("get", "/api/webhook-endpoints/{id}"),
        ("delete", "/api/webhook-endpoints/{id}"),
        ("post", "/api/webhook-endpoints/{id}/rotate-secret"),
        ("get", "/api/events"),
        ("get", "/api/events/{id}"),
        ("post", "/api/events/{id}/redeliver"),
    ];
    let mut listed: Vec<(String, String)> = document["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, operations)| {
            operations.as_object().into_iter().flatten().map(move |(method, _)| (method.clone(), path.clone()))
        })
        .collect();
    listed.sort();
    let mut expected: Vec<(String, String)> = expected.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    expected.sort();
    assert_eq!(listed, expected);
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["api_key"]["name"], "X-Api-Key");
}

#[test]
fn no_two_functions_define_a_schema_of_the_same_name_differently() {
    // Merging documents keeps one schema per name, so a clash would silently describe one
    // function's body with another's.
    let merged = serde_json::to_value(steller_local::openapi()).expect("serialises");
    let functions = [
        ("signup", signup::routes()),
        ("wallet", wallet::routes()),
        ("catalog", catalog::routes()),
        ("orders", orders::routes()),
        ("top-ups", top_ups::routes()),
        ("admin", admin::routes()),
        ("usage", usage::routes()),
    ];
    for (function, routes) in functions {
        let (_, own) = routes.split_for_parts();
        let own = serde_json::to_value(own).expect("serialises");
        for (name, schema) in own["components"]["schemas"].as_object().into_iter().flatten() {
            assert_eq!(&merged["components"]["schemas"][name], schema, "{function}'s schema {name} is overridden");
        }
    }
}

fn refs(value: &serde_json::Value, found: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            if let Some(serde_json::Value::String(target)) = map.get("$ref") {
                found.push(target.clone());
            }
            map.values().for_each(|v| refs(v, found));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
        _ => {}
    }
}

#[test]
fn every_reference_resolves_and_every_error_is_problem_json() {
    let document: serde_json::Value = serde_json::from_str(&generated()).expect("valid JSON");
    let mut found = Vec::new();
    refs(&document, &mut found);
    for target in found {
        let name = target.strip_prefix("#/components/schemas/").expect("a schema reference");
        assert!(document["components"]["schemas"][name].is_object(), "{target} does not resolve");
    }
    for (path, operations) in document["paths"].as_object().expect("paths") {
        for (method, operation) in operations.as_object().expect("operations") {
            let responses = operation["responses"].as_object().expect("responses");
            if operation["security"].as_array().is_some_and(|s| !s.is_empty()) {
                assert!(responses.contains_key("401") && responses.contains_key("403"), "{method} {path}");
            }
            for (status, response) in responses.iter().filter(|(status, _)| status.as_str() >= "400") {
                assert!(
                    response["content"]["application/problem+json"].is_object(),
                    "{method} {path} {status} is not problem+json"
                );
            }
        }
    }
}
