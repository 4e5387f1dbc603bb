//! Ops keys: the lookup item the auth layer reads, plus an entry in the ops list
//! (`OPS` / `KEY#<key_id>`), so ops keys are listed with a `Query` and revoked by id the
//! way partners' keys are. The key itself is never stored.

use aws_sdk_dynamodb::operation::put_item::PutItemError;

use super::item::{Item, item, read};
use super::{Limit, PageError, PageRequest, Store, StoreError, layout};
use crate::domain::{ApiKey, KeyId, KeyRole, OpsKeySummary, Timestamp};

/// The name an adopted ops key gets when its lookup kept none.
#[cfg(feature = "tooling")]
const UNLISTED_NAME: &str = "registered before the ops list";

/// The prefix an adopted ops key is shown with: only its hash was kept.
#[cfg(feature = "tooling")]
const UNKNOWN_PREFIX: &str = "stl_ops_…";

/// An ops key's list entry. Like a partner's, it keeps `key_hash` so that revoking can
/// delete the lookup item.
fn list_entry(id: &KeyId, name: &str, prefix: &str, hash: &str, created_at: Timestamp) -> Item {
    item(&layout::ops_key(id))
        .s("key_id", id.to_string())
        .s("name", name)
        .s("prefix", prefix)
        .s("key_hash", hash)
        .time("created_at", created_at)
        .build()
}

fn ops_summary_from(item: &Item) -> Result<OpsKeySummary, StoreError> {
    let item = read(item);
    Ok(OpsKeySummary {
        id: item.parsed("key_id")?,
        name: item.s("name")?.to_owned(),
        prefix: item.s("prefix")?.to_owned(),
        created_at: item.time("created_at")?,
        revoked_at: item.time_opt("revoked_at")?,
    })
}

impl Store {
    /// Registers `api_key` as an ops key named `name`: its lookup item and its list entry
    /// in ONE transaction. Idempotent, and two reads when the key is registered already,
    /// so the local server can register the same key at every start. A key that was revoked
    /// is refused: revoking must not be undone by registering the key again.
    pub async fn register_ops_key(&self, api_key: &ApiKey, name: &str) -> Result<KeyId, StoreError> {
        if api_key.role() != KeyRole::Ops {
            return Err(StoreError::InvalidState("only an stl_ops_ key can be registered as an ops key".into()));
        }
        let hash = api_key.hash();
        if let Some(lookup) = self.get(&layout::key_lookup(hash.as_str())).await? {
            return self.registered_ops_key(&lookup, api_key, name).await;
        }
        // Only a key that is not registered now gets here (once per key), so reading the
        // whole ops list stays off the local server's every start.
        let listed = self.ops_list().await?;
        if let Some(earlier) =
            listed.iter().find(|entry| read(entry).s_opt("key_hash").ok().flatten() == Some(hash.as_str()))
        {
            let earlier = ops_summary_from(earlier)?;
            return Err(StoreError::InvalidState(format!(
                "this key was ops key {} and was revoked{}; it cannot be registered again: create a new key",
                earlier.id,
                earlier.revoked_at.map(|at| format!(" at {at}")).unwrap_or_default()
            )));
        }
        let key_id = KeyId::generate();
        let created_at = Timestamp::now();
        let lookup = item(&layout::key_lookup(hash.as_str()))
            .s("role", KeyRole::Ops.as_str())
            .s("key_id", key_id.to_string())
            .time("created_at", created_at)
            .build();
        let mut transaction = self.transaction("ops key registration");
        let registered = transaction.put_new(lookup)?;
        transaction.put_new(list_entry(&key_id, name, &api_key.prefix(), hash.as_str(), created_at))?;
        let outcome = self
            .transact(transaction, |cancelled| {
                if cancelled.failed(registered) { StoreError::NotFound } else { cancelled.unexpected() }
            })
            .await;
        match outcome {
            Ok(()) => Ok(key_id),
            // Registered by a parallel call in between (two local servers on one table):
            // the next call finds that registration and returns its id.
            Err(StoreError::NotFound) => Box::pin(self.register_ops_key(api_key, name)).await,
            Err(other) => Err(other),
        }
    }

    /// The id of an ops key whose lookup item exists. A key registered before the ops list
    /// existed has no list entry: it gets one now, so that it can be listed and revoked.
    async fn registered_ops_key(&self, lookup: &Item, api_key: &ApiKey, name: &str) -> Result<KeyId, StoreError> {
        let lookup = read(lookup);
        // The hash matched, so only a corrupt item can hold another role.
        lookup.parsed_with("role", |role| (KeyRole::parse(role) == Some(KeyRole::Ops)).then_some(()))?;
        let key_id = lookup.parsed("key_id")?;
        if self.get(&layout::ops_key(&key_id)).await?.is_some() {
            return Ok(key_id);
        }
        let created_at = lookup.time_opt("created_at")?.unwrap_or_else(Timestamp::now);
        let name = lookup.s_opt("name")?.unwrap_or(name);
        let entry = list_entry(&key_id, name, &api_key.prefix(), api_key.hash().as_str(), created_at);
        self.put_list_entry(entry).await?;
        Ok(key_id)
    }

    /// Writes an ops list entry unless one exists: whether this call wrote it (another
    /// registration or adoption of the same key may have, in between).
    async fn put_list_entry(&self, entry: Item) -> Result<bool, StoreError> {
        let written = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(entry))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match written {
            Ok(_) => Ok(true),
            Err(error) if error.as_service_error().is_some_and(PutItemError::is_conditional_check_failed_exception) => {
                Ok(false)
            }
            Err(error) => Err(StoreError::from_sdk(error)),
        }
    }

    /// Every ops key, newest first, revoked ones included.
    pub async fn list_ops_keys(&self) -> Result<Vec<OpsKeySummary>, StoreError> {
        self.ops_list().await?.iter().map(ops_summary_from).collect()
    }

    /// Revokes an ops key by id, exactly as a partner's key is revoked: the lookup item
    /// is deleted in the transaction that stamps `revoked_at`, so the key is refused from
    /// the very next request. An id not in the ops list (a partner key's, say) is
    /// `NotFound`; revoking a revoked key returns it unchanged.
    pub async fn revoke_ops_key(&self, key_id: &KeyId) -> Result<OpsKeySummary, StoreError> {
        self.revoke_listed(&layout::ops_key(key_id), ops_summary_from, |_| true).await
    }

    /// Whether ops key `key_id` is listed and not revoked: one consistent read of its list
    /// entry, for sessions an ops key opened, which live only while the key does. A key
    /// with no list entry (registered before the list existed) is not vouched for.
    pub async fn ops_key_unrevoked(&self, key_id: &KeyId) -> Result<bool, StoreError> {
        let Some(entry) = self.get(&layout::ops_key(key_id)).await? else { return Ok(false) };
        Ok(read(&entry).time_opt("revoked_at")?.is_none())
    }

    /// Lists every ops key registered before the ops list existed, which has a lookup item
    /// and no list entry, so that it can be listed, revoked by id and can open the console,
    /// and answers those it listed (oldest first). Its name is the lookup's, or says it
    /// predates the list; its prefix is unknown (`stl_ops_…`: only the key's hash was
    /// kept). One consistent scan of the table, so tooling only; running it again lists
    /// nothing new.
    #[cfg(feature = "tooling")]
    pub async fn adopt_unlisted_ops_keys(&self) -> Result<Vec<OpsKeySummary>, StoreError> {
        use aws_sdk_dynamodb::types::AttributeValue;
        let text = |value: &str| AttributeValue::S(value.to_owned());
        let mut lookups = Vec::new();
        self.scan_each(
            |scan| {
                scan.filter_expression("#sk = :lookup AND #role = :ops")
                    .expression_attribute_names("#sk", layout::SK)
                    .expression_attribute_names("#role", "role")
                    .expression_attribute_values(":lookup", text(layout::KEY_LOOKUP_SK))
                    .expression_attribute_values(":ops", text(KeyRole::Ops.as_str()))
            },
            |item| {
                lookups.push(item.clone());
                Ok(())
            },
        )
        .await?;
        let mut adopted = Vec::new();
        for lookup in &lookups {
            let found = read(lookup);
            let key_id: KeyId = found.parsed("key_id")?;
            let hash = found.parsed_with(layout::PK, |pk| layout::key_hash_of_lookup(pk).map(str::to_owned))?;
            let created_at = found.time_opt("created_at")?.unwrap_or_else(Timestamp::now);
            let name = found.s_opt("name")?.unwrap_or(UNLISTED_NAME);
            let entry = list_entry(&key_id, name, UNKNOWN_PREFIX, &hash, created_at);
            // A key listed already (every key registered since the list) keeps its entry.
            if self.put_list_entry(entry.clone()).await? {
                adopted.push(ops_summary_from(&entry)?);
            }
        }
        adopted.sort_by_key(|key| key.created_at);
        Ok(adopted)
    }

    /// Every entry of the ops list, newest first, page by page: ops keys are few, but a
    /// listing that stopped at the first page would hide keys from the ops revoking them.
    async fn ops_list(&self) -> Result<Vec<Item>, StoreError> {
        let mut entries = Vec::new();
        let mut page = PageRequest { limit: Limit::LARGEST, after: None };
        loop {
            let found =
                self.newest_first(&layout::ops_keys(), &page, |item| Ok(item.clone())).await.map_err(|error| {
                    match error {
                        PageError::Store(error) => error,
                        // The cursor is the one the previous page returned, so it always fits.
                        PageError::Cursor(invalid) => StoreError::dynamo(invalid),
                    }
                })?;
            entries.extend(found.items);
            match found.next {
                Some(next) => page.after = Some(next),
                None => return Ok(entries),
            }
        }
    }
}
