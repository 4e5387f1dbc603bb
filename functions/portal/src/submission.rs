//! The one-time token a creating form carries, so the same form sent twice (a double
//! click, a reload of the answer) creates one thing.
//!
//! Top-ups pass the token to the store as the request's idempotency key, so a repeat is
//! a replay of the first answer. Keys and webhook endpoints show a secret once and their
//! creation takes no idempotency record: the token is claimed first, with one
//! conditional write only one sending can win ([`claim_once`]).

use steller::AppState;
use steller::domain::{IdempotencyKey, Mode, PartnerId};
use steller::store::{IdempotencyScope, StoreError, StoredResponse};

use crate::page::ErrorPage;

/// A fresh token for a form that creates something, made when the form is shown: the
/// same form sent twice carries the same token, so the second is known.
pub(crate) fn submission_token() -> String {
    format!("portal_form_{:032x}", rand::random::<u128>())
}

/// Claims the token `submission` of the form posted to `path` for `partner` in `mode`;
/// `made` names what the first sending makes. A second sending of the same form gets
/// the "already sent" page (409), linking back to `path`. Should the creation fail after
/// the claim, the form is used up and a fresh one is needed. A form without a token (a
/// page drawn before tokens) is not claimed.
pub(crate) async fn claim_once(
    state: &AppState,
    partner: PartnerId,
    mode: Mode,
    submission: &str,
    path: &str,
    made: String,
) -> Result<(), ErrorPage> {
    let submission = submission.trim();
    if submission.is_empty() {
        return Ok(());
    }
    let scope = IdempotencyScope {
        partner,
        mode,
        key: IdempotencyKey::parse(submission).map_err(|_| ErrorPage::forged())?,
        fingerprint: format!("portal POST {path}"),
    };
    match state.store.keep_first_answer(&scope, &StoredResponse { status: 200, body: made }).await {
        Ok(()) => Ok(()),
        Err(StoreError::KeyUsed(_)) => Err(ErrorPage::already_sent(path)),
        Err(other) => Err(other.into()),
    }
}
