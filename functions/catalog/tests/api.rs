//! The catalog function through its router, over an in-process dynoxide seeded with
//! infra/seed/products.json.

use axum::http::{Method, StatusCode};
use serde_json::Value;
use steller::domain::{ApiKey, KeyRole, Mode, NewKey, PartnerId, Product};
use steller::testing::{TestApp, TestPartner};

/// The catalog's routes over a fresh database holding the seed products, and a partner.
async fn seeded() -> (TestApp, TestPartner) {
    let app = TestApp::embedded(catalog::routes()).await;
    steller::seed::seed_products(&app.state.store).await.expect("the seed products are stored");
    let partner = app.new_partner().await;
    (app, partner)
}

fn seed() -> Vec<Product> {
    steller::seed::products().expect("the seed parses")
}

fn ids(body: &Value) -> Vec<String> {
    body["items"].as_array().expect("items").iter().map(|p| p["id"].as_str().unwrap_or_default().to_owned()).collect()
}

#[tokio::test]
async fn every_seeded_product_is_listed_newest_first_with_its_price_as_a_string() {
    let (app, partner) = seeded().await;

    let listing = app.get("/api/products", &partner.key).await;

    assert_eq!(listing.status, StatusCode::OK, "{}", listing.body);
    let expected: Vec<String> = seed().iter().rev().map(|p| p.id.to_string()).collect();
    assert_eq!(ids(&listing.body), expected, "newest first: the seed file reversed");
    assert_eq!(listing.body["next_cursor"], Value::Null);
    for (item, product) in listing.body["items"].as_array().expect("items").iter().zip(seed().iter().rev()) {
        assert_eq!(item["name"], product.name.as_str());
        assert_eq!(item["description"], product.description.as_str());
        assert_eq!(item["unit_price"], product.unit_price.to_string(), "a 2-decimal string");
        assert_eq!(item["currency"], "USD");
        assert_eq!(item["active"], product.active);
        let mut fields: Vec<_> = item.as_object().expect("an object").keys().map(String::as_str).collect();
        fields.sort_unstable();
        assert_eq!(fields, ["active", "currency", "description", "id", "name", "unit_price"]);
    }
}

#[tokio::test]
async fn three_at_a_time_the_pages_walk_the_whole_catalog_each_product_once() {
    let (app, partner) = seeded().await;

    let mut seen = Vec::new();
    let mut path = "/api/products?limit=3".to_owned();
    let mut pages = 0;
    loop {
        let page = app.get(&path, &partner.key).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(page.body["items"].as_array().is_some_and(|items| items.len() <= 3));
        pages += 1;
        seen.extend(ids(&page.body));
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/products?limit=3&cursor={cursor}"),
            None => break,
        }
    }

    let expected: Vec<String> = seed().iter().rev().map(|p| p.id.to_string()).collect();
    assert_eq!(seen, expected, "newest first, each once");
    assert_eq!(pages, expected.len().div_ceil(3));
}

#[tokio::test]
async fn a_product_is_read_by_its_id() {
    let (app, partner) = seeded().await;
    let bundle = seed().into_iter().find(|p| p.unit_price.to_string() == "58.00").expect("the 58.00 product");

    let response = app.get(&format!("/api/products/{}", bundle.id), &partner.key).await;

    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    assert_eq!(response.body["id"], bundle.id.to_string());
    assert_eq!(response.body["name"], bundle.name.as_str());
    assert_eq!(response.body["unit_price"], "58.00");
    assert_eq!(response.body["currency"], "USD");
    assert_eq!(response.body["active"], true);
}

#[tokio::test]
async fn unknown_and_malformed_product_ids_are_not_found() {
    let (app, partner) = seeded().await;
    let unknown = steller::domain::ProductId::generate();
    let a_partner_id = PartnerId::generate();

    for path in [
        format!("/api/products/{unknown}"),
        format!("/api/products/{a_partner_id}"),
        "/api/products/not-a-product".to_owned(),
        "/api/products/prd_".to_owned(),
    ] {
        app.get(&path, &partner.key).await.assert_problem(404, "not_found");
    }
}

#[tokio::test]
async fn an_inactive_product_is_listed_and_read_with_active_false() {
    let (app, partner) = seeded().await;
    let retired = seed().into_iter().find(|p| !p.active).expect("an inactive seed product");

    let listing = app.get("/api/products?limit=100", &partner.key).await;
    let read = app.get(&format!("/api/products/{}", retired.id), &partner.key).await;

    let listed = listing.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|p| p["id"] == retired.id.to_string())
        .expect("the inactive product is listed");
    assert_eq!(listed["active"], false);
    assert_eq!((read.status, &read.body["active"]), (StatusCode::OK, &Value::Bool(false)));
}

#[tokio::test]
async fn a_live_key_sees_the_same_catalog_as_a_sandbox_key() {
    let (app, partner) = seeded().await;
    let partner_id = PartnerId::parse(&partner.id).expect("a partner id");
    let live = NewKey::generate(Mode::Live, None);
    app.state.store.create_key(&partner_id, &live).await.expect("the live key is stored");

    let with_live = app.get("/api/products", live.key.expose()).await;
    let with_sandbox = app.get("/api/products", &partner.key).await;

    assert_eq!(with_live.status, StatusCode::OK, "{}", with_live.body);
    assert_eq!(with_live.body, with_sandbox.body);
}

#[tokio::test]
async fn an_ops_key_is_forbidden_and_no_key_is_unauthorized() {
    let (app, _) = seeded().await;
    let ops = ApiKey::generate(KeyRole::Ops);
    app.state.store.register_ops_key(&ops, "test ops").await.expect("registered");
    let product = &seed()[0];

    app.get("/api/products", ops.expose()).await.assert_problem(403, "forbidden");
    app.get(&format!("/api/products/{}", product.id), ops.expose()).await.assert_problem(403, "forbidden");
    app.call(Method::GET, "/api/products", None, None).await.assert_problem(401, "unauthorized");
    app.call(Method::GET, &format!("/api/products/{}", product.id), None, None)
        .await
        .assert_problem(401, "unauthorized");
}

#[tokio::test]
async fn seeding_twice_keeps_one_item_per_product() {
    let (app, partner) = seeded().await;

    let again = steller::seed::seed_products(&app.state.store).await.expect("seeding again succeeds");

    assert_eq!(again, seed().len());
    let listing = app.get("/api/products?limit=100", &partner.key).await;
    assert_eq!(ids(&listing.body).len(), seed().len());
}

#[tokio::test]
async fn bad_limits_and_tampered_cursors_are_refused() {
    let (app, partner) = seeded().await;
    let first = app.get("/api/products?limit=1", &partner.key).await;
    let cursor = first.body["next_cursor"].as_str().expect("a second page exists").to_owned();

    let response = app.get("/api/products?limit=0", &partner.key).await;
    response.assert_problem(422, "validation_failed");
    assert_eq!(response.error_fields(), ["limit"]);
    let tampered = format!("{}x", &cursor[..cursor.len() - 2]);
    app.get(&format!("/api/products?cursor={tampered}"), &partner.key).await.assert_problem(400, "malformed_request");
}
