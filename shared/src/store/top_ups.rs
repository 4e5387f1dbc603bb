//! Top-up requests. A live request is written `pending` with a pointer item (so ops can
//! find it by id) and index keys (so ops can list it by status). Approving it is ONE
//! transaction: the status change conditioned on `pending`, the live wallet credit and
//! the `top_up_credit` ledger entry, so it credits exactly once. A sandbox request is
//! written approved, with its fake-money credit, in its own single transaction.

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};

use super::accounts::put_new;
use super::idempotency::Completion;
use super::item::{Item, item, key, partner_pk, read};
use super::ledger::{change_balance, put_entry};
use super::page::Listing;
use super::{Page, PageError, PageRequest, Store, StoreError, condition_failed_at};
use crate::domain::{
    Decider, LedgerEntry, LedgerKind, Mode, PartnerId, RejectionReason, RequestTopUp, Timestamp, TopUpId, TopUpRequest,
    TopUpStatus, TransactionId, now,
};

/// The index listing live requests by status; see template.yaml.
const BY_STATUS: (&str, &str, &str) = ("by_status", "gsi1pk", "gsi1sk");
/// How many times an approval re-reads a wallet that changed under it (see orders.rs).
const WALLET_RACES: u32 = 40;

fn top_up_prefix(mode: Mode) -> String {
    format!("TOPUP#{mode}#")
}

fn top_up_sk(mode: Mode, id: &TopUpId) -> String {
    format!("{}{id}", top_up_prefix(mode))
}

fn pointer_pk(id: &TopUpId) -> String {
    format!("TOPUP#{id}")
}

fn status_pk(status: TopUpStatus) -> String {
    format!("TOPUP#{}", status.as_str())
}

/// Index sort key: creation time, then id, so ops see the oldest pending request first.
fn status_sk(request: &TopUpRequest) -> String {
    format!("{}#{}", request.created_at, request.id)
}

fn top_up_item(request: &TopUpRequest) -> Item {
    let mut builder = item(partner_pk(&request.partner_id), top_up_sk(request.mode, &request.id))
        .s("topup_id", request.id.to_string())
        .s("partner_id", request.partner_id.to_string())
        .s("mode", request.mode.as_str())
        .money("amount", request.amount)
        .s("currency", "USD")
        .s("status", request.status.as_str())
        .s_opt("payment_reference", request.payment_reference.clone())
        .s_opt("note", request.note.clone())
        .s("created_at", &request.created_at)
        .s_opt("decided_at", request.decided_at.clone())
        .s_opt("decided_by", request.decided_by.as_ref().map(ToString::to_string));
    if request.mode == Mode::Live {
        builder = builder.s(BY_STATUS.1, status_pk(request.status)).s(BY_STATUS.2, status_sk(request));
    }
    builder.build()
}

fn top_up_from(item: &Item) -> Result<TopUpRequest, StoreError> {
    let item = read(item);
    Ok(TopUpRequest {
        id: item.parsed("topup_id")?,
        partner_id: item.parsed("partner_id")?,
        mode: item.parsed("mode")?,
        amount: item.money("amount")?,
        status: item.parsed("status")?,
        payment_reference: item.s_opt("payment_reference")?.map(str::to_owned),
        note: item.s_opt("note")?.map(str::to_owned),
        created_at: item.s("created_at")?.to_owned(),
        decided_at: item.s_opt("decided_at")?.map(str::to_owned),
        // Absent on pending requests and on those decided before deciders were recorded.
        decided_by: item.parsed_opt("decided_by")?,
        reason: item.s_opt("reason")?.map(str::to_owned),
    })
}

/// The ledger entry crediting `request` to a wallet that holds `balance_before`.
fn credit_entry(request: &TopUpRequest, balance_before: crate::domain::Money, at: &str) -> LedgerEntry {
    LedgerEntry {
        id: TransactionId::generate(),
        mode: request.mode,
        kind: LedgerKind::TopUpCredit,
        amount: request.amount,
        balance_after: balance_before + request.amount,
        reference: request.id.to_string(),
        created_at: at.to_owned(),
    }
}

/// Positions in the approval transaction.
const STATUS_CHANGE: usize = 0;
const CREDIT: usize = 1;

impl Store {
    /// Records a top-up request: pending when live; approved and credited in the same
    /// transaction when sandbox.
    #[tracing::instrument(skip_all, fields(partner_id = %command.partner_id, mode = %command.mode))]
    pub async fn request_top_up(
        &self,
        command: &RequestTopUp,
        completion: Option<Completion<'_, TopUpRequest>>,
    ) -> Result<TopUpRequest, StoreError> {
        let request = command.request();
        let pointer = item(pointer_pk(&request.id), "TOPUP")
            .s("partner_id", request.partner_id.to_string())
            .s("mode", request.mode.as_str())
            .build();
        for race in 0..WALLET_RACES {
            let mut items = vec![put_new(&self.table, top_up_item(&request))?, put_new(&self.table, pointer.clone())?];
            if request.status == TopUpStatus::Approved {
                let wallet = self.wallet(&request.partner_id, request.mode).await?;
                let entry = credit_entry(&request, wallet.balance, &request.created_at);
                items.push(change_balance(
                    &self.table,
                    &request.partner_id,
                    request.mode,
                    wallet.balance,
                    request.amount,
                    &request.created_at,
                )?);
                items.push(put_entry(&self.table, &request.partner_id, &entry)?);
            }
            let idempotency_at = items.len();
            if let Some(completion) = &completion {
                items.push(completion.item(self, &request)?);
            }
            let written = self
                .transact(items, |reasons| {
                    if condition_failed_at(reasons, idempotency_at) {
                        StoreError::IdempotencyLost
                    } else if condition_failed_at(reasons, 2) {
                        StoreError::Contended
                    } else {
                        StoreError::Dynamo(format!("top-up request transaction cancelled: {reasons:?}").into())
                    }
                })
                .await;
            match written {
                Ok(()) => return Ok(request),
                Err(StoreError::Contended) => super::orders::pause_after_race(race).await,
                Err(other) => return Err(other),
            }
        }
        Err(StoreError::Contended)
    }

    /// One of the partner's requests in `mode`; another partner's or mode's is `NotFound`.
    pub async fn top_up(&self, partner: &PartnerId, mode: Mode, id: &TopUpId) -> Result<TopUpRequest, StoreError> {
        let item = self.get(key(partner_pk(partner), top_up_sk(mode, id))).await?.ok_or(StoreError::NotFound)?;
        top_up_from(&item)
    }

    /// A page of the partner's requests in `mode`, newest first.
    pub async fn list_top_ups(
        &self,
        partner: &PartnerId,
        mode: Mode,
        page: &PageRequest,
    ) -> Result<Page<TopUpRequest>, PageError> {
        let found = self.newest_first(&partner_pk(partner), &top_up_prefix(mode), page).await?;
        let items = found.items.iter().map(top_up_from).collect::<Result<_, _>>()?;
        Ok(Page { items, next: found.next })
    }

    /// Any partner's request by its id alone (for ops), through its pointer item.
    pub async fn top_up_by_id(&self, id: &TopUpId) -> Result<TopUpRequest, StoreError> {
        let pointer = self.get(key(pointer_pk(id), "TOPUP")).await?.ok_or(StoreError::NotFound)?;
        let pointer = read(&pointer);
        self.top_up(&pointer.parsed("partner_id")?, pointer.parsed("mode")?, id).await
    }

    /// Live requests with `status`: pending ones oldest first (the queue ops work
    /// through), decided ones newest first. Served by the `by_status` index.
    pub async fn top_ups_by_status(
        &self,
        status: TopUpStatus,
        page: &PageRequest,
    ) -> Result<Page<TopUpRequest>, PageError> {
        let partition = status_pk(status);
        let listing = Listing {
            index: Some(BY_STATUS),
            partition: (BY_STATUS.1, &partition),
            sort_prefix: (BY_STATUS.2, ""),
            newest_first: status != TopUpStatus::Pending,
        };
        let found = self.list(listing, page).await?;
        let items = found.items.iter().map(top_up_from).collect::<Result<_, _>>()?;
        Ok(Page { items, next: found.next })
    }

    /// Approves a pending request: the status change (conditioned on `pending`, and
    /// recording who decided), the wallet credit and its ledger entry in ONE transaction,
    /// so parallel approvals credit exactly once. A decided request is `InvalidState`.
    #[tracing::instrument(skip_all, fields(topup_id = %id, decided_by = %by))]
    pub async fn approve_top_up(&self, id: &TopUpId, by: &Decider) -> Result<TopUpRequest, StoreError> {
        for race in 0..WALLET_RACES {
            let request = self.pending_top_up(id).await?;
            let wallet = self.wallet(&request.partner_id, request.mode).await?;
            let at = now();
            let (approved, status_change) = self.decide(&request, TopUpStatus::Approved, by, &at, None)?;
            let items = vec![
                status_change,
                change_balance(&self.table, &request.partner_id, request.mode, wallet.balance, request.amount, &at)?,
                put_entry(&self.table, &request.partner_id, &credit_entry(&request, wallet.balance, &at))?,
            ];
            let written = self
                .transact(items, |reasons| {
                    if condition_failed_at(reasons, STATUS_CHANGE) || condition_failed_at(reasons, CREDIT) {
                        StoreError::Contended
                    } else {
                        StoreError::Dynamo(format!("approval transaction cancelled: {reasons:?}").into())
                    }
                })
                .await;
            match written {
                Ok(()) => return Ok(approved),
                // Decided in parallel, or the wallet moved: read both again; the
                // request's status decides.
                Err(StoreError::Contended) => super::orders::pause_after_race(race).await,
                Err(other) => return Err(other),
            }
        }
        Err(StoreError::Contended)
    }

    /// Rejects a pending request with a reason the partner is told, recording who
    /// decided; no money moves.
    #[tracing::instrument(skip_all, fields(topup_id = %id, decided_by = %by))]
    pub async fn reject_top_up(
        &self,
        id: &TopUpId,
        by: &Decider,
        reason: &RejectionReason,
    ) -> Result<TopUpRequest, StoreError> {
        let request = self.pending_top_up(id).await?;
        let (rejected, change) = self.decide(&request, TopUpStatus::Rejected, by, &now(), Some(reason))?;
        match self.transact(vec![change], |_| StoreError::Contended).await {
            Ok(()) => Ok(rejected),
            Err(StoreError::Contended) => {
                let now_is = self.top_up_by_id(id).await?;
                Err(StoreError::InvalidState(format!("the top-up request is already {}", now_is.status.as_str())))
            }
            Err(other) => Err(other),
        }
    }

    async fn pending_top_up(&self, id: &TopUpId) -> Result<TopUpRequest, StoreError> {
        let request = self.top_up_by_id(id).await?;
        if request.status != TopUpStatus::Pending {
            return Err(StoreError::InvalidState(format!("the top-up request is already {}", request.status.as_str())));
        }
        Ok(request)
    }

    /// A decision on a pending request: the request as decided, and its status change,
    /// conditioned on the request still pending. Who decided is written in that same
    /// update, so a decision (and the credit it is part of) never exists without its
    /// decider. Both are built from the same values, so they cannot disagree.
    fn decide(
        &self,
        request: &TopUpRequest,
        status: TopUpStatus,
        by: &Decider,
        at: &Timestamp,
        reason: Option<&RejectionReason>,
    ) -> Result<(TopUpRequest, TransactWriteItem), StoreError> {
        let decided = TopUpRequest {
            status,
            decided_at: Some(at.clone()),
            decided_by: Some(by.clone()),
            reason: reason.map(ToString::to_string),
            ..request.clone()
        };
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(partner_pk(&request.partner_id), top_up_sk(request.mode, &request.id))))
            .update_expression(if reason.is_some() {
                "SET #status = :decided, decided_at = :at, decided_by = :by, gsi1pk = :index, reason = :reason"
            } else {
                "SET #status = :decided, decided_at = :at, decided_by = :by, gsi1pk = :index"
            })
            .condition_expression("#status = :pending")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":decided", AttributeValue::S(status.as_str().into()))
            .expression_attribute_values(":pending", AttributeValue::S(TopUpStatus::Pending.as_str().into()))
            .expression_attribute_values(":at", AttributeValue::S(at.clone()))
            .expression_attribute_values(":by", AttributeValue::S(by.to_string()))
            .expression_attribute_values(":index", AttributeValue::S(status_pk(status)));
        if let Some(reason) = reason {
            update = update.expression_attribute_values(":reason", AttributeValue::S(reason.to_string()));
        }
        let change = TransactWriteItem::builder().update(update.build().map_err(StoreError::dynamo)?).build();
        Ok((decided, change))
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::types::AttributeValue;

    use super::*;
    use crate::domain::{KeyId, Money, OperatorName};

    fn decided(by: Option<Decider>) -> TopUpRequest {
        TopUpRequest {
            id: TopUpId::generate(),
            partner_id: PartnerId::generate(),
            mode: Mode::Live,
            amount: Money::dollars(250),
            status: TopUpStatus::Approved,
            payment_reference: Some("WIRE-1".into()),
            note: None,
            created_at: "2025-01-02T03:04:05.000Z".into(),
            decided_at: Some("2025-01-03T03:04:05.000Z".into()),
            decided_by: by,
            reason: None,
        }
    }

    #[test]
    fn every_kind_of_decider_is_stored_as_one_string_and_read_back() {
        let alice = Decider::Cli(OperatorName::parse(Some("alice")).expect("a valid name"));
        let key_id = KeyId::generate();
        for (by, stored) in [
            (Decider::OpsKey(key_id), format!("ops_key:{key_id}")),
            (alice, "cli:alice".into()),
            (Decider::Sandbox, "sandbox".into()),
        ] {
            let request = decided(Some(by));
            let item = top_up_item(&request);

            assert_eq!(item.get("decided_by"), Some(&AttributeValue::S(stored)));
            assert_eq!(top_up_from(&item).expect("readable"), request);
        }
    }

    #[test]
    fn a_request_decided_before_deciders_were_recorded_still_reads_with_no_decider() {
        let request = decided(None);
        let item = top_up_item(&request);

        assert!(!item.contains_key("decided_by"), "nothing is written for an unknown decider");
        let read = top_up_from(&item).expect("an item without decided_by is readable");
        assert_eq!((read.status, read.decided_by), (TopUpStatus::Approved, None));
    }

    #[test]
    fn an_unreadable_decider_is_a_corrupt_item_not_a_missing_one() {
        let mut item = top_up_item(&decided(None));
        item.insert("decided_by".into(), AttributeValue::S("bob".into()));

        assert!(matches!(top_up_from(&item), Err(StoreError::Corrupt { .. })));
    }
}
