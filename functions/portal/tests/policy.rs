//! The portal's AWS calls on the pages that change something, checked against its IAM
//! policy in template.yaml through a recording proxy (no engine here enforces IAM): a
//! cancel and a sandbox top-up read the wallet with the order or the form token's record
//! in one BatchGetItem; keys and endpoints are made, rotated, revoked and deleted.

mod support;

use axum::http::StatusCode;
use steller::domain::{
    EventType, Mode, Money, NewEndpoint, PlaceOrder, Product, ProductId, Quantity, SessionId, SessionOwner, Timestamp,
};
use steller::testing::policy::assert_policy_allows;
use steller::testing::throttling::ThrottlingProxy;
use steller::testing::{TestApp, sign_up, unique_email};
use support::Visitor;
use utoipa_axum::router::OpenApiRouter;

#[tokio::test]
async fn the_pages_that_change_something_make_only_calls_the_portals_policy_allows() {
    let app = TestApp::embedded(OpenApiRouter::new()).await;
    // Set up straight in the store: these calls are not the portal's.
    let signup = sign_up(&app.state.store, "Policy Ltd", &unique_email("policy"), Money::dollars(1000)).await;
    let partner = signup.partner.id;
    let product = Product {
        id: ProductId::generate(),
        name: "Widget".into(),
        description: "For the policy test".into(),
        unit_price: Money::parse("4.99").expect("a price"),
        active: true,
    };
    app.state.store.upsert_product(&product).await.expect("the product is stored");
    let quantity = Quantity::try_from(1).expect("a quantity");
    let command = PlaceOrder::new(partner, Mode::Sandbox, product, quantity, None).expect("an order");
    let order = app.state.store.place_order(&command, None).await.expect("the order is paid");
    let new = NewEndpoint {
        partner_id: partner,
        mode: Mode::Sandbox,
        url: "https://hooks.example/policy".into(),
        events: vec![EventType::OrderCreated],
        description: None,
    };
    let hook = app.state.store.create_endpoint(&new).await.expect("an endpoint");
    let session = SessionId::generate();
    app.state.store.open_session(&session, SessionOwner::Partner(partner), Timestamp::now()).await.expect("opened");

    // From here on, every call the portal makes goes through the proxy.
    let proxy = ThrottlingProxy::start(&app.db.endpoint, &[]).await;
    let mut state = app.state.clone();
    state.store = app.db.through(&proxy).await;
    let app = app.with_state(state);
    let mut browser = Visitor::new(&app);
    browser.set("steller_session", session.expose());
    let csrf = session.csrf_token();

    let cancelled = browser.post(&format!("/dashboard/sandbox/orders/{}/cancel", order.id), &[("csrf", &csrf)]).await;
    assert_eq!(cancelled.status, StatusCode::SEE_OTHER, "{}", cancelled.html);
    let token = browser.get("/dashboard/sandbox/top-ups").await.hidden("submission").expect("a token");
    let top_up = [("csrf", csrf.as_str()), ("submission", token.as_str()), ("amount", "25.00")];
    assert_eq!(browser.post("/dashboard/sandbox/top-ups", &top_up).await.status, StatusCode::SEE_OTHER);
    let token = browser.get("/dashboard/sandbox/keys").await.hidden("submission").expect("a token");
    let created = browser.post("/dashboard/sandbox/keys", &[("csrf", &csrf), ("submission", &token)]).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.html);
    let rotate = format!("/dashboard/sandbox/webhooks/{}/rotate", hook.id);
    assert_eq!(browser.post(&rotate, &[("csrf", &csrf)]).await.status, StatusCode::OK);
    let delete = format!("/dashboard/sandbox/webhooks/{}/delete", hook.id);
    assert_eq!(browser.post(&delete, &[("csrf", &csrf)]).await.status, StatusCode::SEE_OTHER);
    for page in ["/dashboard/sandbox", "/dashboard/sandbox/orders", "/dashboard/sandbox/usage"] {
        assert_eq!(browser.get(page).await.status, StatusCode::OK, "{page}");
    }

    assert!(proxy.calls("BatchGetItem") > 0, "the cancel and the top-up read the wallet with another item");
    assert_policy_allows("PortalFunction", &proxy.operations());
}
