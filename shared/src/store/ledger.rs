//! Ledger entries and the wallet updates they go with: every balance change is an
//! `Update` of the wallet conditioned on the balance it was computed from, plus the
//! entry recording it, in the same transaction.

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};

use super::accounts::{put_new, wallet_sk};
use super::item::{Item, item, key, partner_pk, read};
use super::{Page, PageError, PageRequest, Store, StoreError};
use crate::domain::{LedgerEntry, Mode, Money, PartnerId, Timestamp};

pub(crate) fn ledger_prefix(mode: Mode) -> String {
    format!("LEDGER#{mode}#")
}

/// The entry as a new item (it never existed before: its id is fresh).
pub(crate) fn put_entry(
    table: &str,
    partner: &PartnerId,
    entry: &LedgerEntry,
) -> Result<TransactWriteItem, StoreError> {
    let item = item(partner_pk(partner), format!("{}{}", ledger_prefix(entry.mode), entry.id))
        .s("txn_id", entry.id.to_string())
        .s("mode", entry.mode.as_str())
        .s("type", entry.kind.as_str())
        .money("amount", entry.amount)
        .money("balance_after", entry.balance_after)
        .s("reference", &entry.reference)
        .s("created_at", &entry.created_at)
        .build();
    put_new(table, item)
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
        created_at: item.s("created_at")?.to_owned(),
    })
}

/// Adds `amount` (negative for a debit) to the wallet, only while its balance is still
/// `expected`. The condition makes `balance_after` in the ledger exact, and refuses a
/// debit larger than the balance even if the caller's arithmetic were wrong.
pub(crate) fn change_balance(
    table: &str,
    partner: &PartnerId,
    mode: Mode,
    expected: Money,
    amount: Money,
    at: &Timestamp,
) -> Result<TransactWriteItem, StoreError> {
    let floor = if amount.is_negative() { -amount } else { Money::ZERO };
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(key(partner_pk(partner), wallet_sk(mode))))
        .update_expression("SET balance = balance + :amount, updated_at = :at")
        .condition_expression("balance = :expected AND balance >= :floor")
        .expression_attribute_values(":amount", AttributeValue::N(amount.to_string()))
        .expression_attribute_values(":expected", AttributeValue::N(expected.to_string()))
        .expression_attribute_values(":floor", AttributeValue::N(floor.to_string()))
        .expression_attribute_values(":at", AttributeValue::S(at.clone()))
        .build()
        .map_err(StoreError::dynamo)?;
    Ok(TransactWriteItem::builder().update(update).build())
}

impl Store {
    /// A page of the wallet's ledger in `mode`, newest first.
    pub async fn ledger(
        &self,
        partner: &PartnerId,
        mode: Mode,
        page: &PageRequest,
    ) -> Result<Page<LedgerEntry>, PageError> {
        let found = self.newest_first(&partner_pk(partner), &ledger_prefix(mode), page).await?;
        let items = found.items.iter().map(entry_from).collect::<Result<_, _>>()?;
        Ok(Page { items, next: found.next })
    }
}
