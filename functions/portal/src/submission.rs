//! The one-time token a creating form carries, so the same form sent twice (a double
//! click, a reload of the answer) creates one thing.
//!
//! Top-ups pass the token to the store as the request's idempotency key, so a repeat is
//! a replay of the first answer. Keys and webhook endpoints show a secret once, so there
//! is no answer to replay: the token is recorded in the transaction that makes the key or
//! endpoint ([`form_token`]), which only one sending can commit. A creation that fails
//! records nothing, and the form can be sent again.

use steller::Store;
use steller::domain::{IdempotencyKey, Mode, PartnerId};
use steller::store::{FormToken, IdempotencyScope, StoreError};

use crate::page::ErrorPage;

/// A fresh token for a form that creates something, made when the form is shown: the
/// same form sent twice carries the same token, so the second is known.
pub(crate) fn submission_token() -> String {
    format!("portal_form_{:032x}", rand::random::<u128>())
}

/// The token `submission` of the form posted to `path` for `partner` in `mode`, to record
/// in the transaction that makes what the form creates; `made` names it. `None` for a
/// form without a token (a page drawn before tokens). A token that is not one of ours is
/// a forged form.
pub(crate) fn form_token(
    partner: PartnerId,
    mode: Mode,
    submission: &str,
    path: &str,
    made: String,
) -> Result<Option<FormToken>, ErrorPage> {
    Ok(token_scope(partner, mode, submission, path)?.map(|scope| FormToken { scope, made }))
}

/// The idempotency scope the token `submission` of the form posted to `path` is recorded
/// under; `None` for a form without a token, a forged form for a token not of ours.
fn token_scope(
    partner: PartnerId,
    mode: Mode,
    submission: &str,
    path: &str,
) -> Result<Option<IdempotencyScope>, ErrorPage> {
    let submission = submission.trim();
    if submission.is_empty() {
        return Ok(None);
    }
    let key = IdempotencyKey::parse(submission).map_err(|_| ErrorPage::forged())?;
    Ok(Some(IdempotencyScope { partner, mode, key, fingerprint: format!("portal POST {path}") }))
}

/// Whether the form posted to `path` with token `submission` already made what it creates.
/// Asked when its fields fail checks that can change between two sendings (a webhook URL
/// whose name stopped resolving): the form that was sent is answered as sent, not with a
/// field error about something that exists. A token that cannot be read counts as unsent.
pub(crate) async fn was_sent(store: &Store, partner: PartnerId, mode: Mode, submission: &str, path: &str) -> bool {
    let Ok(Some(scope)) = token_scope(partner, mode, submission, path) else {
        return false;
    };
    match store.prior_use(&scope).await {
        Ok(prior) => prior.is_some(),
        Err(error) => {
            tracing::warn!(error = %error, "could not read a form's token; answering with its fields' errors");
            false
        }
    }
}

/// The page for a store error of a creation from a form: its token already used is the
/// "already sent" page (409), linking back to `path`.
pub(crate) fn refused(error: StoreError, path: &str) -> ErrorPage {
    match error {
        StoreError::KeyUsed(_) => ErrorPage::already_sent(path),
        other => other.into(),
    }
}
