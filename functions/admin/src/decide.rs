//! `POST /api/admin/top-up-requests/{id}/approve` and `…/reject`.

use axum::extract::{Path, State};
use serde::Deserialize;
use steller::AppState;
use steller::domain::{Decider, RejectionReason, TopUpId};
use steller::http::{ApiError, Json, OpsCaller, Problem, Validation};
use utoipa::ToSchema;

use crate::view::AdminTopUpView;

fn top_up_id(raw: &str) -> Result<TopUpId, ApiError> {
    TopUpId::parse(raw).map_err(|_| ApiError::NotFound)
}

/// Approves a pending live request: its status, the live wallet credit and the
/// `top_up_credit` ledger entry change in one transaction, exactly once.
#[utoipa::path(
    post,
    path = "/api/admin/top-up-requests/{id}/approve",
    tag = "admin",
    security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The request's id (`tur_…`)")),
    responses(
        (status = 200, description = "Approved; the live wallet is credited", body = AdminTopUpView),
        (status = 404, description = "No such request", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_state`: already decided", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[tracing::instrument(skip_all, fields(topup_id = %id, ops_key = %ops.key_id))]
pub(crate) async fn approve(
    State(state): State<AppState>,
    ops: OpsCaller,
    Path(id): Path<String>,
) -> Result<Json<AdminTopUpView>, ApiError> {
    // The calling key is the decider on record (in the same transaction as the credit):
    // how finance later tells who let this money into a live wallet.
    let approved = state.store.approve_top_up(&top_up_id(&id)?, &Decider::OpsKey(ops.key_id)).await?;
    tracing::info!(partner_id = %approved.partner_id, amount = %approved.amount, "top-up approved");
    steller::notices::top_up_decided(&*state.email, &state.config, &state.store, &approved).await;
    Ok(Json(AdminTopUpView::from(&approved)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct RejectBody {
    /// Why the request is rejected; the partner is told (up to 1000 characters).
    #[schema(required = true, example = "No matching bank transfer received")]
    reason: Option<String>,
}

/// Rejects a pending request with a reason; no money moves.
#[utoipa::path(
    post,
    path = "/api/admin/top-up-requests/{id}/reject",
    tag = "admin",
    security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The request's id (`tur_…`)")),
    request_body = RejectBody,
    responses(
        (status = 200, description = "Rejected", body = AdminTopUpView),
        (status = 404, description = "No such request", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_state`: already decided", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[tracing::instrument(skip_all, fields(topup_id = %id, ops_key = %ops.key_id))]
pub(crate) async fn reject(
    State(state): State<AppState>,
    ops: OpsCaller,
    Path(id): Path<String>,
    Json(body): Json<RejectBody>,
) -> Result<Json<AdminTopUpView>, ApiError> {
    let mut check = Validation::default();
    let Some(reason) = check.field("reason", RejectionReason::parse(body.reason.as_deref())) else {
        return Err(check.into_error());
    };
    let rejected = state.store.reject_top_up(&top_up_id(&id)?, &Decider::OpsKey(ops.key_id), &reason).await?;
    tracing::info!(partner_id = %rejected.partner_id, "top-up rejected");
    steller::notices::top_up_decided(&*state.email, &state.config, &state.store, &rejected).await;
    Ok(Json(AdminTopUpView::from(&rejected)))
}
