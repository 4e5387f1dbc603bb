//! `GET /api/requests` and `GET /api/requests/{request_id}`: the caller's logged requests
//! in the key's mode, one by one, from the request-log table's rows
//! (`steller::request_log::requests` explains the reads).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use steller::AppState;
use steller::http::openapi::NotFound;
use steller::http::{ApiError, Json, List, ListParams, ListQuery, PartnerCaller, PathId, Validation};
use steller::request_log::{FilterError, LoggedRequest, LoggedRequestId, RequestFilter, RouteFilter, StatusFilter};
use utoipa::{IntoParams, ToSchema};

use crate::request_log_table;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct RequestFilterParams {
    /// Only requests answered with this status class (`2xx`, `4xx`, …) or code (`404`).
    #[param(value_type = Option<String>, pattern = "^([1-5][xX][xX]|[1-5][0-9][0-9])$", example = "4xx")]
    status: Option<String>,
    /// Only requests to this route template (as the routes are written here, not the path
    /// called), or `unmatched` for paths no route matched.
    #[param(value_type = Option<String>, max_length = 256, pattern = "^(/[!-~]*|unmatched)$", example = "/api/orders/{id}")]
    route: Option<String>,
}

impl RequestFilterParams {
    /// The filter, or a 422 naming each parameter that is given but invalid (empty included).
    fn parse(self) -> Result<RequestFilter, ApiError> {
        let mut check = Validation::default();
        let status = check.field("status", given(self.status.as_deref(), StatusFilter::parse));
        let route = check.field("route", given(self.route.as_deref(), RouteFilter::parse));
        match (status, route) {
            (Some(status), Some(route)) => Ok(RequestFilter { status, route }),
            _ => Err(check.into_error()),
        }
    }
}

/// A filter as given: absent, or parsed; given with no value is refused as `ListQuery`
/// refuses an empty `limit`.
fn given<T>(raw: Option<&str>, parse: impl Fn(&str) -> Result<T, FilterError>) -> Result<Option<T>, String> {
    match raw {
        None => Ok(None),
        Some("") => Err(ListQuery::NO_VALUE.to_owned()),
        Some(raw) => parse(raw).map(Some).map_err(|error| error.to_string()),
    }
}

/// One API request made with a key of the caller, as it was logged.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RequestView {
    /// The response's `X-Request-Id`.
    #[schema(example = "req_01JD2X8Q9V4K7M3N5P6R8S0T2W")]
    request_id: String,
    /// When the request arrived, UTC with milliseconds.
    #[schema(example = "2026-11-23T10:00:00.123Z")]
    timestamp: String,
    #[schema(example = "GET")]
    method: String,
    /// The route template that matched, not the path; `unmatched` when none did.
    #[schema(example = "/api/orders/{id}")]
    route: String,
    /// The status the client got.
    #[schema(example = 404, minimum = 100, maximum = 599)]
    status: u16,
    /// From the request reaching the API's code to its response.
    #[schema(example = 12)]
    latency_ms: u64,
}

impl From<LoggedRequest> for RequestView {
    fn from(request: LoggedRequest) -> Self {
        let LoggedRequest { request_id, timestamp, method, route, status, latency_ms } = request;
        RequestView { request_id, timestamp: timestamp.to_string(), method, route, status, latency_ms }
    }
}

/// The caller's requests in the key's mode, newest first, optionally only those of a
/// status class or code and of a route. Requests show up once the analytics function has
/// written them from the queue (every 2 minutes; locally, each `--analytics-interval`), and
/// are kept 90 days. A page examines at most 1,000 logged requests: with a filter that
/// matches few of them, a page may hold fewer than `limit` items (even none) and still
/// have a `next_cursor`; follow it until it is null.
#[utoipa::path(
    get,
    path = "/api/requests",
    tag = "usage",
    security(("bearer" = []), ("api_key" = [])),
    params(RequestFilterParams, ListParams),
    responses(
        (status = 200, body = List<RequestView>),
        (status = 400, description = "`malformed_request`: the query string cannot be read, or the cursor is not one this listing gave", body = steller::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: `status` is not a class (1xx-5xx) or code (100-599), `route` is not a route template of at most 256 characters, or `limit` is not 1-100; an empty parameter is invalid too", body = steller::http::Problem, content_type = "application/problem+json"),
    ),
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn list_requests(
    State(state): State<AppState>,
    caller: PartnerCaller,
    query: Result<Query<RequestFilterParams>, QueryRejection>,
    ListQuery(page): ListQuery,
) -> Result<Json<List<RequestView>>, ApiError> {
    let Query(params) = query.map_err(|rejection| {
        ApiError::Malformed(format!("the query string is malformed: {}", rejection.body_text()))
    })?;
    let filter = params.parse()?;
    let requests = request_log_table(&state)?.requests(&caller.partner_id, caller.mode, &filter, &page).await?;
    Ok(Json(List::from_page(requests, RequestView::from)))
}

/// One of the caller's requests in the key's mode, by the `X-Request-Id` its response
/// carried; another partner's, the other mode's, or one not written yet (see the list) is 404.
#[utoipa::path(
    get,
    path = "/api/requests/{request_id}",
    tag = "usage",
    security(("bearer" = []), ("api_key" = [])),
    params(("request_id" = String, Path, description = "The request's id (`req_…`), its response's `X-Request-Id`", example = "req_01JD2X8Q9V4K7M3N5P6R8S0T2W")),
    responses((status = 200, body = RequestView), NotFound),
)]
#[tracing::instrument(skip_all, fields(request = %id))]
pub(crate) async fn get_request(
    State(state): State<AppState>,
    caller: PartnerCaller,
    PathId(id): PathId<LoggedRequestId>,
) -> Result<Json<RequestView>, ApiError> {
    let request =
        request_log_table(&state)?.request(&caller.partner_id, caller.mode, &id).await?.ok_or(ApiError::NotFound)?;
    Ok(Json(request.into()))
}
