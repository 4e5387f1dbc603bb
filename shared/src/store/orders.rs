//! Orders: placing one is ONE transaction (wallet debit, order, ledger entry, and the
//! idempotency record when there is one); cancelling is one transaction too (order
//! status, wallet credit, refund entry). Both run the wallet loop of `movement`.

use aws_sdk_dynamodb::types::AttributeValue;

use super::idempotency::Completion;
use super::item::{Item, item, read};
use super::ledger::{beyond_limit, push_balance_change};
use super::movement::Attempt;
use super::webhooks::push_event_of;
use super::{Page, PageError, PageRequest, Store, StoreError, layout};
use crate::domain::{
    EventType, LedgerKind, Mode, Order, OrderId, OrderStatus, PartnerId, PlaceOrder, Quantity, Timestamp,
};
use crate::views::{OrderView, TransactionView};

fn order_item(partner: &PartnerId, order: &Order) -> Item {
    item(&layout::order(partner, order.mode, &order.id))
        .s("order_id", order.id.to_string())
        .s("mode", order.mode.as_str())
        .s("product_id", order.product_id.to_string())
        .n("quantity", i64::from(order.quantity.get()))
        .money("unit_price", order.unit_price)
        .money("total", order.total)
        .s("currency", "USD")
        .s("status", order.status.as_str())
        .s_opt("client_reference", order.client_reference.clone())
        .time("created_at", order.created_at)
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
        quantity: Quantity::try_from(quantity).map_err(|_| item.corrupt("quantity is out of range".into()))?,
        unit_price: item.money("unit_price")?,
        total: item.money("total")?,
        status: item.parsed_with("status", |raw| raw.parse().ok())?,
        client_reference: item.s_opt("client_reference")?.map(str::to_owned),
        created_at: item.time("created_at")?,
        cancelled_at: item.time_opt("cancelled_at")?,
        wallet_balance_after: item.money("wallet_balance_after")?,
    })
}

impl Store {
    /// Pays for and records an order. `InsufficientFunds` (nothing written) when the
    /// wallet cannot pay.
    #[tracing::instrument(skip_all, fields(partner_id = %command.partner_id, mode = %command.mode))]
    pub async fn place_order(
        &self,
        command: &PlaceOrder,
        completion: Option<Completion<Order>>,
    ) -> Result<Order, StoreError> {
        let (partner, mode) = (&command.partner_id, command.mode);
        let completion = completion.as_ref();
        // With a key, its record is read with the wallet: a replay needs no other read.
        let record: Vec<_> = completion.iter().map(|completion| completion.scope.key()).collect();
        self.move_money_reading(partner, mode, &record, |wallet, record| async move {
            if let Some(completion) = completion {
                completion.check(record.first().and_then(Option::as_ref))?;
            }
            if wallet.balance < command.total {
                return Err(StoreError::InsufficientFunds { balance: wallet.balance, needed: command.total });
            }
            // The id and the time are made together, each round: an order that lost races
            // is made when it commits, so orders listed by id are in `created_at` order.
            let at = Timestamp::now();
            let id = OrderId::generate_at(at);
            let debit =
                wallet.entry(LedgerKind::OrderDebit, -command.total, id, at).map_err(beyond_limit(partner, mode))?;
            let order = command.order(id, debit.balance_after, at);
            let mut transaction = self.transaction("place-order");
            let paid = push_balance_change(&mut transaction, partner, &wallet, &debit)?;
            transaction.put_new(order_item(partner, &order))?;
            push_event_of(&mut transaction, partner, mode, EventType::OrderCreated, at, &OrderView::from(&order))?;
            let claim = completion.map(|completion| completion.push(&mut transaction, &order)).transpose()?;
            Ok(Attempt { transaction, wallet: paid, raced: vec![], claim, outcome: order })
        })
        .await
    }

    /// One order of the partner in `mode`; another partner's or mode's is `NotFound`.
    pub async fn order(&self, partner: &PartnerId, mode: Mode, id: &OrderId) -> Result<Order, StoreError> {
        order_from(&self.existing(&layout::order(partner, mode, id)).await?)
    }

    /// A page of the partner's orders in `mode`, newest first.
    pub async fn list_orders(
        &self,
        partner: &PartnerId,
        mode: Mode,
        page: &PageRequest,
    ) -> Result<Page<Order>, PageError> {
        self.newest_first(&layout::orders(partner, mode), page, order_from).await
    }

    /// Cancels a completed order and refunds its total to the wallet it was paid from,
    /// once: the status change is conditioned on `completed`, in the refund's transaction.
    #[tracing::instrument(skip_all, fields(partner_id = %partner, order_id = %id))]
    pub async fn cancel_order(&self, partner: &PartnerId, mode: Mode, id: &OrderId) -> Result<Order, StoreError> {
        // The order is read with the wallet, in one call, each round.
        self.move_money_reading(partner, mode, &[layout::order(partner, mode, id)], |wallet, order| async move {
            let order = order_from(order.first().and_then(Option::as_ref).ok_or(StoreError::NotFound)?)?;
            if order.status != OrderStatus::Completed {
                return Err(StoreError::InvalidState(format!("the order is already {}", order.status.as_str())));
            }
            let at = Timestamp::now();
            let refund = wallet
                .entry(LedgerKind::OrderRefund, order.total, order.id, at)
                .map_err(beyond_limit(partner, mode))?;
            let mut transaction = self.transaction("cancel-order");
            let status = AttributeValue::S(OrderStatus::Completed.as_str().into());
            let cancelled = AttributeValue::S(OrderStatus::Cancelled.as_str().into());
            let still_completed = transaction.update(&layout::order(partner, mode, id), |update| {
                update
                    .update_expression("SET #status = :cancelled, cancelled_at = :at")
                    .condition_expression("#status = :completed")
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":cancelled", cancelled)
                    .expression_attribute_values(":completed", status)
                    .expression_attribute_values(":at", AttributeValue::S(at.to_string()))
            })?;
            let refunded = push_balance_change(&mut transaction, partner, &wallet, &refund)?;
            // A lost race on either means the order or the wallet changed (cancelled in
            // parallel, or another movement): read both again; the order's state decides.
            let outcome = Order { status: OrderStatus::Cancelled, cancelled_at: Some(at), ..order };
            push_event_of(&mut transaction, partner, mode, EventType::OrderCancelled, at, &OrderView::from(&outcome))?;
            let credit = TransactionView::from(refund);
            push_event_of(&mut transaction, partner, mode, EventType::WalletCredited, at, &credit)?;
            Ok(Attempt { transaction, wallet: refunded, raced: vec![still_completed], claim: None, outcome })
        })
        .await
    }
}
