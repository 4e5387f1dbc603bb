//! The catalog's seed data, `infra/seed/products.json`, compiled in so the local server
//! and `steller-ops seed` load exactly the products the repository ships.

use std::collections::HashSet;

use serde::Deserialize;

use crate::Store;
use crate::domain::{Money, Product, ProductId};
use crate::store::StoreError;

/// The seed file, oldest product first (ids ascending), so listings show it reversed.
pub const PRODUCTS: &str = include_str!("../../infra/seed/products.json");

/// Why the seed could not be read or stored.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("the product seed is not a JSON array of products")]
    Json(#[source] serde_json::Error),
    /// `field` of the `index`th product (from 1) is invalid; `reason` completes the sentence.
    #[error("product {index} of the seed ({id}): {field} {reason}")]
    Invalid { index: usize, id: String, field: &'static str, reason: String },
    #[error("product {0} appears more than once in the seed")]
    DuplicateId(ProductId),
    #[error("storing the seed products failed")]
    Store(#[from] StoreError),
}

/// A product as the seed file writes it; every field is required, and unknown ones are
/// refused so a typo cannot silently drop a value.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedProduct {
    id: String,
    name: String,
    description: String,
    unit_price: String,
    currency: String,
    active: bool,
}

impl SeedProduct {
    fn parse(self, index: usize) -> Result<Product, SeedError> {
        let invalid = |field, reason: String| SeedError::Invalid { index, id: self.id.clone(), field, reason };
        let id = ProductId::parse(&self.id).map_err(|error| invalid("id", error.to_string()))?;
        let name = self.name.trim();
        if name.is_empty() {
            return Err(invalid("name", "is required".into()));
        }
        let unit_price = Money::parse(&self.unit_price).map_err(|error| invalid("unit_price", error.to_string()))?;
        // A free product would make orders that move no money and write empty ledger entries.
        if unit_price.is_zero() {
            return Err(invalid("unit_price", "must be more than 0.00".into()));
        }
        if self.currency != "USD" {
            return Err(invalid("currency", "must be \"USD\"".into()));
        }
        Ok(Product {
            id,
            name: name.to_owned(),
            description: self.description.trim().to_owned(),
            unit_price,
            active: self.active,
        })
    }
}

/// The shipped seed products, each validated.
pub fn products() -> Result<Vec<Product>, SeedError> {
    parse(PRODUCTS)
}

fn parse(text: &str) -> Result<Vec<Product>, SeedError> {
    let raw: Vec<SeedProduct> = serde_json::from_str(text).map_err(SeedError::Json)?;
    let mut seen = HashSet::new();
    let mut products = Vec::with_capacity(raw.len());
    for (index, product) in raw.into_iter().enumerate() {
        let product = product.parse(index + 1)?;
        // A repeated id would silently overwrite the earlier product when stored.
        if !seen.insert(product.id) {
            return Err(SeedError::DuplicateId(product.id));
        }
        products.push(product);
    }
    Ok(products)
}

/// Upserts every seed product into `store`'s table and returns how many there are.
/// Idempotent: running it again rewrites the same items.
pub async fn seed_products(store: &Store) -> Result<usize, SeedError> {
    let products = products()?;
    for product in &products {
        store.upsert_product(product).await?;
    }
    Ok(products.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed() -> Vec<Product> {
        products().expect("infra/seed/products.json is valid")
    }

    fn price(text: &str) -> Money {
        Money::parse(text).expect("a valid amount")
    }

    #[test]
    fn the_shipped_seed_parses_with_unique_ids_oldest_first() {
        let products = seed();
        assert!(products.len() >= 6, "{}", products.len());
        let ids: Vec<String> = products.iter().map(|p| p.id.to_string()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(ids, sorted, "ids are unique and ascending, so listings show the file reversed");
        assert!(products.iter().all(|p| !p.name.is_empty() && !p.description.is_empty()));
    }

    #[test]
    fn the_seed_has_cheap_products_one_beyond_a_sandbox_wallet_an_inactive_one_and_one_at_58() {
        let products = seed();
        let cheap = products.iter().filter(|p| p.active && p.unit_price <= price("5.00")).count();
        assert!(cheap >= 3, "several active products at 5.00 or less, found {cheap}");
        assert!(
            products.iter().any(|p| p.active && p.unit_price > price("1000.00")),
            "an active product the 1000.00 sandbox credit cannot pay for"
        );
        assert!(products.iter().any(|p| !p.active), "an inactive product");
        let at_58: Vec<_> = products.iter().filter(|p| p.unit_price == price("58.00")).collect();
        assert_eq!(at_58.len(), 1, "one product at 58.00 (1000.00 pays for exactly 17)");
        assert!(at_58[0].active);
    }

    fn one(fields: &str) -> Result<Vec<Product>, SeedError> {
        parse(&format!("[{{{fields}}}]"))
    }

    const GOOD: &str = r#""id": "prd_01JNDKQJM0NF1XASZ2ZN5X1BEB", "name": "SMS", "description": "d",
        "unit_price": "4.50", "currency": "USD", "active": true"#;

    #[test]
    fn a_valid_product_parses_and_trims_its_texts() {
        let products = one(&GOOD.replace("\"SMS\"", "\"  SMS  \"")).expect("valid");
        assert_eq!(products[0].name, "SMS");
        assert_eq!(products[0].unit_price.to_string(), "4.50");
    }

    #[test]
    fn invalid_seed_products_are_refused_naming_the_field() {
        let cases = [
            (GOOD.replace("prd_01JNDKQJM0NF1XASZ2ZN5X1BEB", "ptn_01JNDKQJM0NF1XASZ2ZN5X1BEB"), "id"),
            (GOOD.replace("\"SMS\"", "\"  \""), "name"),
            (GOOD.replace("4.50", "4.505"), "unit_price"),
            (GOOD.replace("4.50", "-1.00"), "unit_price"),
            (GOOD.replace("4.50", "0.00"), "unit_price"),
            (GOOD.replace("USD", "EUR"), "currency"),
        ];
        for (fields, expected) in cases {
            match one(&fields) {
                Err(SeedError::Invalid { index: 1, field, .. }) => assert_eq!(field, expected, "{fields}"),
                other => panic!("{expected} should be refused, got {other:?}"),
            }
        }
    }

    #[test]
    fn missing_unknown_or_repeated_products_are_refused() {
        assert!(matches!(one(&GOOD.replace(r#""active": true"#, r#""activ": true"#)), Err(SeedError::Json(_))));
        assert!(matches!(one(r#""id": "prd_01JNDKQJM0NF1XASZ2ZN5X1BEB""#), Err(SeedError::Json(_))));
        assert!(matches!(parse("{}"), Err(SeedError::Json(_))));
        let twice = format!("[{{{GOOD}}}, {{{GOOD}}}]");
        assert!(matches!(parse(&twice), Err(SeedError::DuplicateId(_))));
    }
}
