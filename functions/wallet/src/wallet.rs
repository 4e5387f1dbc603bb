//! `GET /api/wallet`: the balance of the wallet the key's mode selects.

use axum::extract::State;
use serde::Serialize;
use steller::AppState;
use steller::domain::{Mode, Money, Timestamp, Wallet};
use steller::http::{ApiError, Json, PartnerCaller};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct WalletView {
    mode: Mode,
    #[schema(example = "USD")]
    currency: &'static str,
    #[schema(value_type = String, example = "1000.00")]
    balance: Money,
    updated_at: Timestamp,
}

impl From<Wallet> for WalletView {
    fn from(wallet: Wallet) -> Self {
        WalletView { mode: wallet.mode, currency: "USD", balance: wallet.balance, updated_at: wallet.updated_at }
    }
}

/// The caller's wallet in the key's mode, read strongly consistently.
#[utoipa::path(
    get,
    path = "/api/wallet",
    tag = "wallet",
    security(("bearer" = []), ("api_key" = [])),
    responses((status = 200, body = WalletView)),
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn get_wallet(
    State(state): State<AppState>,
    caller: PartnerCaller,
) -> Result<Json<WalletView>, ApiError> {
    let wallet = state.store.wallet(&caller.partner_id, caller.mode).await?;
    Ok(Json(wallet.into()))
}
