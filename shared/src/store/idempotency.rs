//! Idempotency records: the first request with a key claims it; the transaction that
//! moves the money also completes the record with the response, so a retry replays
//! that response and the money moves at most once.
//!
//! A claim is a lease: if the Lambda holding it dies, the key frees itself after
//! `LEASE_SECS`, and a late completion by the old holder fails its `claim_token`
//! condition, cancelling its whole transaction.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;

use super::item::{Item, item, read};
use super::layout::Key;
use super::transaction::{Slot, Transaction};
use super::{Store, StoreError, layout};
use crate::domain::{IdempotencyKey, Mode, PartnerId, Timestamp};

/// Keys live 24 hours (DynamoDB TTL deletes the record; until it does, an expired record
/// counts as absent).
const TTL_SECS: i64 = 24 * 60 * 60;
/// Longer than any request may run (Lambda timeout), so a live claim is never stolen.
const LEASE_SECS: i64 = 30;

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
    fn key(&self) -> Key {
        layout::idempotency_record(&self.partner, self.mode, &self.key)
    }
}

/// Proof of holding a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimToken(String);

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

/// What claiming a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is ours: run the request.
    Acquired(ClaimToken),
    /// The request already ran: answer what it answered.
    Replay(StoredResponse),
    /// The first request with this key is still running.
    InProgress,
    /// The key was used for a different request.
    KeyReused,
}

/// Renders the response a result stands for, in the form kept for replay.
pub type Render<T> = Arc<dyn Fn(&T) -> Result<StoredResponse, serde_json::Error> + Send + Sync>;

/// A held idempotency claim, to complete in the transaction that does the work, with the
/// response to keep. The response is rendered from the result `T` as written (an
/// order's `wallet_balance_after` is only known inside the store's wallet loop).
pub struct Completion<T> {
    pub scope: IdempotencyScope,
    pub token: ClaimToken,
    pub render: Render<T>,
}

impl<T> std::fmt::Debug for Completion<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Completion").field("scope", &self.scope).finish_non_exhaustive()
    }
}

impl<T> Completion<T> {
    /// Adds the claim's completion with the response for `result` to `transaction`; its
    /// slot fails when the claim was lost.
    pub(crate) fn push(&self, transaction: &mut Transaction, result: &T) -> Result<Slot, StoreError> {
        let response = (self.render)(result).map_err(StoreError::Unrecordable)?;
        complete_claim(transaction, &self.scope, &self.token, &response)
    }
}

/// Completes the claim with `response`, as one item of the transaction that does the
/// work. Fails the transaction if the claim was lost (its lease expired and another
/// request took the key).
fn complete_claim(
    transaction: &mut Transaction,
    scope: &IdempotencyScope,
    token: &ClaimToken,
    response: &StoredResponse,
) -> Result<Slot, StoreError> {
    transaction.update(&scope.key(), |update| {
        update
            .update_expression(
                "SET claim_state = :completed, response_status = :status, response_body = :body REMOVE locked_until",
            )
            .condition_expression("claim_token = :token AND claim_state = :in_progress")
            .expression_attribute_values(":completed", AttributeValue::S("completed".into()))
            .expression_attribute_values(":in_progress", AttributeValue::S("in_progress".into()))
            .expression_attribute_values(":status", n(i64::from(response.status)))
            .expression_attribute_values(":body", AttributeValue::S(response.body.clone()))
            .expression_attribute_values(":token", AttributeValue::S(token.0.clone()))
    })
}

pub(crate) fn epoch_seconds() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

impl Store {
    /// Claims `scope`'s key, or says why it cannot be.
    pub async fn claim_idempotency_key(&self, scope: &IdempotencyScope) -> Result<Claim, StoreError> {
        // A record can vanish between the failed put and the read (TTL, a release):
        // then the put is simply tried again.
        for _ in 0..3 {
            let token = ClaimToken(ulid::Ulid::new().to_string());
            let at = epoch_seconds();
            let record = item(&scope.key())
                .s("fingerprint", &scope.fingerprint)
                .s("claim_state", "in_progress")
                .s("claim_token", &token.0)
                .time("created_at", Timestamp::now())
                .n("locked_until", at + LEASE_SECS)
                .n("expires_at", at + TTL_SECS)
                .build();
            let put = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(record))
                .condition_expression(
                    "attribute_not_exists(pk) OR expires_at < :now \
                     OR (claim_state = :in_progress AND locked_until < :now AND fingerprint = :fingerprint)",
                )
                .expression_attribute_values(":now", n(at))
                .expression_attribute_values(":in_progress", AttributeValue::S("in_progress".into()))
                .expression_attribute_values(":fingerprint", AttributeValue::S(scope.fingerprint.clone()))
                .send()
                .await;
            match put {
                Ok(_) => return Ok(Claim::Acquired(token)),
                Err(error) if error.code() == Some("ConditionalCheckFailedException") => {}
                Err(error) => return Err(StoreError::from_sdk(error)),
            }
            if let Some(existing) = self.idempotency_record(scope).await? {
                return Ok(Self::claim_outcome(scope, &existing));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Err(StoreError::Contended)
    }

    fn claim_outcome(scope: &IdempotencyScope, record: &Item) -> Claim {
        let record = read(record);
        if record.s("fingerprint").ok() != Some(scope.fingerprint.as_str()) {
            return Claim::KeyReused;
        }
        let status = record.number("response_status").ok().and_then(|s| u16::try_from(s).ok());
        match (record.s("claim_state").ok(), status, record.s("response_body").ok()) {
            (Some("completed"), Some(status), Some(body)) => {
                Claim::Replay(StoredResponse { status, body: body.to_owned() })
            }
            _ => Claim::InProgress,
        }
    }

    async fn idempotency_record(&self, scope: &IdempotencyScope) -> Result<Option<Item>, StoreError> {
        self.get(&scope.key()).await
    }

    /// Completes the claim on its own, for an outcome that moved no money but must be
    /// replayed (a 402: the first answer stands for the key).
    pub async fn record_idempotent_response(
        &self,
        scope: &IdempotencyScope,
        token: &ClaimToken,
        response: &StoredResponse,
    ) -> Result<(), StoreError> {
        let mut transaction = self.transaction("idempotent refusal");
        let completed = complete_claim(&mut transaction, scope, token, response)?;
        self.transact(transaction, |cancelled| {
            if cancelled.failed(completed) { StoreError::IdempotencyLost } else { cancelled.unexpected() }
        })
        .await
    }

    /// Gives the key back, for an outcome that must not be replayed (validation against
    /// the catalog, an outage): a retry then runs afresh.
    pub async fn release_idempotency_key(
        &self,
        scope: &IdempotencyScope,
        token: &ClaimToken,
    ) -> Result<(), StoreError> {
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(scope.key().item()))
            .condition_expression("claim_token = :token AND claim_state = :in_progress")
            .expression_attribute_values(":token", AttributeValue::S(token.0.clone()))
            .expression_attribute_values(":in_progress", AttributeValue::S("in_progress".into()))
            .send()
            .await;
        match deleted {
            // Someone else holds the key now: theirs to keep.
            Err(error) if error.code() == Some("ConditionalCheckFailedException") => Ok(()),
            other => other.map(|_| ()).map_err(StoreError::from_sdk),
        }
    }
}
