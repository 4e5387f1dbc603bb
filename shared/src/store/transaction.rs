//! One `TransactWriteItems` under construction. Each item pushed returns a named `Slot`,
//! so when DynamoDB cancels the transaction, the reason is matched to the item that
//! failed by its name (`cancelled.failed(debit)`), never by its position.

use aws_sdk_dynamodb::types::builders::{ConditionCheckBuilder, UpdateBuilder};
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, ConditionCheck, Delete, Put, TransactWriteItem, Update,
};

use super::StoreError;
use super::item::Item;
use super::layout::{Key, PK, SK};

/// An item's place in its transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slot(usize);

impl Slot {
    /// The item's place, counted from 0.
    pub(crate) fn index(self) -> usize {
        self.0
    }
}

/// The items of one transaction on one table, in the order they were pushed.
#[derive(Debug, Clone)]
pub(crate) struct Transaction {
    /// What the transaction does, for the error when it is cancelled unexpectedly.
    what: &'static str,
    table: String,
    items: Vec<TransactWriteItem>,
    /// The webhook events among the items, for the in-process outbox tap.
    events: Vec<crate::domain::Event>,
}

impl Transaction {
    pub(crate) fn new(what: &'static str, table: &str) -> Self {
        Transaction { what, table: table.to_owned(), items: Vec::new(), events: Vec::new() }
    }

    /// Puts `item`, which must not exist yet (its id is fresh, or it claims something once).
    pub(crate) fn put_new(&mut self, item: Item) -> Result<Slot, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(StoreError::dynamo)?;
        Ok(self.push(TransactWriteItem::builder().put(put).build()))
    }

    /// Puts `item` when `condition` holds, with `values` for its placeholders.
    pub(crate) fn put_if(
        &mut self,
        item: Item,
        condition: &str,
        values: Vec<(&'static str, AttributeValue)>,
    ) -> Result<Slot, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_values(Some(values.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()))
            .build()
            .map_err(StoreError::dynamo)?;
        Ok(self.push(TransactWriteItem::builder().put(put).build()))
    }

    /// Updates the item at `key` as `change` says (its expression, condition and values).
    pub(crate) fn update(
        &mut self,
        key: &Key,
        change: impl FnOnce(UpdateBuilder) -> UpdateBuilder,
    ) -> Result<Slot, StoreError> {
        // Only the caller's own `change` is generic: every Lambda links one copy of the rest.
        let update = change(self.update_of(key));
        self.push_update(update)
    }

    fn update_of(&self, key: &Key) -> UpdateBuilder {
        Update::builder().table_name(&self.table).set_key(Some(key.item()))
    }

    fn push_update(&mut self, update: UpdateBuilder) -> Result<Slot, StoreError> {
        let update = update.build().map_err(StoreError::dynamo)?;
        Ok(self.push(TransactWriteItem::builder().update(update).build()))
    }

    /// Holds the transaction to a condition on the item at `key` (`check` gives the
    /// expression and its values), writing nothing to it.
    pub(crate) fn check(
        &mut self,
        key: &Key,
        check: impl FnOnce(ConditionCheckBuilder) -> ConditionCheckBuilder,
    ) -> Result<Slot, StoreError> {
        let condition = check(ConditionCheck::builder().table_name(&self.table).set_key(Some(key.item())))
            .build()
            .map_err(StoreError::dynamo)?;
        Ok(self.push(TransactWriteItem::builder().condition_check(condition).build()))
    }

    /// Deletes the item at `key`, whether or not it exists.
    pub(crate) fn delete(&mut self, key: &Key) -> Result<Slot, StoreError> {
        let delete =
            Delete::builder().table_name(&self.table).set_key(Some(key.item())).build().map_err(StoreError::dynamo)?;
        Ok(self.push(TransactWriteItem::builder().delete(delete).build()))
    }

    /// Deletes the item at `key`, on condition that it exists: a failure means there was none.
    pub(crate) fn delete_existing(&mut self, key: &Key) -> Result<Slot, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key.item()))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(StoreError::dynamo)?;
        Ok(self.push(TransactWriteItem::builder().delete(delete).build()))
    }

    /// Adds an item built elsewhere (an idempotency claim's completion).
    pub(crate) fn push(&mut self, item: TransactWriteItem) -> Slot {
        self.items.push(item);
        Slot(self.items.len() - 1)
    }

    /// Notes that the last item pushed is `event`'s outbox item.
    pub(crate) fn carries(&mut self, event: crate::domain::Event) {
        self.events.push(event);
    }

    /// The events this transaction writes.
    pub(crate) fn events(&self) -> &[crate::domain::Event] {
        &self.events
    }

    pub(crate) fn items(&self) -> &[TransactWriteItem] {
        &self.items
    }

    /// How many items the transaction holds.
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// Updates the item at `key` as `change` says, in `slot` instead of what was pushed
    /// there (a batch's wallet update in place of its first movement's).
    pub(crate) fn replace_update(
        &mut self,
        slot: Slot,
        key: &Key,
        change: impl FnOnce(UpdateBuilder) -> UpdateBuilder,
    ) -> Result<(), StoreError> {
        let update = change(self.update_of(key)).build().map_err(StoreError::dynamo)?;
        let Slot(index) = slot;
        let replaced = self.items.get_mut(index).ok_or_else(|| StoreError::Dynamo("no item in that slot".into()))?;
        *replaced = TransactWriteItem::builder().update(update).build();
        Ok(())
    }

    /// Takes in `other`'s items, all but the one in `skip`, and the events it carries.
    pub(crate) fn absorb(&mut self, other: Transaction, skip: Slot) {
        let Slot(skipped) = skip;
        self.items
            .extend(other.items.into_iter().enumerate().filter(|(index, _)| *index != skipped).map(|(_, item)| item));
        self.events.extend(other.events);
    }

    /// The key of every item, in order: a transaction may not hold two operations on one
    /// item.
    pub(crate) fn keys(&self) -> impl Iterator<Item = Option<(&str, &str)>> {
        self.items.iter().map(key_of)
    }
}

/// The partition and sort key of the item `operation` writes or checks.
fn key_of(operation: &TransactWriteItem) -> Option<(&str, &str)> {
    let item = operation
        .put()
        .map(Put::item)
        .or_else(|| operation.update().map(Update::key))
        .or_else(|| operation.delete().map(Delete::key))
        .or_else(|| operation.condition_check().map(ConditionCheck::key))?;
    let text = |name: &str| item.get(name).and_then(|value| value.as_s().ok()).map(String::as_str);
    Some((text(PK)?, text(SK)?))
}

/// The cancellation reason of an item whose condition failed.
const CONDITION_FAILED: &str = "ConditionalCheckFailed";

/// Why DynamoDB cancelled a transaction: one reason per item.
#[derive(Debug, Clone)]
pub(crate) struct Cancelled {
    what: &'static str,
    reasons: Vec<CancellationReason>,
}

impl Cancelled {
    pub(crate) fn new(transaction: &Transaction, reasons: Vec<CancellationReason>) -> Self {
        Cancelled { what: transaction.what, reasons }
    }

    /// Whether the condition of the item in `slot` failed; `None` (an item that was not
    /// pushed this time) never did.
    pub(crate) fn failed(&self, slot: impl Into<Option<Slot>>) -> bool {
        slot.into().and_then(|Slot(index)| self.reasons.get(index)).and_then(CancellationReason::code)
            == Some(CONDITION_FAILED)
    }

    /// Whether the condition of any item from `first` on failed: in a batch, those are
    /// the movements that joined the first one's transaction.
    pub(crate) fn failed_from(&self, first: usize) -> bool {
        self.reasons.iter().skip(first).any(|reason| reason.code() == Some(CONDITION_FAILED))
    }

    /// The item in `slot` as it was when its condition failed, when the transaction asked
    /// for it (`ReturnValuesOnConditionCheckFailure::AllOld`) and the engine gave it.
    pub(crate) fn item_of(&self, slot: Slot) -> Option<&Item> {
        let Slot(index) = slot;
        self.reasons.get(index).filter(|_| self.failed(slot)).and_then(CancellationReason::item)
    }

    /// A cancellation no item explains: a bug, reported with every reason DynamoDB gave.
    pub(crate) fn unexpected(&self) -> StoreError {
        let codes: Vec<&str> = self.reasons.iter().map(|reason| reason.code().unwrap_or("-")).collect();
        StoreError::Dynamo(format!("{} transaction cancelled: {codes:?}", self.what).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cancelled(codes: &[&str]) -> Cancelled {
        let transaction = Transaction::new("test", "table");
        Cancelled::new(
            &transaction,
            codes.iter().map(|code| CancellationReason::builder().code(*code).build()).collect(),
        )
    }

    #[test]
    fn a_cancellation_names_the_slot_whose_condition_failed() {
        let mut transaction = Transaction::new("test", "table");
        let first = transaction.push(TransactWriteItem::builder().build());
        let second = transaction.push(TransactWriteItem::builder().build());

        let reasons = cancelled(&["None", "ConditionalCheckFailed"]);

        assert!(!reasons.failed(first));
        assert!(reasons.failed(second));
        assert!(!reasons.failed(None), "an item not pushed never failed");
    }

    #[test]
    fn an_unexpected_cancellation_lists_every_reason() {
        let error = cancelled(&["None", "ValidationError"]).unexpected();
        assert!(error.to_string().contains("DynamoDB call failed"), "{error}");
        let StoreError::Dynamo(cause) = error else { panic!("a DynamoDB failure") };
        assert_eq!(cause.to_string(), r#"test transaction cancelled: ["None", "ValidationError"]"#);
    }
}
