//! Product items of the catalog partition (see docs/data-model.md).
//!
//! Every product lives in one partition, `CATALOG`, under `PRODUCT#<prd_id>`: the
//! catalog is small and read far more often than written, and one partition lets a single
//! `Query` list it newest first (product ids are ULIDs).
//!
//! Orders read products through `CatalogCache`, each instance's own copy of the products
//! it has read, at most `CATALOG_STALENESS` old: the catalog changes rarely, and an
//! order then waits for one read fewer (and the one `CATALOG` partition is spared a
//! strongly consistent read per order).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::item::{Item, item, read};
use super::{Page, PageError, PageRequest, Store, StoreError, layout};
use crate::domain::{Product, ProductId, Timestamp};

/// How old a product an order uses may be: a price or `active` change made elsewhere
/// (another instance, the ops tool) reaches orders within this time. docs/api.md and
/// docs/architecture.md promise it.
pub const CATALOG_STALENESS: Duration = Duration::from_secs(60);

/// The products this instance has read for orders, each with when it was read. Only
/// products that exist are kept: a product created after an order named it is seen at
/// once.
#[derive(Debug, Default)]
pub(crate) struct CatalogCache {
    products: Mutex<HashMap<ProductId, (Instant, Product)>>,
}

impl CatalogCache {
    fn fresh(&self, id: &ProductId) -> Option<Product> {
        let products = self.products.lock().unwrap_or_else(PoisonError::into_inner);
        let (read_at, product) = products.get(id)?;
        (read_at.elapsed() < CATALOG_STALENESS).then(|| product.clone())
    }

    fn keep(&self, read_at: Instant, product: &Product) {
        let mut products = self.products.lock().unwrap_or_else(PoisonError::into_inner);
        products.insert(product.id, (read_at, product.clone()));
    }

    fn forget(&self, id: &ProductId) {
        self.products.lock().unwrap_or_else(PoisonError::into_inner).remove(id);
    }
}

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

    /// The product an order names, as this instance read it less than
    /// `CATALOG_STALENESS` ago, or read now (strongly consistent) when it has not.
    pub async fn product_to_order(&self, id: &ProductId) -> Result<Option<Product>, StoreError> {
        if let Some(product) = self.catalog.fresh(id) {
            return Ok(Some(product));
        }
        // Timed from before the read, so the bound holds however long the read takes.
        let read_at = Instant::now();
        let product = self.product(id).await?;
        if let Some(product) = &product {
            self.catalog.keep(read_at, product);
        }
        Ok(product)
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
        // This instance's own orders see its own change at once.
        self.catalog.forget(&product.id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Money;

    fn product() -> Product {
        Product {
            id: ProductId::generate(),
            name: "cached".into(),
            description: "a product".into(),
            unit_price: Money::dollars(3),
            active: true,
        }
    }

    #[test]
    fn a_product_is_served_from_the_cache_only_while_younger_than_the_bound() {
        let cache = CatalogCache::default();
        let (recent, old) = (product(), product());
        let now = Instant::now();
        cache.keep(now, &recent);
        if let Some(long_ago) = now.checked_sub(CATALOG_STALENESS + Duration::from_secs(1)) {
            cache.keep(long_ago, &old);
            assert_eq!(cache.fresh(&old.id), None, "older than the bound: read again");
        }

        assert_eq!(cache.fresh(&recent.id), Some(recent.clone()));
        cache.forget(&recent.id);
        assert_eq!(cache.fresh(&recent.id), None, "a write through this store drops it");
    }
}
