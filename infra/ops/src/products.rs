//! `steller-ops products upsert`: adds or changes one catalog product.

use clap::Args;
use steller::domain::{Money, Product, ProductId};

/// A product as given on the command line.
#[derive(Debug, Args)]
pub struct ProductArgs {
    /// The product's id (`prd_…`); omitted, a new product is created.
    #[arg(long)]
    pub id: Option<String>,
    #[arg(long)]
    pub name: String,
    #[arg(long, default_value = "")]
    pub description: String,
    /// Unit price in USD, at most 2 decimals ("4.99").
    #[arg(long)]
    pub price: String,
    /// List it but refuse orders for it.
    #[arg(long)]
    pub inactive: bool,
}

impl ProductArgs {
    pub fn product(self) -> anyhow::Result<Product> {
        let id = match self.id.as_deref() {
            Some(raw) => ProductId::parse(raw).map_err(|error| anyhow::anyhow!("--id {error}"))?,
            None => ProductId::generate(),
        };
        let unit_price = Money::parse(&self.price).map_err(|error| anyhow::anyhow!("--price {error}"))?;
        if unit_price.is_zero() {
            anyhow::bail!("--price must be more than 0.00");
        }
        let name = self.name.trim().to_owned();
        if name.is_empty() {
            anyhow::bail!("--name must not be empty");
        }
        Ok(Product { id, name, description: self.description.trim().to_owned(), unit_price, active: !self.inactive })
    }
}
