//! `steller-ops rate-limits show|set|clear`: a partner's per-key quotas, through the same
//! store methods as the admin routes (`/api/admin/partners/{id}/rate-limits`).

use anyhow::Context;
use clap::{Args, Subcommand};
use steller::domain::{Mode, PartnerId, RateLimits, RequestsPerSecond};

use crate::target::DomainTable;

#[derive(Debug, Subcommand)]
pub enum RateLimitsCommand {
    /// Shows the partner's quota per mode, and whether each is the default or an override.
    Show {
        #[command(flatten)]
        partner: Partner,
        #[command(flatten)]
        target: DomainTable,
    },
    /// Sets the quota of every key of the partner in one mode, from each key's next request.
    Set {
        #[command(flatten)]
        partner: Partner,
        /// `sandbox` or `live`.
        #[arg(long, value_parser = ["sandbox", "live"])]
        mode: String,
        /// Requests each key may make per second, 1 to 1000.
        #[arg(long, value_name = "N")]
        requests_per_second: u64,
        #[command(flatten)]
        target: DomainTable,
    },
    /// Clears one mode's override: the partner's keys go back to the default.
    Clear {
        #[command(flatten)]
        partner: Partner,
        /// `sandbox` or `live`.
        #[arg(long, value_parser = ["sandbox", "live"])]
        mode: String,
        #[command(flatten)]
        target: DomainTable,
    },
}

#[derive(Debug, Args)]
pub struct Partner {
    /// The partner's id (`ptn_…`).
    #[arg(long, value_name = "ID")]
    partner: String,
}

impl Partner {
    fn id(&self) -> anyhow::Result<PartnerId> {
        self.partner.parse().map_err(|_| anyhow::anyhow!("--partner {} is not a partner id (ptn_…)", self.partner))
    }
}

fn mode(raw: &str) -> anyhow::Result<Mode> {
    Mode::parse(raw).ok_or_else(|| anyhow::anyhow!("--mode must be sandbox or live"))
}

pub async fn rate_limits(command: RateLimitsCommand) -> anyhow::Result<()> {
    let (partner, limits) = match command {
        RateLimitsCommand::Show { partner, target } => {
            let id = partner.id()?;
            (id, target.store().await?.rate_limits(&id).await.context("reading the partner's rate limits")?)
        }
        RateLimitsCommand::Set { partner, mode: raw, requests_per_second, target } => {
            let (id, mode) = (partner.id()?, mode(&raw)?);
            let quota = RequestsPerSecond::new(requests_per_second)
                .map_err(|error| anyhow::anyhow!("--requests-per-second {error} (nothing was changed)"))?;
            let store = target.store().await?;
            (id, store.set_rate_limit(&id, mode, Some(quota)).await.context("setting the rate limit")?)
        }
        RateLimitsCommand::Clear { partner, mode: raw, target } => {
            let (id, mode) = (partner.id()?, mode(&raw)?);
            let store = target.store().await?;
            (id, store.set_rate_limit(&id, mode, None).await.context("clearing the rate limit")?)
        }
    };
    print(&partner, &limits);
    Ok(())
}

/// One line per mode: `ptn_…  sandbox  25 req/s per key  (default)`.
fn print(partner: &PartnerId, limits: &RateLimits) {
    for mode in [Mode::Sandbox, Mode::Live] {
        let quota = limits.of(mode);
        println!(
            "{partner}  {:<7}  {:>5} req/s per key  ({})",
            mode.as_str(),
            quota.requests_per_second.get(),
            quota.source.as_str()
        );
    }
}
