//! Timer workloads: many timers at once, and the precision of a few on an idle runtime.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::runtime::{Runtime, Spawner};
use crate::sizes::Sizes;
use crate::stats::{ms, p50_p99_us};
use crate::workloads::gate::StartGate;
use crate::workloads::{ensure, on_worker, Failure, Outcome};

/// What the timers of one run measured.
struct Fired {
    /// From the common start to the last timer's task running.
    wall: Duration,
    /// p50 and p99 of how late each timer's task ran after its deadline, in microseconds.
    lateness_us: (f64, f64),
}

/// `sizes.timers` timers at once: wall time and lateness p50/p99.
pub(crate) fn under_load<R: Runtime>(runtime: &R, sizes: &Sizes) -> Result<Outcome, Failure> {
    let fired = fire(runtime, sizes.timers, sizes.longest_timer_ms)?;
    Ok(Outcome::Measured(vec![ms(fired.wall), fired.lateness_us.0, fired.lateness_us.1]))
}

/// `sizes.idle_timers` timers on an otherwise idle runtime: lateness p50/p99.
pub(crate) fn precision<R: Runtime>(runtime: &R, sizes: &Sizes) -> Result<Outcome, Failure> {
    let fired = fire(runtime, sizes.idle_timers, sizes.longest_timer_ms)?;
    Ok(Outcome::Measured(vec![fired.lateness_us.0, fired.lateness_us.1]))
}

/// Spawns `count` tasks that each sleep until the common start plus 1 to `longest_ms`
/// milliseconds (evenly spread), takes the start once all are spawned, and collects when each
/// ran. Fails if any timer fired before its deadline.
fn fire<R: Runtime>(runtime: &R, count: usize, longest_ms: u64) -> Result<Fired, Failure> {
    let spawner = runtime.spawner();
    let gate = Arc::new(StartGate::default());
    let (start, fired) = on_worker(runtime, async move {
        let handles: Vec<_> = (0..count as u64)
            .map(|index| {
                let gate = gate.clone();
                spawner.spawn(async move {
                    let deadline = gate.wait().await + Duration::from_millis(1 + index % longest_ms);
                    R::sleep_until(deadline).await;
                    (deadline, Instant::now())
                })
            })
            .collect();
        let start = gate.open();
        let mut fired = Vec::with_capacity(count);
        for handle in handles {
            fired.push(handle.await);
        }
        (start, fired)
    });
    let mut lateness = Vec::with_capacity(count);
    let mut last = start;
    for (index, &(deadline, ran)) in fired.iter().enumerate() {
        let late = ran.checked_duration_since(deadline);
        ensure(late.is_some(), || format!("timer {index} fired {:?} early", deadline - ran))?;
        lateness.extend(late);
        last = last.max(ran);
    }
    ensure(lateness.len() == count, || format!("{} of {count} timers fired", lateness.len()))?;
    Ok(Fired { wall: last - start, lateness_us: p50_p99_us(&mut lateness) })
}
