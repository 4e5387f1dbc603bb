//! A partner's usage over a date range: totals, per-day and per-route counts with error
//! counts and latency percentiles, tallied from the daily roll-ups (never the raw rows).

use std::collections::BTreeMap;

use time::Date;
use time::macros::format_description;

use super::rollup::RouteDayCounts;

/// The longest range one usage call covers, in days (both ends included): a quarter.
pub const MAX_RANGE_DAYS: i64 = 92;

/// Why a date or a range is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    #[error("is required, as YYYY-MM-DD")]
    Missing,
    #[error("must be a calendar date written YYYY-MM-DD")]
    Malformed,
    #[error("must not be before `from`")]
    Reversed,
    #[error("must be at most {MAX_RANGE_DAYS} days after `from`, both days included")]
    TooLong,
}

/// A `YYYY-MM-DD` date, nothing else (no times, no offsets, no 5-digit years).
pub fn parse_date(raw: Option<&str>) -> Result<Date, RangeError> {
    let raw = raw.map(str::trim).filter(|raw| !raw.is_empty()).ok_or(RangeError::Missing)?;
    if raw.len() != 10 {
        return Err(RangeError::Malformed);
    }
    Date::parse(raw, format_description!("[year]-[month]-[day]")).map_err(|_| RangeError::Malformed)
}

/// The UTC days `from..=to`, at most `MAX_RANGE_DAYS` of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsageRange {
    from: Date,
    to: Date,
}

impl UsageRange {
    /// The range; the error is about `to`, the end checked against the start.
    pub fn new(from: Date, to: Date) -> Result<Self, RangeError> {
        if to < from {
            return Err(RangeError::Reversed);
        }
        if (to - from).whole_days() + 1 > MAX_RANGE_DAYS {
            return Err(RangeError::TooLong);
        }
        Ok(UsageRange { from, to })
    }

    pub fn from(&self) -> Date {
        self.from
    }

    pub fn to(&self) -> Date {
        self.to
    }

    fn days(&self) -> impl Iterator<Item = Date> {
        let to = self.to;
        std::iter::successors(Some(self.from), move |day| day.next_day().filter(|next| *next <= to))
    }
}

/// Requests of one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayUsage {
    /// `YYYY-MM-DD`, UTC.
    pub date: String,
    pub requests: u64,
    /// Responses with a status of 400 or more.
    pub errors: u64,
}

/// Requests of one route (method and template).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteUsage {
    pub method: String,
    pub route: String,
    pub requests: u64,
    pub errors: u64,
    pub p50_ms: u64,
    pub p95_ms: u64,
}

/// A partner's usage in one mode over a range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    pub range: UsageRange,
    pub total_requests: u64,
    /// Every day of the range, oldest first, days without requests included.
    pub by_day: Vec<DayUsage>,
    /// Busiest route first; ties by route, then method.
    pub by_route: Vec<RouteUsage>,
}

/// Adds up roll-ups as they are read, page by page.
#[derive(Debug)]
pub(crate) struct Tally {
    range: UsageRange,
    days: BTreeMap<String, (u64, u64)>,
    routes: BTreeMap<(String, String), RouteDayCounts>,
}

impl Tally {
    pub(crate) fn new(range: UsageRange) -> Self {
        let days = range.days().map(|day| (day.to_string(), (0, 0))).collect();
        Tally { range, days, routes: BTreeMap::new() }
    }

    /// Adds the roll-up of `method route` on `date`.
    pub(crate) fn add(&mut self, date: &str, method: &str, route: &str, counts: &RouteDayCounts) {
        // The query's bounds keep every roll-up inside the range; a day outside it is
        // ignored rather than added, so `by_day` is always exactly the range.
        let Some((requests, errors)) = self.days.get_mut(date) else {
            return;
        };
        *requests += counts.requests;
        *errors += counts.errors;
        self.routes.entry((route.to_owned(), method.to_owned())).or_default().merge(counts);
    }

    pub(crate) fn finish(self) -> Usage {
        let by_day: Vec<DayUsage> =
            self.days.into_iter().map(|(date, (requests, errors))| DayUsage { date, requests, errors }).collect();
        let mut by_route: Vec<RouteUsage> = self
            .routes
            .into_iter()
            .map(|((route, method), counts)| RouteUsage {
                method,
                route,
                requests: counts.requests,
                errors: counts.errors,
                p50_ms: counts.latency.percentile(50),
                p95_ms: counts.latency.percentile(95),
            })
            .collect();
        // The map iterates by route then method; a stable sort keeps that order among ties.
        by_route.sort_by_key(|route| std::cmp::Reverse(route.requests));
        let total_requests = by_day.iter().map(|day| day.requests).sum();
        Usage { range: self.range, total_requests, by_day, by_route }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    fn counts(statuses_and_latencies: &[(u16, u64)]) -> RouteDayCounts {
        let mut counts = RouteDayCounts::default();
        for (status, latency_ms) in statuses_and_latencies {
            counts.requests += 1;
            counts.errors += u64::from(*status >= 400);
            counts.latency.record(*latency_ms);
        }
        counts
    }

    #[test]
    fn dates_are_exactly_yyyy_mm_dd() {
        assert_eq!(parse_date(Some("2026-11-23")), Ok(date!(2026 - 11 - 23)));
        assert_eq!(parse_date(None), Err(RangeError::Missing));
        assert_eq!(parse_date(Some(" ")), Err(RangeError::Missing));
        for bad in ["2026-11-31", "2026-1-5", "23/11/2026", "2026-11-23T00:00:00Z", "+2026-11-23", "yesterday"] {
            assert_eq!(parse_date(Some(bad)), Err(RangeError::Malformed), "{bad}");
        }
    }

    #[test]
    fn a_range_is_ordered_and_at_most_92_days_with_both_ends_included() {
        assert!(UsageRange::new(date!(2026 - 07 - 01), date!(2026 - 09 - 30)).is_ok(), "92 days");
        assert_eq!(UsageRange::new(date!(2026 - 07 - 01), date!(2026 - 10 - 01)), Err(RangeError::TooLong));
        assert_eq!(UsageRange::new(date!(2026 - 07 - 02), date!(2026 - 07 - 01)), Err(RangeError::Reversed));
    }

    #[test]
    fn the_tally_counts_days_routes_errors_and_percentiles() {
        let range = UsageRange::new(date!(2026 - 11 - 22), date!(2026 - 11 - 24)).expect("a range");
        let mut tally = Tally::new(range);
        tally.add("2026-11-22", "GET", "/api/wallet", &counts(&[(200, 30), (200, 10)]));
        tally.add("2026-11-24", "GET", "/api/wallet", &counts(&[(503, 20)]));
        tally.add("2026-11-24", "POST", "/api/orders", &counts(&[(402, 90)]));
        tally.add("2026-11-25", "POST", "/api/orders", &counts(&[(200, 1)]));
        let usage = tally.finish();
        assert_eq!(usage.total_requests, 4);
        let days: Vec<_> = usage.by_day.iter().map(|d| (d.date.as_str(), d.requests, d.errors)).collect();
        assert_eq!(days, [("2026-11-22", 2, 0), ("2026-11-23", 0, 0), ("2026-11-24", 2, 2)]);
        let routes: Vec<_> = usage
            .by_route
            .iter()
            .map(|r| (r.method.as_str(), r.route.as_str(), r.requests, r.errors, r.p50_ms, r.p95_ms))
            .collect();
        assert_eq!(routes, [("GET", "/api/wallet", 3, 1, 20, 30), ("POST", "/api/orders", 1, 1, 100, 100)]);
    }
}
