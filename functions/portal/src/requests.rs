//! `GET /dashboard/{mode}/requests` and `GET /dashboard/{mode}/requests/{id}`: the
//! signed-in owner's API requests of the mode, newest first, filtered by status and route
//! as `GET /api/requests` filters them, and one request. Both read the request-log table
//! as the API does (`RequestLogTable::requests`, `RequestLogTable::request`).
//!
//! `POST /dashboard/{mode}/requests` is the find box: it takes the `X-Request-Id` a
//! partner pastes to that request's page. It posts, so what is pasted never lands in an
//! address, a browser's history or a log: the box sits where partners paste things, and
//! now and then what they paste is an API key.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use steller::AppState;
use steller::domain::Mode;
use steller::request_log::{LoggedRequest, LoggedRequestId, RequestFilter, RouteFilter, StatusFilter};
use steller::store::Page;

use crate::auth::Owner;
use crate::dashboard::{DashboardMode, ItemId, PageQuery, title_case};
use crate::page::{Caption, ErrorPage, Nav, Section, error_summary, field, page, scroll_table};

/// The list's query besides its cursor: the filters (blank means any, as a form sends
/// every field).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RequestsQuery {
    status: Option<String>,
    route: Option<String>,
}

/// The find box's form: what was pasted, and the session's CSRF token.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct FindForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request_id: String,
}

fn requests_path(mode: Mode) -> String {
    format!("/dashboard/{mode}/requests")
}

fn given(raw: Option<&str>) -> Option<&str> {
    raw.map(str::trim).filter(|raw| !raw.is_empty())
}

/// The id in what was pasted: the box says to paste the `X-Request-Id` header, so the
/// whole header line (`X-Request-Id: req_…`, any letter case) is taken too.
fn pasted_id(pasted: &str) -> &str {
    const HEADER: &str = "x-request-id:";
    match pasted.get(..HEADER.len()) {
        Some(name) if name.eq_ignore_ascii_case(HEADER) => pasted[HEADER.len()..].trim(),
        _ => pasted,
    }
}

/// The filter the form asks for, or each field's error.
fn filter(query: &RequestsQuery) -> Result<RequestFilter, Vec<(&'static str, String)>> {
    let mut errors = Vec::new();
    let status = given(query.status.as_deref()).map(StatusFilter::parse).transpose();
    let status = status.map_err(|error| errors.push(("status", format!("Status {error}")))).ok().flatten();
    let route = given(query.route.as_deref()).map(RouteFilter::parse).transpose();
    let route = route.map_err(|error| errors.push(("route", format!("Route {error}")))).ok().flatten();
    if errors.is_empty() { Ok(RequestFilter { status, route }) } else { Err(errors) }
}

/// The page saying this deployment keeps no request log.
fn unconfigured(mode: Mode, nav: Nav<'_>) -> Response {
    let body = html! {
        p role="alert" { "Request logs are not configured here: this deployment has no request-log table." }
        p { "Your API calls still work. " a href={ "/dashboard/" (mode) } { "Back to the wallet" } }
    };
    (StatusCode::SERVICE_UNAVAILABLE, page(&format!("{} requests", title_case(mode)), nav, body)).into_response()
}

/// A query-string value, percent-encoded (a route holds `/`, `{` and `}`).
fn encoded(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => char::from(byte).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// Whether pasted text holds a secret: an API key (`stl_…`) or a webhook signing secret
/// (`whsec_…`), alone or inside a header line. Such text is never shown back.
fn holds_a_secret(pasted: &str) -> bool {
    ["stl_", "whsec_"].iter().any(|prefix| pasted.contains(prefix))
}

fn find_box(mode: Mode, csrf: &str, value: &str, error: Option<&str>) -> Markup {
    html! {
        form.find method="post" action=(requests_path(mode)) role="search" aria-label="Find a request" novalidate {
            input type="hidden" name="csrf" value=(csrf);
            (field("Find a request by its id", "request_id", "text", value, error,
                Some("Paste the X-Request-Id header of a response, such as req_01JD2X8Q9V4K7M3N5P6R8S0T2W.")))
            button type="submit" { "Find" }
        }
    }
}

fn filters_form(mode: Mode, query: &RequestsQuery, errors: &[(&'static str, String)]) -> Markup {
    let error = |name: &str| errors.iter().find(|(field, _)| *field == name).map(|(_, message)| message.as_str());
    html! {
        (error_summary(errors))
        form.filters method="get" action=(requests_path(mode)) novalidate {
            (field("Status", "status", "text", query.status.as_deref().unwrap_or(""), error("status"),
                Some("A class (2xx, 4xx, 5xx) or a code (404); blank for all.")))
            (field("Route", "route", "text", query.route.as_deref().unwrap_or(""), error("route"),
                Some("A route template, such as /api/orders/{id}; blank for all.")))
            button type="submit" { "Filter" }
            " " a href=(requests_path(mode)) { "Clear filters" }
        }
    }
}

fn requests_table(mode: Mode, requests: &[LoggedRequest]) -> Markup {
    html! {
        (scroll_table(&format!("Your {mode} API requests, newest first"), Caption::Hidden, html! {
            thead { tr { th scope="col" { "Time (UTC)" } th scope="col" { "Method" } th scope="col" { "Route" }
                th.num scope="col" { "Status" } th.num scope="col" { "Latency (ms)" } th scope="col" { "Request id" } } }
            tbody {
                @for request in requests {
                    tr {
                        td { time datetime=(request.timestamp) { (request.timestamp) } }
                        td { (request.method) }
                        td { code { (request.route) } }
                        td.num { (request.status) }
                        td.num { (request.latency_ms) }
                        td { a href={ (requests_path(mode)) "/" (request.request_id) } { code { (request.request_id) } } }
                    }
                }
            }
        }))
    }
}

/// The link to the next page, keeping the filters.
fn next_link(mode: Mode, filter: &RequestFilter, requests: &Page<LoggedRequest>) -> Markup {
    let mut query = String::new();
    if let Some(status) = filter.status {
        query.push_str(&format!("status={status}&"));
    }
    if let Some(route) = &filter.route {
        query.push_str(&format!("route={}&", encoded(route.as_str())));
    }
    html! {
        @if let Some(next) = &requests.next {
            p.pager { a href={ (requests_path(mode)) "?" (query) "cursor=" (next.encode()) } rel="next" { "Older →" } }
        }
    }
}

pub(crate) async fn list(
    State(state): State<AppState>,
    owner: Owner,
    DashboardMode(mode): DashboardMode,
    Query(query): Query<RequestsQuery>,
    Query(cursor): Query<PageQuery>,
) -> Result<Response, ErrorPage> {
    let csrf = owner.csrf();
    let nav = Nav::Partner { mode, csrf: &csrf, section: Section::Requests };
    let Some(table) = state.request_log_table.as_ref() else {
        return Ok(unconfigured(mode, nav));
    };
    let title = format!("{} requests", title_case(mode));
    let filter = match filter(&query) {
        Ok(filter) => filter,
        Err(errors) => {
            let body =
                html! { (find_box(mode, &csrf, "", None)) h2 { "Filter" } (filters_form(mode, &query, &errors)) };
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page(&title, nav, body)).into_response());
        }
    };
    let requests = table.requests(&owner.partner, mode, &filter, &cursor.request()?).await?;
    let body = html! {
        p { "Every API request made with a " (mode) " key, newest first. A request shows up about two minutes after it is made, and is kept 90 days." }
        (find_box(mode, &csrf, "", None))
        h2 { "Filter" }
        (filters_form(mode, &query, &[]))
        h2 { "Requests" }
        @if requests.items.is_empty() {
            p.muted {
                @if requests.next.is_some() { "None of the requests looked at so far match; the next page looks further back." }
                @else if filter == RequestFilter::default() { "No " (mode) " requests logged yet." }
                @else { "No " (mode) " requests match these filters." }
            }
        } @else {
            (requests_table(mode, &requests.items))
        }
        (next_link(mode, &filter, &requests))
    };
    Ok(page(&title, nav, body).into_response())
}

/// The find box: a request id (or its whole header line) goes to that request's page,
/// whether or not it exists there; anything else is this page again, saying why.
pub(crate) async fn find(
    owner: Owner,
    DashboardMode(mode): DashboardMode,
    Form(form): Form<FindForm>,
) -> Result<Response, ErrorPage> {
    owner.check(&form.csrf)?;
    let pasted = pasted_id(form.request_id.trim());
    if let Ok(id) = LoggedRequestId::parse(pasted) {
        return Ok(Redirect::to(&format!("{}/{id}", requests_path(mode))).into_response());
    }
    let csrf = owner.csrf();
    let nav = Nav::Partner { mode, csrf: &csrf, section: Section::Requests };
    // Neither an empty box nor a secret is shown back: the box comes back empty.
    let error = if pasted.is_empty() {
        "Paste a request id: the X-Request-Id header of a response."
    } else if holds_a_secret(pasted) {
        tracing::info!("a secret was pasted into the request finder; it was not kept or shown");
        "That is a secret (an API key or a webhook signing secret), not a request id. \
            It was not kept. If it was shared anywhere, revoke the key or rotate the secret."
    } else {
        return Ok(not_found(mode, nav, &csrf, pasted));
    };
    let body = html! {
        (error_summary(&[("request_id", error.to_owned())]))
        (find_box(mode, &csrf, "", Some(error)))
        p { a href=(requests_path(mode)) { "← All " (mode) " requests" } }
    };
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page(&format!("{} requests", title_case(mode)), nav, body)).into_response())
}

pub(crate) async fn detail(
    State(state): State<AppState>,
    owner: Owner,
    DashboardMode(mode): DashboardMode,
    ItemId(raw): ItemId<String>,
) -> Result<Response, ErrorPage> {
    let csrf = owner.csrf();
    let nav = Nav::Partner { mode, csrf: &csrf, section: Section::Requests };
    let Some(table) = state.request_log_table.as_ref() else {
        return Ok(unconfigured(mode, nav));
    };
    let Ok(id) = LoggedRequestId::parse(&raw) else {
        return Ok(not_found(mode, nav, &csrf, &raw));
    };
    let Some(request) = table.request(&owner.partner, mode, &id).await? else {
        return Ok(not_found(mode, nav, &csrf, id.as_str()));
    };
    let body = html! {
        dl.facts {
            dt { "Request id" } dd { code { (request.request_id) } }
            dt { "Time (UTC)" } dd { time datetime=(request.timestamp) { (request.timestamp) } }
            dt { "Method" } dd { (request.method) }
            dt { "Route" } dd { code { (request.route) } }
            dt { "Status" } dd { (request.status) }
            dt { "Latency" } dd { (request.latency_ms) " ms" }
            dt { "Mode" } dd { (mode) }
        }
        p { a href={ (requests_path(mode)) "?route=" (encoded(&request.route)) } { "More requests to this route" } }
        p { a href=(requests_path(mode)) { "← All " (mode) " requests" } }
    };
    Ok(page(&format!("{} request", title_case(mode)), nav, body).into_response())
}

/// The page for an id that names none of the owner's requests in this mode: why that can
/// be, and the find box again.
fn not_found(mode: Mode, nav: Nav<'_>, csrf: &str, pasted: &str) -> Response {
    let secret = holds_a_secret(pasted);
    let shown: String =
        if secret { "(not shown: it holds a secret)".into() } else { pasted.chars().take(64).collect() };
    let other = match mode {
        Mode::Sandbox => Mode::Live,
        Mode::Live => Mode::Sandbox,
    };
    let body = html! {
        p role="alert" { "No " (mode) " request with the id " code { (shown) } " is in your logs." }
        ul {
            li { "A request shows up about two minutes after it is made, and is kept 90 days." }
            li { "Request ids start with " code { "req_" } "; copy the whole " code { "X-Request-Id" } " header of the response." }
            @if let Ok(id) = LoggedRequestId::parse(pasted) {
                li { "A request made with a " (other) " key is in your " a href={ (requests_path(other)) "/" (id) } { (other) " requests" } "." }
            } @else {
                li { "A request made with a " (other) " key is in your " a href=(requests_path(other)) { (other) " requests" } "." }
            }
        }
        (find_box(mode, csrf, if secret { "" } else { &shown }, None))
        p { a href=(requests_path(mode)) { "← All " (mode) " requests" } }
    };
    (StatusCode::NOT_FOUND, page("Request not found", nav, body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(status: Option<&str>, route: Option<&str>) -> RequestsQuery {
        RequestsQuery { status: status.map(str::to_owned), route: route.map(str::to_owned) }
    }

    #[test]
    fn blank_filters_show_everything_and_bad_ones_are_named_by_their_field() {
        assert_eq!(filter(&query(Some(""), Some("  "))), Ok(RequestFilter::default()));
        let errors = filter(&query(Some("6xx"), Some("orders"))).expect_err("both invalid");
        assert_eq!(errors.iter().map(|(name, _)| *name).collect::<Vec<_>>(), ["status", "route"]);
    }

    #[test]
    fn keys_and_signing_secrets_are_told_from_request_ids() {
        assert!(holds_a_secret("stl_sandbox_0123456789abcdefghijABCDEFGHIJ0123456789"));
        assert!(holds_a_secret("Authorization: Bearer stl_live_0123456789abcdefghij"));
        assert!(holds_a_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
        assert!(!holds_a_secret("req_01JD2X8Q9V4K7M3N5P6R8S0T2W"));
        assert!(!holds_a_secret("ord_123"));
    }

    #[test]
    fn a_route_in_a_link_is_percent_encoded() {
        assert_eq!(encoded("/api/orders/{id}"), "%2Fapi%2Forders%2F%7Bid%7D");
    }
}
