//! `GET /api/wallet/top-up-requests` and `GET /api/wallet/top-up-requests/{id}`.

use axum::extract::State;
use steller::AppState;
use steller::domain::TopUpId;
use steller::http::openapi::NotFound;
use steller::http::{ApiError, Json, List, ListParams, ListQuery, PartnerCaller, PathId};

use steller::views::TopUpView;

/// The caller's top-up requests in the key's mode, newest first.
#[utoipa::path(
    get,
    path = "/api/wallet/top-up-requests",
    tag = "top-ups",
    security(("bearer" = []), ("api_key" = [])),
    params(ListParams),
    responses((status = 200, body = List<TopUpView>)),
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn list_top_ups(
    State(state): State<AppState>,
    caller: PartnerCaller,
    ListQuery(page): ListQuery,
) -> Result<Json<List<TopUpView>>, ApiError> {
    let requests = state.store.list_top_ups(&caller.partner_id, caller.mode, &page).await?;
    Ok(Json(List::from_page(requests, |request| TopUpView::from(&request))))
}

/// One of the caller's top-up requests; another partner's or the other mode's is 404.
#[utoipa::path(
    get,
    path = "/api/wallet/top-up-requests/{id}",
    tag = "top-ups",
    security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The request's id (`tur_…`)")),
    responses((status = 200, body = TopUpView), NotFound),
)]
#[tracing::instrument(skip_all, fields(topup_id = %id))]
pub(crate) async fn get_top_up(
    State(state): State<AppState>,
    caller: PartnerCaller,
    PathId(id): PathId<TopUpId>,
) -> Result<Json<TopUpView>, ApiError> {
    let request = state.store.top_up(&caller.partner_id, caller.mode, &id).await?;
    Ok(Json(TopUpView::from(&request)))
}
