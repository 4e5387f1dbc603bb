//! `steller-ops ops-keys list|revoke` and `steller-ops partner-keys list|revoke`: ops keys
//! listed and revoked without a table scan, and the emergency revoke of a partner's leaked
//! key, through the same store methods the API uses. A key is never printed here: only
//! its id and its prefix.

use anyhow::{Context, anyhow};
use clap::Subcommand;
use steller::Store;
use steller::domain::{KeyId, KeySummary, OpsKeySummary, PartnerId, Timestamp};
use steller::store::{Limit, PageRequest, StoreError};

use crate::target::DomainTable;

#[derive(Debug, Subcommand)]
pub enum OpsKeysCommand {
    /// Every ops key, newest first, revoked ones included: id, name, prefix, created_at.
    List(DomainTable),
    /// Revokes an ops key by its id: it is refused from the very next request, and stays
    /// listed as revoked. Revoking a revoked key changes nothing.
    Revoke {
        /// The key's id (`key_…`), as `ops-keys list` shows it.
        key_id: String,
        #[command(flatten)]
        target: DomainTable,
    },
    /// Lists the ops keys registered before the ops list existed (they have no list
    /// entry, so `list` does not show them, `revoke` cannot find them and they cannot open
    /// the ops console), printing each. One scan of the table; running it again lists
    /// nothing new.
    Adopt(DomainTable),
}

#[derive(Debug, Subcommand)]
pub enum PartnerKeysCommand {
    /// A partner's keys, newest first, revoked ones included: id, mode, name, prefix,
    /// created_at.
    List {
        /// The partner's id (`ptn_…`).
        #[arg(long, value_name = "PARTNER_ID")]
        partner: String,
        #[command(flatten)]
        target: DomainTable,
    },
    /// Revokes one of a partner's keys, for a leaked key the partner cannot revoke
    /// themselves: it is refused from the very next request; their other keys keep working.
    Revoke {
        /// The partner's id (`ptn_…`).
        #[arg(long, value_name = "PARTNER_ID")]
        partner: String,
        /// The key's id (`key_…`), as `partner-keys list` or the partner's `GET /api/keys`
        /// shows it.
        key_id: String,
        #[command(flatten)]
        target: DomainTable,
    },
}

pub async fn ops_keys(command: OpsKeysCommand) -> anyhow::Result<()> {
    match command {
        OpsKeysCommand::List(target) => {
            let keys = target.store().await?.list_ops_keys().await.context("listing the ops keys")?;
            for key in &keys {
                println!("{}", ops_line(key));
            }
            let revoked = keys.iter().filter(|key| key.revoked_at.is_some()).count();
            println!("{}, {revoked} revoked", crate::count(keys.len(), "ops key", "ops keys"));
        }
        OpsKeysCommand::Revoke { key_id, target } => {
            let key_id = parse_key_id(&key_id)?;
            let revoked = target.store().await?.revoke_ops_key(&key_id).await.map_err(|error| match error {
                StoreError::NotFound => anyhow!(
                    "there is no ops key {key_id} (`steller-ops ops-keys list` shows them; a partner's key is \
                     revoked with `steller-ops partner-keys revoke`)"
                ),
                other => anyhow::Error::new(other).context(format!("revoking ops key {key_id}")),
            })?;
            println!("revoked  {}", ops_line(&revoked));
        }
        OpsKeysCommand::Adopt(target) => {
            let adopted = target.store().await?.adopt_unlisted_ops_keys().await.context("listing unlisted ops keys")?;
            for key in &adopted {
                println!("listed   {}", ops_line(key));
            }
            println!("{} listed now", crate::count(adopted.len(), "unlisted ops key", "unlisted ops keys"));
        }
    }
    Ok(())
}

pub async fn partner_keys(command: PartnerKeysCommand) -> anyhow::Result<()> {
    match command {
        PartnerKeysCommand::List { partner, target } => {
            let partner = parse_partner_id(&partner)?;
            let store = target.store().await?;
            existing_partner(&store, &partner).await?;
            let keys = all_keys(&store, &partner).await?;
            for key in &keys {
                println!("{}", partner_line(key));
            }
            let revoked = keys.iter().filter(|key| key.revoked_at.is_some()).count();
            println!("{} of {partner}, {revoked} revoked", crate::count(keys.len(), "key", "keys"));
        }
        PartnerKeysCommand::Revoke { partner, key_id, target } => {
            let (partner, key_id) = (parse_partner_id(&partner)?, parse_key_id(&key_id)?);
            let store = target.store().await?;
            existing_partner(&store, &partner).await?;
            let revoked = store.revoke_key(&partner, None, &key_id).await.map_err(|error| match error {
                StoreError::NotFound => anyhow!(
                    "partner {partner} has no key {key_id} (`steller-ops partner-keys list --partner {partner}` \
                     shows their keys; an ops key is revoked with `steller-ops ops-keys revoke`)"
                ),
                other => anyhow::Error::new(other).context(format!("revoking key {key_id} of {partner}")),
            })?;
            println!("revoked  {partner}  {}", partner_line(&revoked));
            // Nothing lets ops issue a partner a key, and a partner needs a working key to
            // create one: say so while ops can still tell the partner.
            if all_keys(&store, &partner).await?.iter().all(|key| key.revoked_at.is_some()) {
                eprintln!(
                    "warning: partner {partner} has no working key left: they cannot call the API or create a key \
                     until engineering issues them one"
                );
            }
        }
    }
    Ok(())
}

/// Stops on an unknown partner with that said, rather than a vaguer "no such key".
async fn existing_partner(store: &Store, partner: &PartnerId) -> anyhow::Result<()> {
    match store.partner(partner).await {
        Ok(_) => Ok(()),
        Err(StoreError::NotFound) => Err(anyhow!("there is no partner {partner}")),
        Err(other) => Err(anyhow::Error::new(other).context(format!("reading partner {partner}"))),
    }
}

/// Every key of the partner, page by page.
async fn all_keys(store: &Store, partner: &PartnerId) -> anyhow::Result<Vec<KeySummary>> {
    let mut all = Vec::new();
    let mut page = PageRequest { limit: Limit::LARGEST, after: None };
    loop {
        let found =
            store.list_keys(partner, None, &page).await.with_context(|| format!("listing the keys of {partner}"))?;
        all.extend(found.items);
        match found.next {
            Some(next) => page.after = Some(next),
            None => return Ok(all),
        }
    }
}

fn ops_line(key: &OpsKeySummary) -> String {
    format!("{}  {:<24}  {}  {}{}", key.id, key.name, key.prefix, key.created_at, revoked(key.revoked_at))
}

fn partner_line(key: &KeySummary) -> String {
    format!(
        "{}  {:<7}  {:<24}  {}  {}{}",
        key.id,
        key.mode.as_str(),
        key.name.as_deref().unwrap_or("-"),
        key.prefix,
        key.created_at,
        revoked(key.revoked_at)
    )
}

fn revoked(at: Option<Timestamp>) -> String {
    at.map(|at| format!("  revoked {at}")).unwrap_or_default()
}

fn parse_key_id(raw: &str) -> anyhow::Result<KeyId> {
    KeyId::parse(raw).map_err(|error| anyhow!("{raw:?} {error}"))
}

fn parse_partner_id(raw: &str) -> anyhow::Result<PartnerId> {
    PartnerId::parse(raw).map_err(|error| anyhow!("--partner {raw:?} {error}"))
}
