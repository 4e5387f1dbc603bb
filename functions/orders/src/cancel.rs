//! `POST /api/orders/{id}/cancel`: refunds the order's total to the wallet it was paid
//! from, once.

use axum::extract::State;
use steller::AppState;
use steller::domain::OrderId;
use steller::http::openapi::{InvalidState, NotFound};
use steller::http::{ApiError, Json, PartnerCaller, PathId};

use steller::views::OrderView;

/// Cancels an order and refunds its total to the same wallet. Cancelling again is 409.
#[utoipa::path(
    post,
    path = "/api/orders/{id}/cancel",
    tag = "orders",
    security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The order's id (`ord_…`)")),
    responses((status = 200, description = "Cancelled and refunded", body = OrderView), NotFound, InvalidState),
)]
#[tracing::instrument(skip_all, fields(order_id = %id))]
pub(crate) async fn cancel_order(
    State(state): State<AppState>,
    caller: PartnerCaller,
    PathId(id): PathId<OrderId>,
) -> Result<Json<OrderView>, ApiError> {
    let order = state.store.cancel_order(&caller.partner_id, caller.mode, &id).await?;
    tracing::info!(refunded = %order.total, "order cancelled");
    Ok(Json(OrderView::from(&order)))
}
