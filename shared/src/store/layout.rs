//! The key layout of both tables: every partition and sort key Steller writes or reads,
//! spelt out here and nowhere else, in the order docs/data-model.md lists them.
//!
//! An item's key is a function of the domain values that name it, so "another
//! partner's id" or "the other mode's order" is simply another key: a 404 by
//! construction, never a check a handler could forget.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::domain::{
    Audience, Email, EndpointId, EventId, IdempotencyKey, KeyId, Mode, OrderId, PartnerId, ProductId, Timestamp,
    TopUpId, TopUpStatus, TransactionId,
};

/// The key attributes of both tables (template.yaml).
pub(crate) const PK: &str = "pk";
pub(crate) const SK: &str = "sk";

/// One item's primary key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Key {
    pub(crate) pk: String,
    pub(crate) sk: String,
}

impl Key {
    fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Key { pk: pk.into(), sk: sk.into() }
    }

    /// Any key at all, for tests that write items the store never would.
    #[cfg(test)]
    pub(crate) fn raw(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Key::new(pk, sk)
    }

    /// The key as the attributes GetItem, Update and Delete take.
    pub(crate) fn item(&self) -> HashMap<String, AttributeValue> {
        HashMap::from([
            (PK.to_owned(), AttributeValue::S(self.pk.clone())),
            (SK.to_owned(), AttributeValue::S(self.sk.clone())),
        ])
    }
}

/// The items of one partition whose sort keys start with `prefix`: what a listing reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Prefix {
    pub(crate) pk: String,
    pub(crate) sk_prefix: String,
}

impl Prefix {
    fn new(pk: impl Into<String>, sk_prefix: impl Into<String>) -> Self {
        Prefix { pk: pk.into(), sk_prefix: sk_prefix.into() }
    }

    /// The key of the item `id` names under this prefix.
    fn with(&self, id: impl std::fmt::Display) -> Key {
        Key::new(&self.pk, format!("{}{id}", self.sk_prefix))
    }
}

// ─── The domain table ────────────────────────────────────────────────────────────────

fn partner_pk(partner: &PartnerId) -> String {
    format!("PARTNER#{partner}")
}

/// partner profile: `PARTNER#<ptn_id>` / `PROFILE`
pub(crate) fn partner_profile(partner: &PartnerId) -> Key {
    Key::new(partner_pk(partner), "PROFILE")
}

/// email uniqueness: `EMAIL#<email, canonical: lower case, domain in ASCII>` / `EMAIL`
pub(crate) fn email_claim(canonical_email: &str) -> Key {
    Key::new(format!("EMAIL#{canonical_email}"), "EMAIL")
}

/// wallet: `PARTNER#<ptn_id>` / `WALLET#<mode>`
pub(crate) fn wallet(partner: &PartnerId, mode: Mode) -> Key {
    Key::new(partner_pk(partner), format!("{WALLET}{mode}"))
}

/// ledger entries of one wallet: `PARTNER#<ptn_id>` / `LEDGER#<mode>#…`
pub(crate) fn ledger(partner: &PartnerId, mode: Mode) -> Prefix {
    Prefix::new(partner_pk(partner), format!("{LEDGER}{mode}#"))
}

/// ledger entry: `PARTNER#<ptn_id>` / `LEDGER#<mode>#<txn_id>`
pub(crate) fn ledger_entry(partner: &PartnerId, mode: Mode, id: &TransactionId) -> Key {
    ledger(partner, mode).with(id)
}

/// partner or ops key lookup: `APIKEY#<sha256 hex of the key>` / `APIKEY`
pub(crate) fn key_lookup(sha256_hex: &str) -> Key {
    Key::new(format!("APIKEY#{sha256_hex}"), KEY_LOOKUP_SK)
}

/// the sort key of every key lookup
pub(crate) const KEY_LOOKUP_SK: &str = "APIKEY";

/// the key hash a lookup's partition key holds (for `steller-ops ops-keys adopt`)
#[cfg(feature = "tooling")]
pub(crate) fn key_hash_of_lookup(pk: &str) -> Option<&str> {
    pk.strip_prefix("APIKEY#")
}

/// a partner's key list: `PARTNER#<ptn_id>` / `KEY#…`
pub(crate) fn partner_keys(partner: &PartnerId) -> Prefix {
    Prefix::new(partner_pk(partner), KEY)
}

/// partner's key list entry: `PARTNER#<ptn_id>` / `KEY#<key_id>`
pub(crate) fn partner_key(partner: &PartnerId, id: &KeyId) -> Key {
    partner_keys(partner).with(id)
}

/// the ops key list: `OPS` / `KEY#…`
pub(crate) fn ops_keys() -> Prefix {
    Prefix::new("OPS", KEY)
}

/// ops key list entry: `OPS` / `KEY#<key_id>`
pub(crate) fn ops_key(id: &KeyId) -> Key {
    ops_keys().with(id)
}

/// a wallet's orders: `PARTNER#<ptn_id>` / `ORDER#<mode>#…`
pub(crate) fn orders(partner: &PartnerId, mode: Mode) -> Prefix {
    Prefix::new(partner_pk(partner), format!("ORDER#{mode}#"))
}

/// order: `PARTNER#<ptn_id>` / `ORDER#<mode>#<ord_id>`
pub(crate) fn order(partner: &PartnerId, mode: Mode, id: &OrderId) -> Key {
    orders(partner, mode).with(id)
}

/// idempotency record: `IDEMPOTENCY#<ptn_id>#<mode>#<Idempotency-Key>` / `IDEMPOTENCY`
pub(crate) fn idempotency_record(partner: &PartnerId, mode: Mode, key: &IdempotencyKey) -> Key {
    Key::new(format!("IDEMPOTENCY#{partner}#{mode}#{}", key.as_str()), "IDEMPOTENCY")
}

/// a wallet's top-up requests: `PARTNER#<ptn_id>` / `TOPUP#<mode>#…`
pub(crate) fn top_ups(partner: &PartnerId, mode: Mode) -> Prefix {
    Prefix::new(partner_pk(partner), format!("TOPUP#{mode}#"))
}

/// top-up request: `PARTNER#<ptn_id>` / `TOPUP#<mode>#<tur_id>`
pub(crate) fn top_up(partner: &PartnerId, mode: Mode, id: &TopUpId) -> Key {
    top_ups(partner, mode).with(id)
}

/// top-up pointer: `TOPUP#<tur_id>` / `TOPUP`
pub(crate) fn top_up_pointer(id: &TopUpId) -> Key {
    Key::new(format!("TOPUP#{id}"), "TOPUP")
}

/// a partner's webhook endpoints in one mode: `PARTNER#<ptn_id>` / `WEBHOOK#<mode>#…`
pub(crate) fn webhook_endpoints(partner: &PartnerId, mode: Mode) -> Prefix {
    Prefix::new(partner_pk(partner), format!("WEBHOOK#{mode}#"))
}

/// webhook endpoint: `PARTNER#<ptn_id>` / `WEBHOOK#<mode>#<we_id>`
pub(crate) fn webhook_endpoint(partner: &PartnerId, mode: Mode, id: &EndpointId) -> Key {
    webhook_endpoints(partner, mode).with(id)
}

/// how many webhook endpoints a partner has in one mode: `PARTNER#<ptn_id>` /
/// `WEBHOOKS#<mode>`, outside the endpoints' own `WEBHOOK#<mode>#` prefix
pub(crate) fn webhook_endpoint_count(partner: &PartnerId, mode: Mode) -> Key {
    Key::new(partner_pk(partner), format!("WEBHOOKS#{mode}"))
}

/// a partner's webhook events in one mode: `PARTNER#<ptn_id>` / `EVENT#<mode>#…`
pub(crate) fn events(partner: &PartnerId, mode: Mode) -> Prefix {
    Prefix::new(partner_pk(partner), format!("{EVENT}{mode}#"))
}

/// webhook event, written in the transaction of the change it reports (the outbox):
/// `PARTNER#<ptn_id>` / `EVENT#<mode>#<evt_id>`
pub(crate) fn event(partner: &PartnerId, mode: Mode, id: &EventId) -> Key {
    events(partner, mode).with(id)
}

/// The partner, mode and id of the event whose key is `pk`/`sk` (as a DynamoDB stream
/// record names it), or `None` for any other item.
pub(crate) fn event_of(pk: &str, sk: &str) -> Option<(PartnerId, Mode, EventId)> {
    let partner = pk.strip_prefix("PARTNER#")?.parse().ok()?;
    let (mode, id) = sk.strip_prefix(EVENT)?.split_once('#')?;
    Some((partner, mode.parse().ok()?, id.parse().ok()?))
}

/// The prefix of every event's sort key: what the local outbox sweep looks for.
pub(crate) const EVENT: &str = "EVENT#";

/// The `by_status` index of live top-up requests (template.yaml): its name and its key
/// attributes.
pub(crate) const BY_STATUS: Index = Index { name: "by_status", pk: "gsi1pk", sk: "gsi1sk" };

/// A global secondary index and its key attribute names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Index {
    pub(crate) name: &'static str,
    pub(crate) pk: &'static str,
    pub(crate) sk: &'static str,
}

/// index `by_status` partition: `TOPUP#<status>`
pub(crate) fn top_ups_with_status(status: TopUpStatus) -> String {
    format!("TOPUP#{}", status.as_str())
}

/// index `by_status` sort key: `<created_at>#<tur_id>`, so the oldest request comes first.
pub(crate) fn top_up_queue_position(created_at: &Timestamp, id: &TopUpId) -> String {
    format!("{created_at}#{id}")
}

/// Whether `id`, what follows a listing's sort-key prefix, is written exactly as the id
/// of an item that listing holds (`KEY#…` holds `key_…`, `ORDER#<mode>#…` `ord_…`, and
/// so on): what a cursor's sort key must end with (`page::Cursor`).
pub(crate) fn is_listed_id(sk_prefix: &str, id: &str) -> bool {
    fn written<T: std::fmt::Display, E>(id: &str, parsed: Result<T, E>) -> bool {
        parsed.is_ok_and(|parsed| parsed.to_string() == id)
    }
    match sk_prefix.split('#').next().unwrap_or_default() {
        "KEY" => written(id, KeyId::parse(id)),
        "LEDGER" => written(id, TransactionId::parse(id)),
        "ORDER" => written(id, OrderId::parse(id)),
        "TOPUP" => written(id, TopUpId::parse(id)),
        "WEBHOOK" => written(id, EndpointId::parse(id)),
        "EVENT" => written(id, EventId::parse(id)),
        "PRODUCT" => written(id, ProductId::parse(id)),
        _ => false,
    }
}

/// the catalog: `CATALOG` / `PRODUCT#…`
pub(crate) fn catalog() -> Prefix {
    Prefix::new("CATALOG", "PRODUCT#")
}

/// product: `CATALOG` / `PRODUCT#<prd_id>`
pub(crate) fn product(id: &ProductId) -> Key {
    catalog().with(id)
}

/// sign-in code: `SIGNIN#<audience>#<canonical email>` / `CODE` (one live code per address
/// and door, however the address is spelt, so spellings of a domain share its limits)
pub(crate) fn sign_in_code(audience: Audience, email: &Email) -> Key {
    Key::new(format!("SIGNIN#{}#{}", audience.as_str(), email.canonical()), "CODE")
}

/// portal session: `SESSION#<sha256 hex of the session id>` / `SESSION`
pub(crate) fn session(id_hash: &str) -> Key {
    Key::new(format!("SESSION#{id_hash}"), "SESSION")
}

const WALLET: &str = "WALLET#";
const LEDGER: &str = "LEDGER#";
const KEY: &str = "KEY#";

/// What the ledger audit counts, read back from a key of the domain table.
#[cfg(feature = "tooling")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Counted<'a> {
    /// A wallet of the partner whose id follows `PARTNER#`.
    Wallet { partner: &'a str, mode: &'a str },
    /// A ledger entry of that wallet.
    LedgerEntry { partner: &'a str, mode: &'a str },
}

/// The wallet or ledger entry `pk`/`sk` name, or `None` for any other item.
#[cfg(feature = "tooling")]
pub(crate) fn counted<'a>(pk: &'a str, sk: &'a str) -> Option<Counted<'a>> {
    let partner = pk.strip_prefix("PARTNER#")?;
    if let Some(mode) = sk.strip_prefix(WALLET) {
        return Some(Counted::Wallet { partner, mode });
    }
    let rest = sk.strip_prefix(LEDGER)?;
    let mode = rest.split_once('#').map_or(rest, |(mode, _)| mode);
    Some(Counted::LedgerEntry { partner, mode })
}

// ─── The request-log table ───────────────────────────────────────────────────────────

/// a partner's requests in one mode: `USAGE#<ptn_id>#<mode>`
pub(crate) fn usage(partner: &PartnerId, mode: Mode) -> String {
    format!("USAGE#{partner}#{mode}")
}

/// a logged request: `USAGE#<ptn_id>#<mode>` when made with a partner key, otherwise
/// `ANONYMOUS#<yyyy-mm-dd>` (one partition per UTC day) / `<timestamp>#<request_id>`,
/// time first, so a date range is a `BETWEEN`.
pub(crate) fn logged_request(partner: Option<(&PartnerId, Mode)>, at: Timestamp, request_id: &str) -> Key {
    let pk = match partner {
        Some((partner, mode)) => usage(partner, mode),
        None => format!("ANONYMOUS#{}", at.date()),
    };
    Key::new(pk, format!("{at}#{request_id}"))
}

/// a partner's daily roll-ups in one mode: `ROLLUP#<ptn_id>#<mode>`
fn route_days(partner: &PartnerId, mode: Mode) -> String {
    format!("ROLLUP#{partner}#{mode}")
}

/// one route's requests of one UTC day, counted by the drain: `ROLLUP#<ptn_id>#<mode>` /
/// `<yyyy-mm-dd>#<method> <route>`. A method never holds a space (the row check allows
/// only printable ASCII without one), so no two (method, route) pairs share a key, even
/// when a route holds `#` or a space.
pub(crate) fn route_day(partner: &PartnerId, mode: Mode, date: &str, method: &str, route: &str) -> Key {
    Key::new(route_days(partner, mode), format!("{date}#{method} {route}"))
}

/// The partition and sort-key bounds of the roll-ups of days `from` to `to`
/// (`YYYY-MM-DD`), both whole: every sort key of day `to` starts `<to>#`, and `$` is the
/// character after `#`, so `<to>$` is above all of them and below the next day.
pub(crate) fn route_days_between(partner: &PartnerId, mode: Mode, from: &str, to: &str) -> (String, String, String) {
    (route_days(partner, mode), format!("{from}#"), format!("{to}$"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_spelt_as_the_data_model_lists_them() {
        let partner: PartnerId = "ptn_01JD2X8Q9V4K7M3N5P6R8S0T2W".parse().expect("an id");
        let order: OrderId = "ord_01JD2X8Q9V4K7M3N5P6R8S0T2W".parse().expect("an id");
        assert_eq!(wallet(&partner, Mode::Live), Key::new("PARTNER#ptn_01JD2X8Q9V4K7M3N5P6R8S0T2W", "WALLET#live"));
        assert_eq!(order_key_text(&partner, &order), "ORDER#sandbox#ord_01JD2X8Q9V4K7M3N5P6R8S0T2W");
        let count = webhook_endpoint_count(&partner, Mode::Sandbox);
        assert_eq!(count.sk, "WEBHOOKS#sandbox");
        assert!(!count.sk.starts_with(&webhook_endpoints(&partner, Mode::Sandbox).sk_prefix), "not listed as one");
        assert_eq!(ops_key(&KeyId::parse("key_01JD2X8Q9V4K7M3N5P6R8S0T2W").expect("an id")).pk, "OPS");
        assert_eq!(usage(&partner, Mode::Sandbox), "USAGE#ptn_01JD2X8Q9V4K7M3N5P6R8S0T2W#sandbox");
        assert_eq!(
            route_day(&partner, Mode::Live, "2026-11-23", "GET", "/api/orders/{id}"),
            Key::new("ROLLUP#ptn_01JD2X8Q9V4K7M3N5P6R8S0T2W#live", "2026-11-23#GET /api/orders/{id}")
        );
        let (pk, low, high) = route_days_between(&partner, Mode::Live, "2026-11-22", "2026-11-23");
        assert_eq!(pk, "ROLLUP#ptn_01JD2X8Q9V4K7M3N5P6R8S0T2W#live");
        let inside = route_day(&partner, Mode::Live, "2026-11-23", "~", "~").sk;
        let next_day = route_day(&partner, Mode::Live, "2026-11-24", "!", "!").sk;
        assert!(low.as_str() <= "2026-11-22#!" && inside < high && high < next_day, "{low} {inside} {high}");
    }

    #[test]
    fn an_event_is_found_again_from_its_key() {
        let partner = PartnerId::generate();
        let id = EventId::generate();
        let key = event(&partner, Mode::Live, &id);
        assert_eq!(key.sk, format!("EVENT#live#{id}"));
        assert_eq!(event_of(&key.pk, &key.sk), Some((partner, Mode::Live, id)));
        let order = order(&partner, Mode::Live, &OrderId::generate());
        assert_eq!(event_of(&order.pk, &order.sk), None);
        assert_eq!(webhook_endpoint(&partner, Mode::Sandbox, &EndpointId::generate()).pk, key.pk);
    }

    fn order_key_text(partner: &PartnerId, id: &OrderId) -> String {
        order(partner, Mode::Sandbox, id).sk
    }

    #[cfg(feature = "tooling")]
    #[test]
    fn the_audit_reads_wallets_and_ledger_entries_back_from_their_keys() {
        assert_eq!(counted("PARTNER#ptn_a", "WALLET#live"), Some(Counted::Wallet { partner: "ptn_a", mode: "live" }));
        assert_eq!(
            counted("PARTNER#ptn_a", "LEDGER#sandbox#txn_1"),
            Some(Counted::LedgerEntry { partner: "ptn_a", mode: "sandbox" })
        );
        assert_eq!(counted("PARTNER#ptn_a", "PROFILE"), None);
        assert_eq!(counted("CATALOG", "PRODUCT#prd_1"), None);
    }
}
