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
        ("get", "/api/admin/partners/{id}/rate-limits"),
        ("put", "/api/admin/partners/{id}/rate-limits/{mode}"),
        ("delete", "/api/admin/partners/{id}/rate-limits/{mode}"),
        ("get", "/api/requests"),
        ("get", "/api/requests/{request_id}"),
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
    // The merged routes, before the document's own rules and links are written in.
    let (_, merged) = steller_local::routes().split_for_parts();
    let merged = serde_json::to_value(merged).expect("serialises");
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

fn document() -> serde_json::Value {
    serde_json::from_str(&generated()).expect("valid JSON")
}

/// Every operation of the document, as (method, path, operation).
fn operations(document: &serde_json::Value) -> Vec<(String, String, serde_json::Value)> {
    let paths = document["paths"].as_object().expect("paths");
    paths
        .iter()
        .flat_map(|(path, item)| {
            item.as_object().into_iter().flatten().map(move |(method, op)| (method.clone(), path.clone(), op.clone()))
        })
        .collect()
}

fn is_nullable(schema: &serde_json::Value) -> bool {
    schema["type"].as_array().is_some_and(|types| types.iter().any(|t| t == "null"))
        || schema["oneOf"].as_array().is_some_and(|options| options.iter().any(|o| o["type"] == "null"))
}

#[test]
fn no_required_request_field_is_nullable() {
    // Bodies collect every field's error at once through `Option`s, but null is refused
    // like a missing field: the document must not offer it.
    let document = document();
    let mut bodies = 0;
    for (method, path, operation) in operations(&document) {
        let Some(target) = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].as_str() else {
            continue;
        };
        bodies += 1;
        let name = target.trim_start_matches("#/components/schemas/");
        let schema = &document["components"]["schemas"][name];
        for field in schema["required"].as_array().expect("required fields") {
            let field = field.as_str().expect("a name");
            let property = &schema["properties"][field];
            assert!(property.is_object(), "{method} {path}: {name}.{field} is not described");
            assert!(!is_nullable(property), "{method} {path}: required {name}.{field} is nullable");
        }
    }
    assert!(bodies >= 7, "only {bodies} request bodies found");
}

#[test]
fn every_list_bounds_limit_and_every_id_in_a_path_has_its_pattern() {
    let document = document();
    let mut lists = 0;
    for (method, path, operation) in operations(&document) {
        for parameter in operation["parameters"].as_array().into_iter().flatten() {
            let schema = &parameter["schema"];
            match (parameter["in"].as_str(), parameter["name"].as_str()) {
                (Some("query"), Some("limit")) => {
                    lists += 1;
                    assert_eq!(schema["minimum"], 1, "{method} {path}");
                    assert_eq!(schema["maximum"], 100, "{method} {path}");
                }
                (Some("path"), Some("id" | "request_id")) => {
                    let pattern = schema["pattern"].as_str().unwrap_or_default();
                    let ulid = ["_[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{26}$", "_[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$"];
                    assert!(ulid.iter().any(|end| pattern.ends_with(end)), "{method} {path}: {pattern:?}");
                }
                (Some("header"), Some("Idempotency-Key")) => {
                    assert_eq!(schema["maxLength"], 255, "{method} {path}");
                    assert!(schema["pattern"].is_string(), "{method} {path}");
                    assert!(!is_nullable(schema), "{method} {path}");
                }
                _ => {}
            }
        }
    }
    assert!(lists >= 9, "only {lists} lists take `limit`");
}

#[test]
fn a_created_order_and_top_up_request_link_to_what_can_be_done_with_them() {
    let document = document();
    let links = |path: &str| document["paths"][path]["post"]["responses"]["201"]["links"].clone();
    let order = links("/api/orders");
    for (name, operation) in [("GetOrder", "get_order"), ("CancelOrder", "cancel_order")] {
        assert_eq!(order[name]["operationId"], operation, "{name}");
        assert_eq!(order[name]["parameters"]["id"], "$response.body#/id", "{name}");
    }
    let top_up = links("/api/wallet/top-up-requests");
    for (name, operation) in
        [("GetTopUpRequest", "get_top_up"), ("ApproveTopUpRequest", "approve"), ("RejectTopUpRequest", "reject")]
    {
        assert_eq!(top_up[name]["operationId"], operation, "{name}");
        assert_eq!(top_up[name]["parameters"]["id"], "$response.body#/id", "{name}");
    }
    // Every link names an operation that exists.
    let ids: Vec<String> =
        operations(&document).iter().filter_map(|(_, _, op)| op["operationId"].as_str().map(str::to_owned)).collect();
    for (method, path, operation) in operations(&document) {
        for response in operation["responses"].as_object().into_iter().flatten().map(|(_, r)| r) {
            for (name, link) in response["links"].as_object().into_iter().flatten() {
                let target = link["operationId"].as_str().unwrap_or_default();
                assert!(ids.iter().any(|id| id == target), "{method} {path} link {name} names {target:?}");
            }
        }
    }
}

#[test]
fn every_keyed_operation_documents_the_rate_limit() {
    let document = document();
    for (method, path, operation) in operations(&document) {
        if operation["security"].as_array().is_none_or(|s| s.is_empty()) {
            continue;
        }
        let limited = &operation["responses"]["429"];
        assert!(limited["content"]["application/problem+json"].is_object(), "{method} {path}");
        for header in ["Retry-After", "RateLimit", "RateLimit-Policy"] {
            assert!(limited["headers"][header].is_object(), "{method} {path} 429 lacks {header}");
        }
        for (status, response) in operation["responses"].as_object().expect("responses") {
            if status != "401" {
                assert!(response["headers"]["RateLimit"].is_object(), "{method} {path} {status} lacks RateLimit");
            }
        }
    }
}

#[test]
fn the_rate_limit_headers_examples_name_the_policy_the_server_sends() {
    let document: serde_json::Value = serde_json::from_str(&generated()).expect("valid JSON");
    let policy = format!("`\"{}\";", steller::domain::RATE_LIMIT_POLICY);
    let mut seen = 0;
    for operation in document["paths"].as_object().expect("paths").values().flat_map(|path| path.as_object()) {
        for response in operation.values().filter_map(|op| op["responses"].as_object()).flat_map(|r| r.values()) {
            for name in ["RateLimit", "RateLimit-Policy"] {
                let Some(description) = response["headers"][name]["description"].as_str() else { continue };
                seen += 1;
                assert!(description.contains(&policy), "{name}: {description}");
            }
        }
    }
    assert!(seen > 0, "the keyed routes list the rate-limit headers");
}
