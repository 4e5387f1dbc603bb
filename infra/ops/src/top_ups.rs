//! `steller-ops top-ups list|approve|reject`: the ops side of top-up requests, through
//! the same store methods the admin Lambda calls.

use anyhow::Context;
use steller::Store;
use steller::domain::{RejectionReason, TopUpId, TopUpRequest, TopUpStatus};
use steller::store::{Limit, PageRequest};

pub fn line(request: &TopUpRequest) -> String {
    format!(
        "{}  {:<8}  {:>12} USD  {}  {}  {}{}",
        request.id,
        request.status.as_str(),
        request.amount.to_string(),
        request.partner_id,
        request.created_at,
        request.payment_reference.as_deref().unwrap_or("-"),
        request.reason.as_ref().map(|reason| format!("  reason: {reason}")).unwrap_or_default(),
    )
}

/// Every live request with `status` (pending ones oldest first), page by page.
pub async fn list(store: &Store, status: TopUpStatus) -> anyhow::Result<Vec<TopUpRequest>> {
    let mut all = Vec::new();
    let mut page = PageRequest { limit: Limit::parse("100").unwrap_or(Limit::DEFAULT), after: None };
    loop {
        let found = store.top_ups_by_status(status, &page).await.context("listing top-up requests")?;
        all.extend(found.items);
        match found.next {
            Some(next) => page.after = Some(next),
            None => return Ok(all),
        }
    }
}

pub fn parse_id(raw: &str) -> anyhow::Result<TopUpId> {
    TopUpId::parse(raw).map_err(|error| anyhow::anyhow!("{raw:?} {error}"))
}

pub fn parse_reason(raw: &str) -> anyhow::Result<RejectionReason> {
    RejectionReason::parse(Some(raw)).map_err(|error| anyhow::anyhow!("the reason {error}"))
}
