//! Rate limits in the store: each request is authenticated AND counted by ONE
//! `UpdateItem` on its key's lookup item, so limiting costs no extra call, and the count
//! is exact however many Lambda instances serve the key at once.
//!
//! The lookup item (`APIKEY#<sha256>` / `APIKEY`) carries, besides who the key acts for:
//!
//! ```text
//! used_<unix second>   requests counted in that second (the window is a fixed UTC second)
//! rate_limit           the partner's override for the key's mode, copied from the profile;
//!                      absent: the default of the key's role (RequestsPerSecond::default_for)
//! ```
//!
//! The update adds one to `used_<now>` on condition that the key exists and the count is
//! below the quota, and removes `used_<now - 1>`. A count older than that (the key was idle
//! for a second or more) is left behind by the expression, so the request that finds one
//! removes it after its response: never a call the caller waits for. A refused update
//! changes nothing and returns the item as it was, telling a 429 (the key exists) from a
//! 401 (it does not).
//!
//! The override is kept on the partner's profile (`rate_limit_sandbox`, `rate_limit_live`)
//! and copied onto the lookup of each of the partner's active keys of that mode. A key
//! created while an override changes cannot miss it: creation reads the profile, and its
//! transaction holds only if the profile's override is still what it read (`push_new_key`),
//! while an override is written to the profile first and copied to the keys listed after.

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use super::item::{Item, read};
use super::layout::{self, Key};
use super::page::{Listing, PageRequest};
use super::{Limit, Store, StoreError};
use crate::domain::{
    ApiKey, KeyRole, Mode, ModeQuota, PartnerId, Principal, QuotaUse, RateLimits, RequestsPerSecond, Timestamp,
};

/// On a key lookup: the quota ops set for the key's partner and mode.
pub(crate) const RATE_LIMIT: &str = "rate_limit";
/// On a key lookup: the start of each second's count.
const USED: &str = "used_";
/// DynamoDB's limit on the items of one transaction.
const TRANSACTION_ITEMS: usize = 100;

/// On the partner's profile: the override of `mode`.
pub(crate) fn profile_override(mode: Mode) -> String {
    format!("{RATE_LIMIT}_{mode}")
}

fn used(second: i64) -> String {
    format!("{USED}{second}")
}

/// What one request's admission found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// A known key within its quota: the request was counted.
    Admitted { principal: Principal, quota: QuotaUse },
    /// A known key whose quota for this second is spent: nothing was counted.
    Limited { principal: Principal, quota: QuotaUse },
    /// No such key (never issued, or revoked), or one whose stored role disagrees.
    Unknown,
}

/// Who the lookup `item` says `api_key` acts for; `None` when the role stored disagrees
/// with the role in the key's text, so neither alone is trusted.
pub(crate) fn principal_of(item: &Item, api_key: &ApiKey) -> Result<Option<Principal>, StoreError> {
    let item = read(item);
    if KeyRole::parse(item.s("role")?) != Some(api_key.role()) {
        return Ok(None);
    }
    let key_id = item.parsed("key_id")?;
    Ok(Some(match api_key.role() {
        KeyRole::Ops => Principal::Ops { key_id },
        KeyRole::Partner(mode) => Principal::Partner { partner_id: item.parsed("partner_id")?, mode, key_id },
    }))
}

/// The override stored in `item`'s `attribute`, if any.
fn stored_quota(item: &Item, attribute: &str) -> Result<Option<RequestsPerSecond>, StoreError> {
    if !item.contains_key(attribute) {
        return Ok(None);
    }
    let reader = read(item);
    let value =
        u64::try_from(reader.number(attribute)?).map_err(|_| reader.corrupt(format!("{attribute} is negative")))?;
    RequestsPerSecond::new(value).map(Some).map_err(|error| reader.corrupt(format!("{attribute} {error}")))
}

/// The quota use an admission reports: the lookup's override or the key's default, and
/// the count of `second` as `item` holds it.
fn quota_use(item: &Item, key: &ApiKey, second: i64) -> Result<QuotaUse, StoreError> {
    let quota = stored_quota(item, RATE_LIMIT)?.unwrap_or_else(|| RequestsPerSecond::default_for(key.role()));
    let counted = used(second);
    let used = match item.contains_key(&counted) {
        true => {
            let reader = read(item);
            u32::try_from(reader.number(&counted)?).map_err(|_| reader.corrupt(format!("{counted} is out of range")))?
        }
        false => 0,
    };
    Ok(QuotaUse { quota, used })
}

/// The counts in `item` older than the second before `second`: what the update's own
/// REMOVE could not name.
fn stale_counts(item: &Item, second: i64) -> Vec<String> {
    item.keys()
        .filter(|name| name.strip_prefix(USED).and_then(|at| at.parse::<i64>().ok()).is_some_and(|at| at < second - 1))
        .cloned()
        .collect()
}

impl Store {
    /// Authenticates `key` and counts this request against its quota for the current
    /// second, in one `UpdateItem`. A lookup for a revoked key is gone, so it is refused
    /// from the very next request.
    pub async fn admit(&self, key: &ApiKey) -> Result<Admission, StoreError> {
        self.admit_at(key, Timestamp::now().unix_seconds()).await
    }

    /// `admit` in the given second (for tests that need a window of their own).
    pub async fn admit_at(&self, key: &ApiKey, second: i64) -> Result<Admission, StoreError> {
        let lookup = layout::key_lookup(key.hash().as_str());
        let default = RequestsPerSecond::default_for(key.role());
        let number = |value: i64| AttributeValue::N(value.to_string());
        let outcome = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(lookup.item()))
            .update_expression("SET #now = if_not_exists(#now, :zero) + :one REMOVE #before")
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(#now) OR #now < #limit \
                 OR (attribute_not_exists(#limit) AND #now < :default))",
            )
            .expression_attribute_names("#now", used(second))
            .expression_attribute_names("#before", used(second - 1))
            .expression_attribute_names("#limit", RATE_LIMIT)
            .expression_attribute_values(":zero", number(0))
            .expression_attribute_values(":one", number(1))
            .expression_attribute_values(":default", number(i64::from(default.get())))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match outcome {
            Ok(output) => {
                let item = output.attributes.unwrap_or_default();
                let Some(principal) = principal_of(&item, key)? else {
                    return Ok(Admission::Unknown);
                };
                let quota = quota_use(&item, key, second)?;
                self.forget_counts(&lookup, stale_counts(&item, second)).await;
                Ok(Admission::Admitted { principal, quota })
            }
            Err(error) => {
                let refused = match error.as_service_error() {
                    Some(UpdateItemError::ConditionalCheckFailedException(failed)) => Some(failed.item.clone()),
                    _ => None,
                };
                match refused {
                    // No item: no such key. An item: its quota for this second is spent.
                    Some(None) => Ok(Admission::Unknown),
                    Some(Some(item)) => match principal_of(&item, key)? {
                        Some(principal) => Ok(Admission::Limited { principal, quota: quota_use(&item, key, second)? }),
                        None => Ok(Admission::Unknown),
                    },
                    None => {
                        tracing::debug!(code = error.code().unwrap_or("-"), "key admission failed");
                        Err(StoreError::from_sdk(error))
                    }
                }
            }
        }
    }

    /// Removes counts of past seconds from a key's lookup, after the response: on
    /// condition that the lookup still exists, so a revoked key is never brought back. A
    /// failure only leaves them for the next request to remove.
    async fn forget_counts(&self, lookup: &Key, stale: Vec<String>) {
        if stale.is_empty() {
            return;
        }
        let store = self.clone();
        let lookup = lookup.clone();
        crate::after_response::after_response(async move {
            let mut update = store
                .client
                .update_item()
                .table_name(&store.table)
                .set_key(Some(lookup.item()))
                .condition_expression("attribute_exists(pk)");
            let names: Vec<String> = (0..stale.len()).map(|index| format!("#stale{index}")).collect();
            update = update.update_expression(format!("REMOVE {}", names.join(", ")));
            for (name, attribute) in names.iter().zip(stale) {
                update = update.expression_attribute_names(name, attribute);
            }
            if let Err(error) = update.send().await {
                tracing::debug!(
                    code = error.code().unwrap_or("-"),
                    "old request counts not removed; the next request will"
                );
            }
        })
        .await;
    }

    /// The partner's quotas per mode: overrides where ops set them, defaults elsewhere.
    /// An unknown partner is `NotFound`.
    pub async fn rate_limits(&self, partner: &PartnerId) -> Result<RateLimits, StoreError> {
        let profile = self.existing(&layout::partner_profile(partner)).await?;
        rate_limits_of(&profile)
    }

    /// Sets (`Some`) or clears (`None`, back to the default) the quota of every key of
    /// `partner` in `mode`: the profile first, then each active key's lookup, in
    /// transactions of up to 100 items. Setting the same value again changes nothing, so
    /// a run cut short is finished by running it again. An unknown partner is `NotFound`.
    pub async fn set_rate_limit(
        &self,
        partner: &PartnerId,
        mode: Mode,
        quota: Option<RequestsPerSecond>,
    ) -> Result<RateLimits, StoreError> {
        self.write_quota("rate limit override", &[layout::partner_profile(partner)], &profile_override(mode), quota)
            .await?;
        let lookups = self.active_key_lookups(partner, mode).await?;
        for chunk in lookups.chunks(TRANSACTION_ITEMS) {
            match self.write_quota("rate limit copy", chunk, RATE_LIMIT, quota).await {
                Ok(()) => {}
                // A key was revoked since the listing, so its lookup is gone: copy to the
                // others one by one.
                Err(StoreError::NotFound) => {
                    for lookup in chunk {
                        match self.write_quota("rate limit copy", std::slice::from_ref(lookup), RATE_LIMIT, quota).await
                        {
                            Ok(()) | Err(StoreError::NotFound) => {}
                            Err(other) => return Err(other),
                        }
                    }
                }
                Err(other) => return Err(other),
            }
        }
        self.rate_limits(partner).await
    }

    /// Sets `attribute` to `quota` (or removes it, for `None`) on every item at `keys`, in
    /// one transaction that holds only while each of them exists: `NotFound` when one does
    /// not, and then nothing was written.
    async fn write_quota(
        &self,
        what: &'static str,
        keys: &[Key],
        attribute: &str,
        quota: Option<RequestsPerSecond>,
    ) -> Result<(), StoreError> {
        let mut transaction = self.transaction(what);
        let mut slots = Vec::with_capacity(keys.len());
        for key in keys {
            slots.push(transaction.update(key, |update| {
                let update =
                    update.expression_attribute_names("#quota", attribute).condition_expression("attribute_exists(pk)");
                match quota {
                    Some(quota) => update
                        .update_expression("SET #quota = :quota")
                        .expression_attribute_values(":quota", AttributeValue::N(quota.to_string())),
                    None => update.update_expression("REMOVE #quota"),
                }
            })?);
        }
        self.transact(transaction, |cancelled| {
            if slots.iter().any(|slot| cancelled.failed(*slot)) { StoreError::NotFound } else { cancelled.unexpected() }
        })
        .await
    }

    /// The lookup keys of the partner's unrevoked keys of `mode`, every page.
    async fn active_key_lookups(&self, partner: &PartnerId, mode: Mode) -> Result<Vec<Key>, StoreError> {
        let keys = layout::partner_keys(partner);
        let mut page = PageRequest { limit: Limit::LARGEST, after: None };
        let mut lookups = Vec::new();
        loop {
            let listing = Listing::newest_first(&keys).only("mode", mode.as_str());
            let found = self
                .list(listing, &page, |item| {
                    let entry = read(item);
                    let hash = entry.s("key_hash")?.to_owned();
                    Ok(entry.s_opt("revoked_at")?.is_none().then(|| layout::key_lookup(&hash)))
                })
                .await
                .map_err(|error| match error {
                    super::PageError::Store(error) => error,
                    super::PageError::Cursor(error) => StoreError::Dynamo(Box::new(error)),
                })?;
            lookups.extend(found.items.into_iter().flatten());
            match found.next {
                Some(next) => page.after = Some(next),
                None => return Ok(lookups),
            }
        }
    }
}

/// The quotas a profile item sets.
pub(crate) fn rate_limits_of(profile: &Item) -> Result<RateLimits, StoreError> {
    Ok(RateLimits {
        sandbox: ModeQuota::of(Mode::Sandbox, stored_quota(profile, &profile_override(Mode::Sandbox))?),
        live: ModeQuota::of(Mode::Live, stored_quota(profile, &profile_override(Mode::Live))?),
    })
}

/// The override of `mode` a profile item holds, as the condition of a key creation sees it.
pub(crate) fn override_of(profile: &Item, mode: Mode) -> Result<Option<RequestsPerSecond>, StoreError> {
    stored_quota(profile, &profile_override(mode))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn only_counts_older_than_the_second_before_are_stale() {
        let item: Item = HashMap::from([
            ("used_100".to_owned(), AttributeValue::N("3".into())),
            ("used_98".to_owned(), AttributeValue::N("1".into())),
            ("used_99".to_owned(), AttributeValue::N("1".into())),
            ("rate_limit".to_owned(), AttributeValue::N("5".into())),
            ("used_x".to_owned(), AttributeValue::N("5".into())),
        ]);
        assert_eq!(stale_counts(&item, 100), vec!["used_98".to_owned()]);
    }
}
