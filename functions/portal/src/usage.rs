//! `GET /dashboard/{mode}/usage?from=YYYY-MM-DD&to=YYYY-MM-DD`: the signed-in owner's API
//! requests of the mode per day and per route, read from the request-log table as
//! `GET /api/usage` reads them, drawn by `charts` with a table of the same numbers beside
//! each chart. Without dates it shows the last 14 days, today (UTC) included.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use steller::AppState;
use steller::domain::Mode;
use steller::request_log::{MAX_RANGE_DAYS, RangeError, Usage, UsageRange, parse_date};
use time::{Date, Duration, OffsetDateTime};

use crate::auth::Owner;
use crate::charts;
use crate::dashboard::{DashboardMode, title_case};
use crate::page::{Caption, ErrorPage, Nav, Section, error_summary, field, page, scroll_table};

/// How many days the page shows when it is not given a range.
const DEFAULT_DAYS: i64 = 14;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct UsageQuery {
    from: Option<String>,
    to: Option<String>,
}

/// The `days` days ending with `today`, both ends included.
fn last_days(today: Date, days: i64) -> (Date, Date) {
    (today.checked_sub(Duration::days(days - 1)).unwrap_or(today), today)
}

fn blank(raw: Option<&str>) -> bool {
    raw.is_none_or(|raw| raw.trim().is_empty())
}

/// The range the query asks for: the default when it names neither day; otherwise both
/// days, by the API's rules, each error for the field it is about (an order or a length
/// that is wrong is about `to`, as in the API).
fn range(query: &UsageQuery, today: Date) -> Result<UsageRange, Vec<(&'static str, String)>> {
    let (from, to) = (query.from.as_deref(), query.to.as_deref());
    if blank(from) && blank(to) {
        let (from, to) = last_days(today, DEFAULT_DAYS);
        return UsageRange::new(from, to).map_err(|error| vec![("to", message("To", &error))]);
    }
    let mut errors = Vec::new();
    let from = parse_date(from).map_err(|error| errors.push(("from", message("From", &error)))).ok();
    let to = parse_date(to).map_err(|error| errors.push(("to", message("To", &error)))).ok();
    match (from, to) {
        (Some(from), Some(to)) => UsageRange::new(from, to).map_err(|error| vec![("to", message("To", &error))]),
        _ => Err(errors),
    }
}

/// The API's messages name query parameters; these name the form's fields.
fn message(label: &str, error: &RangeError) -> String {
    match error {
        RangeError::Reversed => format!("{label} must not be before From"),
        RangeError::TooLong => format!("The range must be at most {MAX_RANGE_DAYS} days, both days included"),
        other => format!("{label} {other}"),
    }
}

fn form(mode: Mode, from: &str, to: &str, errors: &[(&'static str, String)]) -> Markup {
    let error = |name: &str| errors.iter().find(|(field, _)| *field == name).map(|(_, message)| message.as_str());
    html! {
        (error_summary(errors))
        form method="get" action={ "/dashboard/" (mode) "/usage" } novalidate {
            // The hints name no format: a date picker shows the reader's own, and where
            // there is none, an unreadable date's error says how to write it.
            (field("From", "from", "date", from, error("from"), Some("The first day (UTC).")))
            (field("To", "to", "date", to, error("to"),
                Some(&format!("The last day, included (UTC); at most {MAX_RANGE_DAYS} days in all."))))
            button type="submit" { "Show usage" }
        }
    }
}

/// Links to the usual ranges, each ending today.
fn shortcuts(mode: Mode, today: Date) -> Markup {
    html! {
        p.shortcuts {
            "Show the last "
            @for (index, days) in [7, 30, 90].into_iter().enumerate() {
                @if index > 0 { ", " }
                @let (from, to) = last_days(today, days);
                a href={ "/dashboard/" (mode) "/usage?from=" (from) "&to=" (to) } { (days) " days" }
            }
            "."
        }
    }
}

fn plural(count: u64, one: &'static str, many: &'static str) -> &'static str {
    if count == 1 { one } else { many }
}

fn report(usage: &Usage) -> Markup {
    let errors: u64 = usage.by_day.iter().map(|day| day.errors).sum();
    html! {
        p.lead {
            strong { (usage.total_requests) } (plural(usage.total_requests, " request, ", " requests, "))
            strong { (errors) } (plural(errors, " error", " errors")) " (status 400 or more) from "
            time datetime=(usage.range.from()) { (usage.range.from()) } " to "
            time datetime=(usage.range.to()) { (usage.range.to()) } " (UTC). Requests show up a few minutes after they are made."
        }
        h2 { "Requests per day" }
        // Focusable, so a keyboard can scroll it where it is wider than the screen.
        div.chart-frame tabindex="0" role="region" aria-label="Requests per day chart" {
            (charts::requests_per_day("usage-days", &usage.by_day))
        }
        (scroll_table("Requests and errors per day", Caption::Shown, html! {
            thead { tr { th scope="col" { "Day (UTC)" } th.num scope="col" { "Requests" } th.num scope="col" { "Errors" } } }
            tbody {
                @for day in &usage.by_day {
                    tr {
                        th scope="row" { time datetime=(day.date) { (day.date) } }
                        td.num { (day.requests) }
                        td.num { (day.errors) }
                    }
                }
            }
        }))
        h2 { "Latency per route" }
        @if usage.by_route.is_empty() {
            p.muted { "No requests in this range." }
        } @else {
            div.chart-frame { (charts::p95_per_route("usage-routes", &usage.by_route)) }
            (scroll_table("Requests, errors and latency per route, busiest first", Caption::Shown, html! {
                thead { tr { th scope="col" { "Route" } th.num scope="col" { "Requests" } th.num scope="col" { "Errors" }
                    th.num scope="col" { "p50 (ms)" } th.num scope="col" { "p95 (ms)" } } }
                tbody {
                    @for route in &usage.by_route {
                        tr {
                            th scope="row" { code { (route.method) " " (route.route) } }
                            td.num { (route.requests) }
                            td.num { (route.errors) }
                            td.num { (route.p50_ms) }
                            td.num { (route.p95_ms) }
                        }
                    }
                }
            }))
        }
    }
}

pub(crate) async fn show(
    State(state): State<AppState>,
    owner: Owner,
    DashboardMode(mode): DashboardMode,
    Query(query): Query<UsageQuery>,
) -> Result<Response, ErrorPage> {
    let csrf = owner.csrf();
    let nav = Nav::Partner { mode, csrf: &csrf, section: Section::Usage };
    let title = format!("{} usage", title_case(mode));
    let Some(table) = state.request_log_table.as_ref() else {
        let body = html! {
            p role="alert" { "Usage is not configured here: this deployment has no request-log table, so there is nothing to chart." }
            p { "Your API calls still work; only the usage figures are missing. " a href={ "/dashboard/" (mode) } { "Back to the wallet" } }
        };
        return Ok((StatusCode::SERVICE_UNAVAILABLE, page(&title, nav, body)).into_response());
    };
    let today = OffsetDateTime::now_utc().date();
    let range = match range(&query, today) {
        Ok(range) => range,
        Err(errors) => {
            let (from, to) = (query.from.as_deref().unwrap_or(""), query.to.as_deref().unwrap_or(""));
            let body = html! { (form(mode, from, to, &errors)) (shortcuts(mode, today)) };
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page(&title, nav, body)).into_response());
        }
    };
    let usage = table.usage(&owner.partner, mode, range).await?;
    let (from, to) = (range.from().to_string(), range.to().to_string());
    Ok(page(&title, nav, html! { (form(mode, &from, &to, &[])) (shortcuts(mode, today)) (report(&usage)) })
        .into_response())
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    fn query(from: Option<&str>, to: Option<&str>) -> UsageQuery {
        UsageQuery { from: from.map(str::to_owned), to: to.map(str::to_owned) }
    }

    const TODAY: Date = date!(2026 - 03 - 05);

    #[test]
    fn without_dates_the_range_is_the_last_fourteen_days_with_today() {
        for blank in [query(None, None), query(Some(""), Some(" "))] {
            let range = range(&blank, TODAY).expect("the default range");
            assert_eq!((range.from(), range.to()), (date!(2026 - 02 - 20), TODAY));
        }
    }

    #[test]
    fn given_dates_are_the_range() {
        let range = range(&query(Some("2026-01-01"), Some("2026-01-31")), TODAY).expect("a range");

        assert_eq!((range.from(), range.to()), (date!(2026 - 01 - 01), date!(2026 - 01 - 31)));
    }

    #[test]
    fn each_bad_date_is_named_by_its_field() {
        let errors = range(&query(Some("2026-02-30"), None), TODAY).expect_err("invalid");

        assert_eq!(
            errors,
            [
                ("from", "From must be a calendar date written YYYY-MM-DD".to_owned()),
                ("to", "To is required, as YYYY-MM-DD".to_owned()),
            ]
        );
    }

    #[test]
    fn a_reversed_or_too_long_range_is_about_the_last_day() {
        let reversed = range(&query(Some("2026-01-02"), Some("2026-01-01")), TODAY).expect_err("reversed");
        let long = range(&query(Some("2026-01-01"), Some("2026-04-03")), TODAY).expect_err("93 days");

        assert_eq!(reversed, [("to", "To must not be before From".to_owned())]);
        assert_eq!(long, [("to", "The range must be at most 92 days, both days included".to_owned())]);
    }
}
