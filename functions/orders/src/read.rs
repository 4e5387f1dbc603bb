//! `GET /api/orders` and `GET /api/orders/{id}`: the caller's orders in the key's mode.

use axum::extract::State;
use steller::AppState;
use steller::domain::OrderId;
use steller::http::openapi::NotFound;
use steller::http::{ApiError, Json, List, ListParams, ListQuery, PartnerCaller, PathId};

use steller::views::OrderView;

/// The caller's orders in the key's mode, newest first.
#[utoipa::path(
    get,
    path = "/api/orders",
    tag = "orders",
    security(("bearer" = []), ("api_key" = [])),
    params(ListParams),
    responses((status = 200, body = List<OrderView>)),
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn list_orders(
    State(state): State<AppState>,
    caller: PartnerCaller,
    ListQuery(page): ListQuery,
) -> Result<Json<List<OrderView>>, ApiError> {
    let orders = state.store.list_orders(&caller.partner_id, caller.mode, &page).await?;
    Ok(Json(List::from_page(orders, |order| OrderView::from(&order))))
}

/// One of the caller's orders; another partner's or the other mode's is 404.
#[utoipa::path(
    get,
    path = "/api/orders/{id}",
    tag = "orders",
    security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The order's id (`ord_…`)")),
    responses((status = 200, body = OrderView), NotFound),
)]
#[tracing::instrument(skip_all, fields(order_id = %id))]
pub(crate) async fn get_order(
    State(state): State<AppState>,
    caller: PartnerCaller,
    PathId(id): PathId<OrderId>,
) -> Result<Json<OrderView>, ApiError> {
    let order = state.store.order(&caller.partner_id, caller.mode, &id).await?;
    Ok(Json(OrderView::from(&order)))
}
