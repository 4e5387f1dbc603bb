//! `POST /api/orders/{id}/cancel`: refunds the order's total to the wallet it was paid
//! from, once.

use axum::extract::{Path, State};
use steller::AppState;
use steller::http::{ApiError, Json, PartnerCaller, Problem};

use crate::view::{OrderView, order_id};

/// Cancels an order and refunds its total to the same wallet. Cancelling again is 409.
#[utoipa::path(
    post,
    path = "/api/orders/{id}/cancel",
    tag = "orders",
    security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The order's id (`ord_…`)")),
    responses(
        (status = 200, description = "Cancelled and refunded", body = OrderView),
        (status = 404, description = "No such order for this partner and mode", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_state`: already cancelled", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[tracing::instrument(skip_all, fields(order_id = %id))]
pub(crate) async fn cancel_order(
    State(state): State<AppState>,
    caller: PartnerCaller,
    Path(id): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    let order = state.store.cancel_order(&caller.partner_id, caller.mode, &order_id(&id)?).await?;
    tracing::info!(refunded = %order.total, "order cancelled");
    Ok(Json(OrderView::from(&order)))
}
