//! `GET/POST /signup`: the sign-up form, and the page that shows the new sandbox key once,
//! with a copy button and a ready curl call.

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use maud::{Markup, html};
use serde::Deserialize;
use steller::AppState;
use steller::domain::{Applicant, CompanyName, ContactName, Email, SignUp};
use steller::store::StoreError;

use crate::auth::{Loopback, check_form_token, form_token};
use crate::page::{ErrorPage, Nav, copy_button, error_summary, field, money, page};

#[derive(Debug, Default, Deserialize)]
pub(crate) struct SignupForm {
    #[serde(default)]
    form_token: String,
    #[serde(default)]
    company_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    contact_name: String,
}

fn form(token: &str, values: &SignupForm, errors: &[(&str, String)]) -> Markup {
    let error = |name: &str| errors.iter().find(|(field, _)| *field == name).map(|(_, message)| message.as_str());
    html! {
        p { "Get an API key and a sandbox wallet with fake USD in one step. No card needed." }
        (error_summary(errors))
        form method="post" action="/signup" novalidate {
            input type="hidden" name="form_token" value=(token);
            (field("Company", "company_name", "text", &values.company_name, error("company_name"), None))
            (field("Email", "email", "email", &values.email, error("email"), Some("You sign in with codes sent here.")))
            (field("Your name (optional)", "contact_name", "text", &values.contact_name, error("contact_name"), None))
            button type="submit" { "Create account" }
        }
        p { "Have an account? " a href="/signin" { "Sign in" } }
    }
}

pub(crate) async fn show(jar: CookieJar, loopback: Loopback) -> Response {
    let (jar, token) = form_token(jar, loopback);
    (jar, page("Sign up", Nav::Visitor, form(&token, &SignupForm::default(), &[]))).into_response()
}

pub(crate) async fn submit(
    State(state): State<AppState>,
    jar: CookieJar,
    loopback: Loopback,
    headers: HeaderMap,
    Form(values): Form<SignupForm>,
) -> Result<Response, ErrorPage> {
    check_form_token(&jar, &values.form_token)?;
    let mut errors = Vec::new();
    let company_name = CompanyName::parse(Some(&values.company_name))
        .map_err(|e| errors.push(("company_name", format!("Company {e}"))))
        .ok();
    let email = Email::parse(Some(&values.email)).map_err(|e| errors.push(("email", format!("Email {e}")))).ok();
    let contact_name = match values.contact_name.trim() {
        "" => Some(None),
        name => ContactName::parse(Some(name))
            .map(Some)
            .map_err(|e| errors.push(("contact_name", format!("Your name {e}"))))
            .ok(),
    };
    let (Some(company_name), Some(email), Some(contact_name)) = (company_name, email, contact_name) else {
        return Ok(refused(&values, &errors));
    };
    let signup = SignUp::new(Applicant { company_name, email, contact_name }, state.config.sandbox_credit);
    match state.store.sign_up(&signup).await {
        Ok(()) => {}
        Err(StoreError::EmailTaken) => {
            let taken = [("email", "An account with this email already exists: sign in instead.".to_owned())];
            return Ok(refused(&values, &taken));
        }
        Err(other) => return Err(other.into()),
    }
    tracing::info!(partner_id = %signup.partner.id, "partner signed up in the portal");
    state.notices().signed_up(&signup.partner).await;
    let host = headers.get(header::HOST).and_then(|host| host.to_str().ok()).unwrap_or("<your Steller host>");
    let origin = format!("{}://{host}", if loopback.0 { "http" } else { "https" });
    Ok(created(&signup, &origin).into_response())
}

fn refused(values: &SignupForm, errors: &[(&str, String)]) -> Response {
    (StatusCode::UNPROCESSABLE_ENTITY, page("Sign up", Nav::Visitor, form(&values.form_token, values, errors)))
        .into_response()
}

fn created(signup: &SignUp, origin: &str) -> Markup {
    let key = signup.first_key.key.expose();
    let curl = format!("curl -s {origin}/api/wallet -H 'Authorization: Bearer {key}'");
    page(
        "Your sandbox key",
        Nav::Visitor,
        html! {
            p { "Welcome, " (signup.partner.company_name) ". Your sandbox wallet holds "
                (money(signup.sandbox_credit)) " of fake money to try every call." }
            div.secret role="region" aria-label="Your new API key" {
                p.warning { strong { "Copy this key now: it is shown only once." } " We keep only its hash." }
                label for="api-key" { "Sandbox API key" }
                div.copy {
                    input #api-key readonly value=(key);
                    (copy_button("api-key", "Copy"))
                }
            }
            h2 { "Try it" }
            pre { code #curl { (curl) } }
            (copy_button("curl", "Copy the call"))
            p { "Next: " a href="/signin" { "sign in" } " with a code sent to " strong { (signup.partner.email) }
                " to see your dashboard and make live keys." }
        },
    )
}
