//! Daily roll-ups: per partner, mode, UTC day and route (method and template), the
//! request count, the error count and a fixed-bucket latency histogram. The drain adds
//! each new row's request to its roll-up in the same transaction as the row, and
//! `GET /api/usage` reads only roll-ups, so its cost is days × routes, not requests.

use super::row::LogRow;
use crate::domain::{Mode, PartnerId};

/// The upper bounds, in milliseconds, of the latency buckets: roughly logarithmic (1, 1.5,
/// 2, 3, 5, 7 per decade) from 1 ms to 30 s, so a reported percentile is at most about
/// 1.5× (and at least 1 ms) above the true one. Bucket `i` holds latencies in
/// `(BUCKET_BOUNDS[i - 1], BUCKET_BOUNDS[i]]` (bucket 0 holds 0 and 1 ms); one more
/// bucket, the last, holds everything above 30 s. Changing the bounds changes the meaning
/// of the stored counts: add buckets only at the end.
pub const BUCKET_BOUNDS: [u64; 27] = [
    1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 70, 100, 150, 200, 300, 500, 700, 1_000, 1_500, 2_000, 3_000, 5_000, 7_000,
    10_000, 15_000, 20_000, 30_000,
];

/// How many buckets a histogram has: one per bound and one above the last.
pub const BUCKETS: usize = BUCKET_BOUNDS.len() + 1;

/// Request counts per latency bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Histogram([u64; BUCKETS]);

impl Default for Histogram {
    fn default() -> Self {
        Histogram([0; BUCKETS])
    }
}

impl Histogram {
    /// The bucket a latency falls in.
    pub fn bucket(latency_ms: u64) -> usize {
        BUCKET_BOUNDS.partition_point(|bound| *bound < latency_ms)
    }

    pub fn record(&mut self, latency_ms: u64) {
        self.add_to(Self::bucket(latency_ms), 1);
    }

    pub fn add_to(&mut self, bucket: usize, count: u64) {
        if let Some(slot) = self.0.get_mut(bucket) {
            *slot += count;
        }
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (mine, theirs) in self.0.iter_mut().zip(other.0) {
            *mine += theirs;
        }
    }

    pub fn count(&self) -> u64 {
        self.0.iter().sum()
    }

    /// `(bucket, count)` of every bucket holding at least one request.
    pub fn counts(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        self.0.iter().copied().enumerate().filter(|(_, count)| *count > 0)
    }

    /// The `percent`th percentile by the nearest-rank method (the request at rank
    /// ⌈percent/100 × n⌉ in latency order), reported as the upper bound of its bucket: never
    /// below the true value, and within one bucket of it. Above the last bound (30 s), the
    /// last bound. 0 when there are no requests.
    pub fn percentile(&self, percent: u64) -> u64 {
        let total = self.count();
        if total == 0 {
            return 0;
        }
        let rank = (percent * total).div_ceil(100).clamp(1, total);
        let mut seen = 0;
        for (bucket, count) in self.0.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return upper_bound(bucket);
            }
        }
        upper_bound(BUCKETS - 1)
    }
}

/// The latency a bucket reports: its upper bound, or the last bound for the open bucket.
fn upper_bound(bucket: usize) -> u64 {
    BUCKET_BOUNDS.get(bucket).or(BUCKET_BOUNDS.last()).copied().unwrap_or_default()
}

/// What identifies one roll-up item: whose requests, which day, which route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RouteDayKey {
    pub partner: PartnerId,
    pub mode: Mode,
    /// `YYYY-MM-DD`, UTC.
    pub date: String,
    pub method: String,
    pub route: String,
}

/// The counts of one route on one day, whole (read back) or a change to add (from a batch).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RouteDayCounts {
    pub requests: u64,
    pub errors: u64,
    pub latency: Histogram,
}

impl RouteDayCounts {
    fn add(&mut self, status: u16, latency_ms: u64) {
        self.requests += 1;
        self.errors += u64::from(status >= 400);
        self.latency.record(latency_ms);
    }

    pub(crate) fn merge(&mut self, other: &RouteDayCounts) {
        self.requests += other.requests;
        self.errors += other.errors;
        self.latency.merge(&other.latency);
    }
}

/// The roll-up changes a set of new rows makes, one per roll-up item (in the order their
/// first row came), so a transaction names each item once. Requests without a partner
/// have no roll-up: usage is only ever asked for by a partner.
pub(crate) fn changes<'a>(rows: impl IntoIterator<Item = &'a LogRow>) -> Vec<(RouteDayKey, RouteDayCounts)> {
    let mut changes: Vec<(RouteDayKey, RouteDayCounts)> = Vec::new();
    for row in rows {
        let record = row.record();
        let (Some(partner), Some(mode)) = (record.partner_id, record.mode) else { continue };
        let key =
            RouteDayKey { partner, mode, date: row.date(), method: record.method.clone(), route: record.route.clone() };
        match changes.iter_mut().find(|(known, _)| *known == key) {
            Some((_, counts)) => counts.add(record.status, record.latency_ms),
            None => {
                let mut counts = RouteDayCounts::default();
                counts.add(record.status, record.latency_ms);
                changes.push((key, counts));
            }
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_latency_falls_in_the_bucket_whose_upper_bound_is_the_first_at_or_above_it() {
        assert_eq!(Histogram::bucket(0), 0);
        assert_eq!(Histogram::bucket(1), 0);
        assert_eq!(Histogram::bucket(2), 1);
        assert_eq!(Histogram::bucket(4), 3, "(3, 5]");
        assert_eq!(Histogram::bucket(30_000), BUCKETS - 2);
        assert_eq!(Histogram::bucket(30_001), BUCKETS - 1);
        assert_eq!(Histogram::bucket(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn a_percentile_is_the_upper_bound_of_the_bucket_holding_the_nearest_rank() {
        let mut histogram = Histogram::default();
        assert_eq!(histogram.percentile(50), 0, "no requests");
        for latency in [5, 10, 20, 30, 40] {
            histogram.record(latency);
        }
        // Nearest rank 3 of 5 is 20 ms, a bucket bound; rank 5 is 40 ms, in (30, 50].
        assert_eq!((histogram.percentile(50), histogram.percentile(95)), (20, 50));
        histogram.record(45_000);
        assert_eq!(histogram.percentile(100), 30_000, "beyond the last bound reports the last bound");
    }

    #[test]
    fn a_reported_percentile_is_never_below_the_true_one_and_within_one_bucket_of_it() {
        let latencies: Vec<u64> = (0..2_000).map(|n| (n * 37) % 25_000).collect();
        let mut histogram = Histogram::default();
        latencies.iter().for_each(|latency| histogram.record(*latency));
        let mut sorted = latencies.clone();
        sorted.sort_unstable();
        for percent in [1, 50, 90, 95, 99, 100] {
            let truth = sorted[usize::try_from(percent * 2_000 / 100).expect("small") - 1];
            let reported = histogram.percentile(percent);
            assert_eq!(Histogram::bucket(reported), Histogram::bucket(truth), "p{percent}: {reported} vs {truth}");
            assert!(reported >= truth, "p{percent}");
        }
    }

    #[test]
    fn merged_histograms_count_both() {
        let mut one = Histogram::default();
        one.record(3);
        let mut two = Histogram::default();
        two.record(3);
        two.record(800);
        one.merge(&two);
        assert_eq!(one.counts().collect::<Vec<_>>(), [(2, 2), (17, 1)]);
    }
}
