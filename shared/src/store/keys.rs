//! API keys: the lookup item the auth layer reads (keyed by the key's SHA-256), the
//! partner's own list of keys, and revoking a listed key (a partner's or an ops key; see
//! `ops_keys`). The key itself is never stored.

use aws_sdk_dynamodb::types::AttributeValue;

use super::item::{Item, item, read};
use super::layout::Key;
use super::page::Listing;
use super::rate_limits::{RATE_LIMIT, principal_of};
use super::transaction::Transaction;
use super::{FormToken, Once, Page, PageError, PageRequest, Store, StoreError, layout};
use crate::domain::{ApiKey, KeyId, KeySummary, Mode, NewKey, PartnerId, Principal, RequestsPerSecond, Timestamp};

/// The two items a partner key lives in: its lookup by hash, and its entry in the
/// partner's list (which remembers the hash so revoking can delete the lookup).
/// `quota` is the partner's override for the key's mode, copied onto the lookup so that
/// admitting a request needs no other item (`rate_limits`).
pub(crate) fn push_new_key(
    transaction: &mut Transaction,
    partner: &PartnerId,
    new: &NewKey,
    quota: Option<RequestsPerSecond>,
) -> Result<(), StoreError> {
    let summary = &new.summary;
    let hash = new.key.hash();
    let mut lookup = item(&layout::key_lookup(hash.as_str()))
        .s("role", summary.mode.as_str())
        .s("partner_id", partner.to_string())
        .s("key_id", summary.id.to_string())
        .time("created_at", summary.created_at);
    if let Some(quota) = quota {
        lookup = lookup.n(RATE_LIMIT, i64::from(quota.get()));
    }
    let lookup = lookup.build();
    let listed = item(&layout::partner_key(partner, &summary.id))
        .s("key_id", summary.id.to_string())
        .s_opt("name", summary.name.clone())
        .s("mode", summary.mode.as_str())
        .s("prefix", &summary.prefix)
        .s("key_hash", hash.as_str())
        .time("created_at", summary.created_at)
        .build();
    transaction.put_new(lookup)?;
    transaction.put_new(listed)?;
    Ok(())
}

fn summary_from(item: &Item) -> Result<KeySummary, StoreError> {
    let item = read(item);
    Ok(KeySummary {
        id: item.parsed("key_id")?,
        name: item.s_opt("name")?.map(str::to_owned),
        mode: item.parsed("mode")?,
        prefix: item.s("prefix")?.to_owned(),
        created_at: item.time("created_at")?,
        revoked_at: item.time_opt("revoked_at")?,
    })
}

impl Store {
    /// Who `key` acts for, or `None` for an unknown or revoked key. Strongly consistent,
    /// so a revoked key is refused from the very next request.
    /// Requests are admitted by `admit`, which also counts them; this only looks.
    pub async fn principal(&self, api_key: &ApiKey) -> Result<Option<Principal>, StoreError> {
        match self.get(&layout::key_lookup(api_key.hash().as_str())).await? {
            Some(item) => principal_of(&item, api_key),
            None => Ok(None),
        }
    }

    /// Stores a new partner key (its hash and summary, never the key), with the partner's
    /// quota override for its mode. The transaction holds only while the profile's
    /// override is still the one read, so a key created while ops change it cannot keep
    /// the old one (`rate_limits`); it is tried again, a bounded number of times.
    pub async fn create_key(&self, partner: &PartnerId, new: &NewKey) -> Result<(), StoreError> {
        self.create_key_once(partner, new, None).await
    }

    /// [`Store::create_key`], recording `form`'s token in the same transaction when the
    /// key comes from a form: a token already used is `KeyUsed`, and no key is made.
    pub async fn create_key_once(
        &self,
        partner: &PartnerId,
        new: &NewKey,
        form: Option<&FormToken>,
    ) -> Result<(), StoreError> {
        let mode = new.summary.mode;
        let attribute = super::rate_limits::profile_override(mode);
        for _ in 0..3 {
            let profile = self.existing(&layout::partner_profile(partner)).await?;
            let quota = super::rate_limits::override_of(&profile, mode)?;
            let mut transaction = self.transaction("key creation");
            push_new_key(&mut transaction, partner, new, quota)?;
            let unchanged = transaction.check(&layout::partner_profile(partner), |check| {
                let check = check.expression_attribute_names("#quota", &attribute);
                match quota {
                    Some(quota) => check
                        .condition_expression("#quota = :quota")
                        .expression_attribute_values(":quota", AttributeValue::N(quota.to_string())),
                    None => check.condition_expression("attribute_exists(pk) AND attribute_not_exists(#quota)"),
                }
            })?;
            let outcome = self
                .transact_once(transaction, form.map(Once::Form), new, |cancelled| {
                    if cancelled.failed(unchanged) { StoreError::Contended } else { cancelled.unexpected() }
                })
                .await;
            match outcome {
                Err(StoreError::Contended) => continue,
                other => return other,
            }
        }
        Err(StoreError::Contended)
    }

    /// A page of the partner's keys, newest first, revoked ones included: those of `mode`
    /// only, or every key (for ops) when `mode` is `None`.
    pub async fn list_keys(
        &self,
        partner: &PartnerId,
        mode: Option<Mode>,
        page: &PageRequest,
    ) -> Result<Page<KeySummary>, PageError> {
        let keys = layout::partner_keys(partner);
        let listing = Listing::newest_first(&keys);
        let listing = match mode {
            Some(mode) => listing.only("mode", mode.as_str()),
            None => listing,
        };
        self.list(listing, page, summary_from).await
    }

    /// Revokes one of the partner's keys: the lookup item is deleted in the same
    /// transaction that stamps `revoked_at`, so the key stops working at once. Revoking
    /// a revoked key changes nothing and returns it as it is.
    /// A key of another `mode` than the one given is `NotFound`, as if it did not exist;
    /// `None` (ops) revokes a key of either mode.
    pub async fn revoke_key(
        &self,
        partner: &PartnerId,
        mode: Option<Mode>,
        key_id: &KeyId,
    ) -> Result<KeySummary, StoreError> {
        let of_mode = |summary: &KeySummary| mode.is_none_or(|mode| summary.mode == mode);
        self.revoke_listed(&layout::partner_key(partner, key_id), summary_from, of_mode).await
    }

    /// Revokes the key whose list entry is `listed` (in a partner's partition or in the
    /// ops list) and returns it read by `summarise`: ONE transaction stamps `revoked_at` on
    /// the entry and deletes the lookup item the entry's `key_hash` names, so the key is
    /// refused from the very next request and the listing still shows it. No entry is
    /// `NotFound`; a revoked entry is returned unchanged.
    pub(super) async fn revoke_listed<T>(
        &self,
        listed: &Key,
        summarise: fn(&Item) -> Result<T, StoreError>,
        visible: impl Fn(&T) -> bool,
    ) -> Result<T, StoreError> {
        // A failed condition means the entry was revoked (or removed) in between; the next
        // round's read reports it as it now is, so this runs at most twice.
        loop {
            let mut current = self.existing(listed).await?;
            // Read first, so an entry the store cannot read is reported before any write.
            let summary = summarise(&current)?;
            if !visible(&summary) {
                return Err(StoreError::NotFound);
            }
            if read(&current).s_opt("revoked_at")?.is_some() {
                return Ok(summary);
            }
            let hash = read(&current).s("key_hash")?.to_owned();
            let revoked_at = Timestamp::now();
            let mut transaction = self.transaction("key revocation");
            let stamp = transaction.update(listed, |update| {
                update
                    .update_expression("SET revoked_at = :at")
                    .condition_expression("attribute_exists(pk) AND attribute_not_exists(revoked_at)")
                    .expression_attribute_values(":at", AttributeValue::S(revoked_at.to_string()))
            })?;
            transaction.delete(&layout::key_lookup(&hash))?;
            let outcome = self
                .transact(transaction, |cancelled| {
                    if cancelled.failed(stamp) { StoreError::NotFound } else { cancelled.unexpected() }
                })
                .await;
            match outcome {
                Ok(()) => {
                    current.insert("revoked_at".to_owned(), AttributeValue::S(revoked_at.to_string()));
                    return summarise(&current);
                }
                // Revoked by a parallel request in between: read it again.
                Err(StoreError::NotFound) => continue,
                Err(other) => return Err(other),
            }
        }
    }
}
