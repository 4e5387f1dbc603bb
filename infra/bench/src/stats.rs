//! The arithmetic of the figures: medians of repeated measurements and ratios to the
//! baseline.

use std::time::Duration;

/// The median of `samples` (the mean of the middle two for an even count), or `None`
/// when there are none. The median, not the mean: one run stalled by the shared machine
/// must not move the figure.
pub fn median(samples: &[Duration]) -> Option<Duration> {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    middle_of(&sorted, |low, high| (low + high) / 2)
}

/// The median of plain figures (ratios), with two decimals, or `None` when there are none.
pub fn median_of(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    middle_of(&sorted, |low, high| (low + high) / 2.0).map(round2)
}

/// The middle of `sorted`, or `mean` of the middle two for an even count.
fn middle_of<T: Copy>(sorted: &[T], mean: impl Fn(T, T) -> T) -> Option<T> {
    let middle = sorted.len() / 2;
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => sorted.get(middle).copied(),
        _ => Some(mean(sorted[middle - 1], sorted[middle])),
    }
}

/// How many times `baseline` `value` is, or `None` when the baseline is zero.
pub fn ratio(value: Duration, baseline: Duration) -> Option<f64> {
    (!baseline.is_zero()).then(|| value.as_secs_f64() / baseline.as_secs_f64())
}

/// How many `count` per second `elapsed` makes, or `None` when no time passed.
pub fn per_second(count: usize, elapsed: Duration) -> Option<f64> {
    // Counts in a bench run stay far below 2^52, so the conversion is exact.
    (!elapsed.is_zero()).then(|| round2(count as f64 / elapsed.as_secs_f64()))
}

/// How many times `baseline` a plain figure is, with two decimals, or `None` when the
/// baseline is zero.
pub fn times(value: f64, baseline: f64) -> Option<f64> {
    (baseline != 0.0).then(|| round2(value / baseline))
}

/// Two decimals, as the table and the JSON show rates and ratios.
pub fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// Milliseconds with two decimals, as the table and the JSON show durations.
pub fn millis(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 100_000.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(values: &[u64]) -> Vec<Duration> {
        values.iter().copied().map(Duration::from_millis).collect()
    }

    #[test]
    fn the_median_of_an_odd_count_is_the_middle_sample_whatever_the_order() {
        assert_eq!(median(&ms(&[9, 1, 5])), Some(Duration::from_millis(5)));
    }

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median(&ms(&[4, 1, 100, 2])), Some(Duration::from_millis(3)));
    }

    #[test]
    fn one_stalled_run_does_not_move_the_median() {
        assert_eq!(median(&ms(&[5, 5, 900])), Some(Duration::from_millis(5)));
    }

    #[test]
    fn no_samples_have_no_median() {
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn the_median_of_ratios_is_the_middle_one_or_the_mean_of_the_middle_two() {
        assert_eq!(median_of(&[0.65, 0.48, 0.55]), Some(0.55));
        assert_eq!(median_of(&[0.6, 0.5, 0.58, 0.52]), Some(0.55));
        assert_eq!(median_of(&[]), None);
    }

    #[test]
    fn the_ratio_is_how_many_times_the_baseline_a_value_is() {
        assert_eq!(ratio(Duration::from_millis(6), Duration::from_millis(4)), Some(1.5));
        assert_eq!(ratio(Duration::from_millis(6), Duration::ZERO), None);
    }

    #[test]
    fn a_rate_is_the_count_over_the_seconds_and_none_without_time() {
        assert_eq!(per_second(1_500, Duration::from_millis(750)), Some(2_000.0));
        assert_eq!(per_second(10, Duration::ZERO), None);
    }

    #[test]
    fn a_plain_ratio_keeps_two_decimals_and_has_none_over_zero() {
        assert_eq!(times(2.0, 3.0), Some(0.67));
        assert_eq!(times(2.0, 0.0), None);
    }

    #[test]
    fn milliseconds_keep_two_decimals() {
        assert_eq!(millis(Duration::from_micros(4_567)), 4.57);
    }
}
