//! `GET /api/wallet/transactions`: the ledger of the key's wallet, newest first.

use axum::extract::State;
use serde::Serialize;
use steller::AppState;
use steller::domain::{LedgerEntry, LedgerKind, Money, Timestamp};
use steller::http::{ApiError, Json, List, ListParams, ListQuery, PartnerCaller};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TransactionView {
    #[schema(example = "txn_01JD2X8Q9V4K7M3N5P6R8S0T2W")]
    id: String,
    #[serde(rename = "type")]
    kind: LedgerKind,
    /// Signed: credits positive, debits negative.
    #[schema(value_type = String, example = "-9.98")]
    amount: Money,
    #[schema(value_type = String, example = "990.02")]
    balance_after: Money,
    /// The order, top-up or partner the change belongs to.
    reference: String,
    created_at: Timestamp,
}

impl From<LedgerEntry> for TransactionView {
    fn from(entry: LedgerEntry) -> Self {
        TransactionView {
            id: entry.id.to_string(),
            kind: entry.kind,
            amount: entry.amount,
            balance_after: entry.balance_after,
            reference: entry.reference,
            created_at: entry.created_at,
        }
    }
}

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
