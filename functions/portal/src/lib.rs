//! The portal function: the pages a partner's developer uses in a browser (sign up, sign
//! in with an emailed code, the dashboard of a wallet, its orders, keys, top-ups, usage,
//! request logs and webhooks) and the ops console (top-up decisions). Server-rendered
//! HTML from `maud` templates compiled into the binary; the core flows work without
//! JavaScript.
//!
//! Every route is in `ROUTES`, which template.yaml routes here one by one (a test holds
//! the two to each other), so a path the portal does not serve never reaches it.

mod assets;
mod auth;
mod charts;
mod dashboard;
mod keys;
mod ops;
mod orders;
mod page;
mod requests;
mod signin;
mod signup;
mod submission;
mod top_ups;
mod usage;
mod webhooks;

use axum::Router;
use axum::http::Method;
use axum::routing::{MethodRouter, get, post};
use steller::AppState;
use steller::config::{
    OPS_EMAIL_VAR, REQUEST_LOG_QUEUE_URL_VAR, REQUEST_LOG_TABLE_VAR, SANDBOX_CREDIT_VAR, SENDER_EMAIL_VAR, TABLE_VAR,
    WEBHOOK_QUEUE_URL_VAR,
};

/// The variables this function reads: its table; the sandbox credit (sign-up); the sender
/// of the codes and emails and the ops address (the console's sign-in); the request-log
/// table (usage charts) and queue; the webhook delivery queue (redelivering an event).
/// template.yaml gives it exactly these.
pub const VARIABLES: &[&str] = &[
    TABLE_VAR,
    SANDBOX_CREDIT_VAR,
    SENDER_EMAIL_VAR,
    OPS_EMAIL_VAR,
    REQUEST_LOG_TABLE_VAR,
    REQUEST_LOG_QUEUE_URL_VAR,
    WEBHOOK_QUEUE_URL_VAR,
];

/// One page route: its method, its path as API Gateway and axum both write it, and the
/// handler.
type Route = (Method, &'static str, MethodRouter<AppState>);

fn table() -> Vec<Route> {
    vec![
        (Method::GET, "/", get(home)),
        (Method::GET, "/signup", get(signup::show)),
        (Method::POST, "/signup", post(signup::submit)),
        (Method::GET, "/signin", get(signin::show_partners)),
        (Method::POST, "/signin", post(signin::ask_partners)),
        (Method::POST, "/signin/code", post(signin::redeem_partners)),
        (Method::POST, "/signout", post(signin::sign_out)),
        (Method::GET, "/dashboard", get(dashboard::start)),
        (Method::GET, "/dashboard/{mode}", get(dashboard::wallet)),
        (Method::GET, "/dashboard/{mode}/keys", get(keys::list)),
        (Method::POST, "/dashboard/{mode}/keys", post(keys::create)),
        (Method::POST, "/dashboard/{mode}/keys/{id}/revoke", post(keys::revoke)),
        (Method::GET, "/dashboard/{mode}/orders", get(orders::list)),
        (Method::GET, "/dashboard/{mode}/orders/{id}", get(orders::detail)),
        (Method::POST, "/dashboard/{mode}/orders/{id}/cancel", post(orders::cancel)),
        (Method::GET, "/dashboard/{mode}/top-ups", get(top_ups::list)),
        (Method::POST, "/dashboard/{mode}/top-ups", post(top_ups::create)),
        (Method::GET, "/dashboard/{mode}/usage", get(usage::show)),
        (Method::GET, "/dashboard/{mode}/requests", get(requests::list)),
        (Method::POST, "/dashboard/{mode}/requests", post(requests::find)),
        (Method::GET, "/dashboard/{mode}/requests/{id}", get(requests::detail)),
        (Method::GET, "/dashboard/{mode}/webhooks", get(webhooks::list)),
        (Method::POST, "/dashboard/{mode}/webhooks", post(webhooks::create)),
        (Method::POST, "/dashboard/{mode}/webhooks/{id}/rotate", post(webhooks::rotate)),
        (Method::POST, "/dashboard/{mode}/webhooks/{id}/delete", post(webhooks::delete)),
        (Method::POST, "/dashboard/{mode}/events/{id}/redeliver", post(webhooks::redeliver)),
        (Method::GET, "/ops", get(ops::pending)),
        (Method::GET, "/ops/decided", get(ops::decided)),
        (Method::GET, "/ops/signin", get(ops::sign_in_page)),
        (Method::POST, "/ops/signin", post(ops::ask)),
        (Method::POST, "/ops/signin/code", post(ops::redeem)),
        (Method::POST, "/ops/signin/key", post(ops::with_key)),
        (Method::POST, "/ops/top-ups/{id}/approve", post(ops::approve)),
        (Method::POST, "/ops/top-ups/{id}/reject", post(ops::reject)),
        (Method::GET, "/assets/{file}", get(assets::asset)),
    ]
}

/// Every route the portal serves: upper-case method and path.
pub fn routes() -> Vec<(String, String)> {
    let mut routes: Vec<(String, String)> =
        table().into_iter().map(|(method, path, _)| (method.to_string(), path.to_owned())).collect();
    routes.sort();
    routes
}

/// The routes of `table()`. A wrong method, a body that is not a form or is too large
/// are pages too (`page::as_page`), never the API's problem+json.
fn pages() -> Router<AppState> {
    table()
        .into_iter()
        .fold(Router::new(), |router, (_, path, handler)| router.route(path, handler))
        .method_not_allowed_fallback(|| async {
            page::ErrorPage::for_status(axum::http::StatusCode::METHOD_NOT_ALLOWED)
        })
        .layer(axum::middleware::map_response(page::as_page))
}

/// The service Lambda runs (and the local server, for every path outside `/api`): the
/// pages, and a page saying so for any other path.
pub fn router(state: AppState) -> Router {
    steller::http::site(pages().fallback(|| async { page::ErrorPage::not_found() }), state)
}

/// `/`: where to start. A signed-in partner goes on to the dashboard.
async fn home(
    axum::extract::State(state): axum::extract::State<AppState>,
    jar: axum_extra::extract::cookie::CookieJar,
) -> Result<axum::response::Response, page::ErrorPage> {
    use axum::response::IntoResponse;
    if let Some((_, session)) = auth::session_of(&jar, &state).await? {
        let to = match session.owner {
            steller::domain::SessionOwner::Partner(_) => "/dashboard/sandbox",
            _ => "/ops",
        };
        return Ok(axum::response::Redirect::to(to).into_response());
    }
    Ok(page::page(
        "Build on Steller",
        page::Nav::Visitor,
        maud::html! {
            p { "Sign up, get an API key and a sandbox wallet of fake USD, and place your first order in a minute." }
            p { a.button href="/signup" { "Create an account" } " or " a href="/signin" { "sign in" } "." }
            p { "Read the " a href="/api/public/docs" { "interactive API docs" } " and try each call with your key." }
        },
    )
    .into_response())
}
