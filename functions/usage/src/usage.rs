//! `GET /api/usage?from=YYYY-MM-DD&to=YYYY-MM-DD`: the caller's requests in the key's
//! mode, per day and per route, from the request-log table.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use steller::AppState;
use steller::http::{ApiError, FieldError, Json, PartnerCaller, Validation};
use steller::request_log::{DayUsage, RouteUsage, Usage, UsageRange, parse_date};
use utoipa::{IntoParams, ToSchema};

use crate::request_log_table;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct UsageParams {
    /// The first day (UTC), `YYYY-MM-DD`.
    #[param(required = true, value_type = String, format = Date, example = "2026-11-01")]
    from: Option<String>,
    /// The last day (UTC), `YYYY-MM-DD`, included; at most 92 days after `from` counting both.
    #[param(required = true, value_type = String, format = Date, example = "2026-11-30")]
    to: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UsageView {
    #[schema(example = "2026-11-01")]
    from: String,
    #[schema(example = "2026-11-30")]
    to: String,
    total_requests: u64,
    /// Every day of the range, oldest first, days without requests included.
    by_day: Vec<DayUsageView>,
    /// Busiest route first.
    by_route: Vec<RouteUsageView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DayUsageView {
    #[schema(example = "2026-11-23")]
    date: String,
    requests: u64,
    /// Responses with a status of 400 or more.
    errors: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RouteUsageView {
    #[schema(example = "GET")]
    method: String,
    /// The route template, not the path.
    #[schema(example = "/api/orders/{id}")]
    route: String,
    requests: u64,
    /// Responses with a status of 400 or more.
    errors: u64,
    /// Median latency in milliseconds: the upper bound of the latency bucket holding the
    /// nearest-rank median, so never below it and within one bucket of it (buckets 1, 2, 3,
    /// 5, 7, 10, 15, 20, 30, 50, … ms up to 30,000; above that, 30,000).
    p50_ms: u64,
    /// 95th-percentile latency in milliseconds, reported as `p50_ms` is: the upper bound of
    /// the bucket holding the nearest-rank 95th percentile.
    p95_ms: u64,
}

impl From<Usage> for UsageView {
    fn from(usage: Usage) -> Self {
        UsageView {
            from: usage.range.from().to_string(),
            to: usage.range.to().to_string(),
            total_requests: usage.total_requests,
            by_day: usage.by_day.into_iter().map(DayUsageView::from).collect(),
            by_route: usage.by_route.into_iter().map(RouteUsageView::from).collect(),
        }
    }
}

impl From<DayUsage> for DayUsageView {
    fn from(day: DayUsage) -> Self {
        DayUsageView { date: day.date, requests: day.requests, errors: day.errors }
    }
}

impl From<RouteUsage> for RouteUsageView {
    fn from(route: RouteUsage) -> Self {
        let RouteUsage { method, route, requests, errors, p50_ms, p95_ms } = route;
        RouteUsageView { method, route, requests, errors, p50_ms, p95_ms }
    }
}

/// The caller's requests in the key's mode over `from..=to` (UTC days): totals, per day,
/// and per route with error counts and p50/p95 latency (each the upper bound of a latency
/// bucket, within one bucket of the true value). Read from daily roll-ups, so the cost
/// depends on days and routes, not on the number of requests. Requests show up once the
/// analytics function has drained them from the queue (every 2 minutes).
#[utoipa::path(
    get,
    path = "/api/usage",
    tag = "usage",
    security(("bearer" = []), ("api_key" = [])),
    params(UsageParams),
    responses(
        (status = 200, body = UsageView),
        (status = 400, description = "`malformed_request`: the query string cannot be read", body = steller::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: `from` or `to` is missing or not YYYY-MM-DD, `to` is before `from`, or the range is over 92 days", body = steller::http::Problem, content_type = "application/problem+json"),
    ),
)]
#[tracing::instrument(skip_all)]
pub(crate) async fn get_usage(
    State(state): State<AppState>,
    caller: PartnerCaller,
    query: Result<Query<UsageParams>, QueryRejection>,
) -> Result<Json<UsageView>, ApiError> {
    let Query(params) = query.map_err(|rejection| {
        ApiError::Malformed(format!("the query string is malformed: {}", rejection.body_text()))
    })?;
    let mut check = Validation::default();
    let from = check.field("from", parse_date(params.from.as_deref()));
    let to = check.field("to", parse_date(params.to.as_deref()));
    let (Some(from), Some(to)) = (from, to) else {
        return Err(check.into_error());
    };
    let range = UsageRange::new(from, to).map_err(|error| ApiError::validation([FieldError::new("to", error)]))?;
    let usage = request_log_table(&state)?.usage(&caller.partner_id, caller.mode, range).await?;
    Ok(Json(usage.into()))
}
