//! `POST /api/public/signup`: one call gives a developer a partner account, a sandbox
//! API key and a sandbox wallet holding the configured fake USD.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use steller::AppState;
use steller::domain::{Applicant, CompanyName, ContactName, Email, Mode, SignUp, Timestamp};
use steller::http::{ApiError, Json, NO_STORE, NoStore, Problem, Validation};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct SignupRequest {
    /// The partner's company, 1–200 characters.
    #[schema(required = true, value_type = String, example = "Acme Ltd")]
    company_name: Option<String>,
    /// A contact address: only ASCII letters, digits and ``.!#$%&'*+-/=?^_`{|}~`` before the
    /// `@`, not starting or ending with a dot (SES delivers to no other), at most 254
    /// characters. Unique across partners regardless of letter case, and an
    /// internationalised domain is one address with its ASCII (`xn--`) form.
    #[schema(required = true, value_type = String, example = "dev@acme.example")]
    email: Option<String>,
    /// The person to contact, up to 200 characters.
    #[schema(example = "Ada Lovelace")]
    contact_name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SignupResponse {
    partner: PartnerView,
    /// The sandbox API key. Shown only here: store it now.
    #[schema(example = "stl_sandbox_4f8KqZ0x…")]
    api_key: String,
    wallet: SignupWallet,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PartnerView {
    #[schema(example = "ptn_01JD2X8Q9V4K7M3N5P6R8S0T2W")]
    id: String,
    company_name: String,
    email: String,
    created_at: Timestamp,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SignupWallet {
    mode: Mode,
    #[schema(example = "USD")]
    currency: &'static str,
    #[schema(value_type = String, example = "1000.00")]
    balance: steller::domain::Money,
}

/// The body as the applicant it names, every invalid field named at once.
impl TryFrom<&SignupRequest> for Applicant {
    type Error = ApiError;

    fn try_from(body: &SignupRequest) -> Result<Self, ApiError> {
        let mut check = Validation::default();
        let company_name = check.field("company_name", CompanyName::parse(body.company_name.as_deref()));
        let email = check.field("email", Email::parse(body.email.as_deref()));
        let contact_name = check.optional("contact_name", body.contact_name.as_deref(), ContactName::parse);
        let (Some(company_name), Some(email), Some(contact_name)) = (company_name, email, contact_name) else {
            return Err(check.into_error());
        };
        Ok(Applicant { company_name, email, contact_name })
    }
}

/// What the `Json` extractor names beside a field of the wrong JSON type.
impl From<&SignupRequest> for Validation {
    fn from(body: &SignupRequest) -> Self {
        Validation::of(Applicant::try_from(body))
    }
}

/// Sign up: creates the partner, a sandbox key and both wallets in one transaction, then
/// sends the welcome email.
#[utoipa::path(
    post,
    path = "/api/public/signup",
    tag = "public",
    request_body = SignupRequest,
    responses(
        (status = 201, description = "Signed up; the API key is shown only in this response", body = SignupResponse),
        (status = 409, description = "`email_taken`", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn sign_up(
    State(state): State<AppState>,
    Json(body): Json<SignupRequest>,
) -> Result<(StatusCode, NoStore, Json<SignupResponse>), ApiError> {
    let signup = SignUp::new(Applicant::try_from(&body)?, state.config.sandbox_credit);
    state.store.sign_up(&signup).await?;
    tracing::info!(partner_id = %signup.partner.id, "partner signed up");
    // After the commit, and never able to fail the signup: the partner exists either way.
    state.notices().signed_up(&signup.partner).await;
    let partner = &signup.partner;
    let wallet = signup.sandbox_wallet();
    Ok((
        StatusCode::CREATED,
        // The key is in this body only: no cache may keep it.
        NO_STORE,
        Json(SignupResponse {
            partner: PartnerView {
                id: partner.id.to_string(),
                company_name: partner.company_name.to_string(),
                email: partner.email.to_string(),
                created_at: partner.created_at,
            },
            api_key: signup.first_key.key.expose().to_owned(),
            wallet: SignupWallet { mode: wallet.mode, currency: "USD", balance: wallet.balance },
        }),
    ))
}
