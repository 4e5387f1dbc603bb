//! Product items of the catalog partition (see docs/data-model.md).
//!
//! Every product lives in one partition, `CATALOG`, under `PRODUCT#<prd_id>`: the
//! catalog is small and read far more often than written, and one partition lets a single
//! `Query` list it newest first (product ids are ULIDs).

use super::item::{Item, item, read};
use super::{Page, PageError, PageRequest, Store, StoreError, layout};
use crate::domain::{Product, ProductId, Timestamp};

fn product_from(item: &Item) -> Result<Product, StoreError> {
    let item = read(item);
    Ok(Product {
        id: item.parsed("product_id")?,
        name: item.s("name")?.to_owned(),
        description: item.s("description")?.to_owned(),
        unit_price: item.money("unit_price")?,
        active: item.bool("active")?,
    })
}

impl Store {
    /// One product, active or not, or `None` when there is no such product. Strongly
    /// consistent, so an order never sees a price or an `active` flag older than the
    /// last upsert.
    pub async fn product(&self, id: &ProductId) -> Result<Option<Product>, StoreError> {
        self.get(&layout::product(id)).await?.as_ref().map(product_from).transpose()
    }

    /// A page of the catalog, newest product first, inactive products included.
    pub async fn list_products(&self, page: &PageRequest) -> Result<Page<Product>, PageError> {
        self.newest_first(&layout::catalog(), page, product_from).await
    }

    /// Writes `product` whole, replacing any earlier version: seeding twice leaves one
    /// item per product.
    pub async fn upsert_product(&self, product: &Product) -> Result<(), StoreError> {
        let item = item(&layout::product(&product.id))
            .s("product_id", product.id.to_string())
            .s("name", &product.name)
            .s("description", &product.description)
            .money("unit_price", product.unit_price)
            .s("currency", "USD")
            .bool("active", product.active)
            .time("updated_at", Timestamp::now())
            .build();
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }
}
