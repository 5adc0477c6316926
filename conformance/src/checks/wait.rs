//! Obligation 1, bulk wait: one wait dispatches every ready event, blocks at most its timeout,
//! and never blocks with a zero timeout.

use std::sync::Arc;

use reactor::EventSource;

use super::{Checked, Counter, Ctx, Verdict};
use crate::bounded::{self, Ended};
use crate::{Harness, Obligation};

pub(crate) const ZERO_TIMEOUT: &str = "a zero-timeout wait never blocks";
pub(crate) const TIMED: &str = "a timed wait returns by its timeout";
pub(crate) const BULK: &str = "one wait dispatches every fired event";
pub(crate) const EVENT_ENDS_WAIT: &str = "an event from another thread ends a blocked wait";

/// How many zero-timeout waits the check makes.
const ZERO_WAITS: usize = 3;

/// `wait(Some(ZERO))` with nothing ready returns (within the zero-timeout bound), three times.
pub(crate) fn zero_timeout<H: Harness>(ctx: &Ctx<H>) -> Checked {
    let rig = ctx.rig()?;
    ctx.zero_waits(rig.source.clone(), ZERO_WAITS, "a source with nothing ready")?;
    Ok(ZERO_WAITS)
}

/// `wait(Some(timeout))` with nothing ready returns within the timeout plus the zero-timeout
/// bound (early is fine).
pub(crate) fn timed_wait<H: Harness>(ctx: &Ctx<H>) -> Checked {
    let rig = ctx.rig()?;
    let timeout = ctx.config.timed_wait;
    let bound = timeout + ctx.config.zero_timeout_bound;
    let source = rig.source.clone();
    let detail = match bounded::run("timed wait", bound, move || source.wait(Some(timeout))) {
        Ended::Returned(Ok(_)) => return Ok(1),
        Ended::Returned(Err(error)) => format!("wait(Some({timeout:?})) with nothing ready failed: {error}"),
        Ended::Panicked(message) => format!("wait(Some({timeout:?})) with nothing ready {message}"),
        Ended::TimedOut(running) => {
            let rescue = rig.rescuer();
            let rescued = running.rescue(ctx.config.patience, move || rescue());
            format!(
                "wait(Some({timeout:?})) with nothing ready had not returned after {bound:?}: a wait \
                 blocks at most its timeout ({})",
                bounded::rescue_note(rescued)
            )
        }
    };
    Err(Verdict::Violated(Obligation::BulkWait, detail))
}

/// Registers several events, fires them all, and requires one wait to dispatch every one of
/// them and to count at least the callbacks it ran.
pub(crate) fn bulk<H: Harness>(ctx: &Ctx<H>) -> Checked {
    let rig = ctx.rig()?;
    let events = ctx.config.bulk_events;
    let mut counters = Vec::with_capacity(events);
    let mut registrations = Vec::with_capacity(events);
    for _ in 0..events {
        let ran = Counter::default();
        let (trigger, registration) = ctx.register(&rig.source, &ran)?;
        counters.push((ran, trigger));
        registrations.push(registration);
    }
    // Whatever the registrations themselves made ready goes first, so that the counts below see
    // only the fires.
    ctx.zero_waits(rig.source.clone(), 1, "a source with fresh registrations")?;
    let before: usize = counters.iter().map(|(ran, _)| ran.get()).sum();
    for (_, trigger) in &counters {
        ctx.harness.fire(trigger);
    }
    let patience = ctx.config.patience;
    let source = rig.source.clone();
    let dispatched = match bounded::run("bulk wait", patience + ctx.config.zero_timeout_bound, move || {
        source.wait(Some(patience))
    }) {
        Ended::Returned(Ok(dispatched)) => dispatched,
        Ended::Returned(Err(error)) => return Err(ctx.setup(format!("the wait failed: {error}"))),
        Ended::Panicked(message) => return Err(ctx.setup(format!("the wait {message}"))),
        Ended::TimedOut(running) => {
            let rescue = rig.rescuer();
            let rescued = running.rescue(patience, move || rescue());
            return Err(Verdict::Violated(
                Obligation::BulkWait,
                format!(
                    "wait(Some({patience:?})) with {events} fired events had not returned after its \
                     timeout ({})",
                    bounded::rescue_note(rescued)
                ),
            ));
        }
    };
    let reached = counters.iter().filter(|(ran, _)| ran.get() > 0).count();
    let ran = counters.iter().map(|(ran, _)| ran.get()).sum::<usize>() - before;
    drop(registrations);
    if reached < events {
        return Err(Verdict::Violated(
            Obligation::BulkWait,
            format!(
                "{events} registered events were fired, then one wait dispatched only {reached} of them: \
                 one wait must run the callback of every event that is ready"
            ),
        ));
    }
    if dispatched < ran {
        return Err(Verdict::Violated(
            Obligation::BulkWait,
            format!("the wait ran {ran} callbacks but returned {dispatched}: it returns the number it ran"),
        ));
    }
    Ok(events)
}

/// A blocking source: an event fired from another thread, racing with the start of a wait with
/// no timeout, ends it. (A passive source's events wake its driver: obligation 4.)
pub(crate) fn event_ends_wait<H: Harness>(ctx: &Ctx<H>) -> Checked {
    let rig = ctx.rig()?;
    if rig.is_passive() {
        return Err(Verdict::Skipped(format!(
            "a passive source never blocks; see `{}`",
            super::compose::EVENT_WAKES_COMPOSITE
        )));
    }
    event_race(ctx, rig.waiter.clone(), &rig.source, Obligation::BulkWait)
}

/// Rounds of an event fired from another thread racing with the start of a wait on `waiter`,
/// which must end once the event's callback ran; a stuck round violates `obligation`.
pub(crate) fn event_race<H: Harness>(
    ctx: &Ctx<H>,
    waiter: Arc<dyn EventSource>,
    source: &H::Source,
    obligation: Obligation,
) -> Checked {
    let ran = Counter::default();
    let (trigger, registration) = ctx.register(source, &ran)?;
    ctx.zero_waits(waiter.clone(), 1, "a source with a fresh registration")?;
    // Callbacks run only inside the waiter's waits, so the count it reads at the start of a round
    // (before its first wait of the round) cannot include the round's own event.
    let begin = {
        let ran = ran.clone();
        move |_round: usize| {
            let (ran, baseline) = (ran.clone(), ran.get());
            move || ran.get() > baseline
        }
    };
    let harness = ctx.harness.clone();
    let checked = ctx.race(
        waiter,
        (ctx.config.event_rounds, 1),
        begin,
        move |_, _| harness.fire(&trigger),
        obligation,
        |_| "an event fired from another thread, racing with the start of wait(None), did not end it".into(),
    );
    drop(registration);
    checked
}
