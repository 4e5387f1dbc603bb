//! API keys: the lookup item the auth layer reads (keyed by the key's SHA-256), and
//! the partner's own list of keys. The key itself is never stored.

use aws_sdk_dynamodb::types::{Delete, TransactWriteItem, Update};

use super::accounts::put_new;
use super::item::{Item, item, key, partner_pk, read};
use super::{Page, PageError, PageRequest, Store, StoreError, condition_failed_at};
use crate::domain::{ApiKey, KeyHash, KeyId, KeyRole, KeySummary, NewKey, PartnerId, Principal, now};

const LOOKUP_SK: &str = "APIKEY";

fn lookup_pk(hash: &KeyHash) -> String {
    format!("APIKEY#{}", hash.as_str())
}

fn key_sk(id: &KeyId) -> String {
    format!("KEY#{id}")
}

/// The two items a partner key lives in: its lookup by hash, and its entry in the
/// partner's list (which remembers the hash so revoking can delete the lookup).
pub(crate) fn key_items(table: &str, partner: &PartnerId, new: &NewKey) -> Result<Vec<TransactWriteItem>, StoreError> {
    let summary = &new.summary;
    let hash = new.key.hash();
    let lookup = item(lookup_pk(&hash), LOOKUP_SK)
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
            .set_key(Some(key(lookup_pk(&api_key.hash()), LOOKUP_SK)))
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
        let found = self.newest_first(&partner_pk(partner), "KEY#", page).await?;
        let items = found.items.iter().map(summary_from).collect::<Result<_, _>>()?;
        Ok(Page { items, next: found.next })
    }

    /// Revokes one of the partner's keys: the lookup item is deleted in the same
    /// transaction that stamps `revoked_at`, so the key stops working at once. Revoking
    /// a revoked key changes nothing and returns it as it is.
    pub async fn revoke_key(&self, partner: &PartnerId, key_id: &KeyId) -> Result<KeySummary, StoreError> {
        let listed_key = key(partner_pk(partner), key_sk(key_id));
        let current = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(listed_key.clone()))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?
            .item
            .ok_or(StoreError::NotFound)?;
        let summary = summary_from(&current)?;
        if summary.revoked_at.is_some() {
            return Ok(summary);
        }
        let hash = read(&current).s("key_hash")?.to_owned();
        let revoked_at = now();
        let stamp = Update::builder()
            .table_name(&self.table)
            .set_key(Some(listed_key))
            .update_expression("SET revoked_at = :at")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(revoked_at)")
            .expression_attribute_values(":at", aws_sdk_dynamodb::types::AttributeValue::S(revoked_at.clone()))
            .build()
            .map_err(StoreError::dynamo)?;
        let forget = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(format!("APIKEY#{hash}"), LOOKUP_SK)))
            .build()
            .map_err(StoreError::dynamo)?;
        let items = vec![
            TransactWriteItem::builder().update(stamp).build(),
            TransactWriteItem::builder().delete(forget).build(),
        ];
        match self
            .transact(items, |reasons| {
                if condition_failed_at(reasons, 0) {
                    StoreError::NotFound
                } else {
                    StoreError::Dynamo(format!("key revocation cancelled: {reasons:?}").into())
                }
            })
            .await
        {
            Ok(()) => Ok(KeySummary { revoked_at: Some(revoked_at), ..summary }),
            // Revoked by a parallel request in between: report the key as it now is.
            Err(StoreError::NotFound) => Box::pin(self.revoke_key(partner, key_id)).await,
            Err(other) => Err(other),
        }
    }

    /// Registers `api_key` as an ops key named `name`. Idempotent, so a local server can
    /// register the same key at every start.
    pub async fn register_ops_key(&self, api_key: &ApiKey, name: &str) -> Result<KeyId, StoreError> {
        if api_key.role() != KeyRole::Ops {
            return Err(StoreError::Dynamo("only an stl_ops_ key can be registered as an ops key".into()));
        }
        if let Some(Principal::Ops { key_id }) = self.principal(api_key).await? {
            return Ok(key_id);
        }
        let key_id = KeyId::generate();
        let lookup = item(lookup_pk(&api_key.hash()), LOOKUP_SK)
            .s("role", KeyRole::Ops.as_str())
            .s("key_id", key_id.to_string())
            .s("name", name)
            .s("prefix", api_key.prefix())
            .s("created_at", now())
            .build();
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(lookup))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(key_id)
    }
}
