//! Orders: placing one is ONE transaction (wallet debit, order, ledger entry, and the
//! idempotency record when there is one); cancelling is one transaction too (order
//! status, wallet credit, refund entry).
//!
//! Each balance change is conditioned on the balance it was computed from, so the
//! ledger's `balance_after` is exact. When a concurrent change wins, the wallet is read
//! again and the transaction rebuilt: every lost race means another change went
//! through, so the loop makes progress, and it is bounded (then 503, nothing written).

use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use rand::Rng;

use super::accounts::put_new;
use super::idempotency::Completion;
use super::item::{Item, item, key, partner_pk, read};
use super::ledger::{change_balance, put_entry};
use super::{Page, PageError, PageRequest, Store, StoreError, condition_failed_at};
use crate::domain::{
    LedgerEntry, LedgerKind, Mode, Order, OrderId, OrderStatus, PartnerId, PlaceOrder, Quantity, TransactionId, now,
};

/// How many times a money movement re-reads a wallet that changed under it. Each lost
/// race is another movement committed, so this is also how many concurrent movements
/// on one wallet a request can outlast.
const WALLET_RACES: u32 = 40;

fn order_prefix(mode: Mode) -> String {
    format!("ORDER#{mode}#")
}

fn order_sk(mode: Mode, id: &OrderId) -> String {
    format!("{}{id}", order_prefix(mode))
}

fn order_item(partner: &PartnerId, order: &Order) -> Item {
    item(partner_pk(partner), order_sk(order.mode, &order.id))
        .s("order_id", order.id.to_string())
        .s("mode", order.mode.as_str())
        .s("product_id", order.product_id.to_string())
        .n("quantity", i64::from(order.quantity.get()))
        .money("unit_price", order.unit_price)
        .money("total", order.total)
        .s("currency", "USD")
        .s("status", order.status.as_str())
        .s_opt("client_reference", order.client_reference.clone())
        .s("created_at", &order.created_at)
        .money("wallet_balance_after", order.wallet_balance_after)
        .build()
}

fn order_from(item: &Item) -> Result<Order, StoreError> {
    let item = read(item);
    let quantity = item.number("quantity")?;
    Ok(Order {
        id: item.parsed("order_id")?,
        mode: item.parsed("mode")?,
        product_id: item.parsed("product_id")?,
        quantity: Quantity::try_from(quantity).map_err(|_| StoreError::Corrupt {
            key: item.s("order_id").unwrap_or("?").to_owned(),
            reason: "quantity out of range".into(),
        })?,
        unit_price: item.money("unit_price")?,
        total: item.money("total")?,
        status: item.parsed_with("status", |raw| raw.parse().ok())?,
        client_reference: item.s_opt("client_reference")?.map(str::to_owned),
        created_at: item.s("created_at")?.to_owned(),
        cancelled_at: item.s_opt("cancelled_at")?.map(str::to_owned),
        wallet_balance_after: item.money("wallet_balance_after")?,
    })
}

/// A short random pause before re-reading a wallet that just changed.
pub(crate) async fn pause_after_race(race: u32) {
    let ceiling = 5 * u64::from(race.min(10)) + 5;
    // The generator is not Send: draw before awaiting.
    let pause = Duration::from_millis(rand::rng().random_range(1..=ceiling));
    tokio::time::sleep(pause).await;
}

/// Positions of the items in the place-order transaction.
const DEBIT: usize = 0;
const IDEMPOTENCY: usize = 3;

impl Store {
    /// Pays for and records an order. `InsufficientFunds` (nothing written) when the
    /// wallet cannot pay.
    #[tracing::instrument(skip_all, fields(partner_id = %command.partner_id, mode = %command.mode))]
    pub async fn place_order(
        &self,
        command: &PlaceOrder,
        completion: Option<Completion<'_, Order>>,
    ) -> Result<Order, StoreError> {
        let id = OrderId::generate();
        for race in 0..WALLET_RACES {
            let wallet = self.wallet(&command.partner_id, command.mode).await?;
            if wallet.balance < command.total {
                return Err(StoreError::InsufficientFunds { balance: wallet.balance, needed: command.total });
            }
            let order = command.order(id, wallet.balance + -command.total);
            let entry = LedgerEntry {
                id: TransactionId::generate(),
                mode: command.mode,
                kind: LedgerKind::OrderDebit,
                amount: -command.total,
                balance_after: order.wallet_balance_after,
                reference: order.id.to_string(),
                created_at: order.created_at.clone(),
            };
            let mut items = vec![
                change_balance(
                    &self.table,
                    &command.partner_id,
                    command.mode,
                    wallet.balance,
                    -command.total,
                    &order.created_at,
                )?,
                put_new(&self.table, order_item(&command.partner_id, &order))?,
                put_entry(&self.table, &command.partner_id, &entry)?,
            ];
            if let Some(completion) = &completion {
                items.push(completion.item(self, &order)?);
            }
            let written = self
                .transact(items, |reasons| {
                    if condition_failed_at(reasons, IDEMPOTENCY) {
                        StoreError::IdempotencyLost
                    } else if condition_failed_at(reasons, DEBIT) {
                        StoreError::Contended
                    } else {
                        StoreError::Dynamo(format!("place-order transaction cancelled: {reasons:?}").into())
                    }
                })
                .await;
            match written {
                Ok(()) => return Ok(order),
                Err(StoreError::Contended) => pause_after_race(race).await,
                Err(other) => return Err(other),
            }
        }
        Err(StoreError::Contended)
    }

    /// One order of the partner in `mode`; another partner's or mode's is `NotFound`.
    pub async fn order(&self, partner: &PartnerId, mode: Mode, id: &OrderId) -> Result<Order, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(partner_pk(partner), order_sk(mode, id))))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        order_from(&output.item.ok_or(StoreError::NotFound)?)
    }

    /// A page of the partner's orders in `mode`, newest first.
    pub async fn list_orders(
        &self,
        partner: &PartnerId,
        mode: Mode,
        page: &PageRequest,
    ) -> Result<Page<Order>, PageError> {
        let found = self.newest_first(&partner_pk(partner), &order_prefix(mode), page).await?;
        let items = found.items.iter().map(order_from).collect::<Result<_, _>>()?;
        Ok(Page { items, next: found.next })
    }

    /// Cancels a completed order and refunds its total to the wallet it was paid from,
    /// once: the status change is conditioned on `completed`, in the refund's transaction.
    #[tracing::instrument(skip_all, fields(partner_id = %partner, order_id = %id))]
    pub async fn cancel_order(&self, partner: &PartnerId, mode: Mode, id: &OrderId) -> Result<Order, StoreError> {
        for race in 0..WALLET_RACES {
            let order = self.order(partner, mode, id).await?;
            if order.status != OrderStatus::Completed {
                return Err(StoreError::InvalidState(format!("the order is already {}", order.status.as_str())));
            }
            let wallet = self.wallet(partner, mode).await?;
            let at = now();
            let refund = LedgerEntry {
                id: TransactionId::generate(),
                mode,
                kind: LedgerKind::OrderRefund,
                amount: order.total,
                balance_after: wallet.balance + order.total,
                reference: order.id.to_string(),
                created_at: at.clone(),
            };
            let mark_cancelled = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(partner_pk(partner), order_sk(mode, id))))
                .update_expression("SET #status = :cancelled, cancelled_at = :at")
                .condition_expression("#status = :completed")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":cancelled", AttributeValue::S(OrderStatus::Cancelled.as_str().into()))
                .expression_attribute_values(":completed", AttributeValue::S(OrderStatus::Completed.as_str().into()))
                .expression_attribute_values(":at", AttributeValue::S(at.clone()))
                .build()
                .map_err(StoreError::dynamo)?;
            let items = vec![
                TransactWriteItem::builder().update(mark_cancelled).build(),
                change_balance(&self.table, partner, mode, wallet.balance, order.total, &at)?,
                put_entry(&self.table, partner, &refund)?,
            ];
            let written = self
                .transact(items, |reasons| {
                    // The order changed (cancelled in parallel) or the wallet did: either
                    // way, read both again; the order's state decides.
                    if condition_failed_at(reasons, 0) || condition_failed_at(reasons, 1) {
                        StoreError::Contended
                    } else {
                        StoreError::Dynamo(format!("cancel transaction cancelled: {reasons:?}").into())
                    }
                })
                .await;
            match written {
                Ok(()) => {
                    return Ok(Order { status: OrderStatus::Cancelled, cancelled_at: Some(at), ..order });
                }
                Err(StoreError::Contended) => pause_after_race(race).await,
                Err(other) => return Err(other),
            }
        }
        Err(StoreError::Contended)
    }
}
