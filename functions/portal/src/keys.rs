//! `GET/POST /dashboard/{mode}/keys` and `POST /dashboard/{mode}/keys/{id}/revoke`: the
//! signed-in owner's API keys of the mode. Here, and only here or with a live key, live
//! keys are made: signing in proved the owner reads the account's email.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use steller::AppState;
use steller::domain::{KeyId, KeyName, KeySummary, NewKey};
use steller::store::{Limit, PageRequest};

use crate::auth::Owner;
use crate::dashboard::{DashboardMode, ItemId, title_case};
use crate::page::{
    Caption, ErrorPage, Nav, Section, confirmed, copy_button, csrf_field, error_summary, field, notice, page,
    scroll_table,
};
use crate::submission::{form_token, refused, submission_token};

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

/// `?revoked=` after a key is revoked: the key to confirm above the form.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Revoked {
    revoked: Option<String>,
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
    revoked: Option<KeyId>,
) -> Result<Markup, ErrorPage> {
    // Keys are few; the whole list fits the largest page.
    let page_request = PageRequest { limit: Limit::LARGEST, after: None };
    let keys = state.store.list_keys(&owner.partner, Some(mode), &page_request).await?;
    // Only a key of this list that is revoked is confirmed: an id that is another
    // partner's, another mode's or still active shows nothing.
    let revoked = revoked.and_then(|id| keys.items.iter().find(|key| key.id == id && key.revoked_at.is_some()));
    let csrf = owner.csrf();
    Ok(page(
        &format!("{} API keys", title_case(mode)),
        Nav::Partner { mode, csrf: &csrf, section: Section::Keys },
        html! {
            @if let Some(key) = revoked { (revoked_notice(key)) }
            @if let Some(new) = created {
                div.secret role="region" aria-label="Your new API key" {
                    p.warning { strong { "Copy this key now: it is shown only once." } " We keep only its hash." }
                    label for="new-key" { "New " (new.summary.mode) " key" }
                    div.copy {
                        input #new-key readonly value=(new.key.expose());
                        (copy_button("new-key", "Copy"))
                    }
                }
            }
            h2 { "Create a " (mode) " key" }
            (form)
            h2 { "Your " (mode) " keys" }
            @if keys.items.is_empty() {
                p.muted { "No " (mode) " keys yet: create one above." }
            } @else {
                (scroll_table(&format!("Your {mode} keys"), Caption::Hidden, html! {
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Starts with" } th scope="col" { "Created" }
                        th scope="col" { "Status" } th scope="col" { span.visually-hidden { "Action" } } } }
                    tbody { @for key in &keys.items { (key_row(&csrf, mode, key)) } }
                }))
            }
        },
    ))
}

fn revoked_notice(key: &KeySummary) -> Markup {
    notice(html! {
        "Key "
        @if let Some(name) = &key.name { "“" (name) "” (" code { (key.id) } ")" } @else { code { (key.id) } }
        " was revoked; it stops working at once."
    })
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
                    (confirmed(
                        "Revoke…",
                        &format!("Revoke key {}", key.prefix),
                        "Every call made with this key is refused from the next one on. This cannot be undone.",
                        html! {
                            form.inline method="post" action={ "/dashboard/" (mode) "/keys/" (key.id) "/revoke" } {
                                (csrf_field(csrf))
                                button.danger type="submit" { "Revoke " code { (key.prefix) "…" } }
                            }
                        },
                    ))
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
    Query(shown): Query<Revoked>,
) -> Result<Markup, ErrorPage> {
    let revoked = shown.revoked.as_deref().and_then(|raw| raw.parse::<KeyId>().ok());
    let form = key_form(&owner.csrf(), mode, &submission_token(), "", None);
    keys_page(&state, &owner, mode, form, None, revoked).await
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
                let body = keys_page(&state, &owner, mode, form, None, None).await?;
                return Ok((StatusCode::UNPROCESSABLE_ENTITY, body).into_response());
            }
        },
    };
    let new = NewKey::generate(mode, name);
    // The key is shown once: a second sending of the same form makes none.
    let path = format!("/dashboard/{mode}/keys");
    let token = form_token(owner.partner, mode, &values.submission, &path, new.summary.id.to_string())?;
    state.store.create_key_once(&owner.partner, &new, token.as_ref()).await.map_err(|error| refused(error, &path))?;
    tracing::info!(key_id = %new.summary.id, %mode, "key created in the portal");
    let form = key_form(&owner.csrf(), mode, &submission_token(), "", None);
    Ok(keys_page(&state, &owner, mode, form, Some(&new), None).await?.into_response())
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
    Ok(Redirect::to(&format!("/dashboard/{mode}/keys?revoked={id}")).into_response())
}
