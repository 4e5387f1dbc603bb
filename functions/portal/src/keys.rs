//! `GET/POST /dashboard/{mode}/keys` and `POST /dashboard/{mode}/keys/{id}/revoke`: the
//! signed-in owner's API keys of the mode. Here, and only here or with a live key, live
//! keys are made: signing in proved the owner reads the account's email.

use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use steller::AppState;
use steller::domain::{IdempotencyKey, KeyId, KeyName, KeySummary, NewKey};
use steller::store::{IdempotencyScope, Limit, PageRequest, StoreError, StoredResponse};

use crate::auth::Owner;
use crate::dashboard::{DashboardMode, ItemId, title_case};
use crate::page::{Caption, ErrorPage, Nav, csrf_field, error_summary, field, page, scroll_table, submission_token};

#[derive(Debug, Default, Deserialize)]
pub(crate) struct KeyForm {
    #[serde(default)]
    csrf: String,
    /// The form's one-time token (`submission_token`): one key per form shown.
    #[serde(default)]
    submission: String,
    #[serde(default)]
    name: String,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RevokeForm {
    #[serde(default)]
    csrf: String,
}

async fn keys_page(
    state: &AppState,
    owner: &Owner,
    mode: steller::domain::Mode,
    form: Markup,
    created: Option<&NewKey>,
) -> Result<Markup, ErrorPage> {
    // Keys are few; the whole list fits the largest page.
    let page_request = PageRequest { limit: Limit::LARGEST, after: None };
    let keys = state.store.list_keys(&owner.partner, Some(mode), &page_request).await?;
    let csrf = owner.csrf();
    Ok(page(
        &format!("{} API keys", title_case(mode)),
        Nav::Partner { mode, csrf: &csrf },
        html! {
            @if let Some(new) = created {
                div.secret role="region" aria-label="Your new API key" {
                    p.warning { strong { "Copy this key now: it is shown only once." } " We keep only its hash." }
                    label for="new-key" { "New " (new.summary.mode) " key" }
                    div.copy {
                        input #new-key readonly value=(new.key.expose());
                        button type="button" data-copy="new-key" { "Copy" }
                    }
                }
            }
            h2 { "Create a " (mode) " key" }
            (form)
            h2 { "Your " (mode) " keys" }
            (scroll_table(&format!("Your {mode} keys"), Caption::Hidden, html! {
                thead { tr { th scope="col" { "Name" } th scope="col" { "Starts with" } th scope="col" { "Created" }
                    th scope="col" { "Status" } th scope="col" { span.visually-hidden { "Action" } } } }
                tbody { @for key in &keys.items { (key_row(&csrf, mode, key)) } }
            }))
        },
    ))
}

fn key_row(csrf: &str, mode: steller::domain::Mode, key: &KeySummary) -> Markup {
    html! {
        tr {
            td { (key.name.as_deref().unwrap_or("—")) }
            td { code { (key.prefix) "…" } }
            td { time datetime=(key.created_at) { (key.created_at) } }
            td {
                @match key.revoked_at {
                    Some(at) => { "Revoked " time datetime=(at) { (at) } }
                    None => { "Active" }
                }
            }
            td {
                @if key.revoked_at.is_none() {
                    form.inline method="post" action={ "/dashboard/" (mode) "/keys/" (key.id) "/revoke" } {
                        (csrf_field(csrf))
                        button.danger type="submit" aria-label={ "Revoke key " (key.prefix) } { "Revoke" }
                    }
                }
            }
        }
    }
}

fn key_form(csrf: &str, mode: steller::domain::Mode, submission: &str, name: &str, error: Option<&str>) -> Markup {
    let errors: Vec<(&str, String)> = error.map(|e| ("name", e.to_owned())).into_iter().collect();
    html! {
        (error_summary(&errors))
        form method="post" action={ "/dashboard/" (mode) "/keys" } novalidate {
            (csrf_field(csrf))
            input type="hidden" name="submission" value=(submission);
            (field("Name", "name", "text", name, error, Some("So you can tell your keys apart, like \"production backend\".")))
            button type="submit" { "Create " (mode) " key" }
        }
    }
}

pub(crate) async fn list(
    State(state): State<AppState>,
    owner: Owner,
    DashboardMode(mode): DashboardMode,
) -> Result<Markup, ErrorPage> {
    let form = key_form(&owner.csrf(), mode, &submission_token(), "", None);
    keys_page(&state, &owner, mode, form, None).await
}

pub(crate) async fn create(
    State(state): State<AppState>,
    owner: Owner,
    DashboardMode(mode): DashboardMode,
    Form(values): Form<KeyForm>,
) -> Result<Response, ErrorPage> {
    owner.check(&values.csrf)?;
    let name = match values.name.trim() {
        "" => None,
        name => match KeyName::parse(Some(name)) {
            Ok(name) => Some(name),
            Err(error) => {
                let form =
                    key_form(&owner.csrf(), mode, &values.submission, &values.name, Some(&format!("Name {error}")));
                let body = keys_page(&state, &owner, mode, form, None).await?;
                return Ok((StatusCode::UNPROCESSABLE_ENTITY, body).into_response());
            }
        },
    };
    let new = NewKey::generate(mode, name);
    // The key is shown once, so a second sending of the same form (a double click, a
    // reload of this page) must make none: the form's token is claimed first, with one
    // conditional write only one sending can win. The store's key creation takes no
    // idempotency record, so the claim is its own write; should the creation then fail,
    // the form is used up and the page says to open a fresh one.
    if !values.submission.trim().is_empty() {
        let scope = IdempotencyScope {
            partner: owner.partner,
            mode,
            key: IdempotencyKey::parse(values.submission.trim()).map_err(|_| ErrorPage::forged())?,
            fingerprint: format!("portal POST /dashboard/{mode}/keys"),
        };
        let claim = StoredResponse { status: 200, body: new.summary.id.to_string() };
        match state.store.keep_first_answer(&scope, &claim).await {
            Ok(()) => {}
            Err(StoreError::KeyUsed(_)) => return Err(ErrorPage::already_sent(&format!("/dashboard/{mode}/keys"))),
            Err(other) => return Err(other.into()),
        }
    }
    state.store.create_key(&owner.partner, &new).await?;
    tracing::info!(key_id = %new.summary.id, %mode, "key created in the portal");
    let form = key_form(&owner.csrf(), mode, &submission_token(), "", None);
    Ok(keys_page(&state, &owner, mode, form, Some(&new)).await?.into_response())
}

pub(crate) async fn revoke(
    State(state): State<AppState>,
    owner: Owner,
    DashboardMode(mode): DashboardMode,
    ItemId(id): ItemId<KeyId>,
    Form(values): Form<RevokeForm>,
) -> Result<Response, ErrorPage> {
    owner.check(&values.csrf)?;
    state.store.revoke_key(&owner.partner, Some(mode), &id).await?;
    tracing::info!(key_id = %id, "key revoked in the portal");
    Ok(Redirect::to(&format!("/dashboard/{mode}/keys")).into_response())
}
