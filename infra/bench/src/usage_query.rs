//! What `GET /api/usage` costs as a partner's day fills up: 1k, 10k and 100k logged
//! requests of one partner on one day, each put through the real drain (rows and daily
//! roll-ups) on the embedded engine, then the usage query of that day timed.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::Serialize;
use steller::domain::{Mode, PartnerId, Timestamp};
use steller::request_log::{InProcessQueue, RequestLogRecord, RequestLogSink, UsageRange, drain};

use crate::embedded::Engine;
use crate::stats::{median, millis, round2, times};

/// The target of issue 12: the query at 100k requests at most this many times 1k's.
pub const USAGE_RATIO_TARGET: f64 = 2.0;

/// Usage queries timed per size; the table shows their median.
pub const QUERIES: usize = 9;

/// The routes the logged requests are spread over: one roll-up per route and day.
const ROUTES: [(&str, &str); 5] = [
    ("GET", "/api/wallet"),
    ("POST", "/api/orders"),
    ("GET", "/api/orders/{id}"),
    ("GET", "/api/catalog/products"),
    ("GET", "/api/usage"),
];

/// A fill far beyond what any machine needs; it only keeps a stuck drain from hanging.
const FILL_BUDGET: Duration = Duration::from_secs(30 * 60);

/// One size: the partner's day as filled, and what querying it took.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UsageRow {
    /// Requests logged in the partner's day.
    pub requests: usize,
    /// How long the drain took to write them (rows and roll-ups), in seconds.
    pub fill_seconds: f64,
    pub queries: usize,
    /// The usage query's median, in milliseconds.
    pub query_ms: f64,
    /// Routes in the answer: the roll-ups the query read.
    pub routes: usize,
}

/// Every size, and the largest one's query time against the smallest one's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UsageFigures {
    pub rows: Vec<UsageRow>,
    pub largest_to_smallest: Option<f64>,
}

impl UsageFigures {
    pub fn new(rows: Vec<UsageRow>) -> Self {
        let smallest = rows.iter().min_by_key(|row| row.requests);
        let largest = rows.iter().max_by_key(|row| row.requests);
        let largest_to_smallest =
            smallest.zip(largest).and_then(|(small, large)| times(large.query_ms, small.query_ms));
        UsageFigures { rows, largest_to_smallest }
    }
}

/// The `index`th logged request of `partner` at `at`: routes in turn, one in 20 an error,
/// latencies spread over a few histogram buckets.
pub fn logged_request(index: usize, partner: PartnerId, at: Timestamp) -> RequestLogRecord {
    let (method, route) = ROUTES[index % ROUTES.len()];
    RequestLogRecord {
        request_id: format!("req_bench{index:07}{partner}"),
        timestamp: at,
        partner_id: Some(partner),
        mode: Some(Mode::Sandbox),
        method: method.to_owned(),
        route: route.to_owned(),
        status: if index % 20 == 19 { 402 } else { 200 },
        latency_ms: 5 + (index % 7) as u64 * 9,
        user_agent: Some("steller-bench".to_owned()),
    }
}

struct Day {
    partner: PartnerId,
    requests: usize,
    fill: Duration,
    samples: Vec<Duration>,
    routes: usize,
}

/// Fills one partner's day per size in `sizes` on one engine, then times the usage
/// query of each, in turns (so a busy moment of the machine falls on every size alike).
pub async fn measure(sizes: &[usize]) -> anyhow::Result<UsageFigures> {
    let engine = Engine::start(Duration::ZERO).await?;
    let table = engine.request_log_table();
    let at = Timestamp::now();
    let day = at.datetime().date();
    let range = UsageRange::new(day, day).context("one day is a range")?;
    let mut days = Vec::new();
    for &requests in sizes {
        let partner = PartnerId::generate();
        let queue = InProcessQueue::new();
        for index in 0..requests {
            queue.send(&logged_request(index, partner, at)).await?;
        }
        let started = Instant::now();
        let summary = drain(&queue, &table, FILL_BUDGET).await;
        let fill = started.elapsed();
        if let Some(failure) = summary.failure {
            bail!("filling {requests} requests: the drain failed: {failure}");
        }
        if summary.written != requests {
            bail!("filling {requests} requests: the drain wrote {}", summary.written);
        }
        days.push(Day { partner, requests, fill, samples: Vec::new(), routes: 0 });
    }
    for _ in 0..QUERIES {
        for day in &mut days {
            let started = Instant::now();
            let usage = table.usage(&day.partner, Mode::Sandbox, range).await?;
            day.samples.push(started.elapsed());
            if usage.total_requests != day.requests as u64 {
                bail!("the usage of {} requests counted {}", day.requests, usage.total_requests);
            }
            day.routes = usage.by_route.len();
        }
    }
    let rows = days
        .into_iter()
        .map(|day| UsageRow {
            requests: day.requests,
            fill_seconds: round2(day.fill.as_secs_f64()),
            queries: day.samples.len(),
            query_ms: median(&day.samples).map_or(0.0, millis),
            routes: day.routes,
        })
        .collect();
    Ok(UsageFigures::new(rows))
}

/// The usage table as printed: one line per size, then the ratio and its verdict.
pub fn usage_table(figures: &UsageFigures) -> String {
    let mut table = format!("{:>9} {:>9} {:>8} {:>7} {:>7}\n", "requests", "fill s", "query ms", "queries", "routes");
    for row in &figures.rows {
        table.push_str(&format!(
            "{:>9} {:>9.2} {:>8.2} {:>7} {:>7}\n",
            row.requests, row.fill_seconds, row.query_ms, row.queries, row.routes
        ));
    }
    let verdict = match figures.largest_to_smallest {
        Some(ratio) if ratio <= USAGE_RATIO_TARGET => format!("{ratio:.2}× (target ≤ {USAGE_RATIO_TARGET}×: met)"),
        Some(ratio) => format!("{ratio:.2}× (target ≤ {USAGE_RATIO_TARGET}×: NOT MET)"),
        None => "-".to_owned(),
    };
    table.push_str(&format!("largest day's query against the smallest's: {verdict}\n"));
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(requests: usize, query_ms: f64) -> UsageRow {
        UsageRow { requests, fill_seconds: 1.0, queries: 9, query_ms, routes: 5 }
    }

    #[test]
    fn the_ratio_is_the_largest_day_against_the_smallest_whatever_the_order() {
        let figures = UsageFigures::new(vec![row(100_000, 3.0), row(1_000, 2.0), row(10_000, 2.5)]);
        assert_eq!(figures.largest_to_smallest, Some(1.5));
        assert!(usage_table(&figures).ends_with("1.50× (target ≤ 2×: met)\n"), "{}", usage_table(&figures));
    }

    #[test]
    fn a_query_that_grows_with_the_requests_misses_the_target() {
        let figures = UsageFigures::new(vec![row(1_000, 2.0), row(100_000, 50.0)]);
        assert!(usage_table(&figures).contains("25.00× (target ≤ 2×: NOT MET)"));
    }

    #[test]
    fn logged_requests_are_valid_records_spread_over_the_routes() {
        let partner = PartnerId::generate();
        let at = Timestamp::now();
        let records: Vec<_> = (0..40).map(|index| logged_request(index, partner, at)).collect();
        for record in &records {
            assert!(steller::request_log::LogRow::from_record(record.clone()).is_ok(), "{record:?}");
        }
        let routes: std::collections::BTreeSet<_> = records.iter().map(|record| record.route.as_str()).collect();
        assert_eq!(routes.len(), ROUTES.len());
        assert_eq!(records.iter().filter(|record| record.status >= 400).count(), 2);
        assert_ne!(records[0].request_id, records[1].request_id);
    }
}
