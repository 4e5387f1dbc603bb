//! Portal sign-in: one-time codes sent by email, and the sessions they open. A code is
//! kept as its SHA-256 with its expiry and a count of wrong tries, in an item that also
//! counts the codes its address was sent in the current window; a session as the SHA-256
//! of its id, with the owner it acts for. DynamoDB's TTL deletes both once expired, and
//! every read treats an expired one as gone, since TTL deletes lazily.

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};

use super::accounts::push_email_verified;
use super::item::{Item, item, read};
use super::{Store, StoreError, layout};
use crate::domain::{
    Audience, CODE_MINUTES, CODE_TRIES, CODE_WINDOW_MINUTES, CODES_PER_WINDOW, Email, PartnerId, SESSION_HOURS,
    Session, SessionId, SessionOwner, SignInCode, Timestamp,
};

/// What asking for a code came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asked {
    /// The code is kept, replacing any earlier one (and its count of wrong tries).
    Kept,
    /// The address was sent `CODES_PER_WINDOW` codes in this window already: nothing
    /// changed, and a code sent earlier still works. The window ends in `retry_after`
    /// seconds (at least 1), when the next ask is kept.
    TooOften { retry_after: u32 },
}

/// What redeeming a code came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redeemed {
    /// The code was right: the session is open (and a partner's email verified).
    Opened(Session),
    /// The code was wrong; it still works for this many more tries.
    Wrong { tries_left: u32 },
    /// No code works for this address: never sent, expired, used, or tried too often.
    Void,
}

fn later(at: Timestamp, seconds: i64) -> Timestamp {
    at.plus_seconds(seconds)
}

fn session_item(id: &SessionId, session: &Session) -> Item {
    let builder = item(&layout::session(&id.hash()))
        .time("created_at", session.created_at)
        .time("expires", session.expires_at)
        .n("expires_at", session.expires_at.unix_seconds());
    match &session.owner {
        SessionOwner::Partner(partner) => builder.s("owner", "partner").s("partner_id", partner.to_string()),
        SessionOwner::OpsEmail(email) => builder.s("owner", "ops_email").s("email", email.as_str()),
        SessionOwner::OpsKey(key_id) => builder.s("owner", "ops_key").s("key_id", key_id.to_string()),
    }
    .build()
}

fn session_from(item: &Item) -> Result<Session, StoreError> {
    let item = read(item);
    let owner = match item.s("owner")? {
        "partner" => SessionOwner::Partner(item.parsed("partner_id")?),
        "ops_email" => SessionOwner::OpsEmail(item.parsed_with("email", |raw| Email::kept(raw).ok())?),
        "ops_key" => SessionOwner::OpsKey(item.parsed("key_id")?),
        other => return Err(item.corrupt(format!("owner {other:?} is unknown"))),
    };
    Ok(Session { owner, created_at: item.time("created_at")?, expires_at: item.time("expires")? })
}

impl Store {
    /// The partner whose email `email` is, if any (the sign-in form's lookup).
    pub async fn partner_by_email(&self, email: &Email) -> Result<Option<PartnerId>, StoreError> {
        let mut claim = self.get(&layout::email_claim(&email.canonical())).await?;
        let earlier = email.earlier_claims();
        if claim.is_none() && !earlier.is_empty() {
            // A claim an earlier rule kept under another spelling (`Email::earlier_claims`).
            let keys: Vec<_> = earlier.iter().map(|spelling| layout::email_claim(spelling)).collect();
            claim = self.get_many(&keys).await?.into_iter().flatten().next();
        }
        claim.as_ref().map(|claim| read(claim).parsed("partner_id")).transpose()
    }

    /// Keeps `code` as the one code for `email` at `audience`'s door, for `CODE_MINUTES`
    /// from `at`, replacing any earlier one (and its count of wrong tries), unless the
    /// address was sent `CODES_PER_WINDOW` codes in the last `CODE_WINDOW_MINUTES`: then
    /// nothing changes. Each new code brings its own `CODE_TRIES`, so without this bound
    /// asking again would allow guessing without end.
    ///
    /// Two conditional updates and no read, so parallel asks cannot both slip under the
    /// bound: the first starts a new window where there is none (or it has ended), the
    /// second counts the code in the current window while it has room.
    pub async fn issue_sign_in_code(
        &self,
        audience: Audience,
        email: &Email,
        code: &SignInCode,
        at: Timestamp,
    ) -> Result<Asked, StoreError> {
        let key = layout::sign_in_code(audience, email);
        let number = |value: i64| AttributeValue::N(value.to_string());
        let window = CODE_WINDOW_MINUTES * 60;
        let code_expires = later(at, CODE_MINUTES * 60).unix_seconds();
        // The item outlives both the code and the window it is counted in: the window
        // began at or before `at`, so it ends before `at + window`.
        let kept_until = later(at, window.max(CODE_MINUTES * 60)).unix_seconds();
        let update = || {
            self.client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key.item()))
                .expression_attribute_values(":hash", AttributeValue::S(code.hash(email)))
                .expression_attribute_values(":zero", number(0))
                .expression_attribute_values(":created", AttributeValue::S(at.to_string()))
                .expression_attribute_values(":code_expires", number(code_expires))
                .expression_attribute_values(":kept_until", number(kept_until))
        };
        const KEEP_CODE: &str = "code_hash = :hash, tries = :zero, created_at = :created, \
                                 code_expires_at = :code_expires, expires_at = :kept_until";
        let new_window = update()
            .update_expression(format!("SET {KEEP_CODE}, window_start = :now, codes = :one"))
            // An item written before windows existed has no `window_start`: a new window.
            .condition_expression("attribute_not_exists(window_start) OR window_start <= :window_ago")
            .expression_attribute_values(":now", number(at.unix_seconds()))
            .expression_attribute_values(":one", number(1))
            .expression_attribute_values(":window_ago", number(at.unix_seconds() - window))
            .send()
            .await;
        match new_window {
            Ok(_) => return Ok(Asked::Kept),
            Err(error) if error.code() == Some("ConditionalCheckFailedException") => {}
            Err(error) => return Err(StoreError::from_sdk(error)),
        }
        // The window is current. Should it end between the two calls, this one still counts
        // the code in it, or refuses it: the next ask starts the new window.
        let in_window = update()
            .update_expression(format!("SET {KEEP_CODE}, codes = codes + :one"))
            .condition_expression("codes < :most")
            .expression_attribute_values(":one", number(1))
            .expression_attribute_values(":most", number(i64::from(CODES_PER_WINDOW)))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match in_window {
            Ok(_) => Ok(Asked::Kept),
            Err(error) => match error.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(failed)) => {
                    let window_start =
                        failed.item.as_ref().map(|item| read(item).number("window_start")).transpose()?;
                    // Without the item (gone between the two calls) the window's end is
                    // unknown, and the whole window is an upper bound.
                    let ends_in = window_start.map_or(window, |start| start + window - at.unix_seconds());
                    Ok(Asked::TooOften { retry_after: u32::try_from(ends_in.clamp(1, window)).unwrap_or(1) })
                }
                _ => Err(StoreError::from_sdk(error)),
            },
        }
    }

    /// Tries `typed` against the code of `email` at `audience`'s door. A right code is
    /// used up in the transaction that opens the session `id` for `owner` (and, for a
    /// partner, stamps the email verified), so a code opens one session at most. A wrong
    /// one counts a try; the `CODE_TRIES`th wrong try voids it. Without an `owner` (an
    /// address with no account, whose code was kept but never sent) no code is right,
    /// so the answers are the same as for an account's and tell nobody which it is.
    pub async fn redeem_sign_in_code(
        &self,
        audience: Audience,
        email: &Email,
        typed: &SignInCode,
        id: &SessionId,
        owner: Option<SessionOwner>,
        at: Timestamp,
    ) -> Result<Redeemed, StoreError> {
        let key = layout::sign_in_code(audience, email);
        // Each round either decides or lost a race with another try of the same code,
        // which then decided; so two rounds suffice, and three are a safe bound.
        for _ in 0..3 {
            let Some(record) = self.get(&key).await? else { return Ok(Redeemed::Void) };
            let record = read(&record);
            let tries = u32::try_from(record.number("tries")?).unwrap_or(CODE_TRIES);
            // `expires_at` is the item's TTL, kept for the window; the code's own expiry
            // is `code_expires_at` (absent only from items written before windows, whose
            // `expires_at` was the code's).
            let code_expires = match record.number_opt("code_expires_at")? {
                Some(expires) => expires,
                None => record.number("expires_at")?,
            };
            let expired = code_expires <= at.unix_seconds();
            if expired || tries >= CODE_TRIES {
                return Ok(Redeemed::Void);
            }
            let stored_hash = record.s("code_hash")?.to_owned();
            let read_tries = AttributeValue::N(tries.to_string());
            let mut transaction = self.transaction("sign-in");
            let right = owner.is_some() && typed.hash(email) == stored_hash;
            if !right {
                let counted = transaction.update(&key, |update| {
                    // On the code read only: a new code asked for meanwhile has its own tries.
                    update
                        .update_expression("SET tries = tries + :one")
                        .condition_expression("tries = :read AND code_hash = :hash")
                        .expression_attribute_values(":one", AttributeValue::N("1".into()))
                        .expression_attribute_values(":read", read_tries)
                        .expression_attribute_values(":hash", AttributeValue::S(stored_hash.clone()))
                })?;
                match self
                    .transact(transaction, |c| if c.failed(counted) { StoreError::Contended } else { c.unexpected() })
                    .await
                {
                    Ok(()) => return Ok(Redeemed::Wrong { tries_left: CODE_TRIES - tries - 1 }),
                    Err(StoreError::Contended) => continue,
                    Err(other) => return Err(other),
                }
            }
            let Some(owner) = owner.clone() else { return Ok(Redeemed::Void) };
            let session = Session { owner: owner.clone(), created_at: at, expires_at: later(at, SESSION_HOURS * 3600) };
            let used = transaction.update(&key, |update| {
                // Deleting would let a parallel wrong try re-create the item; a used code
                // is voided in place, and TTL removes it.
                update
                    .update_expression("SET tries = :void")
                    .condition_expression("tries = :read AND code_hash = :hash")
                    .expression_attribute_values(":void", AttributeValue::N(CODE_TRIES.to_string()))
                    .expression_attribute_values(":read", read_tries)
                    .expression_attribute_values(":hash", AttributeValue::S(stored_hash))
            })?;
            transaction.put_new(session_item(id, &session))?;
            let verified = match &owner {
                SessionOwner::Partner(partner) => Some(push_email_verified(&mut transaction, partner, at)?),
                SessionOwner::OpsEmail(_) | SessionOwner::OpsKey(_) => None,
            };
            let opened = self
                .transact(transaction, |cancelled| {
                    if cancelled.failed(used) {
                        StoreError::Contended
                    } else if cancelled.failed(verified) {
                        StoreError::NotFound
                    } else {
                        cancelled.unexpected()
                    }
                })
                .await;
            match opened {
                Ok(()) => return Ok(Redeemed::Opened(session)),
                Err(StoreError::Contended) => continue,
                Err(other) => return Err(other),
            }
        }
        Ok(Redeemed::Void)
    }

    /// Opens session `id` for `owner` without a code (an operator who showed an ops key).
    pub async fn open_session(
        &self,
        id: &SessionId,
        owner: SessionOwner,
        at: Timestamp,
    ) -> Result<Session, StoreError> {
        let session = Session { owner, created_at: at, expires_at: later(at, SESSION_HOURS * 3600) };
        let mut transaction = self.transaction("session");
        transaction.put_new(session_item(id, &session))?;
        self.transact(transaction, |cancelled| cancelled.unexpected()).await?;
        Ok(session)
    }

    /// The session `id` opened, unless it has ended or expired.
    pub async fn session(&self, id: &SessionId, now: Timestamp) -> Result<Option<Session>, StoreError> {
        let Some(found) = self.get(&layout::session(&id.hash())).await? else { return Ok(None) };
        let session = session_from(&found)?;
        Ok((session.expires_at > now).then_some(session))
    }

    /// Ends session `id` on the server: its cookie opens nothing from now on.
    pub async fn end_session(&self, id: &SessionId) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(layout::session(&id.hash()).item()))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }
}
