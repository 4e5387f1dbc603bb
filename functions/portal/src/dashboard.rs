//! `GET /dashboard/{mode}`: the wallet of the mode and its ledger, newest first, paged.
//! `GET /dashboard` starts in sandbox. The mode is part of every dashboard path, so a
//! link or a bookmark always says which wallet it shows.

use std::collections::HashMap;
use std::str::FromStr;

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use steller::AppState;
use steller::domain::{LedgerEntry, Mode};
use steller::store::{Cursor, Limit, Page, PageRequest};

use crate::auth::Owner;
use crate::page::{Caption, ErrorPage, Nav, Section, money, page, scroll_table};

/// The `{mode}` of a dashboard path; anything else is not a page.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DashboardMode(pub(crate) Mode);

impl<S: Send + Sync> FromRequestParts<S> for DashboardMode {
    type Rejection = ErrorPage;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        path_param(parts, state, "mode").await.map(DashboardMode)
    }
}

/// The `{id}` of a dashboard path, parsed as the id it names (`ItemId<OrderId>`); an id
/// that is not even well-formed names nothing: 404.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ItemId<T>(pub(crate) T);

impl<T: FromStr + Send, S: Send + Sync> FromRequestParts<S> for ItemId<T> {
    type Rejection = ErrorPage;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        path_param(parts, state, "id").await.map(ItemId)
    }
}

async fn path_param<T: FromStr, S: Send + Sync>(parts: &mut Parts, state: &S, name: &str) -> Result<T, ErrorPage> {
    let Path(params) =
        Path::<HashMap<String, String>>::from_request_parts(parts, state).await.map_err(|_| ErrorPage::not_found())?;
    params.get(name).and_then(|raw| raw.parse().ok()).ok_or_else(ErrorPage::not_found)
}

/// `?cursor=` of a paged list: where the previous page stopped. A cursor this listing did
/// not give is a 404, like a page that does not exist.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PageQuery {
    cursor: Option<String>,
}

impl PageQuery {
    pub(crate) fn request(&self) -> Result<PageRequest, ErrorPage> {
        let after = match self.cursor.as_deref() {
            None | Some("") => None,
            Some(raw) => Some(Cursor::decode(raw).map_err(|_| ErrorPage::not_found())?),
        };
        Ok(PageRequest { limit: Limit::DEFAULT, after })
    }
}

/// The link to the next page, when there is one.
pub(crate) fn older<T>(page: &Page<T>, path: &str) -> Markup {
    html! {
        @if let Some(next) = &page.next {
            p.pager { a href={ (path) "?cursor=" (next.encode()) } rel="next" { "Older →" } }
        }
    }
}

pub(crate) async fn start(_owner: Owner) -> Response {
    Redirect::to("/dashboard/sandbox").into_response()
}

pub(crate) async fn wallet(
    State(state): State<AppState>,
    owner: Owner,
    DashboardMode(mode): DashboardMode,
    Query(query): Query<PageQuery>,
) -> Result<Markup, ErrorPage> {
    let wallet = state.store.wallet(&owner.partner, mode).await?;
    let ledger = state.store.ledger(&owner.partner, mode, &query.request()?).await?;
    let csrf = owner.csrf();
    Ok(page(
        &format!("{} wallet", title_case(mode)),
        Nav::Partner { mode, csrf: &csrf, section: Section::Wallet },
        html! {
            section.balance aria-label="Balance" {
                p.figure { (money(wallet.balance)) }
                p.muted { "Updated " time datetime=(wallet.updated_at) { (wallet.updated_at) } }
                @if mode == Mode::Live && wallet.balance.is_zero() {
                    p { "Live money arrives through a " a href="/dashboard/live/top-ups" { "top-up request" } " that ops approve." }
                }
            }
            h2 { "Ledger" }
            (ledger_table(&ledger.items))
            (older(&ledger, &format!("/dashboard/{mode}")))
        },
    ))
}

fn ledger_table(entries: &[LedgerEntry]) -> Markup {
    html! {
        @if entries.is_empty() {
            p.muted { "No money has moved in this wallet yet." }
        } @else {
            (scroll_table("Balance changes, newest first", Caption::Hidden, html! {
                thead { tr { th scope="col" { "When" } th scope="col" { "Type" } th scope="col" { "Amount" }
                    th scope="col" { "Balance after" } th scope="col" { "Reference" } } }
                tbody {
                    @for entry in entries {
                        tr {
                            td { time datetime=(entry.created_at) { (entry.created_at) } }
                            td { (entry.kind) }
                            td.num { (money(entry.amount)) }
                            td.num { (money(entry.balance_after)) }
                            td { code { (entry.reference) } }
                        }
                    }
                }
            }))
        }
    }
}

pub(crate) fn title_case(mode: Mode) -> &'static str {
    match mode {
        Mode::Sandbox => "Sandbox",
        Mode::Live => "Live",
    }
}
