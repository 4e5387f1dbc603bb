//! Catalog products partners can order, priced in USD.

use super::{Money, ProductId};

/// A product of the catalog. Inactive products are listed but cannot be ordered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub id: ProductId,
    pub name: String,
    pub description: String,
    pub unit_price: Money,
    pub active: bool,
}
