//! Top-up requests. A live request is written `pending` with a pointer item (so ops can
//! find it by id) and index keys (so ops can list it by status). Approving it is ONE
//! transaction: the status change conditioned on `pending`, the live wallet credit and
//! the `top_up_credit` ledger entry, so it credits exactly once. A sandbox request is
//! written approved, with its fake-money credit, in its own single transaction.

use aws_sdk_dynamodb::types::AttributeValue;

use super::idempotency::Completion;
use super::item::{Item, item, read};
use super::ledger::{beyond_limit, push_balance_change};
use super::movement::Attempt;
use super::page::Listing;
use super::transaction::{Slot, Transaction};
use super::webhooks::push_event_of;
use super::{Page, PageError, PageRequest, Store, StoreError, layout};
use crate::domain::{
    Decider, EventType, LedgerKind, Mode, PartnerId, RejectionReason, RequestTopUp, Timestamp, TopUpId, TopUpRequest,
    TopUpStatus,
};
use crate::views::{TopUpView, TransactionView};

fn top_up_item(request: &TopUpRequest) -> Item {
    let mut builder = item(&layout::top_up(&request.partner_id, request.mode, &request.id))
        .s("topup_id", request.id.to_string())
        .s("partner_id", request.partner_id.to_string())
        .s("mode", request.mode.as_str())
        .money("amount", request.amount)
        .s("currency", "USD")
        .s("status", request.status.as_str())
        .s_opt("payment_reference", request.payment_reference.clone())
        .s_opt("note", request.note.clone())
        .time("created_at", request.created_at)
        .time_opt("decided_at", request.decided_at)
        .s_opt("decided_by", request.decided_by.as_ref().map(ToString::to_string));
    if request.mode == Mode::Live {
        let index = layout::BY_STATUS;
        builder = builder
            .s(index.pk, layout::top_ups_with_status(request.status))
            .s(index.sk, layout::top_up_queue_position(&request.created_at, &request.id));
    }
    builder.build()
}

fn pointer_item(request: &TopUpRequest) -> Item {
    item(&layout::top_up_pointer(&request.id))
        .s("partner_id", request.partner_id.to_string())
        .s("mode", request.mode.as_str())
        .build()
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
        created_at: item.time("created_at")?,
        decided_at: item.time_opt("decided_at")?,
        // Absent on pending requests and on those decided before deciders were recorded.
        decided_by: item.parsed_opt("decided_by")?,
        reason: item.s_opt("reason")?.map(str::to_owned),
    })
}

impl Store {
    /// Records a top-up request: pending when live; approved and credited in the same
    /// transaction when sandbox.
    #[tracing::instrument(skip_all, fields(partner_id = %command.partner_id, mode = %command.mode))]
    pub async fn request_top_up(
        &self,
        command: &RequestTopUp,
        completion: Option<Completion<TopUpRequest>>,
    ) -> Result<TopUpRequest, StoreError> {
        let request = command.request();
        let (partner, mode) = (&request.partner_id, request.mode);
        // A sandbox request is requested and approved at once: both events, in its one
        // transaction (with `wallet.credited`).
        let record = |transaction: &mut Transaction| -> Result<Option<Slot>, StoreError> {
            transaction.put_new(top_up_item(&request))?;
            transaction.put_new(pointer_item(&request))?;
            let (view, at) = (TopUpView::from(&request), request.created_at);
            push_event_of(transaction, partner, mode, EventType::TopUpRequested, at, &view)?;
            if request.status == TopUpStatus::Approved {
                push_event_of(transaction, partner, mode, EventType::TopUpApproved, at, &view)?;
            }
            completion.as_ref().map(|completion| completion.push(transaction, &request)).transpose()
        };
        if request.status != TopUpStatus::Approved {
            if let Some(completion) = &completion {
                // A replay is answered without writing (and without a failed transaction).
                completion.check(self.get(&completion.scope.key()).await?.as_ref())?;
            }
            let mut transaction = self.transaction("top-up request");
            let claim = record(&mut transaction)?;
            let written = self
                .transact(transaction, |cancelled| {
                    if cancelled.failed(claim) { StoreError::Contended } else { cancelled.unexpected() }
                })
                .await;
            return match (written, &completion) {
                (Ok(()), _) => Ok(request),
                // Another request recorded the key between the read and the write.
                (Err(StoreError::Contended), Some(completion)) if claim.is_some() => {
                    Err(self.key_taken(&completion.scope).await)
                }
                (Err(error), _) => Err(error),
            };
        }
        let keys: Vec<_> = completion.iter().map(|completion| completion.scope.key()).collect();
        self.move_money_reading(partner, mode, &keys, |wallet, found| {
            let attempt = || {
                if let Some(completion) = &completion {
                    completion.check(found.first().and_then(Option::as_ref))?;
                }
                // Made when built, like every movement's entry: a request that waited for
                // the wallet is listed after the movements it waited for.
                let credit = wallet
                    .entry(LedgerKind::TopUpCredit, request.amount, request.id, Timestamp::now())
                    .map_err(beyond_limit(partner, mode))?;
                let mut transaction = self.transaction("sandbox top-up");
                let credited = push_balance_change(&mut transaction, partner, &wallet, &credit)?;
                let (at, credit) = (credit.created_at, TransactionView::from(credit));
                push_event_of(&mut transaction, partner, mode, EventType::WalletCredited, at, &credit)?;
                let claim = record(&mut transaction)?;
                Ok(Attempt { transaction, wallet: credited, raced: vec![], claim, outcome: request.clone() })
            };
            std::future::ready(attempt())
        })
        .await
    }

    /// One of the partner's requests in `mode`; another partner's or mode's is `NotFound`.
    pub async fn top_up(&self, partner: &PartnerId, mode: Mode, id: &TopUpId) -> Result<TopUpRequest, StoreError> {
        top_up_from(&self.existing(&layout::top_up(partner, mode, id)).await?)
    }

    /// A page of the partner's requests in `mode`, newest first.
    pub async fn list_top_ups(
        &self,
        partner: &PartnerId,
        mode: Mode,
        page: &PageRequest,
    ) -> Result<Page<TopUpRequest>, PageError> {
        self.newest_first(&layout::top_ups(partner, mode), page, top_up_from).await
    }

    /// Whose request `id` is, through its pointer item (immutable once written).
    async fn top_up_owner(&self, id: &TopUpId) -> Result<(PartnerId, Mode), StoreError> {
        let pointer = self.existing(&layout::top_up_pointer(id)).await?;
        let pointer = read(&pointer);
        Ok((pointer.parsed("partner_id")?, pointer.parsed("mode")?))
    }

    /// Any partner's request by its id alone (for ops), through its pointer item.
    pub async fn top_up_by_id(&self, id: &TopUpId) -> Result<TopUpRequest, StoreError> {
        let (partner, mode) = self.top_up_owner(id).await?;
        self.top_up(&partner, mode, id).await
    }

    /// Whose live request `id` is: what ops may decide. A sandbox request is `NotFound`,
    /// as one never made is: it was decided as it was made, and ops never see it, so a
    /// decision on its id must not tell that it exists.
    async fn live_top_up_owner(&self, id: &TopUpId) -> Result<PartnerId, StoreError> {
        match self.top_up_owner(id).await? {
            (partner, Mode::Live) => Ok(partner),
            (_, Mode::Sandbox) => Err(StoreError::NotFound),
        }
    }

    /// Live requests with `status`: pending ones oldest first (the queue ops work
    /// through), decided ones newest first. Served by the `by_status` index.
    pub async fn top_ups_by_status(
        &self,
        status: TopUpStatus,
        page: &PageRequest,
    ) -> Result<Page<TopUpRequest>, PageError> {
        let index = layout::BY_STATUS;
        let partition = layout::top_ups_with_status(status);
        let listing = Listing {
            index: Some(index),
            partition: (index.pk, &partition),
            sort_prefix: (index.sk, ""),
            newest_first: status != TopUpStatus::Pending,
            only: None,
        };
        self.list(listing, page, top_up_from).await
    }

    /// Approves a pending live request: the status change (conditioned on `pending`, and
    /// recording who decided), the wallet credit and its ledger entry in ONE transaction,
    /// so parallel approvals credit exactly once. A decided request is `InvalidState`.
    #[tracing::instrument(skip_all, fields(topup_id = %id, decided_by = %by))]
    pub async fn approve_top_up(&self, id: &TopUpId, by: &Decider) -> Result<TopUpRequest, StoreError> {
        let (partner, mode) = (self.live_top_up_owner(id).await?, Mode::Live);
        self.move_money(&partner, mode, |wallet| async move {
            let request = pending(self.top_up(&partner, mode, id).await?)?;
            let at = Timestamp::now();
            let mut transaction = self.transaction("approval");
            let (approved, still_pending) = decide(&mut transaction, &request, TopUpStatus::Approved, by, at, None)?;
            let credit = wallet
                .entry(LedgerKind::TopUpCredit, request.amount, request.id, at)
                .map_err(beyond_limit(&partner, mode))?;
            let credited = push_balance_change(&mut transaction, &partner, &wallet, &credit)?;
            push_event_of(&mut transaction, &partner, mode, EventType::TopUpApproved, at, &TopUpView::from(&approved))?;
            let credit = TransactionView::from(credit);
            push_event_of(&mut transaction, &partner, mode, EventType::WalletCredited, at, &credit)?;
            // Decided in parallel, or the wallet moved: read both again; the request's
            // status decides.
            Ok(Attempt { transaction, wallet: credited, raced: vec![still_pending], claim: None, outcome: approved })
        })
        .await
    }

    /// Rejects a pending live request with a reason the partner is told, recording who
    /// decided; no money moves.
    #[tracing::instrument(skip_all, fields(topup_id = %id, decided_by = %by))]
    pub async fn reject_top_up(
        &self,
        id: &TopUpId,
        by: &Decider,
        reason: &RejectionReason,
    ) -> Result<TopUpRequest, StoreError> {
        let partner = self.live_top_up_owner(id).await?;
        let request = pending(self.top_up(&partner, Mode::Live, id).await?)?;
        let mut transaction = self.transaction("rejection");
        let at = Timestamp::now();
        let (rejected, still_pending) =
            decide(&mut transaction, &request, TopUpStatus::Rejected, by, at, Some(reason))?;
        let (partner, mode) = (&rejected.partner_id, rejected.mode);
        push_event_of(&mut transaction, partner, mode, EventType::TopUpRejected, at, &TopUpView::from(&rejected))?;
        let written = self
            .transact(transaction, |cancelled| {
                if cancelled.failed(still_pending) { StoreError::Contended } else { cancelled.unexpected() }
            })
            .await;
        match written {
            Ok(()) => Ok(rejected),
            // Decided in parallel: say how (a decided request never returns to pending).
            Err(StoreError::Contended) => {
                Err(pending(self.top_up_by_id(id).await?).err().unwrap_or(StoreError::Contended))
            }
            Err(other) => Err(other),
        }
    }
}

/// `request`, if it still waits for a decision; otherwise `InvalidState` naming its status
/// (what a decision on it answers, and the console says before asking for a reason).
pub fn pending(request: TopUpRequest) -> Result<TopUpRequest, StoreError> {
    if request.status != TopUpStatus::Pending {
        return Err(StoreError::InvalidState(format!("the top-up request is already {}", request.status.as_str())));
    }
    Ok(request)
}

/// A decision on a pending request: the request as decided, and the slot of its status
/// change, conditioned on the request still pending. Who decided is written in that
/// same update, so a decision (and the credit it is part of) never exists without its
/// decider. Both are built from the same values, so they cannot disagree.
fn decide(
    transaction: &mut Transaction,
    request: &TopUpRequest,
    status: TopUpStatus,
    by: &Decider,
    at: Timestamp,
    reason: Option<&RejectionReason>,
) -> Result<(TopUpRequest, Slot), StoreError> {
    let decided = TopUpRequest {
        status,
        decided_at: Some(at),
        decided_by: Some(by.clone()),
        reason: reason.map(ToString::to_string),
        ..request.clone()
    };
    let text = |value: &str| AttributeValue::S(value.to_owned());
    let key = layout::top_up(&request.partner_id, request.mode, &request.id);
    let slot = transaction.update(&key, |update| {
        let update = update
            .update_expression(if reason.is_some() {
                "SET #status = :decided, decided_at = :at, decided_by = :by, #queue = :queue, reason = :reason"
            } else {
                "SET #status = :decided, decided_at = :at, decided_by = :by, #queue = :queue"
            })
            .condition_expression("#status = :pending")
            .expression_attribute_names("#status", "status")
            // The request moves to its new status's queue of the `by_status` index.
            .expression_attribute_names("#queue", layout::BY_STATUS.pk)
            .expression_attribute_values(":decided", text(status.as_str()))
            .expression_attribute_values(":pending", text(TopUpStatus::Pending.as_str()))
            .expression_attribute_values(":at", text(&at.to_string()))
            .expression_attribute_values(":by", text(&by.to_string()))
            .expression_attribute_values(":queue", text(&layout::top_ups_with_status(status)));
        match reason {
            Some(reason) => update.expression_attribute_values(":reason", text(reason.as_str())),
            None => update,
        }
    })?;
    Ok((decided, slot))
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
            created_at: "2025-01-02T03:04:05.000Z".parse().expect("a time"),
            decided_at: Some("2025-01-03T03:04:05.000Z".parse().expect("a time")),
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
