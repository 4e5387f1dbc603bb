//! The objects as the API shows them: the bodies of its responses, and the `data` of the
//! webhook events that report their changes, so both always agree.

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::{LedgerEntry, LedgerKind, Mode, Money, Order, OrderStatus, Timestamp, TopUpRequest, TopUpStatus};

/// An order as partners see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderView {
    #[schema(example = "ord_01JD2X8Q9V4K7M3N5P6R8S0T2W")]
    id: String,
    #[schema(example = "prd_01JD2X8Q9V4K7M3N5P6R8S0T2W")]
    product_id: String,
    #[schema(example = 2, minimum = 1, maximum = 1000)]
    quantity: u32,
    #[schema(value_type = String, example = "4.99")]
    unit_price: Money,
    #[schema(value_type = String, example = "9.98")]
    total: Money,
    #[schema(example = "USD")]
    currency: &'static str,
    mode: Mode,
    status: OrderStatus,
    client_reference: Option<String>,
    created_at: Timestamp,
    /// When the order was cancelled and refunded; null while it stands.
    cancelled_at: Option<Timestamp>,
    /// The wallet's balance right after this order was paid.
    #[schema(value_type = String, example = "990.02")]
    wallet_balance_after: Money,
}

impl From<&Order> for OrderView {
    fn from(order: &Order) -> Self {
        OrderView {
            id: order.id.to_string(),
            product_id: order.product_id.to_string(),
            quantity: order.quantity.get(),
            unit_price: order.unit_price,
            total: order.total,
            currency: "USD",
            mode: order.mode,
            status: order.status,
            client_reference: order.client_reference.clone(),
            created_at: order.created_at,
            cancelled_at: order.cancelled_at,
            wallet_balance_after: order.wallet_balance_after,
        }
    }
}

/// A top-up request as partners see it. Ops see the same fields plus who decided it (the
/// admin function's view); the decider stays out of this one, as ops key ids are internal.
#[derive(Debug, Serialize, ToSchema)]
pub struct TopUpView {
    #[schema(example = "tur_01JD2X8Q9V4K7M3N5P6R8S0T2W")]
    id: String,
    mode: Mode,
    #[schema(value_type = String, example = "250.00")]
    amount: Money,
    #[schema(example = "USD")]
    currency: &'static str,
    status: TopUpStatus,
    payment_reference: Option<String>,
    note: Option<String>,
    created_at: Timestamp,
    /// When ops (or, in sandbox, Steller at once) decided; null while pending.
    decided_at: Option<Timestamp>,
    /// Why ops rejected it; null otherwise.
    reason: Option<String>,
}

impl From<&TopUpRequest> for TopUpView {
    fn from(request: &TopUpRequest) -> Self {
        TopUpView {
            id: request.id.to_string(),
            mode: request.mode,
            amount: request.amount,
            currency: "USD",
            status: request.status,
            payment_reference: request.payment_reference.clone(),
            note: request.note.clone(),
            created_at: request.created_at,
            decided_at: request.decided_at,
            reason: request.reason.clone(),
        }
    }
}

/// A ledger entry as partners see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TransactionView {
    #[schema(example = "txn_01JD2X8Q9V4K7M3N5P6R8S0T2W")]
    id: String,
    #[serde(rename = "type")]
    kind: LedgerKind,
    /// Signed: credits positive, debits negative.
    #[schema(value_type = String, example = "-9.98")]
    amount: Money,
    #[schema(value_type = String, example = "990.02")]
    balance_after: Money,
    /// The order, top-up or partner the change belongs to.
    reference: String,
    created_at: Timestamp,
}

impl From<LedgerEntry> for TransactionView {
    fn from(entry: LedgerEntry) -> Self {
        TransactionView {
            id: entry.id.to_string(),
            kind: entry.kind,
            amount: entry.amount,
            balance_after: entry.balance_after,
            reference: entry.reference,
            created_at: entry.created_at,
        }
    }
}
