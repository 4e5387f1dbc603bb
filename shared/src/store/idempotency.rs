//! Idempotency records: the first request with a key claims it; the transaction that
//! moves the money also completes the record with the response, so a retry replays
//! that response and the money moves at most once.
//!
//! A claim is a lease: if the Lambda holding it dies, the key frees itself after
//! `LEASE_SECS`, and a late completion by the old holder fails its `claim_token`
//! condition, cancelling its whole transaction.

use std::time::Duration;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};

use super::item::{Item, item, key, read};
use super::{Store, StoreError};
use crate::domain::{IdempotencyKey, Mode, PartnerId, now};

/// Keys live 24 hours (DynamoDB TTL deletes the record; until it does, an expired record
/// counts as absent).
const TTL_SECS: i64 = 24 * 60 * 60;
/// Longer than any request may run (Lambda timeout), so a live claim is never stolen.
const LEASE_SECS: i64 = 30;
const SK: &str = "IDEMPOTENCY";

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
    fn pk(&self) -> String {
        format!("IDEMPOTENCY#{}#{}#{}", self.partner, self.mode, self.key.as_str())
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

/// An idempotency claim to complete in the transaction that does the work, with the
/// response to keep. The response is rendered from the result `T` as written (an order's
/// `wallet_balance_after` is only known inside the store's retry loop).
pub struct Completion<'a, T> {
    pub scope: &'a IdempotencyScope,
    pub token: &'a ClaimToken,
    pub render: &'a (dyn Fn(&T) -> StoredResponse + Send + Sync),
}

impl<T> std::fmt::Debug for Completion<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Completion").field("scope", self.scope).finish_non_exhaustive()
    }
}

impl<T> Completion<'_, T> {
    /// The transaction item completing the claim with the response for `result`.
    pub(crate) fn item(&self, store: &Store, result: &T) -> Result<TransactWriteItem, StoreError> {
        store.complete_claim(self.scope, self.token, &(self.render)(result))
    }
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
            let record = item(scope.pk(), SK)
                .s("fingerprint", &scope.fingerprint)
                .s("claim_state", "in_progress")
                .s("claim_token", &token.0)
                .s("created_at", now())
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
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(scope.pk(), SK)))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(output.item)
    }

    /// Completes the claim with `response`, as one item of the transaction that does the
    /// work. Fails the transaction if the claim was lost (its lease expired and another
    /// request took the key).
    pub(crate) fn complete_claim(
        &self,
        scope: &IdempotencyScope,
        token: &ClaimToken,
        response: &StoredResponse,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(scope.pk(), SK)))
            .update_expression(
                "SET claim_state = :completed, response_status = :status, response_body = :body REMOVE locked_until",
            )
            .condition_expression("claim_token = :token AND claim_state = :in_progress")
            .expression_attribute_values(":completed", AttributeValue::S("completed".into()))
            .expression_attribute_values(":in_progress", AttributeValue::S("in_progress".into()))
            .expression_attribute_values(":status", n(i64::from(response.status)))
            .expression_attribute_values(":body", AttributeValue::S(response.body.clone()))
            .expression_attribute_values(":token", AttributeValue::S(token.0.clone()))
            .build()
            .map_err(StoreError::dynamo)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Completes the claim on its own, for an outcome that moved no money but must be
    /// replayed (a 402: the first answer stands for the key).
    pub async fn record_idempotent_response(
        &self,
        scope: &IdempotencyScope,
        token: &ClaimToken,
        response: &StoredResponse,
    ) -> Result<(), StoreError> {
        let item = self.complete_claim(scope, token, response)?;
        self.transact(vec![item], |_| StoreError::IdempotencyLost).await
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
            .set_key(Some(key(scope.pk(), SK)))
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
