//! A top-up request as ops see it: what the partner sees, plus who decided it. The
//! decider stays out of the partner's view, as ops key ids are internal.

use serde::Serialize;
use steller::domain::TopUpRequest;
use top_ups::TopUpView;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AdminTopUpView {
    #[serde(flatten)]
    request: TopUpView,
    /// Who decided: `ops_key:<key id>` (an ops key, through this API), `cli:<name>` (an
    /// operator with `steller-ops`) or `sandbox` (approved as it was made). Null while
    /// pending, and for requests decided before deciders were recorded.
    #[schema(example = "ops_key:key_01JD2X8Q9V4K7M3N5P6R8S0T2W")]
    decided_by: Option<String>,
}

impl From<&TopUpRequest> for AdminTopUpView {
    fn from(request: &TopUpRequest) -> Self {
        AdminTopUpView {
            request: TopUpView::from(request),
            decided_by: request.decided_by.as_ref().map(ToString::to_string),
        }
    }
}
