//! The usage page's charts as inline SVG drawn on the server: requests and errors per
//! day, and p95 latency per route. No script draws them, so they show without
//! JavaScript; each is an image with a title and a description, and the page puts a
//! table with the same numbers next to it for screen readers and for whoever cannot see
//! the SVG.
//!
//! Geometry is computed first (`day_bars`, `route_bars`) and drawn second, so tests can
//! check the arithmetic without parsing markup. Every SVG element is written with a
//! closing tag: inside `<svg>` an HTML parser does not know `<rect>` is empty, and an
//! unclosed one would swallow what follows.

use maud::{Markup, html};
use steller::request_log::{DayUsage, RouteUsage};

const INK: &str = "#1b1f24";
const MUTED: &str = "#5b6470";
const LINE: &str = "#d7dce2";
const REQUESTS: &str = "#2b59c3";
const ERRORS: &str = "#b42318";

/// The per-day chart's frame: room for the legend above, the count labels on the left,
/// the day labels and the axis title below.
mod day_chart {
    /// Wide enough for a quarter's bars; on a phone it keeps its size and scrolls
    /// sideways (`.chart-frame` in portal.css) rather than shrink its text away.
    pub(super) const WIDTH: f64 = 640.0;
    pub(super) const LEFT: f64 = 56.0;
    pub(super) const RIGHT: f64 = 12.0;
    pub(super) const TOP: f64 = 36.0;
    pub(super) const PLOT_HEIGHT: f64 = 160.0;
    pub(super) const BOTTOM: f64 = 44.0;
    pub(super) const PLOT_WIDTH: f64 = WIDTH - LEFT - RIGHT;
    pub(super) const HEIGHT: f64 = TOP + PLOT_HEIGHT + BOTTOM;
    pub(super) const BASELINE: f64 = TOP + PLOT_HEIGHT;
    /// The share of a day's slot its bar fills; the rest is the gap between bars.
    pub(super) const BAR_SHARE: f64 = 0.7;
    /// The width an `MM-DD` label needs; narrower slots label every few days.
    pub(super) const LABEL_WIDTH: f64 = 40.0;
}

/// The per-route chart's rows: the route's label above its bar, the value after it.
mod route_chart {
    /// Narrow enough to fit a phone whole (`svg.chart.fit`), so every value stays in view.
    pub(super) const WIDTH: f64 = 420.0;
    pub(super) const LEFT: f64 = 12.0;
    /// Room after the longest bar for its value ("123456 ms").
    pub(super) const VALUE_ROOM: f64 = 84.0;
    pub(super) const TOP: f64 = 8.0;
    pub(super) const ROW: f64 = 40.0;
    pub(super) const BAR_OFFSET: f64 = 20.0;
    pub(super) const BAR_HEIGHT: f64 = 14.0;
    pub(super) const BOTTOM: f64 = 8.0;
    pub(super) const MAX_BAR: f64 = WIDTH - LEFT - VALUE_ROOM;
}

/// `value` of `max` as a share of `full` units: proportional, the largest value at full
/// length, and nothing drawn when every value is zero.
fn scaled(value: u64, max: u64, full: f64) -> f64 {
    if max == 0 { 0.0 } else { value as f64 * full / max as f64 }
}

/// A length as an SVG attribute: a tenth of a unit is finer than any screen shows.
fn units(value: f64) -> String {
    format!("{value:.1}")
}

/// One day's bars, in SVG units.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DayBar<'a> {
    pub(crate) day: &'a DayUsage,
    /// The left edge of the day's bars.
    pub(crate) x: f64,
    pub(crate) width: f64,
    pub(crate) requests_height: f64,
    /// Drawn over the requests bar from the same baseline, on the same scale.
    pub(crate) errors_height: f64,
    /// Whether the day's date is written under it (every day when they fit).
    pub(crate) labelled: bool,
}

/// Every day of `days`, zero-request days included, on one scale whose top is the
/// busiest day.
pub(crate) fn day_bars(days: &[DayUsage]) -> Vec<DayBar<'_>> {
    let max = days.iter().map(|day| day.requests).max().unwrap_or(0);
    let slot = day_chart::PLOT_WIDTH / days.len().max(1) as f64;
    let width = slot * day_chart::BAR_SHARE;
    let every = (day_chart::LABEL_WIDTH / slot).ceil().max(1.0) as usize;
    days.iter()
        .enumerate()
        .map(|(index, day)| DayBar {
            day,
            x: day_chart::LEFT + index as f64 * slot + (slot - width) / 2.0,
            width,
            requests_height: scaled(day.requests, max, day_chart::PLOT_HEIGHT),
            // A day never has more errors than requests; the bound keeps a bad row inside the plot.
            errors_height: scaled(day.errors.min(day.requests), max, day_chart::PLOT_HEIGHT),
            labelled: index % every == 0,
        })
        .collect()
}

fn plural(count: u64, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

/// Requests and errors per day: a bar per day, the errors hatched over it. `id` prefixes
/// the ids the image is labelled by, unique on the page.
pub(crate) fn requests_per_day(id: &str, days: &[DayUsage]) -> Markup {
    let bars = day_bars(days);
    let max = days.iter().map(|day| day.requests).max().unwrap_or(0);
    let total: u64 = days.iter().map(|day| day.requests).sum();
    let errors: u64 = days.iter().map(|day| day.errors).sum();
    let busiest = days.iter().filter(|day| day.requests == max && max > 0).map(|day| day.date.as_str()).next();
    let (first, last) = (days.first().map(|d| d.date.as_str()), days.last().map(|d| d.date.as_str()));
    let (title_id, desc_id, hatch_id) = (format!("{id}-title"), format!("{id}-desc"), format!("{id}-hatch"));
    let hatch = format!("url(#{hatch_id})");
    html! {
        svg.chart #(id) xmlns="http://www.w3.org/2000/svg" viewBox={ "0 0 " (day_chart::WIDTH) " " (day_chart::HEIGHT) }
            role="img" aria-labelledby={ (title_id) " " (desc_id) } font-size="14" {
            title #(title_id) { "Requests and errors per day" }
            desc #(desc_id) {
                @if let (Some(first), Some(last)) = (first, last) { "From " (first) " to " (last) " (UTC): " }
                (plural(total, "request", "requests")) ", " (plural(errors, "error", "errors")) "."
                @if let Some(busiest) = busiest { " Busiest day: " (busiest) " with " (plural(max, "request", "requests")) "." }
            }
            defs {
                // Errors are hatched as well as red, so colour is not the only thing telling them apart.
                pattern #(hatch_id) width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)" {
                    rect width="6" height="6" fill=(ERRORS) {}
                    line x1="0" y1="0" x2="0" y2="6" stroke="#fff" stroke-width="2" {}
                }
            }
            g.legend {
                rect x=(day_chart::LEFT) y="8" width="14" height="14" fill=(REQUESTS) {}
                text x=(day_chart::LEFT + 20.0) y="20" fill=(INK) { "Requests" }
                rect x=(day_chart::LEFT + 120.0) y="8" width="14" height="14" fill=(hatch) {}
                text x=(day_chart::LEFT + 140.0) y="20" fill=(INK) { "Errors (status 400 or more)" }
            }
            g.axis {
                line x1=(day_chart::LEFT) y1=(day_chart::TOP) x2=(day_chart::LEFT + day_chart::PLOT_WIDTH) y2=(day_chart::TOP)
                    stroke=(LINE) stroke-dasharray="4 4" {}
                line x1=(day_chart::LEFT) y1=(day_chart::BASELINE) x2=(day_chart::LEFT + day_chart::PLOT_WIDTH) y2=(day_chart::BASELINE)
                    stroke=(MUTED) {}
                line x1=(day_chart::LEFT) y1=(day_chart::TOP) x2=(day_chart::LEFT) y2=(day_chart::BASELINE) stroke=(MUTED) {}
                text x=(day_chart::LEFT - 6.0) y=(day_chart::TOP + 4.0) text-anchor="end" fill=(INK) { (max) }
                text x=(day_chart::LEFT - 6.0) y=(day_chart::BASELINE + 4.0) text-anchor="end" fill=(INK) { "0" }
                text transform={ "translate(14 " (units(day_chart::TOP + day_chart::PLOT_HEIGHT / 2.0)) ") rotate(-90)" }
                    text-anchor="middle" fill=(MUTED) { "Requests" }
                text x=(units(day_chart::LEFT + day_chart::PLOT_WIDTH / 2.0)) y=(day_chart::HEIGHT - 6.0) text-anchor="middle"
                    fill=(MUTED) { "Day (UTC)" }
            }
            @for bar in &bars {
                g.day data-date=(bar.day.date) {
                    title { (bar.day.date) ": " (plural(bar.day.requests, "request", "requests")) ", "
                        (plural(bar.day.errors, "error", "errors")) }
                    rect.requests x=(units(bar.x)) y=(units(day_chart::BASELINE - bar.requests_height)) width=(units(bar.width))
                        height=(units(bar.requests_height)) fill=(REQUESTS) {}
                    @if bar.errors_height > 0.0 {
                        rect.errors x=(units(bar.x)) y=(units(day_chart::BASELINE - bar.errors_height)) width=(units(bar.width))
                            height=(units(bar.errors_height)) fill=(hatch) {}
                    }
                    @if bar.labelled {
                        text x=(units(bar.x + bar.width / 2.0)) y=(day_chart::BASELINE + 16.0) text-anchor="middle"
                            font-size="12" fill=(INK) { (bar.day.date.get(5..).unwrap_or(&bar.day.date)) }
                    }
                }
            }
            @if max == 0 {
                text x=(units(day_chart::LEFT + day_chart::PLOT_WIDTH / 2.0)) y=(units(day_chart::TOP + day_chart::PLOT_HEIGHT / 2.0))
                    text-anchor="middle" fill=(MUTED) { "No requests in this range" }
            }
        }
    }
}

/// One route's bar, in SVG units.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RouteBar<'a> {
    pub(crate) route: &'a RouteUsage,
    /// The top of the route's row: its label, then its bar.
    pub(crate) y: f64,
    pub(crate) width: f64,
}

/// A row per route in the order given, on one scale whose end is the slowest p95.
pub(crate) fn route_bars(routes: &[RouteUsage]) -> Vec<RouteBar<'_>> {
    let max = routes.iter().map(|route| route.p95_ms).max().unwrap_or(0);
    routes
        .iter()
        .enumerate()
        .map(|(index, route)| RouteBar {
            route,
            y: route_chart::TOP + index as f64 * route_chart::ROW,
            width: scaled(route.p95_ms, max, route_chart::MAX_BAR),
        })
        .collect()
}

/// p95 latency per route: a horizontal bar per route, labelled with its method and
/// route above it and its milliseconds after it.
pub(crate) fn p95_per_route(id: &str, routes: &[RouteUsage]) -> Markup {
    let bars = route_bars(routes);
    let height = route_chart::TOP + routes.len() as f64 * route_chart::ROW + route_chart::BOTTOM;
    let slowest = routes.iter().max_by_key(|route| route.p95_ms);
    let (title_id, desc_id) = (format!("{id}-title"), format!("{id}-desc"));
    html! {
        svg.chart.fit #(id) xmlns="http://www.w3.org/2000/svg" viewBox={ "0 0 " (route_chart::WIDTH) " " (units(height)) }
            role="img" aria-labelledby={ (title_id) " " (desc_id) } font-size="14" {
            title #(title_id) { "95th-percentile latency per route, in milliseconds" }
            desc #(desc_id) {
                (plural(routes.len() as u64, "route", "routes")) "."
                @if let Some(slowest) = slowest {
                    " Slowest: " (slowest.method) " " (slowest.route) " at " (slowest.p95_ms) " ms."
                }
            }
            @for bar in &bars {
                g.route {
                    text x=(route_chart::LEFT) y=(units(bar.y + 14.0)) fill=(INK) {
                        tspan font-weight="600" { (bar.route.method) } " " (bar.route.route)
                    }
                    rect x=(route_chart::LEFT) y=(units(bar.y + route_chart::BAR_OFFSET)) width=(units(bar.width))
                        height=(route_chart::BAR_HEIGHT) fill=(REQUESTS) {}
                    text x=(units(route_chart::LEFT + bar.width + 6.0)) y=(units(bar.y + route_chart::BAR_OFFSET + 11.0)) fill=(INK) {
                        (bar.route.p95_ms) " ms"
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(date: &str, requests: u64, errors: u64) -> DayUsage {
        DayUsage { date: date.into(), requests, errors }
    }

    fn route(method: &str, path: &str, p95_ms: u64) -> RouteUsage {
        RouteUsage { method: method.into(), route: path.into(), requests: 1, errors: 0, p50_ms: p95_ms, p95_ms }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn day_bars_are_proportional_to_requests_with_the_busiest_day_at_full_height() {
        let days = [day("2026-11-22", 10, 0), day("2026-11-23", 5, 0), day("2026-11-24", 20, 0)];

        let heights: Vec<f64> = day_bars(&days).iter().map(|bar| bar.requests_height).collect();

        assert!(close(heights[2], day_chart::PLOT_HEIGHT), "the busiest day fills the plot: {heights:?}");
        assert!(close(heights[0], day_chart::PLOT_HEIGHT / 2.0), "{heights:?}");
        assert!(close(heights[1], day_chart::PLOT_HEIGHT / 4.0), "{heights:?}");
    }

    #[test]
    fn errors_are_drawn_on_the_same_scale_as_requests() {
        let days = [day("2026-11-22", 8, 2), day("2026-11-23", 4, 4)];

        let bars = day_bars(&days);

        assert!(close(bars[0].errors_height, day_chart::PLOT_HEIGHT / 4.0), "{bars:?}");
        assert!(close(bars[1].errors_height, bars[1].requests_height), "all errors: the overlay covers the bar");
    }

    #[test]
    fn days_without_requests_keep_their_place_with_no_height() {
        let days = [day("2026-11-22", 3, 0), day("2026-11-23", 0, 0), day("2026-11-24", 6, 1)];

        let bars = day_bars(&days);

        assert_eq!(bars.len(), 3);
        assert_eq!(bars[1].day.date, "2026-11-23");
        assert!(close(bars[1].requests_height, 0.0));
        assert!(bars[0].x < bars[1].x && bars[1].x < bars[2].x, "in date order, evenly spaced");
        assert!(close(bars[1].x - bars[0].x, bars[2].x - bars[1].x));
        let markup = requests_per_day("days", &days).into_string();
        assert_eq!(markup.matches("class=\"day\"").count(), 3, "{markup}");
        assert!(markup.contains("2026-11-23: 0 requests, 0 errors"), "{markup}");
    }

    #[test]
    fn a_range_without_any_request_draws_flat_bars_and_says_so() {
        let days = [day("2026-11-22", 0, 0), day("2026-11-23", 0, 0)];

        assert!(day_bars(&days).iter().all(|bar| bar.requests_height == 0.0 && bar.errors_height == 0.0));
        assert!(requests_per_day("days", &days).into_string().contains("No requests in this range"));
    }

    #[test]
    fn the_bars_fill_the_plot_from_edge_to_edge_however_many_days() {
        for count in [1, 14, 92] {
            let days: Vec<DayUsage> = (0..count).map(|n| day(&format!("d{n}"), n, 0)).collect();
            let bars = day_bars(&days);
            let slot = day_chart::PLOT_WIDTH / count as f64;
            let last = bars.last().expect("a bar per day");
            assert!(bars[0].x >= day_chart::LEFT, "{count} days");
            assert!(
                close(last.x + last.width + (slot - last.width) / 2.0, day_chart::LEFT + day_chart::PLOT_WIDTH),
                "{count}"
            );
        }
    }

    #[test]
    fn every_day_is_labelled_when_labels_fit_and_every_few_days_when_not() {
        let fortnight: Vec<DayUsage> = (1..=14).map(|n| day(&format!("2026-11-{n:02}"), 1, 0)).collect();
        assert!(day_bars(&fortnight).iter().all(|bar| bar.labelled));

        let quarter: Vec<DayUsage> = (0..92).map(|n| day(&format!("2026-q-{n:02}"), 1, 0)).collect();
        let labelled: Vec<usize> =
            day_bars(&quarter).iter().enumerate().filter_map(|(index, bar)| bar.labelled.then_some(index)).collect();
        assert_eq!(labelled.first(), Some(&0), "the first day is always labelled");
        assert!(labelled.len() > 5 && labelled.len() < 92, "some, not all: {labelled:?}");
        let gap = labelled[1] - labelled[0];
        assert!(gap as f64 * day_chart::PLOT_WIDTH / 92.0 >= day_chart::LABEL_WIDTH, "labels do not overlap");
    }

    #[test]
    fn the_day_chart_is_an_image_labelled_by_its_title_and_description() {
        let days = [day("2026-11-22", 6, 1), day("2026-11-23", 0, 0), day("2026-11-24", 2, 2)];

        let markup = requests_per_day("days", &days).into_string();

        assert!(markup.contains(r#"role="img" aria-labelledby="days-title days-desc""#), "{markup}");
        assert!(markup.contains(r#"<title id="days-title">Requests and errors per day</title>"#), "{markup}");
        assert!(
            markup.contains(
                "From 2026-11-22 to 2026-11-24 (UTC): 8 requests, 3 errors. Busiest day: 2026-11-22 with 6 requests."
            ),
            "{markup}"
        );
        assert!(markup.contains(">11-22</text>") && markup.contains(">Day (UTC)</text>"), "days and axes are labelled");
        assert!(
            markup.contains(&format!(r#"height="{}""#, units(day_chart::PLOT_HEIGHT))),
            "the busiest bar at full height"
        );
        assert_eq!(markup.matches("<rect").count(), markup.matches("</rect>").count(), "every rect is closed");
        assert!(!markup.contains("/>"), "no element relies on self-closing syntax");
    }

    #[test]
    fn route_bars_are_proportional_to_p95_with_the_slowest_at_full_length() {
        let routes = [route("GET", "/api/wallet", 40), route("POST", "/api/orders", 100), route("GET", "/api/x", 0)];

        let bars = route_bars(&routes);

        let widths: Vec<f64> = bars.iter().map(|bar| bar.width).collect();
        assert!(close(widths[1], route_chart::MAX_BAR), "{widths:?}");
        assert!(close(widths[0], route_chart::MAX_BAR * 0.4), "{widths:?}");
        assert!(close(widths[2], 0.0), "{widths:?}");
        assert!(close(bars[1].y - bars[0].y, route_chart::ROW), "a row per route, in the order given");
    }

    #[test]
    fn route_labels_and_values_are_written_out_and_escaped() {
        let routes = [route("GET", "/api/orders/{id}", 7), route("GET", "/<script>alert(1)</script>", 3)];

        let markup = p95_per_route("routes", &routes).into_string();

        assert!(markup.contains(r#"<tspan font-weight="600">GET</tspan> /api/orders/{id}"#), "{markup}");
        assert!(markup.contains(">7 ms</text>") && markup.contains(">3 ms</text>"), "{markup}");
        assert!(markup.contains("/&lt;script&gt;alert(1)&lt;/script&gt;"), "{markup}");
        assert!(!markup.contains("<script>"), "{markup}");
        assert!(markup.contains("Slowest: GET /api/orders/{id} at 7 ms."), "{markup}");
    }
}
