//! API keys: the lookup item the auth layer reads (keyed by the key's SHA-256), the
//! partner's own list of keys, and revoking a listed key (a partner's or an ops key; see
//! `ops_keys`). The key itself is never stored.

use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem, Update};

use super::accounts::put_new;
use super::item::{Item, item, key, partner_pk, read};
use super::{Page, PageError, PageRequest, Store, StoreError, condition_failed_at};
use crate::domain::{ApiKey, KeyId, KeyRole, KeySummary, NewKey, PartnerId, Principal, now};

pub(super) const LOOKUP_SK: &str = "APIKEY";
/// The sort-key prefix of every list entry, in a partner's partition and in the ops list.
pub(super) const KEY_PREFIX: &str = "KEY#";

/// The lookup item's partition, from the key's SHA-256 in hex (as list entries keep it).
pub(super) fn lookup_pk(hash: &str) -> String {
    format!("APIKEY#{hash}")
}

pub(super) fn key_sk(id: &KeyId) -> String {
    format!("{KEY_PREFIX}{id}")
}

/// The two items a partner key lives in: its lookup by hash, and its entry in the
/// partner's list (which remembers the hash so revoking can delete the lookup).
pub(crate) fn key_items(table: &str, partner: &PartnerId, new: &NewKey) -> Result<Vec<TransactWriteItem>, StoreError> {
    let summary = &new.summary;
    let hash = new.key.hash();
    let lookup = item(lookup_pk(hash.as_str()), LOOKUP_SK)
        .s("role", summary.mode.as_str())
        .s("partner_id", partner.to_string())
        .s("key_id", summary.id.to_string())
        .s("created_at", &summary.created_at)
        .build();
    let listed = item(partner_pk(partner), key_sk(&summary.id))
        .s("key_id", summary.id.to_string())
        .s_opt("name", summary.name.clone())
        .s("mode", summary.mode.as_str())
        .s("prefix", &summary.prefix)
        .s("key_hash", hash.as_str())
        .s("created_at", &summary.created_at)
        .build();
    Ok(vec![put_new(table, lookup)?, put_new(table, listed)?])
}

fn summary_from(item: &Item) -> Result<KeySummary, StoreError> {
    let item = read(item);
    Ok(KeySummary {
        id: item.parsed("key_id")?,
        name: item.s_opt("name")?.map(str::to_owned),
        mode: item.parsed("mode")?,
        prefix: item.s("prefix")?.to_owned(),
        created_at: item.s("created_at")?.to_owned(),
        revoked_at: item.s_opt("revoked_at")?.map(str::to_owned),
    })
}

impl Store {
    /// Who `key` acts for, or `None` for an unknown or revoked key. Strongly consistent,
    /// so a revoked key is refused from the very next request.
    pub async fn principal(&self, api_key: &ApiKey) -> Result<Option<Principal>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(lookup_pk(api_key.hash().as_str()), LOOKUP_SK)))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let Some(item) = output.item else {
            return Ok(None);
        };
        let item = read(&item);
        let stored_role = KeyRole::parse(item.s("role")?);
        // The role is also in the key's text; both must agree or the key is not trusted.
        if stored_role != Some(api_key.role()) {
            return Ok(None);
        }
        let key_id = item.parsed("key_id")?;
        Ok(Some(match api_key.role() {
            KeyRole::Ops => Principal::Ops { key_id },
            KeyRole::Partner(mode) => Principal::Partner { partner_id: item.parsed("partner_id")?, mode, key_id },
        }))
    }

    /// Stores a new partner key (its hash and summary, never the key).
    pub async fn create_key(&self, partner: &PartnerId, new: &NewKey) -> Result<(), StoreError> {
        let items = key_items(&self.table, partner, new)?;
        self.transact(items, |reasons| StoreError::Dynamo(format!("key creation cancelled: {reasons:?}").into())).await
    }

    /// A page of the partner's keys, newest first, revoked ones included.
    pub async fn list_keys(&self, partner: &PartnerId, page: &PageRequest) -> Result<Page<KeySummary>, PageError> {
        let found = self.newest_first(&partner_pk(partner), KEY_PREFIX, page).await?;
        let items = found.items.iter().map(summary_from).collect::<Result<_, _>>()?;
        Ok(Page { items, next: found.next })
    }

    /// Revokes one of the partner's keys: the lookup item is deleted in the same
    /// transaction that stamps `revoked_at`, so the key stops working at once. Revoking
    /// a revoked key changes nothing and returns it as it is.
    pub async fn revoke_key(&self, partner: &PartnerId, key_id: &KeyId) -> Result<KeySummary, StoreError> {
        self.revoke_listed(key(partner_pk(partner), key_sk(key_id)), summary_from).await
    }

    /// Revokes the key whose list entry is `listed` (in a partner's partition or in the
    /// ops list) and returns it read by `summarise`: ONE transaction stamps `revoked_at` on
    /// the entry and deletes the lookup item the entry's `key_hash` names, so the key is
    /// refused from the very next request and the listing still shows it. No entry is
    /// `NotFound`; a revoked entry is returned unchanged.
    pub(super) async fn revoke_listed<T>(
        &self,
        listed: Item,
        summarise: fn(&Item) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        // A failed condition means the entry was revoked (or removed) in between; the next
        // round's read reports it as it now is, so this runs at most twice.
        loop {
            let mut current = self.get(listed.clone()).await?.ok_or(StoreError::NotFound)?;
            // Read first, so an entry the store cannot read is reported before any write.
            let summary = summarise(&current)?;
            if read(&current).s_opt("revoked_at")?.is_some() {
                return Ok(summary);
            }
            let hash = read(&current).s("key_hash")?.to_owned();
            let revoked_at = now();
            let stamp = Update::builder()
                .table_name(&self.table)
                .set_key(Some(listed.clone()))
                .update_expression("SET revoked_at = :at")
                .condition_expression("attribute_exists(pk) AND attribute_not_exists(revoked_at)")
                .expression_attribute_values(":at", AttributeValue::S(revoked_at.clone()))
                .build()
                .map_err(StoreError::dynamo)?;
            let forget = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key(lookup_pk(&hash), LOOKUP_SK)))
                .build()
                .map_err(StoreError::dynamo)?;
            let items = vec![
                TransactWriteItem::builder().update(stamp).build(),
                TransactWriteItem::builder().delete(forget).build(),
            ];
            let outcome = self
                .transact(items, |reasons| {
                    if condition_failed_at(reasons, 0) {
                        StoreError::NotFound
                    } else {
                        StoreError::Dynamo(format!("key revocation cancelled: {reasons:?}").into())
                    }
                })
                .await;
            match outcome {
                Ok(()) => {
                    current.insert("revoked_at".to_owned(), AttributeValue::S(revoked_at));
                    return summarise(&current);
                }
                // Revoked by a parallel request in between: read it again.
                Err(StoreError::NotFound) => continue,
                Err(other) => return Err(other),
            }
        }
    }
}
