//! Order statistics over samples.

use std::time::Duration;

/// The `fraction` quantile (nearest rank) of `sorted`, which must be sorted and non-empty.
pub(crate) fn quantile<T: Copy>(sorted: &[T], fraction: f64) -> T {
    let rank = (fraction * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The median, min and max of `values`, which must be non-empty.
pub(crate) fn median_min_max(values: &[f64]) -> (f64, f64, f64) {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    (quantile(&sorted, 0.5), sorted[0], sorted[sorted.len() - 1])
}

/// Sorts `latencies` and returns their p50 and p99 in microseconds.
pub(crate) fn p50_p99_us(latencies: &mut [Duration]) -> (f64, f64) {
    latencies.sort_unstable();
    let us = |duration: Duration| duration.as_secs_f64() * 1e6;
    (us(quantile(latencies, 0.5)), us(quantile(latencies, 0.99)))
}

/// `duration` in milliseconds.
pub(crate) fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_is_nearest_rank() {
        let sorted: Vec<u32> = (1..=100).collect();
        assert_eq!(quantile(&sorted, 0.5), 50);
        assert_eq!(quantile(&sorted, 0.99), 99);
        assert_eq!(quantile(&sorted, 1.0), 100);
        assert_eq!(quantile(&sorted, 0.0), 1);
        assert_eq!(quantile(&[7], 0.99), 7);
    }

    #[test]
    fn median_min_max_of_unsorted_values() {
        assert_eq!(median_min_max(&[5.0, 1.0, 3.0, 9.0, 2.0]), (3.0, 1.0, 9.0));
    }

    #[test]
    fn latencies_in_microseconds() {
        let mut latencies: Vec<Duration> = (1..=100).rev().map(Duration::from_micros).collect();
        assert_eq!(p50_p99_us(&mut latencies), (50.0, 99.0));
    }
}
