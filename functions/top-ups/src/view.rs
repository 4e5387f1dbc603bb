//! A top-up request as partners see it. Ops see the same fields plus who decided it (the
//! admin function's view); the decider stays out of this one, as ops key ids are internal.

use serde::Serialize;
use steller::domain::{Mode, Money, Timestamp, TopUpRequest, TopUpStatus};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct TopUpView {
    #[schema(example = "tur_01JD2X8Q9V4K7M3N5P6R8S0T2W")]
    id: String,
    mode: Mode,
    #[schema(value_type = String, example = "250.00")]
    amount: Money,
    #[schema(example = "USD")]
    currency: &'static str,
    status: TopUpStatus,
    payment_reference: Option<String>,
    note: Option<String>,
    created_at: Timestamp,
    /// When ops (or, in sandbox, Steller at once) decided; null while pending.
    decided_at: Option<Timestamp>,
    /// Why ops rejected it; null otherwise.
    reason: Option<String>,
}

impl From<&TopUpRequest> for TopUpView {
    fn from(request: &TopUpRequest) -> Self {
        TopUpView {
            id: request.id.to_string(),
            mode: request.mode,
            amount: request.amount,
            currency: "USD",
            status: request.status,
            payment_reference: request.payment_reference.clone(),
            note: request.note.clone(),
            created_at: request.created_at,
            decided_at: request.decided_at,
            reason: request.reason.clone(),
        }
    }
}
