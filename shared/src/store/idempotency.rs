//! Idempotency records: the transaction that does a request's work (moves the money,
//! records the top-up request) also writes its key's record, completed with the
//! response, on condition that no live record holds the key. Only one request with a
//! key can ever commit, so the money moves at most once; the others read the record and
//! replay its response (ADR 0011).
//!
//! The record is read together with the wallet, in the call the work needs anyway, so a
//! replay costs one read and a first request no call of its own.
//!
//! Records `in_progress` are claims of the protocol before ADR 0011; they are still
//! honoured (409 while their lease runs, free after), never written.

use std::sync::Arc;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;

use super::item::{Item, item, read};
use super::layout::Key;
use super::transaction::{Cancelled, Slot, Transaction};
use super::{Store, StoreError, layout};
use crate::domain::{IdempotencyKey, Mode, PartnerId, Timestamp};

/// Keys live 24 hours (DynamoDB TTL deletes the record; until it does, an expired record
/// counts as absent).
const TTL_SECS: i64 = 24 * 60 * 60;

/// A key is free when no record holds it: none, an expired one (TTL deletes lazily), or
/// an abandoned claim of the same request from before ADR 0011 (its lease ran out).
const KEY_IS_FREE: &str = "attribute_not_exists(pk) OR expires_at < :now \
     OR (claim_state = :in_progress AND locked_until < :now AND fingerprint = :fingerprint)";

/// One partner's key in one mode, and the request it was first used for.
#[derive(Debug, Clone)]
pub struct IdempotencyScope {
    pub partner: PartnerId,
    pub mode: Mode,
    pub key: IdempotencyKey,
    /// A digest of the request (method, route, canonical body).
    pub fingerprint: String,
}

impl IdempotencyScope {
    pub(crate) fn key(&self) -> Key {
        layout::idempotency_record(&self.partner, self.mode, &self.key)
    }

    /// What an earlier request with this key left, from its record as read: `None` when
    /// the key is free (the condition `KEY_IS_FREE` would admit a new record).
    pub(crate) fn prior_use(&self, record: Option<&Item>) -> Option<PriorUse> {
        let record = read(record?);
        let now = epoch_seconds();
        if record.number("expires_at").is_ok_and(|expires_at| expires_at < now) {
            return None;
        }
        let same_request = record.s("fingerprint").ok() == Some(self.fingerprint.as_str());
        let state = record.s("claim_state").ok();
        let abandoned = state == Some("in_progress") && record.number("locked_until").is_ok_and(|until| until < now);
        if abandoned && same_request {
            return None;
        }
        if !same_request {
            return Some(PriorUse::KeyReused);
        }
        let status = record.number("response_status").ok().and_then(|status| u16::try_from(status).ok());
        Some(match (state, status, record.s("response_body").ok()) {
            (Some("completed"), Some(status), Some(body)) => {
                PriorUse::Replay(StoredResponse { status, body: body.to_owned() })
            }
            _ => PriorUse::InProgress,
        })
    }
}

/// A response kept for replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: String,
}

impl StoredResponse {
    /// `body` as JSON with `status`. A body that cannot be serialised is an error, never
    /// an empty body kept for every retry to replay.
    pub fn json(status: u16, body: &impl Serialize) -> Result<Self, serde_json::Error> {
        Ok(StoredResponse { status, body: serde_json::to_string(body)? })
    }
}

/// What an earlier request with the same key left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PriorUse {
    /// It finished: answer what it answered.
    Replay(StoredResponse),
    /// A claim from before ADR 0011 whose lease still runs.
    InProgress,
    /// The key was used for a different request.
    KeyReused,
}

/// Renders the response a result stands for, in the form kept for replay.
pub type Render<T> = Arc<dyn Fn(&T) -> Result<StoredResponse, serde_json::Error> + Send + Sync>;

/// A request's key, to record in the transaction that does the work, with the response
/// to keep. The response is rendered from the result `T` as written (an order's
/// `wallet_balance_after` is only known inside the store's wallet loop).
pub struct Completion<T> {
    pub scope: IdempotencyScope,
    pub render: Render<T>,
}

impl<T> std::fmt::Debug for Completion<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Completion").field("scope", &self.scope).finish_non_exhaustive()
    }
}

impl<T> Completion<T> {
    /// Adds the key's record, completed with the response for `result`, to `transaction`;
    /// its slot fails when another request recorded the key first.
    pub(crate) fn push(&self, transaction: &mut Transaction, result: &T) -> Result<Slot, StoreError> {
        let response = (self.render)(result).map_err(StoreError::Unrecordable)?;
        let (record, values) = completed_record(&self.scope, &response);
        transaction.put_if(record, KEY_IS_FREE, values)
    }

    /// `Err(KeyUsed)` when `record`, as read with the wallet, holds the key.
    pub(crate) fn check(&self, record: Option<&Item>) -> Result<(), StoreError> {
        self.scope.prior_use(record).map_or(Ok(()), |prior| Err(StoreError::KeyUsed(prior)))
    }
}

/// A form's one-time token, recorded in the transaction that makes what the form creates
/// (a key, a webhook endpoint), which show a secret once and have no answer to replay. A
/// second sending of the form finds the token used (`KeyUsed`) and makes nothing; a
/// creation that fails records nothing, so the same form may be sent again.
#[derive(Debug, Clone)]
pub struct FormToken {
    pub scope: IdempotencyScope,
    /// What the first sending made (its id or URL), kept with the token.
    pub made: String,
}

impl FormToken {
    /// Adds the token's record to `transaction`; its slot fails when the token was used.
    fn push(&self, transaction: &mut Transaction) -> Result<Slot, StoreError> {
        let (record, values) = completed_record(&self.scope, &StoredResponse { status: 200, body: self.made.clone() });
        transaction.put_if(record, KEY_IS_FREE, values)
    }
}

/// What makes a creation happen at most once: the one-time token of the form it came
/// from, or the `Idempotency-Key` of the API request, whose answer is kept for replay.
/// Either is recorded in the transaction that creates, so only one sending can commit.
#[derive(Debug)]
pub enum Once<'a, T> {
    Form(&'a FormToken),
    Request(&'a Completion<T>),
}

impl<T> Clone for Once<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Once<'_, T> {}

impl<T> Once<'_, T> {
    pub(crate) fn scope(&self) -> &IdempotencyScope {
        match self {
            Once::Form(form) => &form.scope,
            Once::Request(completion) => &completion.scope,
        }
    }

    /// Adds the token's or key's record to `transaction`, completed with what `result`
    /// answers; its slot fails when an earlier sending recorded it.
    fn push(&self, transaction: &mut Transaction, result: &T) -> Result<Slot, StoreError> {
        match self {
            Once::Form(form) => form.push(transaction),
            Once::Request(completion) => completion.push(transaction, result),
        }
    }
}

/// The record of `scope`'s key completed with `response`, and the values `KEY_IS_FREE`
/// needs.
fn completed_record(
    scope: &IdempotencyScope,
    response: &StoredResponse,
) -> (Item, Vec<(&'static str, AttributeValue)>) {
    let at = epoch_seconds();
    let record = item(&scope.key())
        .s("fingerprint", &scope.fingerprint)
        .s("claim_state", "completed")
        .time("created_at", Timestamp::now())
        .n("expires_at", at + TTL_SECS)
        .n("response_status", i64::from(response.status))
        .s("response_body", &response.body)
        .build();
    let values = vec![
        (":now", n(at)),
        (":in_progress", AttributeValue::S("in_progress".into())),
        (":fingerprint", AttributeValue::S(scope.fingerprint.clone())),
    ];
    (record, values)
}

pub(crate) fn epoch_seconds() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

impl Store {
    /// What an earlier request with `scope`'s key left, read now.
    pub async fn prior_use(&self, scope: &IdempotencyScope) -> Result<Option<PriorUse>, StoreError> {
        Ok(scope.prior_use(self.get(&scope.key()).await?.as_ref()))
    }

    /// The error for a transaction whose key record failed its condition: the request
    /// that recorded the key first, or `Contended` if its record is already gone again.
    pub(crate) async fn key_taken(&self, scope: &IdempotencyScope) -> StoreError {
        match self.prior_use(scope).await {
            Ok(Some(prior)) => StoreError::KeyUsed(prior),
            Ok(None) => StoreError::Contended,
            Err(error) => error,
        }
    }

    /// Commits `transaction`, which makes `result`, with `once`'s token or key recorded in
    /// it when there is one: one already used is `KeyUsed` with the use that holds it (a
    /// request's first answer, to replay), and any other cancellation is what
    /// `on_cancelled` makes of it.
    pub(crate) async fn transact_once<T>(
        &self,
        mut transaction: Transaction,
        once: Option<Once<'_, T>>,
        result: &T,
        on_cancelled: impl Fn(&Cancelled) -> StoreError,
    ) -> Result<(), StoreError> {
        let token = once.map(|once| once.push(&mut transaction, result)).transpose()?;
        let outcome = self
            .transact(transaction, |cancelled| match token {
                Some(token) if cancelled.failed(token) => StoreError::KeyUsed(PriorUse::InProgress),
                _ => on_cancelled(cancelled),
            })
            .await;
        match (outcome, once) {
            (Err(StoreError::KeyUsed(_)), Some(once)) => Err(self.key_taken(once.scope()).await),
            (outcome, _) => outcome,
        }
    }

    /// Records `response` as the key's first answer for an outcome that moved nothing but
    /// must be replayed (a 402: the first answer stands for the key). When another
    /// request recorded the key first, that is `KeyUsed` with its answer.
    pub async fn keep_first_answer(
        &self,
        scope: &IdempotencyScope,
        response: &StoredResponse,
    ) -> Result<(), StoreError> {
        let (record, values) = completed_record(scope, response);
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(record))
            .condition_expression(KEY_IS_FREE)
            .set_expression_attribute_values(Some(values.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()))
            .send()
            .await;
        match put {
            Ok(_) => Ok(()),
            Err(error) if error.code() == Some("ConditionalCheckFailedException") => Err(self.key_taken(scope).await),
            Err(error) => Err(StoreError::from_sdk(error)),
        }
    }
}
