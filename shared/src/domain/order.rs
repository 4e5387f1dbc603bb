//! Orders, the ledger entries money movements leave, and the commands that make them.

use std::fmt;

use super::{ClientReference, Mode, Money, OrderId, PartnerId, Product, ProductId, Timestamp, TransactionId};

/// How many units an order is for: 1 to 1000.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity(u32);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    #[error("is required")]
    Missing,
    #[error("must be a whole number from 1 to 1000")]
    OutOfRange,
}

impl Quantity {
    pub const MAX: u32 = 1000;

    pub fn get(self) -> u32 {
        self.0
    }
}

impl TryFrom<i64> for Quantity {
    type Error = QuantityError;
    fn try_from(raw: i64) -> Result<Self, Self::Error> {
        u32::try_from(raw).ok().filter(|n| (1..=Self::MAX).contains(n)).map(Quantity).ok_or(QuantityError::OutOfRange)
    }
}

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    /// Paid and done.
    Completed,
    /// Refunded to the wallet it was paid from.
    Cancelled,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Completed => "completed",
            OrderStatus::Cancelled => "cancelled",
        }
    }
}

impl std::str::FromStr for OrderStatus {
    type Err = ();
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw {
            "completed" => Ok(OrderStatus::Completed),
            "cancelled" => Ok(OrderStatus::Cancelled),
            _ => Err(()),
        }
    }
}

/// An order as stored and shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: OrderId,
    pub mode: Mode,
    pub product_id: ProductId,
    pub quantity: Quantity,
    pub unit_price: Money,
    pub total: Money,
    pub status: OrderStatus,
    pub client_reference: Option<String>,
    pub created_at: Timestamp,
    pub cancelled_at: Option<Timestamp>,
    /// The wallet's balance right after this order paid.
    pub wallet_balance_after: Money,
}

/// An order as a partner asks for it, before the catalog is consulted. A `product_id`
/// that is not even well-formed is `None`: it names no product (404, like an unknown one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRequest {
    pub product_id: Option<ProductId>,
    pub quantity: Quantity,
    pub client_reference: Option<ClientReference>,
}

/// The place-order command: a validated order for a product the catalog offers.
#[derive(Debug, Clone)]
pub struct PlaceOrder {
    pub partner_id: PartnerId,
    pub mode: Mode,
    pub product: Product,
    pub quantity: Quantity,
    pub total: Money,
    pub client_reference: Option<ClientReference>,
}

/// Why an order cannot be placed, before any money is looked at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderRefused {
    #[error("the product is not available for ordering")]
    InactiveProduct,
    #[error("the order total is too large")]
    TotalTooLarge,
}

impl PlaceOrder {
    pub fn new(
        partner_id: PartnerId,
        mode: Mode,
        product: Product,
        quantity: Quantity,
        client_reference: Option<ClientReference>,
    ) -> Result<Self, OrderRefused> {
        if !product.active {
            return Err(OrderRefused::InactiveProduct);
        }
        let total = product.unit_price.times(quantity.get()).map_err(|_| OrderRefused::TotalTooLarge)?;
        Ok(PlaceOrder { partner_id, mode, product, quantity, total, client_reference })
    }

    /// The order this command makes once paid at `at`, leaving the wallet at `balance_after`.
    pub fn order(&self, id: OrderId, balance_after: Money, at: Timestamp) -> Order {
        Order {
            id,
            mode: self.mode,
            product_id: self.product.id,
            quantity: self.quantity,
            unit_price: self.product.unit_price,
            total: self.total,
            status: OrderStatus::Completed,
            client_reference: self.client_reference.as_ref().map(|r| r.to_string()),
            created_at: at,
            cancelled_at: None,
            wallet_balance_after: balance_after,
        }
    }
}

/// Why a wallet's balance changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LedgerKind {
    SignupCredit,
    OrderDebit,
    OrderRefund,
    TopUpCredit,
}

impl LedgerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LedgerKind::SignupCredit => "signup_credit",
            LedgerKind::OrderDebit => "order_debit",
            LedgerKind::OrderRefund => "order_refund",
            LedgerKind::TopUpCredit => "top_up_credit",
        }
    }
}

impl std::str::FromStr for LedgerKind {
    type Err = ();
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        [LedgerKind::SignupCredit, LedgerKind::OrderDebit, LedgerKind::OrderRefund, LedgerKind::TopUpCredit]
            .into_iter()
            .find(|kind| kind.as_str() == raw)
            .ok_or(())
    }
}

impl fmt::Display for LedgerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One balance change of one wallet. The amounts of a wallet's entries sum to its balance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    pub id: TransactionId,
    pub mode: Mode,
    pub kind: LedgerKind,
    /// Signed: credits are positive, debits negative.
    pub amount: Money,
    pub balance_after: Money,
    /// What caused it: an order id, a top-up id, the partner id for the signup credit.
    pub reference: String,
    pub created_at: Timestamp,
}

/// The `Idempotency-Key` a partner sends: 1–255 printable ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the Idempotency-Key header must be 1-255 printable ASCII characters")]
pub struct BadIdempotencyKey;

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Result<Self, BadIdempotencyKey> {
        let printable = raw.bytes().all(|b| (0x20..=0x7e).contains(&b));
        if (1..=255).contains(&raw.len()) && printable && !raw.trim().is_empty() {
            Ok(IdempotencyKey(raw.to_owned()))
        } else {
            Err(BadIdempotencyKey)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(price: &str, active: bool) -> Product {
        Product {
            id: ProductId::generate(),
            name: "SMS bundle".into(),
            description: "100 messages".into(),
            unit_price: Money::parse(price).expect("valid"),
            active,
        }
    }

    #[test]
    fn quantities_are_1_to_1000() {
        assert_eq!(Quantity::try_from(1).map(Quantity::get), Ok(1));
        assert_eq!(Quantity::try_from(1000).map(Quantity::get), Ok(1000));
        for bad in [0, -1, 1001, i64::MAX] {
            assert_eq!(Quantity::try_from(bad), Err(QuantityError::OutOfRange), "{bad}");
        }
    }

    #[test]
    fn an_order_totals_price_times_quantity_and_refuses_inactive_products() {
        let quantity = Quantity::try_from(3).expect("valid");
        let order = PlaceOrder::new(PartnerId::generate(), Mode::Sandbox, product("4.99", true), quantity, None)
            .expect("orderable");
        assert_eq!(order.total.to_string(), "14.97");
        let refused = PlaceOrder::new(PartnerId::generate(), Mode::Sandbox, product("4.99", false), quantity, None);
        assert_eq!(refused.err(), Some(OrderRefused::InactiveProduct));
    }

    #[test]
    fn idempotency_keys_are_printable_and_bounded() {
        assert!(IdempotencyKey::parse("order-2026-11-23-0001").is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        for bad in ["", "   ", "tab\there", "é", &"k".repeat(256)] {
            assert_eq!(IdempotencyKey::parse(bad), Err(BadIdempotencyKey), "{bad:?}");
        }
    }

    #[test]
    fn ledger_kinds_read_back_from_their_names() {
        for kind in [LedgerKind::SignupCredit, LedgerKind::OrderDebit, LedgerKind::OrderRefund, LedgerKind::TopUpCredit]
        {
            assert_eq!(kind.as_str().parse(), Ok(kind));
        }
    }
}
