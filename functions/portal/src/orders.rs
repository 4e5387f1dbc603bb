//! `GET /dashboard/{mode}/orders`, `GET /dashboard/{mode}/orders/{id}` and
//! `POST /dashboard/{mode}/orders/{id}/cancel`: the signed-in owner's orders of the mode,
//! each with every field `GET /api/orders/{id}` shows, and the cancel the API makes
//! (`store.cancel_order`: the order cancelled and its total refunded once).

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use steller::AppState;
use steller::domain::{Mode, Order, OrderId, OrderStatus, ProductId};
use steller::store::StoreError;

use crate::auth::Owner;
use crate::dashboard::{DashboardMode, ItemId, PageQuery, older, title_case};
use crate::page::{Caption, ErrorPage, Nav, Section, alert, csrf_field, money, notice, page, scroll_table};

#[derive(Debug, Default, Deserialize)]
pub(crate) struct CancelForm {
    #[serde(default)]
    csrf: String,
}

/// `?cancelled=` after a cancel: the order to confirm at the top of its page.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Cancelled {
    cancelled: Option<String>,
}

/// What the order's page says above its facts about the cancel just tried.
#[derive(Debug, Clone, Copy)]
enum Outcome<'a> {
    Nothing,
    Cancelled,
    /// Why the cancel failed.
    Refused(&'a str),
}

/// Product names by id, for the products of `orders`. An order keeps its product's id
/// whatever becomes of the catalog, so a product no longer there has no name: the page
/// shows its id.
async fn product_names(state: &AppState, orders: &[Order]) -> Result<HashMap<ProductId, String>, ErrorPage> {
    let mut names = HashMap::new();
    for order in orders {
        if names.contains_key(&order.product_id) {
            continue;
        }
        if let Some(product) = state.store.product(&order.product_id).await? {
            names.insert(order.product_id, product.name);
        }
    }
    Ok(names)
}

fn product(id: &ProductId, names: &HashMap<ProductId, String>) -> Markup {
    html! {
        @match names.get(id) {
            Some(name) => { (name) }
            None => { code { (id) } }
        }
    }
}

fn status(status: OrderStatus) -> Markup {
    html! { span.{ "status-" (status.as_str()) } { (status.as_str()) } }
}

fn orders_path(mode: Mode) -> String {
    format!("/dashboard/{mode}/orders")
}

fn order_path(mode: Mode, id: &OrderId) -> String {
    format!("/dashboard/{mode}/orders/{id}")
}

pub(crate) async fn list(
    State(state): State<AppState>,
    owner: Owner,
    DashboardMode(mode): DashboardMode,
    Query(query): Query<PageQuery>,
) -> Result<Markup, ErrorPage> {
    let orders = state.store.list_orders(&owner.partner, mode, &query.request()?).await?;
    let names = product_names(&state, &orders.items).await?;
    let csrf = owner.csrf();
    Ok(page(
        &format!("{} orders", title_case(mode)),
        Nav::Partner { mode, csrf: &csrf, section: Section::Orders },
        html! {
            @if orders.items.is_empty() {
                p.muted { "No " (mode) " orders yet. Orders are placed through the API with a " (mode)
                    " key: " code { "POST /api/orders" } "." }
            } @else {
                (scroll_table(&format!("Your {mode} orders, newest first"), Caption::Hidden, html! {
                    thead { tr { th scope="col" { "Order" } th scope="col" { "Product" }
                        th.num scope="col" { "Quantity" } th.num scope="col" { "Total" }
                        th scope="col" { "Status" } th scope="col" { "Placed" } } }
                    tbody {
                        @for order in &orders.items {
                            tr {
                                td { a href=(order_path(mode, &order.id)) { code { (order.id) } } }
                                td { (product(&order.product_id, &names)) }
                                td.num { (order.quantity.get()) }
                                td.num { (money(order.total)) }
                                td { (status(order.status)) }
                                td { time datetime=(order.created_at) { (order.created_at) } }
                            }
                        }
                    }
                }))
            }
            (older(&orders, &orders_path(mode)))
        },
    ))
}

/// The order's page, with the outcome of a cancel just tried above the facts.
async fn order_page(state: &AppState, owner: &Owner, order: &Order, outcome: Outcome<'_>) -> Result<Markup, ErrorPage> {
    let names = product_names(state, std::slice::from_ref(order)).await?;
    let mode = order.mode;
    let csrf = owner.csrf();
    Ok(page(
        &format!("{} order", title_case(mode)),
        Nav::Partner { mode, csrf: &csrf, section: Section::Orders },
        html! {
            @match outcome {
                Outcome::Nothing => {}
                Outcome::Cancelled => (notice(html! {
                    "Order " code { (order.id) } " was cancelled and its total, " (money(order.total))
                    ", refunded to your " (mode) " wallet."
                })),
                Outcome::Refused(reason) => (alert(html! { "The order was not cancelled: " (reason) ". Nothing changed." })),
            }
            dl.facts {
                dt { "Order" } dd { code { (order.id) } }
                dt { "Product" } dd {
                    @if let Some(name) = names.get(&order.product_id) { (name) " " }
                    code { (order.product_id) }
                }
                dt { "Quantity" } dd { (order.quantity.get()) }
                dt { "Unit price" } dd { (money(order.unit_price)) }
                dt { "Total" } dd { (money(order.total)) }
                dt { "Currency" } dd { "USD" }
                dt { "Mode" } dd { (order.mode) }
                dt { "Status" } dd { (status(order.status)) }
                dt { "Your reference" } dd { (order.client_reference.as_deref().unwrap_or("—")) }
                dt { "Placed" } dd { time datetime=(order.created_at) { (order.created_at) } }
                dt { "Cancelled" } dd {
                    @match order.cancelled_at {
                        Some(at) => { time datetime=(at) { (at) } " (refunded)" }
                        None => { "—" }
                    }
                }
                dt { "Wallet balance after" } dd { (money(order.wallet_balance_after)) }
            }
            @if order.status == OrderStatus::Completed {
                h2 { "Cancel this order" }
                form method="post" action={ (order_path(mode, &order.id)) "/cancel" } {
                    (csrf_field(&csrf))
                    p { "Cancelling refunds " (money(order.total)) " to your " (mode) " wallet. It cannot be undone." }
                    button.danger type="submit" { "Cancel and refund " (order.total) " USD" }
                }
            }
            p { a href=(orders_path(mode)) { "← All " (mode) " orders" } }
        },
    ))
}

pub(crate) async fn detail(
    State(state): State<AppState>,
    owner: Owner,
    DashboardMode(mode): DashboardMode,
    ItemId(id): ItemId<OrderId>,
    Query(shown): Query<Cancelled>,
) -> Result<Markup, ErrorPage> {
    let order = state.store.order(&owner.partner, mode, &id).await?;
    // The confirmation is a courtesy: only this order's own id, once it is cancelled,
    // shows one; any other value shows none.
    let confirmed = shown.cancelled.as_deref().and_then(|raw| raw.parse::<OrderId>().ok()) == Some(id)
        && order.status == OrderStatus::Cancelled;
    let outcome = if confirmed { Outcome::Cancelled } else { Outcome::Nothing };
    order_page(&state, &owner, &order, outcome).await
}

/// Cancels and refunds, then shows the order with a confirmation (303, so a reload does
/// not post again). An order already cancelled is 409 with its page saying why; another
/// partner's or mode's is the 404 page, as the API's `NotFound`.
pub(crate) async fn cancel(
    State(state): State<AppState>,
    owner: Owner,
    DashboardMode(mode): DashboardMode,
    ItemId(id): ItemId<OrderId>,
    Form(values): Form<CancelForm>,
) -> Result<Response, ErrorPage> {
    owner.check(&values.csrf)?;
    match state.store.cancel_order(&owner.partner, mode, &id).await {
        Ok(order) => {
            tracing::info!(order_id = %id, refunded = %order.total, "order cancelled in the portal");
            Ok(Redirect::to(&format!("{}?cancelled={id}", order_path(mode, &id))).into_response())
        }
        Err(StoreError::InvalidState(reason)) => {
            let order = state.store.order(&owner.partner, mode, &id).await?;
            let body = order_page(&state, &owner, &order, Outcome::Refused(&reason)).await?;
            Ok((StatusCode::CONFLICT, body).into_response())
        }
        Err(other) => Err(other.into()),
    }
}
