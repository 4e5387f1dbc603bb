//! `POST /api/wallet/top-up-requests`: asks for money in the wallet of the key's mode.

use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use steller::AppState;
use steller::domain::{PaymentReference, RequestTopUp, TopUpAmount, TopUpNote, TopUpRequest, parse_currency};
use steller::http::{
    ApiError, IdempotencyHeader, Json, PartnerCaller, Validation, created, idempotency_scope, idempotent,
};
use steller::store::Completion;
use utoipa::ToSchema;

use crate::view::TopUpView;

const ROUTE: &str = "POST /api/wallet/top-up-requests";

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub(crate) struct TopUpRequestBody {
    /// 10.00 to 100000.00, at most 2 decimals, as a string.
    #[schema(required = true, example = "250.00")]
    amount: Option<String>,
    /// Always `USD`.
    #[schema(required = true, example = "USD")]
    currency: Option<String>,
    /// The bank transfer's reference, so ops can match the payment (up to 255 characters).
    #[schema(example = "WIRE-2026-11-23-0042")]
    payment_reference: Option<String>,
    /// Anything ops should know (up to 1000 characters).
    note: Option<String>,
}

fn command(body: &TopUpRequestBody, caller: &PartnerCaller) -> Result<RequestTopUp, ApiError> {
    let mut check = Validation::default();
    let amount = check.field("amount", TopUpAmount::parse(body.amount.as_deref()));
    let currency = check.field("currency", parse_currency(body.currency.as_deref()));
    let payment_reference =
        check.optional("payment_reference", body.payment_reference.as_deref(), PaymentReference::parse);
    let note = check.optional("note", body.note.as_deref(), TopUpNote::parse);
    match (amount, currency, payment_reference, note) {
        (Some(amount), Some(_usd), Some(payment_reference), Some(note)) => {
            Ok(RequestTopUp { partner_id: caller.partner_id, mode: caller.mode, amount, payment_reference, note })
        }
        _ => Err(check.into_error()),
    }
}

/// Requests a top-up of the wallet of the key's mode.
///
/// With a live key the request is `pending` until ops approve or reject it; ops and the
/// partner are emailed. With a sandbox key it is approved at once and the sandbox
/// wallet is credited with fake USD in the same transaction. Send an `Idempotency-Key`
/// to retry safely.
#[utoipa::path(
    post,
    path = "/api/wallet/top-up-requests",
    tag = "top-ups",
    security(("bearer" = []), ("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "1–255 printable characters; retries with the same key and body are replayed")),
    request_body = TopUpRequestBody,
    responses(
        (status = 201, description = "Recorded: pending (live) or approved and credited (sandbox)", body = TopUpView,
            headers(("Idempotent-Replayed" = String, description = "`true` when this is a replay of the key's first answer"))),
    ),
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn request_top_up(
    State(state): State<AppState>,
    caller: PartnerCaller,
    IdempotencyHeader(key): IdempotencyHeader,
    Json(body): Json<TopUpRequestBody>,
) -> Result<Response, ApiError> {
    let command = command(&body, &caller)?;
    let scope = idempotency_scope(&caller, key, ROUTE, &body);
    let store = state.store.clone();
    idempotent(&store, scope, |claim| async move {
        let render = |request: &TopUpRequest| created(&TopUpView::from(request));
        let completion = claim.as_ref().map(|(scope, token)| Completion { scope, token, render: &render });
        let request = state.store.request_top_up(&command, completion).await?;
        tracing::info!(topup_id = %request.id, status = request.status.as_str(), amount = %request.amount, "top-up requested");
        steller::notices::top_up_requested(&*state.email, &state.config, &state.store, &request).await;
        Ok(render(&request))
    })
    .await
}
