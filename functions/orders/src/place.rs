//! `POST /api/orders`: pays for an order from the wallet of the key's mode.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use steller::AppState;
use steller::domain::{ClientReference, Order, OrderRequest, PlaceOrder, ProductId, Quantity, QuantityError};
use steller::http::openapi::NotFound;
use steller::http::{ApiError, FieldError, IdempotencyHeader, Json, PartnerCaller, Problem, Validation};
use steller::http::{idempotency_scope, idempotent};
use utoipa::ToSchema;

use steller::views::OrderView;

const ROUTE: &str = "POST /api/orders";

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub(crate) struct CreateOrderRequest {
    /// The product to order (`prd_…`).
    #[schema(required = true, value_type = String, example = "prd_01JNDKQJM0NF1XASZ2ZN5X1BEB")]
    product_id: Option<String>,
    /// How many units, 1–1000.
    #[schema(required = true, value_type = i64, minimum = 1, maximum = 1000, example = 2)]
    quantity: Option<i64>,
    /// Your own reference for the order, up to 255 characters.
    #[schema(example = "PO-2026-0042")]
    client_reference: Option<String>,
}

/// The body's own fields, checked before the key is claimed or the catalog consulted.
impl TryFrom<&CreateOrderRequest> for OrderRequest {
    type Error = ApiError;

    fn try_from(body: &CreateOrderRequest) -> Result<Self, ApiError> {
        let mut check = Validation::default();
        let product_id = match body.product_id.as_deref().map(str::trim) {
            None | Some("") => check.field("product_id", Err::<(), _>("is required")).map(|()| None),
            // A malformed id names no product: the catalog lookup answers 404 for it.
            Some(raw) => Some(ProductId::parse(raw).ok()),
        };
        let quantity =
            check.field("quantity", body.quantity.ok_or(QuantityError::Missing).and_then(Quantity::try_from));
        let client_reference =
            check.optional("client_reference", body.client_reference.as_deref(), ClientReference::parse);
        let (Some(product_id), Some(quantity), Some(client_reference)) = (product_id, quantity, client_reference)
        else {
            return Err(check.into_error());
        };
        Ok(OrderRequest { product_id, quantity, client_reference })
    }
}

/// What the `Json` extractor names beside a field of the wrong JSON type.
impl From<&CreateOrderRequest> for Validation {
    fn from(body: &CreateOrderRequest) -> Self {
        Validation::of(OrderRequest::try_from(body))
    }
}

/// Places an order, paid from the wallet of the key's mode in one transaction.
///
/// Send an `Idempotency-Key` to retry safely: the same key and body replay the first
/// answer with `Idempotent-Replayed: true`, and the money moves at most once.
#[utoipa::path(
    post,
    path = "/api/orders",
    tag = "orders",
    security(("bearer" = []), ("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "1–255 printable characters; retries with the same key and body are replayed")),
    request_body = CreateOrderRequest,
    responses(
        (status = 201, description = "Paid and placed", body = OrderView,
            headers(("Idempotent-Replayed" = String, description = "`true` when this is a replay of the key's first answer"))),
        (status = 402, description = "`insufficient_funds`: the detail names the balance and the amount needed", body = Problem, content_type = "application/problem+json"),
        NotFound,
        (status = 422, description = "`validation_failed` (an inactive product too) or `idempotency_key_reused`", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn place_order(
    State(state): State<AppState>,
    caller: PartnerCaller,
    IdempotencyHeader(key): IdempotencyHeader,
    Json(body): Json<CreateOrderRequest>,
) -> Result<Response, ApiError> {
    let request = OrderRequest::try_from(&body)?;
    let scope = idempotency_scope(&caller, key, ROUTE, &body)?;
    let store = state.store.clone();
    idempotent(
        &store,
        scope,
        StatusCode::CREATED,
        |order: &Order| OrderView::from(order),
        |completion| async move {
            let product = match request.product_id {
                Some(id) => state.store.product_to_order(&id).await?,
                None => None,
            };
            let product = product.ok_or(ApiError::NotFound)?;
            let command =
                PlaceOrder::new(caller.partner_id, caller.mode, product, request.quantity, request.client_reference)
                    .map_err(|refused| ApiError::validation([FieldError::new("product_id", refused)]))?;
            let order = state.store.place_order(&command, completion).await?;
            tracing::info!(order_id = %order.id, total = %order.total, "order placed");
            Ok(order)
        },
    )
    .await
}
