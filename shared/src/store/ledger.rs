//! Ledger entries and the wallet updates they go with: every balance change is an
//! `Update` of the wallet conditioned on the balance it was computed from, plus the
//! entry recording it, in the same transaction.

use aws_sdk_dynamodb::types::builders::UpdateBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};

use super::item::{Item, item, read};
use super::transaction::{Slot, Transaction};
use super::{Page, PageError, PageRequest, Store, StoreError, layout};
use crate::domain::{LedgerEntry, Mode, Money, MoneyError, PartnerId, Timestamp, Wallet};

/// Puts the entry as a new item (it never existed before: its id is fresh).
pub(crate) fn push_entry(
    transaction: &mut Transaction,
    partner: &PartnerId,
    entry: &LedgerEntry,
) -> Result<Slot, StoreError> {
    let item = item(&layout::ledger_entry(partner, entry.mode, &entry.id))
        .s("txn_id", entry.id.to_string())
        .s("mode", entry.mode.as_str())
        .s("type", entry.kind.as_str())
        .money("amount", entry.amount)
        .money("balance_after", entry.balance_after)
        .s("reference", &entry.reference)
        .time("created_at", entry.created_at)
        .build();
    transaction.put_new(item)
}

/// A wallet's balance change in a transaction: the item whose failed condition means
/// another change won the race (its cancellation reason carries the wallet as it is
/// now), and the wallet as it will be once the transaction commits.
#[derive(Debug, Clone)]
pub(crate) struct BalanceChange {
    pub(crate) slot: Slot,
    pub(crate) after: Wallet,
}

/// Moves `entry.amount` into `wallet` (as it was read) and records the entry, in one
/// transaction. The wallet update holds only while the balance is still the one read,
/// which makes `balance_after` exact, and it refuses a debit larger than the balance
/// even if the caller's arithmetic were wrong.
pub(crate) fn push_balance_change(
    transaction: &mut Transaction,
    partner: &PartnerId,
    wallet: &Wallet,
    entry: &LedgerEntry,
) -> Result<BalanceChange, StoreError> {
    let slot = transaction.update(&layout::wallet(partner, wallet.mode), |update| {
        balance_update(update, wallet.balance, entry.amount, entry.created_at)
    })?;
    push_entry(transaction, partner, entry)?;
    let after = Wallet { mode: wallet.mode, balance: entry.balance_after, updated_at: entry.created_at };
    Ok(BalanceChange { slot, after })
}

/// Turns the wallet update in `slot` into one that moves the wallet from `before` to
/// `after` at once: the update of a batch of movements built one on another, each with
/// its own ledger entry (ADR 0018). Held to the same condition: the balance is still
/// exactly `before`.
pub(crate) fn replace_balance_change(
    transaction: &mut Transaction,
    slot: Slot,
    partner: &PartnerId,
    before: &Wallet,
    after: &Wallet,
) -> Result<(), StoreError> {
    let amount = (after.balance - before.balance).map_err(beyond_limit(partner, before.mode))?;
    transaction.replace_update(slot, &layout::wallet(partner, before.mode), |update| {
        balance_update(update, before.balance, amount, after.updated_at)
    })
}

/// Adds `amount` to a wallet whose balance is exactly `expected`, never taking it below
/// zero.
fn balance_update(update: UpdateBuilder, expected: Money, amount: Money, at: Timestamp) -> UpdateBuilder {
    let floor = if amount.is_negative() { -amount } else { Money::ZERO };
    let number = |money: Money| AttributeValue::N(money.to_string());
    update
        .update_expression("SET balance = balance + :amount, updated_at = :at")
        .condition_expression("balance = :expected AND balance >= :floor")
        // A lost race answers with the wallet as the winner left it: the next round
        // starts from it without reading it again.
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .expression_attribute_values(":amount", number(amount))
        .expression_attribute_values(":expected", number(expected))
        .expression_attribute_values(":floor", number(floor))
        .expression_attribute_values(":at", AttributeValue::S(at.to_string()))
}

/// The error for a wallet whose balance cannot take a movement. Only a corrupt wallet
/// gets here: every amount and balance is held far below the limit.
pub(crate) fn beyond_limit(partner: &PartnerId, mode: Mode) -> impl FnOnce(MoneyError) -> StoreError {
    let wallet = layout::wallet(partner, mode);
    move |error| StoreError::Corrupt {
        key: format!("{}/{}", wallet.pk, wallet.sk),
        reason: format!("the balance {error}"),
    }
}

fn entry_from(item: &Item) -> Result<LedgerEntry, StoreError> {
    let item = read(item);
    Ok(LedgerEntry {
        id: item.parsed("txn_id")?,
        mode: item.parsed("mode")?,
        kind: item.parsed_with("type", |raw| raw.parse().ok())?,
        amount: item.money("amount")?,
        balance_after: item.money("balance_after")?,
        reference: item.s("reference")?.to_owned(),
        created_at: item.time("created_at")?,
    })
}

impl Store {
    /// A page of the wallet's ledger in `mode`, newest first.
    pub async fn ledger(
        &self,
        partner: &PartnerId,
        mode: Mode,
        page: &PageRequest,
    ) -> Result<Page<LedgerEntry>, PageError> {
        self.newest_first(&layout::ledger(partner, mode), page, entry_from).await
    }
}
