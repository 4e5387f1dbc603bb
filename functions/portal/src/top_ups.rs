//! `GET/POST /dashboard/{mode}/top-ups`: the form to ask for money in the mode's wallet,
//! and the mode's requests, newest first. A request is the API's
//! (`POST /api/wallet/top-up-requests`): the same field rules, the same verified-email
//! rule for live, the same store call and the same emails. Sandbox requests are approved
//! and credited at once; live ones wait for ops.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use steller::AppState;
use steller::domain::{
    IdempotencyKey, Mode, PaymentReference, RequestTopUp, TopUpAmount, TopUpAmountError, TopUpDetails, TopUpId,
    TopUpNote, TopUpRequest, TopUpStatus,
};
use steller::store::{Completion, IdempotencyScope, Page, PriorUse, Render, StoreError, StoredResponse};

use crate::auth::Owner;
use crate::dashboard::{DashboardMode, PageQuery, older, title_case};
use crate::page::{
    Caption, ErrorPage, Nav, Section, csrf_field, error_summary, field, money, notice, page, scroll_table,
};
use crate::submission::submission_token;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct TopUpForm {
    #[serde(default)]
    csrf: String,
    /// The form's one-time token (`submission_token`): the request's idempotency key.
    #[serde(default)]
    submission: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    payment_reference: String,
    #[serde(default)]
    note: String,
}

/// `?requested=` after a request is made: the request to confirm at the top of the list.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Requested {
    requested: Option<String>,
}

/// What is wrong with the form: each field's message, or one about the whole request.
#[derive(Debug, Default)]
struct Problems {
    fields: Vec<(&'static str, String)>,
    general: Option<&'static str>,
}

impl Problems {
    fn of(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(field, _)| *field == name).map(|(_, message)| message.as_str())
    }
}

/// An optional field as the API reads one: blank is absent, anything else is parsed.
fn optional<T, E>(raw: &str, parse: impl FnOnce(Option<&str>) -> Result<T, E>) -> Result<Option<T>, E> {
    match raw.trim() {
        "" => Ok(None),
        text => parse(Some(text)).map(Some),
    }
}

/// What is wrong with the amount, in a person's words rather than the API's.
fn amount_error(error: &TopUpAmountError) -> String {
    match error {
        TopUpAmountError::Missing => "Enter an amount, such as 250.00".into(),
        TopUpAmountError::NotAnAmount => {
            "Amount must be in digits, such as 250 or 250.00: no currency sign or commas, at most two decimals".into()
        }
        TopUpAmountError::OutOfRange => format!("Amount {error}"),
    }
}

/// The form's fields by the rules of the API's request body (the currency is always
/// USD here, so there is no field for it). A blank amount is a missing one; every invalid
/// field is named, not just the first.
fn details(values: &TopUpForm) -> Result<TopUpDetails, Vec<(&'static str, String)>> {
    let mut errors = Vec::new();
    let amount = Some(values.amount.trim()).filter(|amount| !amount.is_empty());
    let amount = TopUpAmount::parse(amount).map_err(|e| errors.push(("amount", amount_error(&e)))).ok();
    let payment_reference = optional(&values.payment_reference, PaymentReference::parse)
        .map_err(|e| errors.push(("payment_reference", format!("Payment reference {e}"))))
        .ok();
    let note = optional(&values.note, TopUpNote::parse).map_err(|e| errors.push(("note", format!("Note {e}")))).ok();
    match (amount, payment_reference, note) {
        (Some(amount), Some(payment_reference), Some(note)) => Ok(TopUpDetails { amount, payment_reference, note }),
        _ => Err(errors),
    }
}

fn intro(mode: Mode) -> Markup {
    html! {
        @match mode {
            Mode::Sandbox => p { "Sandbox top-ups are approved at once and credit fake USD to your sandbox wallet, so you can try the whole flow." },
            Mode::Live => p { "Send a bank transfer to Steller, then tell us about it here. Ops check that the payment arrived and approve the request; your live wallet is credited then. We email you at each step." },
        }
    }
}

fn form(csrf: &str, mode: Mode, values: &TopUpForm, problems: &Problems) -> Markup {
    let reference_hint = match mode {
        Mode::Sandbox => "Optional. Anything you like: no money moves in sandbox.",
        Mode::Live => "Optional, but it helps: your bank transfer's reference, so ops can match the payment.",
    };
    html! {
        @if let Some(general) = problems.general {
            div.summary role="alert" { p { (general) } }
        }
        (error_summary(&problems.fields))
        form method="post" action={ "/dashboard/" (mode) "/top-ups" } novalidate {
            (csrf_field(csrf))
            input type="hidden" name="submission" value=(values.submission);
            (field("Amount (USD)", "amount", "text", &values.amount, problems.of("amount"),
                Some("From 10.00 to 100000.00, at most two decimals, such as 250.00.")))
            (field("Payment reference", "payment_reference", "text", &values.payment_reference,
                problems.of("payment_reference"), Some(reference_hint)))
            (note_field(&values.note, problems.of("note")))
            button type="submit" { "Request a " (mode) " top-up" }
        }
    }
}

/// The note is free text up to 1000 characters: a text area, built like `page::field`
/// (label, hint, the error under it, both tied to it).
fn note_field(value: &str, error: Option<&str>) -> Markup {
    let described = if error.is_some() { "note-error note-hint" } else { "note-hint" };
    html! {
        div.field.invalid[error.is_some()] {
            label for="note" { "Note for ops" }
            p.hint #note-hint { "Optional, up to " (TopUpNote::MAX_CHARS) " characters." }
            textarea #note name="note" rows="3" aria-invalid=[error.map(|_| "true")] aria-describedby=(described) {
                (value)
            }
            @if let Some(error) = error { p.error #note-error { (error) } }
        }
    }
}

/// What happened to the request just made, in words.
fn confirmation(request: &TopUpRequest) -> Markup {
    notice(html! {
        @match request.status {
            TopUpStatus::Approved => {
                "Your top-up of " (money(request.amount)) " was approved and credited to your " (request.mode) " wallet."
            }
            TopUpStatus::Pending => {
                "We received your request for " (money(request.amount))
                ". It stays pending until ops find your payment; we email you when it is decided."
            }
            TopUpStatus::Rejected => { "Your request for " (money(request.amount)) " was rejected." }
        }
    })
}

fn requests_table(mode: Mode, requests: &Page<TopUpRequest>) -> Markup {
    html! {
        @if requests.items.is_empty() {
            p.muted { "No " (mode) " top-up requests yet." }
        } @else {
            (scroll_table(&format!("Your {mode} top-up requests, newest first"), Caption::Hidden, html! {
                thead { tr { th scope="col" { "Requested" } th.num scope="col" { "Amount" } th scope="col" { "Status" }
                    th scope="col" { "Decided" } th scope="col" { "Payment reference" } th scope="col" { "Reason" } } }
                tbody {
                    @for request in &requests.items {
                        tr {
                            td { time datetime=(request.created_at) { (request.created_at) } }
                            td.num { (money(request.amount)) }
                            td.{ "status-" (request.status.as_str()) } { (request.status.as_str()) }
                            td {
                                @match request.decided_at {
                                    Some(at) => { time datetime=(at) { (at) } }
                                    None => { "—" }
                                }
                            }
                            td { (request.payment_reference.as_deref().unwrap_or("—")) }
                            td { (request.reason.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }))
        }
        (older(requests, &format!("/dashboard/{mode}/top-ups")))
    }
}

async fn top_ups_page(
    state: &AppState,
    owner: &Owner,
    mode: Mode,
    query: &PageQuery,
    form: Markup,
    requested: Option<&TopUpRequest>,
) -> Result<Markup, ErrorPage> {
    let requests = state.store.list_top_ups(&owner.partner, mode, &query.request()?).await?;
    let csrf = owner.csrf();
    Ok(page(
        &format!("{} top-ups", title_case(mode)),
        Nav::Partner { mode, csrf: &csrf, section: Section::TopUps },
        html! {
            @if let Some(request) = requested { (confirmation(request)) }
            (intro(mode))
            h2 { "Request a top-up" }
            (form)
            h2 { "Your " (mode) " requests" }
            (requests_table(mode, &requests))
        },
    ))
}

pub(crate) async fn list(
    State(state): State<AppState>,
    owner: Owner,
    DashboardMode(mode): DashboardMode,
    Query(query): Query<PageQuery>,
    Query(shown): Query<Requested>,
) -> Result<Markup, ErrorPage> {
    // The confirmation is a courtesy: an id that is not this owner's request of this mode
    // shows none, and the list is shown as always.
    let requested = match shown.requested.as_deref().and_then(|raw| raw.parse::<TopUpId>().ok()) {
        Some(id) => match state.store.top_up(&owner.partner, mode, &id).await {
            Ok(request) => Some(request),
            Err(StoreError::NotFound) => None,
            Err(other) => return Err(other.into()),
        },
        None => None,
    };
    let blank = TopUpForm { submission: submission_token(), ..TopUpForm::default() };
    let form = form(&owner.csrf(), mode, &blank, &Problems::default());
    top_ups_page(&state, &owner, mode, &query, form, requested.as_ref()).await
}

pub(crate) async fn create(
    State(state): State<AppState>,
    owner: Owner,
    DashboardMode(mode): DashboardMode,
    Form(values): Form<TopUpForm>,
) -> Result<Response, ErrorPage> {
    owner.check(&values.csrf)?;
    let refuse = async |status: StatusCode, problems: Problems| -> Result<Response, ErrorPage> {
        let form = form(&owner.csrf(), mode, &values, &problems);
        let body = top_ups_page(&state, &owner, mode, &PageQuery::default(), form, None).await?;
        Ok((status, body).into_response())
    };
    let command = match details(&values) {
        Ok(details) => RequestTopUp::new(owner.partner, mode, details),
        Err(fields) => return refuse(StatusCode::UNPROCESSABLE_ENTITY, Problems { fields, general: None }).await,
    };
    // As the API: real money is asked for only by someone who reads the account's email.
    // Signing in proves that, so this holds for every owner; it is checked all the same.
    if mode == Mode::Live && !state.store.partner(&owner.partner).await?.email_verified() {
        let general = Some(
            "Live top-ups need a verified email address. Sign out, sign in again with the code we email you, and send the request again.",
        );
        return refuse(StatusCode::FORBIDDEN, Problems { fields: Vec::new(), general }).await;
    }
    // The form's token is the request's idempotency key: the same form sent twice (a
    // double click, a reload of the answer) is one request, and the second is shown the
    // first's result. A token sent with other values is a form already used. A form
    // without one (shown before tokens existed) is taken as it comes.
    let completion = match values.submission.trim() {
        "" => None,
        token => Some(submission(&values, owner.partner, mode, token)?),
    };
    let request = match state.store.request_top_up(&command, completion).await {
        Ok(request) => request,
        Err(StoreError::KeyUsed(PriorUse::Replay(first))) => {
            return Ok(Redirect::to(&format!("/dashboard/{mode}/top-ups?requested={}", first.body)).into_response());
        }
        Err(StoreError::KeyUsed(_)) => return Err(ErrorPage::already_sent(&format!("/dashboard/{mode}/top-ups"))),
        Err(other) => return Err(other.into()),
    };
    tracing::info!(topup_id = %request.id, status = request.status.as_str(), amount = %request.amount, "top-up requested in the portal");
    state.notices().top_up_requested(&request).await;
    Ok(Redirect::to(&format!("/dashboard/{mode}/top-ups?requested={}", request.id)).into_response())
}

/// The idempotency record of the form's `token`: it keeps the request's id, to show the
/// same request to a second sending.
fn submission(
    values: &TopUpForm,
    partner: steller::domain::PartnerId,
    mode: Mode,
    token: &str,
) -> Result<Completion<TopUpRequest>, ErrorPage> {
    let key = IdempotencyKey::parse(token).map_err(|_| ErrorPage::forged())?;
    let sent = (&values.amount, &values.payment_reference, &values.note);
    let fingerprint = steller::http::fingerprint(&format!("portal POST /dashboard/{mode}/top-ups"), &sent)
        .map_err(|_| ErrorPage::for_status(StatusCode::INTERNAL_SERVER_ERROR))?;
    let render: Render<TopUpRequest> =
        Arc::new(|request: &TopUpRequest| Ok(StoredResponse { status: 303, body: request.id.to_string() }));
    Ok(Completion { scope: IdempotencyScope { partner, mode, key, fingerprint }, render })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(amount: &str, payment_reference: &str, note: &str) -> TopUpForm {
        TopUpForm {
            csrf: String::new(),
            submission: String::new(),
            amount: amount.into(),
            payment_reference: payment_reference.into(),
            note: note.into(),
        }
    }

    #[test]
    fn blank_optional_fields_are_absent_and_the_amount_is_read_as_money() {
        let details = details(&values(" 250 ", "  ", "")).expect("valid");

        assert_eq!(details.amount.money().to_string(), "250.00");
        assert_eq!((details.payment_reference, details.note), (None, None));
    }

    #[test]
    fn every_invalid_field_is_named_with_the_apis_rule() {
        let long_reference = "r".repeat(PaymentReference::MAX_CHARS + 1);

        let errors = details(&values("9.99", &long_reference, "bell\u{7}")).expect_err("invalid");

        assert_eq!(
            errors,
            [
                ("amount", "Amount must be from 10.00 to 100000.00".to_owned()),
                ("payment_reference", "Payment reference must be at most 255 characters".to_owned()),
                ("note", "Note must not contain control characters".to_owned()),
            ]
        );
    }

    #[test]
    fn a_blank_amount_is_missing_and_a_wordy_one_is_not_an_amount() {
        let missing = details(&values("", "", "")).expect_err("invalid");
        let words = details(&values("ten dollars", "", "")).expect_err("invalid");

        assert_eq!(missing, [("amount", "Enter an amount, such as 250.00".to_owned())]);
        assert_eq!(words[0].0, "amount");
        assert!(words[0].1.starts_with("Amount must be in digits, such as 250 or 250.00"), "{words:?}");
    }
}
