//! `GET/POST /dashboard/{mode}/webhooks`, `POST /dashboard/{mode}/webhooks/{id}/rotate`,
//! `POST /dashboard/{mode}/webhooks/{id}/delete` and
//! `POST /dashboard/{mode}/events/{id}/redeliver`: the signed-in owner's webhook endpoints
//! of the mode and the newest events sent to them, with every attempt. Each action is the
//! API's (`/api/webhook-endpoints`, `/api/events`): the same field rules and store calls.
//! A secret is shown when it is made and when it is rotated, never again.

mod deliveries;
mod form;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use steller::AppState;
use steller::domain::{Endpoint, EndpointId, EndpointStatus, EventId, Mode, SECRET_OVERLAP_HOURS, Timestamp};
use steller::store::{Limit, Once, PageRequest, StoreError};
use steller::webhooks::dispatch::{DispatchError, redeliver as queue_again};

use crate::auth::Owner;
use crate::dashboard::{DashboardMode, ItemId, PageQuery, older, title_case};
use crate::page::{
    Caption, ErrorPage, Nav, Section, alert, confirmed, copy_button, csrf_field, notice, page, scroll_table,
};
use crate::submission::{form_token, refused, submission_token, was_sent};
use form::{EndpointForm, Problems};

/// The form of a button that changes one thing: its CSRF token only.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ActionForm {
    #[serde(default)]
    csrf: String,
    /// The rotate form's one-time token (`submission::form_token`).
    #[serde(default)]
    submission: String,
}

/// `?done=` after a delete or a redelivery: what to confirm at the top of the page.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Done {
    done: Option<String>,
    endpoints: Option<String>,
}

/// What the top of the page says before everything else.
enum Banner<'a> {
    Nothing,
    /// A secret just made: `rotated` says whether it replaced one.
    Secret {
        endpoint: &'a Endpoint,
        rotated: bool,
    },
    Notice(String),
    Alert(&'static str),
}

fn webhooks_path(mode: Mode) -> String {
    format!("/dashboard/{mode}/webhooks")
}

/// The page: its banner, the endpoints, the form, and one page of deliveries (`events`:
/// the newest, unless the partner paged back to older ones).
async fn webhooks_page(
    state: &AppState,
    owner: &Owner,
    mode: Mode,
    form: Markup,
    banner: Banner<'_>,
    events: &PageRequest,
) -> Result<Markup, ErrorPage> {
    // A mode has at most `MAX_ENDPOINTS` (16) endpoints: the largest page holds them all.
    let all = PageRequest { limit: Limit::LARGEST, after: None };
    let endpoints = state.store.list_endpoints(&owner.partner, mode, &all).await?;
    // The newest events say whether deliveries work; "Older →" pages through the rest.
    let older_ones = events.after.is_some();
    let events = state.store.list_events(&owner.partner, mode, events).await?;
    let csrf = owner.csrf();
    let can_redeliver = state.webhooks.is_some();
    Ok(page(
        &format!("{} webhooks", title_case(mode)),
        Nav::Partner { mode, csrf: &csrf, section: Section::Webhooks },
        html! {
            (banner_markup(banner))
            p { "Steller POSTs each change in your " (mode) " account to the endpoints that take its type, signed with the endpoint's secret (Standard Webhooks), and retries a failed delivery for about 28 hours." }
            h2 { "Your " (mode) " endpoints" }
            (endpoints_table(&csrf, mode, &endpoints.items))
            h2 { "New endpoint" }
            (form)
            h2 { @if older_ones { "Older deliveries" } @else { "Recent deliveries" } }
            @if !can_redeliver {
                p.muted { "Redelivery is unavailable here: no delivery queue is configured." }
            }
            (deliveries::table(&csrf, mode, &events.items, can_redeliver))
            (older(&events, &webhooks_path(mode)))
        },
    ))
}

fn banner_markup(banner: Banner<'_>) -> Markup {
    html! {
        @match banner {
            Banner::Nothing => {}
            Banner::Secret { endpoint, rotated } => {
                div.secret role="region" aria-label="Your new signing secret" {
                    p.warning { strong { "Copy this secret now: it is shown only now." }
                        " It verifies the signature of every delivery to " code { (endpoint.url) } "." }
                    @if rotated {
                        p { "The old secret keeps signing deliveries, beside this one, for " (SECRET_OVERLAP_HOURS) " hours"
                            @if let Some((_, until)) = &endpoint.previous_secret {
                                " (until " time datetime=(until) { (until) } ")"
                            }
                            ", so your receiver can switch without missing one." }
                    }
                    label for="new-secret" { "Signing secret" }
                    div.copy {
                        input #new-secret readonly value=(endpoint.secret.expose());
                        (copy_button("new-secret", "Copy"))
                    }
                }
            }
            Banner::Notice(text) => (notice(html! { (text) })),
            Banner::Alert(text) => (alert(html! { (text) })),
        }
    }
}

fn endpoints_table(csrf: &str, mode: Mode, endpoints: &[Endpoint]) -> Markup {
    let now = Timestamp::now();
    html! {
        @if endpoints.is_empty() {
            p.muted { "No " (mode) " endpoints yet: add one below." }
        } @else {
            (scroll_table(&format!("Your {mode} webhook endpoints, newest first"), Caption::Hidden, html! {
                // Four columns, so the actions stay in sight at desktop width: what names
                // the endpoint (its description, id and creation) goes under its URL.
                thead { tr { th scope="col" { "Endpoint" } th scope="col" { "Events" } th scope="col" { "Status" }
                    th scope="col" { span.visually-hidden { "Actions" } } } }
                tbody {
                    @for endpoint in endpoints {
                        tr {
                            td {
                                code { (endpoint.url) }
                                @if let Some(description) = &endpoint.description { br; (description) }
                                br; span.muted { code { (endpoint.id) } ", created "
                                    time datetime=(endpoint.created_at) { (endpoint.created_at) } }
                            }
                            td { @for kind in &endpoint.events { code { (kind) } " " } }
                            td { (status(endpoint, now)) }
                            td { (endpoint_actions(csrf, mode, endpoint)) }
                        }
                    }
                }
            }))
        }
    }
}

/// Enabled or disabled, and what a partner should know beside it: failing deliveries, a
/// rotated-out secret still signing.
fn status(endpoint: &Endpoint, now: Timestamp) -> Markup {
    html! {
        @match endpoint.status {
            EndpointStatus::Enabled => span.status-completed { "enabled" },
            EndpointStatus::Disabled => span.status-rejected { "disabled" },
        }
        @if let Some(since) = endpoint.failing_since {
            br; "Failing since " time datetime=(since) { (since) }
        }
        @if let Some((_, until)) = endpoint.previous_secret.as_ref().filter(|(_, until)| *until > now) {
            br; "Old secret signs until " time datetime=(until) { (until) }
        }
    }
}

fn endpoint_actions(csrf: &str, mode: Mode, endpoint: &Endpoint) -> Markup {
    let path = format!("{}/{}", webhooks_path(mode), endpoint.id);
    html! {
        form.inline method="post" action={ (path) "/rotate" } {
            (csrf_field(csrf))
            // Sent again (a reload of the answer), the form rotates nothing: a second
            // rotation would end the secret the receiver still holds at once.
            input type="hidden" name="submission" value=(submission_token());
            button type="submit" aria-label={ "Rotate the secret of " (endpoint.url) } { "Rotate secret" }
        }
        " "
        (confirmed(
            "Delete…",
            &format!("Delete the endpoint {}", endpoint.url),
            "Nothing more is sent to this endpoint, and its secret stops working. This cannot be undone.",
            html! {
                form.inline method="post" action={ (path) "/delete" } {
                    (csrf_field(csrf))
                    button.danger type="submit" { "Delete the endpoint" }
                }
            },
        ))
    }
}

fn blank_form(owner: &Owner, state: &AppState, mode: Mode) -> Markup {
    let values = EndpointForm::default();
    form::render(&owner.csrf(), &submission_token(), mode, state.webhook_urls, &values, &Problems::default())
}

pub(crate) async fn list(
    State(state): State<AppState>,
    owner: Owner,
    DashboardMode(mode): DashboardMode,
    Query(done): Query<Done>,
    Query(events): Query<PageQuery>,
) -> Result<Markup, ErrorPage> {
    // The confirmation is a courtesy: a value this page did not put there shows none.
    let banner = match (done.done.as_deref(), done.endpoints.as_deref().and_then(|n| n.parse::<usize>().ok())) {
        (Some("deleted"), _) => Banner::Notice("The endpoint was deleted: nothing more is sent to it.".into()),
        (Some("redelivered"), Some(0)) => {
            Banner::Notice("No enabled endpoint takes this event's type now, so nothing was sent.".into())
        }
        (Some("redelivered"), Some(1)) => Banner::Notice("The event was queued for delivery to 1 endpoint.".into()),
        (Some("redelivered"), Some(n)) => {
            Banner::Notice(format!("The event was queued for delivery to {n} endpoints."))
        }
        _ => Banner::Nothing,
    };
    webhooks_page(&state, &owner, mode, blank_form(&owner, &state, mode), banner, &events.request()?).await
}

/// Registers the endpoint and shows its secret, this once. Invalid fields are the form
/// again (422) with each error next to its field; a mode with all the endpoints it may
/// have is 409, as in the API.
pub(crate) async fn create(
    State(state): State<AppState>,
    owner: Owner,
    DashboardMode(mode): DashboardMode,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, ErrorPage> {
    let values = EndpointForm::from_pairs(pairs);
    owner.check(&values.csrf)?;
    let refuse = async |status: StatusCode, submission: &str, problems: Problems| -> Result<Response, ErrorPage> {
        let form = form::render(&owner.csrf(), submission, mode, state.webhook_urls, &values, &problems);
        Ok((status, webhooks_page(&state, &owner, mode, form, Banner::Nothing, &PageRequest::default()).await?)
            .into_response())
    };
    let new = match values.checked(owner.partner, mode, state.webhook_urls).await {
        Ok(new) => new,
        // Sent before, when its URL still passed: the endpoint exists.
        Err(_) if was_sent(&state.store, owner.partner, mode, &values.submission, &webhooks_path(mode)).await => {
            return Err(ErrorPage::already_sent(&webhooks_path(mode)));
        }
        Err(problems) => return refuse(StatusCode::UNPROCESSABLE_ENTITY, &values.submission, problems).await,
    };
    // The secret is shown once: a second sending of the same form makes no endpoint.
    let token = form_token(owner.partner, mode, &values.submission, &webhooks_path(mode), new.url.clone())?;
    let endpoint = match state.store.create_endpoint_once(&new, token.as_ref().map(Once::Form)).await {
        Ok(endpoint) => endpoint,
        // Nothing was recorded: the same form (and token) may be sent again.
        Err(StoreError::InvalidState(reason)) => {
            return refuse(StatusCode::CONFLICT, &values.submission, Problems::general(reason)).await;
        }
        Err(other) => return Err(refused(other, &webhooks_path(mode))),
    };
    tracing::info!(endpoint_id = %endpoint.id, %mode, "webhook endpoint created in the portal");
    let banner = Banner::Secret { endpoint: &endpoint, rotated: false };
    // Like every portal page, it is never stored (`http::headers`), so no cache keeps the secret.
    let first = PageRequest::default();
    Ok(webhooks_page(&state, &owner, mode, blank_form(&owner, &state, mode), banner, &first).await?.into_response())
}

/// Gives the endpoint a new secret and shows it, this once; the old one keeps signing for
/// `SECRET_OVERLAP_HOURS`.
pub(crate) async fn rotate(
    State(state): State<AppState>,
    owner: Owner,
    DashboardMode(mode): DashboardMode,
    ItemId(id): ItemId<EndpointId>,
    Form(values): Form<ActionForm>,
) -> Result<Response, ErrorPage> {
    owner.check(&values.csrf)?;
    let path = format!("{}/{id}/rotate", webhooks_path(mode));
    let token = form_token(owner.partner, mode, &values.submission, &path, id.to_string())?;
    let endpoint = state
        .store
        .rotate_secret_once(&owner.partner, mode, &id, token.as_ref().map(Once::Form))
        .await
        .map_err(|error| refused(error, &webhooks_path(mode)))?;
    tracing::info!(endpoint_id = %id, %mode, "webhook secret rotated in the portal");
    let banner = Banner::Secret { endpoint: &endpoint, rotated: true };
    // Like every portal page, it is never stored (`http::headers`), so no cache keeps the secret.
    let first = PageRequest::default();
    Ok(webhooks_page(&state, &owner, mode, blank_form(&owner, &state, mode), banner, &first).await?.into_response())
}

/// Removes the endpoint, then shows the page saying so (303, so a reload does not post
/// again).
pub(crate) async fn delete(
    State(state): State<AppState>,
    owner: Owner,
    DashboardMode(mode): DashboardMode,
    ItemId(id): ItemId<EndpointId>,
    Form(values): Form<ActionForm>,
) -> Result<Response, ErrorPage> {
    owner.check(&values.csrf)?;
    state.store.delete_endpoint(&owner.partner, mode, &id).await?;
    tracing::info!(endpoint_id = %id, %mode, "webhook endpoint deleted in the portal");
    Ok(Redirect::to(&format!("{}?done=deleted", webhooks_path(mode))).into_response())
}

/// Queues the event again for every endpoint that takes it now, then shows the page
/// saying for how many (303). Without a delivery queue, or when it refuses, the page says
/// so with a 503 and nothing was sent.
pub(crate) async fn redeliver(
    State(state): State<AppState>,
    owner: Owner,
    DashboardMode(mode): DashboardMode,
    ItemId(id): ItemId<EventId>,
    Form(values): Form<ActionForm>,
) -> Result<Response, ErrorPage> {
    owner.check(&values.csrf)?;
    let unavailable = async |alert: &'static str| -> Result<Response, ErrorPage> {
        let form = blank_form(&owner, &state, mode);
        let body = webhooks_page(&state, &owner, mode, form, Banner::Alert(alert), &PageRequest::default()).await?;
        Ok((StatusCode::SERVICE_UNAVAILABLE, body).into_response())
    };
    let Some(queue) = state.webhooks.as_deref() else {
        return unavailable("Redelivery is unavailable here: no delivery queue is configured. Nothing was sent.").await;
    };
    match queue_again(&state.store, queue, &owner.partner, mode, &id).await {
        Ok(endpoints) => {
            tracing::info!(event_id = %id, endpoints, "event queued for redelivery in the portal");
            Ok(Redirect::to(&format!("{}?done=redelivered&endpoints={endpoints}", webhooks_path(mode))).into_response())
        }
        Err(DispatchError::Store(error)) => Err(error.into()),
        Err(DispatchError::Queue(error)) => {
            tracing::warn!(event_id = %id, error = %steller::telemetry::chain(error.as_ref()), "redelivery not queued");
            unavailable("The event could not be queued for redelivery just now. Nothing was sent; please try again.")
                .await
        }
    }
}
