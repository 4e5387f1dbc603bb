//! `GET /api/products` and `GET /api/products/{id}`: the catalog, the same for every
//! partner key, sandbox or live.

use axum::extract::State;
use serde::Serialize;
use steller::AppState;
use steller::domain::{Money, Product, ProductId};
use steller::http::openapi::NotFound;
use steller::http::{ApiError, Json, List, ListParams, ListQuery, PartnerCaller, PathId};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ProductView {
    #[schema(example = "prd_01KA98PS0011V5TWS41HMPS366")]
    id: String,
    #[schema(example = "Email verification, 1,000 checks")]
    name: String,
    description: String,
    /// The price of one unit.
    #[schema(value_type = String, example = "4.99")]
    unit_price: Money,
    #[schema(example = "USD")]
    currency: &'static str,
    /// Inactive products are still listed, but cannot be ordered.
    active: bool,
}

impl From<Product> for ProductView {
    fn from(product: Product) -> Self {
        ProductView {
            id: product.id.to_string(),
            name: product.name,
            description: product.description,
            unit_price: product.unit_price,
            currency: "USD",
            active: product.active,
        }
    }
}

/// The catalog, newest product first, inactive products included.
#[utoipa::path(
    get,
    path = "/api/products",
    tag = "catalog",
    security(("bearer" = []), ("api_key" = [])),
    params(ListParams),
    responses((status = 200, body = List<ProductView>)),
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn list_products(
    State(state): State<AppState>,
    // Any partner key may read the catalog; an ops key has no business here (403).
    _caller: PartnerCaller,
    ListQuery(page): ListQuery,
) -> Result<Json<List<ProductView>>, ApiError> {
    let products = state.store.list_products(&page).await?;
    Ok(Json(List::from_page(products, ProductView::from)))
}

/// One product, active or not.
#[utoipa::path(
    get,
    path = "/api/products/{id}",
    tag = "catalog",
    security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The product's id (`prd_…`)")),
    responses((status = 200, body = ProductView), NotFound),
)]
#[tracing::instrument(skip_all, fields(product_id = %id))]
pub(crate) async fn get_product(
    State(state): State<AppState>,
    _caller: PartnerCaller,
    PathId(id): PathId<ProductId>,
) -> Result<Json<ProductView>, ApiError> {
    let product = state.store.product(&id).await?.ok_or(ApiError::NotFound)?;
    Ok(Json(product.into()))
}
