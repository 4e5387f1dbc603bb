//! `POST /api/wallet/top-up-requests`: asks for money in the wallet of the key's mode.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use steller::AppState;
use steller::domain::{
    Mode, PaymentReference, RequestTopUp, TopUpAmount, TopUpDetails, TopUpNote, TopUpRequest, parse_currency,
};
use steller::http::{
    ApiError, IdempotencyHeader, Json, PartnerCaller, Problem, Validation, idempotency_scope, idempotent,
};
use utoipa::ToSchema;

use steller::views::TopUpView;

const ROUTE: &str = "POST /api/wallet/top-up-requests";

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub(crate) struct TopUpRequestBody {
    /// 10.00 to 100000.00, at most 2 decimals, as a string.
    #[schema(required = true, value_type = String, example = "250.00")]
    amount: Option<String>,
    /// Always `USD`.
    #[schema(required = true, value_type = String, example = "USD")]
    currency: Option<String>,
    /// The bank transfer's reference, so ops can match the payment (up to 255 characters).
    #[schema(example = "WIRE-2026-11-23-0042")]
    payment_reference: Option<String>,
    /// Anything ops should know (up to 1000 characters).
    note: Option<String>,
}

impl TryFrom<&TopUpRequestBody> for TopUpDetails {
    type Error = ApiError;

    fn try_from(body: &TopUpRequestBody) -> Result<Self, ApiError> {
        let mut check = Validation::default();
        let amount = check.field("amount", TopUpAmount::parse(body.amount.as_deref()));
        let currency = check.required("currency", body.currency.as_deref(), |raw| parse_currency(Some(raw)));
        let payment_reference =
            check.optional("payment_reference", body.payment_reference.as_deref(), PaymentReference::parse);
        let note = check.optional("note", body.note.as_deref(), TopUpNote::parse);
        let (Some(amount), Some(_usd), Some(payment_reference), Some(note)) =
            (amount, currency, payment_reference, note)
        else {
            return Err(check.into_error());
        };
        Ok(TopUpDetails { amount, payment_reference, note })
    }
}

/// What the `Json` extractor names beside a field of the wrong JSON type.
impl From<&TopUpRequestBody> for Validation {
    fn from(body: &TopUpRequestBody) -> Self {
        Validation::of(TopUpDetails::try_from(body))
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
        (status = 403, description = "`forbidden`: a live request before the partner's email is verified", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn request_top_up(
    State(state): State<AppState>,
    caller: PartnerCaller,
    IdempotencyHeader(key): IdempotencyHeader,
    Json(body): Json<TopUpRequestBody>,
) -> Result<Response, ApiError> {
    let command = RequestTopUp::new(caller.partner_id, caller.mode, TopUpDetails::try_from(&body)?);
    if caller.mode == Mode::Live && !state.store.partner(&caller.partner_id).await?.email_verified() {
        return Err(ApiError::NotPermitted("live top-ups need a verified email: sign in to the portal once"));
    }
    let scope = idempotency_scope(&caller, key, ROUTE, &body)?;
    let store = state.store.clone();
    idempotent(&store, scope, StatusCode::CREATED, |request: &TopUpRequest| TopUpView::from(request), |completion| async move {
        let request = state.store.request_top_up(&command, completion).await?;
        tracing::info!(topup_id = %request.id, status = request.status.as_str(), amount = %request.amount, "top-up requested");
        state.notices().top_up_requested(&request).await;
        Ok(request)
    })
    .await
}
