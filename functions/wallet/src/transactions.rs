//! `GET /api/wallet/transactions`: the ledger of the key's wallet, newest first.

use axum::extract::State;
use steller::AppState;
use steller::http::{ApiError, Json, List, ListParams, ListQuery, PartnerCaller};
use steller::views::TransactionView;

/// Every balance change of the wallet in the key's mode, newest first. The amounts sum
/// to the balance.
#[utoipa::path(
    get,
    path = "/api/wallet/transactions",
    tag = "wallet",
    security(("bearer" = []), ("api_key" = [])),
    params(ListParams),
    responses((status = 200, body = List<TransactionView>)),
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn list_transactions(
    State(state): State<AppState>,
    caller: PartnerCaller,
    ListQuery(page): ListQuery,
) -> Result<Json<List<TransactionView>>, ApiError> {
    let entries = state.store.ledger(&caller.partner_id, caller.mode, &page).await?;
    Ok(Json(List::from_page(entries, TransactionView::from)))
}
