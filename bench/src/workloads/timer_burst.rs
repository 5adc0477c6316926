//! The timer burst of issue 14: many timers registered long before any is due, then fired.
//!
//! Reading of the issue's wording ("`start` is taken 100 ms *after* all tasks are spawned and
//! already waiting in `sleep_until`"): every task must know `start` when it calls
//! `sleep_until(start + d)`, so `start` is decided once the last task is spawned, as that instant
//! plus `sizes.burst_lead_ms` (100 ms), and handed to the tasks through the waker-based gate.
//! Each task then registers its sleep; the workload records when each task's `sleep_until`
//! first returned `Pending` (it is then waiting) and fails unless every one was waiting before
//! `start`, so the run measures firing and running, not registration. Each `d` is a whole number
//! of milliseconds drawn uniformly from `1..=sizes.longest_timer_ms` by a fixed-seed generator
//! (the same draws for every peer and run), so about `timers / longest` timers share each
//! deadline. Lateness is the instant the task runs after its sleep minus its deadline.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::runtime::{Runtime, Spawner};
use crate::sizes::Sizes;
use crate::workloads::gate::StartGate;
use crate::workloads::{ensure, on_worker, Failure, Outcome};

/// The seed of the deadline draws.
const SEED: u64 = 0x5eed_0014;

/// `sizes.burst_timers` sleeps registered before `start`, due from 1 to `longest_timer_ms`
/// after it: lateness p50, p99 and max in microseconds.
pub(crate) fn run<R: Runtime>(runtime: &R, sizes: &Sizes) -> Result<Outcome, Failure> {
    let count = sizes.burst_timers;
    let offsets = draws(count, sizes.longest_timer_ms);
    let lead = Duration::from_millis(sizes.burst_lead_ms);
    let spawner = runtime.spawner();
    let gate = Arc::new(StartGate::default());
    let (start, ran) = on_worker(runtime, async move {
        let handles: Vec<_> = offsets
            .into_iter()
            .map(|offset| {
                let gate = gate.clone();
                spawner.spawn(async move {
                    let deadline = gate.wait().await + lead + offset;
                    let waiting = FirstPending::new(R::sleep_until(deadline)).await;
                    (deadline, waiting, Instant::now())
                })
            })
            .collect();
        let start = gate.open() + lead;
        let mut ran = Vec::with_capacity(count);
        for handle in handles {
            ran.push(handle.await);
        }
        (start, ran)
    });
    let mut lateness = Vec::with_capacity(count);
    for (index, &(deadline, waiting, ran)) in ran.iter().enumerate() {
        let waiting = waiting.ok_or_else(|| format!("timer {index} was due before it was polled"))?;
        ensure(waiting < start, || {
            format!("timer {index} was registered {:?} after the start", waiting - start)
        })?;
        let late = ran.checked_duration_since(deadline);
        ensure(late.is_some(), || format!("timer {index} fired {:?} early", deadline - ran))?;
        lateness.extend(late);
    }
    ensure(lateness.len() == count, || format!("{} of {count} timers fired", lateness.len()))?;
    lateness.sort_unstable();
    let us = |duration: Duration| duration.as_secs_f64() * 1e6;
    let quantile = |fraction| us(crate::stats::quantile(&lateness, fraction));
    Ok(Outcome::Measured(vec![quantile(0.5), quantile(0.99), us(lateness[count - 1])]))
}

/// `count` offsets of whole milliseconds, uniform over `1..=longest_ms`, from [`SEED`]
/// (splitmix64).
fn draws(count: usize, longest_ms: u64) -> Vec<Duration> {
    let mut state = SEED;
    (0..count)
        .map(|_| {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            // Multiply-shift maps the 64 random bits onto 0..longest_ms without modulo bias
            // worth measuring (at most 50 buckets of 2^64 values).
            let draw = ((u128::from(z) * u128::from(longest_ms)) >> 64) as u64;
            Duration::from_millis(1 + draw)
        })
        .collect()
}

/// Runs a future and records the instant its first poll returned `Pending`: from then on the
/// task is waiting (for a sleep, its timer is registered).
struct FirstPending<F> {
    inner: Pin<Box<F>>,
    waiting: Option<Instant>,
}

impl<F> FirstPending<F> {
    fn new(inner: F) -> Self {
        Self { inner: Box::pin(inner), waiting: None }
    }
}

impl<F: Future<Output = ()>> Future for FirstPending<F> {
    type Output = Option<Instant>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        match self.inner.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(self.waiting),
            Poll::Pending => {
                if self.waiting.is_none() {
                    self.waiting = Some(Instant::now());
                }
                Poll::Pending
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_fixed_and_cover_the_range() {
        let drawn = draws(10_000, 50);
        assert_eq!(drawn, draws(10_000, 50));
        assert_eq!(drawn.iter().min(), Some(&Duration::from_millis(1)));
        assert_eq!(drawn.iter().max(), Some(&Duration::from_millis(50)));
        let ones = drawn.iter().filter(|&&d| d == Duration::from_millis(1)).count();
        assert!((100..300).contains(&ones), "{ones} draws of 1 ms in 10,000");
    }
}
