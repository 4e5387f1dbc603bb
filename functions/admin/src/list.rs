//! `GET /api/admin/top-up-requests?status=…`: the queue ops work through.

use axum::extract::{Query, State};
use serde::Deserialize;
use steller::AppState;
use steller::domain::TopUpStatus;
use steller::http::{ApiError, FieldError, Json, List, ListParams, ListQuery, OpsCaller};
use utoipa::IntoParams;

use crate::view::AdminTopUpView;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct StatusParam {
    /// `pending` (default; oldest first), `approved` or `rejected` (newest first).
    #[param(value_type = Option<TopUpStatus>)]
    status: Option<String>,
}

/// Live top-up requests with a status: pending ones oldest first. Ops keys only.
#[utoipa::path(
    get,
    path = "/api/admin/top-up-requests",
    tag = "admin",
    security(("bearer" = []), ("api_key" = [])),
    params(StatusParam, ListParams),
    responses((status = 200, body = List<AdminTopUpView>)),
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn list_top_up_requests(
    State(state): State<AppState>,
    _ops: OpsCaller,
    Query(params): Query<StatusParam>,
    ListQuery(page): ListQuery,
) -> Result<Json<List<AdminTopUpView>>, ApiError> {
    let status = match params.status.as_deref() {
        None => TopUpStatus::Pending,
        Some("") => return Err(ApiError::validation([FieldError::new("status", ListQuery::NO_VALUE)])),
        Some(raw) => raw.parse().map_err(|error| ApiError::validation([FieldError::new("status", error)]))?,
    };
    let requests = state.store.top_ups_by_status(status, &page).await?;
    Ok(Json(List::from_page(requests, |request| AdminTopUpView::from(&request))))
}
