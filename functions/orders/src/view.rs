//! The order as partners see it.

use serde::Serialize;
use steller::domain::{Mode, Money, Order, OrderStatus, Timestamp};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OrderView {
    #[schema(example = "ord_01JD2X8Q9V4K7M3N5P6R8S0T2W")]
    id: String,
    #[schema(example = "prd_01JD2X8Q9V4K7M3N5P6R8S0T2W")]
    product_id: String,
    #[schema(example = 2)]
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
