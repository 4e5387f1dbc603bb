//! The ops console: sign in (a code sent to the allow-listed ops address, or an ops key),
//! the pending live top-ups oldest first, approve or reject each, and the decided history
//! with who decided. A decision here is the same store call the admin API and
//! `steller-ops` make, so it credits exactly once and emails the partner the same way.

use axum::Form;
use axum::extract::{Query, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use maud::{Markup, html};
use serde::Deserialize;
use steller::AppState;
use steller::domain::{
    ApiKey, KeyRole, Principal, RejectionReason, SessionId, SessionOwner, Timestamp, TopUpId, TopUpRequest, TopUpStatus,
};
use steller::store::{Page, PageRequest, StoreError};

use crate::auth::{Loopback, Operator, SESSION_COOKIE, check_form_token, private_cookie};
use crate::dashboard::{ItemId, PageQuery, older};
use crate::page::{Caption, ErrorPage, Nav, csrf_field, error_summary, field, money, page, scroll_table};
use crate::signin::{self, CodeForm, EmailForm, OPS};

#[derive(Debug, Default, Deserialize)]
pub(crate) struct KeyForm {
    #[serde(default)]
    form_token: String,
    #[serde(default)]
    ops_key: String,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct DecisionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

/// The sign-in page: the code form, and the ops-key form for operators who hold one.
pub(crate) async fn sign_in_page(jar: CookieJar, loopback: Loopback, RawQuery(query): RawQuery) -> Response {
    signin::show(signin::OPS, jar, loopback, query).await
}

const OPS_TITLE: &str = "Ops sign-in";

/// The sign-in page's body, with the address typed and its error: the email step of the
/// ops door (`signin::OPS`).
pub(crate) fn sign_in_form(token: &str, email: &str, email_error: Option<&str>) -> Markup {
    sign_in_body(token, email, email_error, None)
}

fn sign_in_body(token: &str, email: &str, email_error: Option<&str>, key_error: Option<&str>) -> Markup {
    let email_errors: Vec<(&str, String)> = email_error.map(|e| ("email", e.to_owned())).into_iter().collect();
    let key_errors: Vec<(&str, String)> = key_error.map(|e| ("ops_key", e.to_owned())).into_iter().collect();
    html! {
        p { "For Steller operators. We email a one-time code to the ops address; or sign in with an ops key." }
        (error_summary(&email_errors))
        form method="post" action="/ops/signin" novalidate {
            input type="hidden" name="form_token" value=(token);
            (field("Ops email", "email", "email", email, email_error, None))
            button type="submit" { "Email me a code" }
        }
        h2 { "Or with an ops key" }
        (error_summary(&key_errors))
        form method="post" action="/ops/signin/key" novalidate {
            input type="hidden" name="form_token" value=(token);
            (field("Ops key", "ops_key", "password", "", key_error, Some("stl_ops_… It is not stored in the browser.")))
            button type="submit" { "Sign in" }
        }
    }
}

pub(crate) async fn ask(
    State(state): State<AppState>,
    jar: CookieJar,
    Form(values): Form<EmailForm>,
) -> Result<Response, ErrorPage> {
    crate::signin::ask(OPS, state, jar, values).await
}

pub(crate) async fn redeem(
    State(state): State<AppState>,
    jar: CookieJar,
    loopback: Loopback,
    Form(values): Form<CodeForm>,
) -> Result<Response, ErrorPage> {
    crate::signin::redeem(OPS, state, jar, loopback, values).await
}

/// Signs in with an ops key: a valid, unrevoked `stl_ops_` key opens a session that
/// decides as that key (`ops_key:<id>`), as the admin API would, for as long as the key
/// stays unrevoked (`auth::Operator`). So a key must be in the ops list, where revoking
/// shows.
pub(crate) async fn with_key(
    State(state): State<AppState>,
    jar: CookieJar,
    loopback: Loopback,
    Form(values): Form<KeyForm>,
) -> Result<Response, ErrorPage> {
    check_form_token(&jar, &values.form_token)?;
    let key = ApiKey::parse(values.ops_key.trim()).ok().filter(|key| key.role() == KeyRole::Ops);
    let principal = match &key {
        Some(key) => state.store.principal(key).await?,
        None => None,
    };
    let refused = |error: &str| {
        let body = sign_in_body(&values.form_token, "", None, Some(error));
        (StatusCode::UNPROCESSABLE_ENTITY, page(OPS_TITLE, Nav::Visitor, body)).into_response()
    };
    let Some(Principal::Ops { key_id }) = principal else {
        return Ok(refused("That is not a valid ops key."));
    };
    if !state.store.ops_key_unrevoked(&key_id).await? {
        return Ok(refused(
            "This ops key is not in the ops list, so it cannot open the console. Use a key made with steller-ops create-ops-key.",
        ));
    }
    let id = SessionId::generate();
    state.store.open_session(&id, SessionOwner::OpsKey(key_id), Timestamp::now()).await?;
    tracing::info!(ops_key = %key_id, "signed in to the ops console with a key");
    let jar = jar.add(private_cookie(SESSION_COOKIE, id.expose().to_owned(), loopback));
    Ok((jar, Redirect::to("/ops")).into_response())
}

/// Pending live requests, oldest first: the queue to work through.
pub(crate) async fn pending(
    State(state): State<AppState>,
    operator: Operator,
    Query(query): Query<PageQuery>,
) -> Result<Markup, ErrorPage> {
    let requests = state.store.top_ups_by_status(TopUpStatus::Pending, &query.request()?).await?;
    let csrf = operator.csrf();
    let rows = with_companies(&state, &requests).await?;
    Ok(page(
        "Pending top-ups",
        Nav::Operator { csrf: &csrf },
        html! {
            p { "Live top-up requests waiting for a decision, oldest first. Check the payment arrived, then approve (the live wallet is credited once) or reject with a reason the partner reads." }
            @if rows.is_empty() { p.muted { "Nothing is waiting." } }
            @for (request, company) in &rows { (pending_card(&csrf, request, company)) }
            (older(&requests, "/ops"))
        },
    ))
}

fn pending_card(csrf: &str, request: &TopUpRequest, company: &str) -> Markup {
    let reason_id = format!("reason-{}", request.id);
    html! {
        section.card aria-labelledby={ "title-" (request.id) } {
            h2 #{ "title-" (request.id) } { (money(request.amount)) " for " (company) }
            dl.facts {
                dt { "Request" } dd { code { (request.id) } }
                dt { "Partner" } dd { (company) " " code { (request.partner_id) } }
                dt { "Mode" } dd { (request.mode) }
                dt { "Payment reference" } dd { (request.payment_reference.as_deref().unwrap_or("—")) }
                @if let Some(note) = &request.note { dt { "Note" } dd { (note) } }
                dt { "Requested" } dd { time datetime=(request.created_at) { (request.created_at) } }
            }
            form.inline method="post" action={ "/ops/top-ups/" (request.id) "/approve" } {
                (csrf_field(csrf))
                button type="submit" { "Approve " (request.amount) " USD" }
            }
            form method="post" action={ "/ops/top-ups/" (request.id) "/reject" } {
                (csrf_field(csrf))
                div.field {
                    label for=(reason_id) { "Reason for rejecting" }
                    input #(reason_id) name="reason" type="text";
                }
                button.danger type="submit" { "Reject" }
            }
        }
    }
}

/// Each request with its partner's company name (a handful of reads per page).
async fn with_companies(
    state: &AppState,
    requests: &Page<TopUpRequest>,
) -> Result<Vec<(TopUpRequest, String)>, ErrorPage> {
    let mut rows = Vec::with_capacity(requests.items.len());
    for request in &requests.items {
        let company = match state.store.partner(&request.partner_id).await {
            Ok(partner) => partner.company_name.to_string(),
            Err(steller::store::StoreError::NotFound) => "(unknown partner)".to_owned(),
            Err(other) => return Err(other.into()),
        };
        rows.push((request.clone(), company));
    }
    Ok(rows)
}

/// Decided requests, newest first, with who decided each.
pub(crate) async fn decided(State(state): State<AppState>, operator: Operator) -> Result<Markup, ErrorPage> {
    // Two short lists, each the newest page of its status.
    let page_request = PageRequest::default();
    let mut decided = state.store.top_ups_by_status(TopUpStatus::Approved, &page_request).await?.items;
    decided.extend(state.store.top_ups_by_status(TopUpStatus::Rejected, &page_request).await?.items);
    decided.sort_by_key(|request| std::cmp::Reverse(request.decided_at));
    let csrf = operator.csrf();
    Ok(page(
        "Decided top-ups",
        Nav::Operator { csrf: &csrf },
        html! {
            p { "The latest approved and rejected live requests, newest decision first." }
            (scroll_table("Decided live top-up requests, newest decision first", Caption::Hidden, html! {
                thead { tr { th scope="col" { "Decided" } th scope="col" { "Request" } th scope="col" { "Partner" }
                    th.num scope="col" { "Amount" } th scope="col" { "Status" } th scope="col" { "Decided by" } th scope="col" { "Reason" } } }
                tbody {
                    @for request in &decided {
                        tr {
                            td { @if let Some(at) = request.decided_at { time datetime=(at) { (at) } } }
                            td { code { (request.id) } }
                            td { code { (request.partner_id) } }
                            td.num { (money(request.amount)) }
                            td.{ "status-" (request.status.as_str()) } { (request.status.as_str()) }
                            td { (request.decided_by.as_ref().map_or_else(|| "—".to_owned(), ToString::to_string)) }
                            td { (request.reason.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }))
        },
    ))
}

pub(crate) async fn approve(
    State(state): State<AppState>,
    operator: Operator,
    ItemId(id): ItemId<TopUpId>,
    Form(values): Form<DecisionForm>,
) -> Result<Response, ErrorPage> {
    operator.check(&values.csrf)?;
    let approved = match state.store.approve_top_up(&id, &operator.decider).await {
        Ok(approved) => approved,
        Err(steller::store::StoreError::InvalidState(detail)) => return Ok(conflict(&operator, &detail)),
        Err(other) => return Err(other.into()),
    };
    tracing::info!(topup_id = %id, decided_by = %operator.decider, "top-up approved in the console");
    state.notices().top_up_decided(&approved).await;
    Ok(Redirect::to("/ops").into_response())
}

pub(crate) async fn reject(
    State(state): State<AppState>,
    operator: Operator,
    ItemId(id): ItemId<TopUpId>,
    Form(values): Form<DecisionForm>,
) -> Result<Response, ErrorPage> {
    operator.check(&values.csrf)?;
    let reason = match RejectionReason::parse(Some(&values.reason)) {
        Ok(reason) => reason,
        Err(error) => return reason_missing(&state, &operator, &id, &values.reason, &format!("Reason {error}")).await,
    };
    let rejected = match state.store.reject_top_up(&id, &operator.decider, &reason).await {
        Ok(rejected) => rejected,
        Err(steller::store::StoreError::InvalidState(detail)) => return Ok(conflict(&operator, &detail)),
        Err(other) => return Err(other.into()),
    };
    tracing::info!(topup_id = %id, decided_by = %operator.decider, "top-up rejected in the console");
    state.notices().top_up_decided(&rejected).await;
    Ok(Redirect::to("/ops").into_response())
}

/// A reject without a usable reason: the request again, the error next to the reason
/// and the reason as typed. A request decided already says so instead, as a reject with a
/// reason would: a reason cannot change that.
async fn reason_missing(
    state: &AppState,
    operator: &Operator,
    id: &TopUpId,
    typed: &str,
    error: &str,
) -> Result<Response, ErrorPage> {
    let request = match steller::store::pending(state.store.top_up_by_id(id).await?) {
        Ok(request) => request,
        Err(StoreError::InvalidState(decided)) => return Ok(conflict(operator, &decided)),
        Err(other) => return Err(other.into()),
    };
    let csrf = operator.csrf();
    let reason_id = format!("reason-{id}");
    let body = html! {
        (error_summary(&[(reason_id.as_str(), error.to_owned())]))
        form method="post" action={ "/ops/top-ups/" (id) "/reject" } {
            (csrf_field(&csrf))
            p { "Rejecting " (money(request.amount)) " (" code { (request.id) } ")." }
            div.field.invalid {
                label for=(reason_id) { "Reason for rejecting" }
                input #(reason_id) name="reason" type="text" value=(typed) aria-invalid="true"
                    aria-describedby={ (reason_id) "-error" };
                p.error #{ (reason_id) "-error" } { (error) }
            }
            button.danger type="submit" { "Reject" }
        }
        p { a href="/ops" { "Back to pending top-ups" } }
    };
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page("Reject a top-up", Nav::Operator { csrf: &csrf }, body)).into_response())
}

fn conflict(operator: &Operator, detail: &str) -> Response {
    let csrf = operator.csrf();
    let body =
        html! { p role="alert" { (detail) ": nothing changed." } p { a href="/ops" { "Back to pending top-ups" } } };
    (StatusCode::CONFLICT, page("Already decided", Nav::Operator { csrf: &csrf }, body)).into_response()
}
