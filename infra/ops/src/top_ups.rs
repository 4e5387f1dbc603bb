//! `steller-ops top-ups list|approve|reject`: the ops side of top-up requests, through
//! the same store methods the admin Lambda calls.

use anyhow::Context;
use clap::Args;
use steller::Store;
use steller::domain::{Decider, OperatorName, RejectionReason, TextError, TopUpId, TopUpRequest, TopUpStatus};
use steller::store::{Limit, PageRequest, StoreError};

/// Why a decision stops before it is made: every decision records who made it, and the
/// CLI has no key to tell it who is at the keyboard.
const NO_OPERATOR: &str = "who is deciding? pass --by NAME (or set USER): the request records it as cli:NAME \
                           (nothing was approved or rejected)";

/// Who decides from the command line, recorded on the request as `cli:<name>`.
#[derive(Debug, Args)]
pub struct Operator {
    /// Your name, recorded on the request as its decider (`cli:NAME`), 1-64 printable
    /// characters. Defaults to USER, your login.
    #[arg(long, value_name = "NAME", env = "USER")]
    by: Option<String>,
}

impl Operator {
    /// The decider, checked before anything is read or decided: a decision without one
    /// would leave a credit no one can account for.
    pub fn decider(&self) -> anyhow::Result<Decider> {
        match OperatorName::parse(self.by.as_deref()) {
            Ok(name) => Ok(Decider::Cli(name)),
            Err(TextError::Missing) => anyhow::bail!(NO_OPERATOR),
            Err(error) => anyhow::bail!("--by {error} (nothing was approved or rejected)"),
        }
    }
}

/// The error of a decision (`what`: "approving", "rejecting") of request `id`: one that is
/// not there says where to look, as the key commands do.
pub fn decision_error(what: &str, id: &TopUpId, error: StoreError) -> anyhow::Error {
    match error {
        StoreError::NotFound => anyhow::anyhow!(
            "there is no live top-up request {id} (`steller-ops top-ups list` shows the pending ones; a sandbox \
             request is approved as it is made and is never decided; nothing was approved or rejected)"
        ),
        other => anyhow::Error::new(other).context(format!("{what} {id}")),
    }
}

/// One request per line; decided ones end with who decided (`by: -` for those decided
/// before deciders were recorded) and, when rejected, why.
pub fn line(request: &TopUpRequest) -> String {
    let decided_by = match (&request.decided_by, request.status) {
        (_, TopUpStatus::Pending) => String::new(),
        (Some(by), _) => format!("  by: {by}"),
        (None, _) => "  by: -".to_owned(),
    };
    format!(
        "{}  {:<8}  {:>12} USD  {}  {}  {}{decided_by}{}",
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
