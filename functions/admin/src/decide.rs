//! `POST /api/admin/top-up-requests/{id}/approve` and `…/reject`.

use axum::extract::State;
use serde::Deserialize;
use steller::AppState;
use steller::domain::{Decider, RejectionReason, TopUpId};
use steller::http::openapi::{InvalidState, NotFound};
use steller::http::{ApiError, Json, OpsCaller, PathId, Validation};
use utoipa::ToSchema;

use crate::view::AdminTopUpView;

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
        NotFound,
        InvalidState,
    ),
)]
#[tracing::instrument(skip_all, fields(topup_id = %id, ops_key = %ops.key_id))]
pub(crate) async fn approve(
    State(state): State<AppState>,
    ops: OpsCaller,
    PathId(id): PathId<TopUpId>,
) -> Result<Json<AdminTopUpView>, ApiError> {
    // The calling key is the decider on record (in the same transaction as the credit):
    // how finance later tells who let this money into a live wallet.
    let approved = state.store.approve_top_up(&id, &Decider::OpsKey(ops.key_id)).await?;
    tracing::info!(partner_id = %approved.partner_id, amount = %approved.amount, "top-up approved");
    state.notices().top_up_decided(&approved).await;
    Ok(Json(AdminTopUpView::from(&approved)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct RejectBody {
    /// Why the request is rejected; the partner is told (up to 1000 characters).
    #[schema(required = true, value_type = String, example = "No matching bank transfer received")]
    reason: Option<String>,
}

impl TryFrom<&RejectBody> for RejectionReason {
    type Error = ApiError;

    fn try_from(body: &RejectBody) -> Result<Self, ApiError> {
        let mut check = Validation::default();
        check.field("reason", RejectionReason::parse(body.reason.as_deref())).ok_or_else(|| check.into_error())
    }
}

/// What the `Json` extractor names beside a field of the wrong JSON type.
impl From<&RejectBody> for Validation {
    fn from(body: &RejectBody) -> Self {
        Validation::of(RejectionReason::try_from(body))
    }
}

/// Rejects a pending request with a reason; no money moves.
#[utoipa::path(
    post,
    path = "/api/admin/top-up-requests/{id}/reject",
    tag = "admin",
    security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The request's id (`tur_…`)")),
    request_body = RejectBody,
    responses((status = 200, description = "Rejected", body = AdminTopUpView), NotFound, InvalidState),
)]
#[tracing::instrument(skip_all, fields(topup_id = %id, ops_key = %ops.key_id))]
pub(crate) async fn reject(
    State(state): State<AppState>,
    ops: OpsCaller,
    PathId(id): PathId<TopUpId>,
    Json(body): Json<RejectBody>,
) -> Result<Json<AdminTopUpView>, ApiError> {
    let reason = RejectionReason::try_from(&body)?;
    let rejected = state.store.reject_top_up(&id, &Decider::OpsKey(ops.key_id), &reason).await?;
    tracing::info!(partner_id = %rejected.partner_id, "top-up rejected");
    state.notices().top_up_decided(&rejected).await;
    Ok(Json(AdminTopUpView::from(&rejected)))
}
