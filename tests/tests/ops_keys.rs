//! Ops keys in the store, on both engines: registered idempotently with a list entry,
//! listed without a scan, revoked by id so the admin routes refuse them at once; and the
//! ops list and partners' key lists never reach each other's keys.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use http::StatusCode;
use steller::domain::{ApiKey, KeyId, KeyRole, PartnerId};
use steller::store::{PageRequest, StoreError};
use steller::testing::TestApp;

mod support;

on_both_engines!(
    registering_an_ops_key_twice_keeps_one_key_and_one_list_entry,
    a_revoked_ops_key_is_refused_at_once_and_listed_as_revoked,
    a_revoked_ops_key_cannot_be_registered_again,
    ops_key_ids_and_partner_key_ids_never_reach_each_others_keys,
    an_ops_key_registered_before_the_ops_list_gets_its_entry_when_registered_again,
    the_ops_key_listing_reads_every_page,
);

const ADMIN_ROUTE: &str = "/api/admin/top-up-requests";

async fn register(app: &TestApp, name: &str) -> (ApiKey, KeyId) {
    let key = ApiKey::generate(KeyRole::Ops);
    let id = app.state.store.register_ops_key(&key, name).await.expect("the ops key is registered");
    (key, id)
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn text(item: &HashMap<String, AttributeValue>, name: &str) -> String {
    item.get(name).and_then(|value| value.as_s().ok()).cloned().unwrap_or_default()
}

async fn put(app: &TestApp, item: HashMap<String, AttributeValue>) {
    let store = &app.state.store;
    store.client().put_item().table_name(store.table()).set_item(Some(item)).send().await.expect("written");
}

async fn registering_an_ops_key_twice_keeps_one_key_and_one_list_entry(app: TestApp) {
    let (key, first) = register(&app, "alice@ops").await;

    let second = app.state.store.register_ops_key(&key, "alice@ops").await.expect("registered again");

    assert_eq!(second, first, "the key keeps its id");
    let listed = app.state.store.list_ops_keys().await.expect("listed");
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!((listed[0].id, listed[0].name.as_str()), (first, "alice@ops"));
    assert_eq!(listed[0].prefix, key.prefix());
    assert_eq!(listed[0].revoked_at, None);
    let items = app.db.scan().await;
    assert_eq!(items.iter().filter(|item| text(item, "pk") == "OPS").count(), 1, "one list entry");
    let stored: String = items.iter().flat_map(|item| item.values().filter_map(|v| v.as_s().ok().cloned())).collect();
    assert!(!stored.contains(key.expose()), "the key is never stored");
    assert!(stored.contains(key.hash().as_str()), "its SHA-256 is");
}

async fn a_revoked_ops_key_is_refused_at_once_and_listed_as_revoked(app: TestApp) {
    let (leaked, leaked_id) = register(&app, "leaked").await;
    let (kept, kept_id) = register(&app, "kept").await;
    assert_eq!(app.get(ADMIN_ROUTE, leaked.expose()).await.status, StatusCode::OK);

    let revoked = app.state.store.revoke_ops_key(&leaked_id).await.expect("revoked");

    assert_eq!((revoked.id, revoked.name.as_str()), (leaked_id, "leaked"));
    assert!(revoked.revoked_at.is_some());
    assert_eq!(app.state.store.principal(&leaked).await.expect("looked up"), None);
    app.get(ADMIN_ROUTE, leaked.expose()).await.assert_problem(401, "unauthorized");
    assert_eq!(app.get(ADMIN_ROUTE, kept.expose()).await.status, StatusCode::OK, "the other ops key still works");
    let listed = app.state.store.list_ops_keys().await.expect("listed");
    let revoked_at = |id: KeyId| listed.iter().find(|key| key.id == id).map(|key| key.revoked_at);
    assert_eq!(listed.len(), 2, "the revoked key is still listed: {listed:?}");
    assert_eq!(revoked_at(leaked_id), Some(revoked.revoked_at));
    assert_eq!(revoked_at(kept_id), Some(None));

    let again = app.state.store.revoke_ops_key(&leaked_id).await.expect("revoking again succeeds");

    assert_eq!(again, revoked, "revoking again changes nothing");
}

async fn a_revoked_ops_key_cannot_be_registered_again(app: TestApp) {
    let (key, id) = register(&app, "local").await;
    app.state.store.revoke_ops_key(&id).await.expect("revoked");

    let again = app.state.store.register_ops_key(&key, "local").await;

    assert!(
        matches!(&again, Err(StoreError::InvalidState(why)) if why.contains(&id.to_string())),
        "a revoked key stays revoked: {again:?}"
    );
    assert_eq!(app.state.store.principal(&key).await.expect("looked up"), None);
    assert_eq!(app.state.store.list_ops_keys().await.expect("listed").len(), 1, "no second entry");
}

async fn ops_key_ids_and_partner_key_ids_never_reach_each_others_keys(app: TestApp) {
    let (ops, ops_id) = register(&app, "ops").await;
    let partner = app.new_partner().await;
    let partner_id = PartnerId::parse(&partner.id).expect("a partner id");
    let keys = app.state.store.list_keys(&partner_id, None, &PageRequest::default()).await.expect("listed");
    let partner_key_id = keys.items[0].id;

    let unknown = app.state.store.revoke_ops_key(&KeyId::generate()).await;
    let partners_as_ops = app.state.store.revoke_ops_key(&partner_key_id).await;
    let ops_as_partners = app.state.store.revoke_key(&partner_id, None, &ops_id).await;

    assert!(matches!(unknown, Err(StoreError::NotFound)), "{unknown:?}");
    assert!(matches!(partners_as_ops, Err(StoreError::NotFound)), "{partners_as_ops:?}");
    assert!(matches!(ops_as_partners, Err(StoreError::NotFound)), "{ops_as_partners:?}");
    assert_eq!(app.get("/api/wallet", &partner.key).await.status, StatusCode::OK, "the partner's key still works");
    assert_eq!(app.get(ADMIN_ROUTE, ops.expose()).await.status, StatusCode::OK, "the ops key still works");
    assert_eq!(app.state.store.list_ops_keys().await.expect("listed").len(), 1, "partner keys are not ops keys");
}

async fn an_ops_key_registered_before_the_ops_list_gets_its_entry_when_registered_again(app: TestApp) {
    // An ops key as the store wrote it before ops keys had a list entry: its lookup alone.
    let key = ApiKey::generate(KeyRole::Ops);
    let old_id = KeyId::generate();
    let lookup: HashMap<_, _> = [
        ("pk", s(&format!("APIKEY#{}", key.hash().as_str()))),
        ("sk", s("APIKEY")),
        ("role", s("ops")),
        ("key_id", s(&old_id.to_string())),
        ("name", s("from before")),
        ("prefix", s(&key.prefix())),
        ("created_at", s("2026-01-02T03:04:05.678Z")),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect();
    put(&app, lookup).await;
    assert!(app.state.store.list_ops_keys().await.expect("listed").is_empty());

    let id = app.state.store.register_ops_key(&key, "local (STELLER_OPS_KEY)").await.expect("registered");

    assert_eq!(id, old_id, "the key keeps its id");
    let listed = app.state.store.list_ops_keys().await.expect("listed");
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].name.as_str(), listed[0].created_at.to_string()),
        ("from before", "2026-01-02T03:04:05.678Z".to_owned()),
        "the entry keeps what the lookup knew"
    );
    app.state.store.revoke_ops_key(&old_id).await.expect("it can now be revoked");
    app.get(ADMIN_ROUTE, key.expose()).await.assert_problem(401, "unauthorized");
}

async fn the_ops_key_listing_reads_every_page(app: TestApp) {
    // More entries than the largest page; written directly, as only the listing is tested.
    let ids: Vec<KeyId> = (0..105).map(|_| KeyId::generate()).collect();
    let writes = ids.iter().map(|id| {
        let entry: HashMap<_, _> = [
            ("pk", s("OPS")),
            ("sk", s(&format!("KEY#{id}"))),
            ("key_id", s(&id.to_string())),
            ("name", s("bulk")),
            ("prefix", s("stl_ops_AAAA")),
            ("key_hash", s(&"0".repeat(64))),
            ("created_at", s("2026-01-02T03:04:05.678Z")),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
        put(&app, entry)
    });
    futures::future::join_all(writes).await;

    let listed = app.state.store.list_ops_keys().await.expect("listed");

    let mut newest_first = ids.clone();
    newest_first.sort_by(|a, b| b.cmp(a));
    assert_eq!(listed.iter().map(|key| key.id).collect::<Vec<_>>(), newest_first);
}
