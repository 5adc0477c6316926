//! Obligation 3, deadlines: work pending shows as a deadline now, a deadline in the past means
//! work is pending, and an event that comes due by itself is dispatched by its deadline.

use std::io;
use std::thread;
use std::time::{Duration, Instant};

use reactor::EventSource;

use super::{describe_deadline, Checked, Counter, Ctx, Verdict, Waited};
use crate::bounded;
use crate::{Harness, Obligation};

pub(crate) const BEFORE_ATTACH: &str = "work pending before attach is dispatched";
pub(crate) const NOT_STALE: &str = "no deadline in the past once all is dispatched";
pub(crate) const SCHEDULED: &str = "a scheduled event is dispatched by its deadline";
pub(crate) const EARLIER: &str = "a deadline registered during a wait is honoured";

/// Rounds of the scheduled-event checks.
const SCHEDULED_ROUNDS: usize = 3;

/// An event fired before the source is attached is dispatched by the driver's first waits: a
/// passive source reports the pending work as a deadline at or before now (its notify went
/// nowhere), so that the composite does not block.
pub(crate) fn pending_before_attach<H: Harness>(ctx: &Ctx<H>) -> Checked {
    let source = ctx.fresh()?;
    let ran = Counter::default();
    let (trigger, registration) = ctx.register(&source, &ran)?;
    ctx.harness.fire(&trigger);
    let deadline = source.deadline();
    let now = Instant::now();
    let rig = ctx.drive(source)?;
    let seen = ran.clone();
    let waited = ctx.wait_until(&rig, ctx.config.patience, move || seen.get() > 0);
    drop(registration);
    let stuck = match waited {
        Waited::Done => return Ok(1),
        Waited::Failed(detail) => return Err(ctx.setup(detail)),
        Waited::Stuck { rescued } => bounded::rescue_note(rescued),
    };
    let patience = ctx.config.patience;
    let (obligation, detail) = if rig.is_passive() {
        (
            Obligation::Deadlines,
            format!(
                "an event fired before the source was attached was not dispatched: the driver's \
                 wait(None) was still blocked {patience:?} later ({stuck}); while the event was pending, \
                 deadline() said {}, but pending work must show as a deadline at or before now, or a \
                 composite blocks with it",
                describe_deadline(deadline, now)
            ),
        )
    } else {
        (
            Obligation::BulkWait,
            format!(
                "an event fired before the source was attached was not dispatched: its first \
                 wait(None) was still blocked {patience:?} later ({stuck})"
            ),
        )
    };
    Err(Verdict::Violated(obligation, detail))
}

/// Once every fired event was dispatched (and a few more waits found nothing), `deadline` is not
/// in the past: a deadline in the past means work is pending, and a driver never blocks on it.
pub(crate) fn no_stale_deadline<H: Harness>(ctx: &Ctx<H>) -> Checked {
    let rig = ctx.rig()?;
    let ran = Counter::default();
    let registered = match ctx.register(&rig.source, &ran) {
        Ok((trigger, registration)) => {
            ctx.harness.fire(&trigger);
            let seen = ran.clone();
            match ctx.wait_until(&rig, ctx.config.patience, move || seen.get() > 0) {
                Waited::Done => {}
                Waited::Failed(detail) => return Err(ctx.setup(detail)),
                Waited::Stuck { rescued } => {
                    return Err(Verdict::Violated(
                        Obligation::BulkWait,
                        format!(
                            "a fired event was not dispatched: the driver's wait(None) was still blocked \
                             {:?} later ({})",
                            ctx.config.patience,
                            bounded::rescue_note(rescued)
                        ),
                    ))
                }
            }
            Some(registration)
        }
        Err(Verdict::Skipped(_)) => None,
        Err(violated) => return Err(violated),
    };
    ctx.zero_waits(rig.source.clone(), 3, "a source with everything dispatched")?;
    ctx.zero_waits(rig.waiter.clone(), 1, "the driver of a source with everything dispatched")?;
    let now = Instant::now();
    let deadline = rig.source.deadline();
    drop(registered);
    match deadline {
        Some(deadline) if deadline <= now => Err(Verdict::Violated(
            Obligation::Deadlines,
            format!(
                "deadline() is {} after every fired event was dispatched and four more waits found \
                 nothing: a deadline in the past means work is pending, so a driver would never block \
                 and spin instead",
                describe_deadline(Some(deadline), now)
            ),
        )),
        _ => Ok(1),
    }
}

/// An event scheduled a little ahead (`register_at`) is dispatched by its deadline, by a driver
/// that waits with no timeout.
pub(crate) fn scheduled<H: Harness>(ctx: &Ctx<H>) -> Checked {
    let rig = ctx.rig()?;
    let delay = ctx.config.deadline_delay;
    for round in 0..SCHEDULED_ROUNDS {
        let ran = Counter::default();
        let at = Instant::now() + delay;
        let registration = register_at(ctx, &rig.source, at, &ran)?;
        let deadline = rig.source.deadline();
        let now = Instant::now();
        let seen = ran.clone();
        let waited = ctx.wait_until(&rig, delay + ctx.config.patience, move || seen.get() > 0);
        drop(registration);
        let stuck = match waited {
            Waited::Done => continue,
            Waited::Failed(detail) => return Err(ctx.setup(detail)),
            Waited::Stuck { rescued } => bounded::rescue_note(rescued),
        };
        return Err(Verdict::Violated(
            Obligation::Deadlines,
            format!(
                "round {} of {SCHEDULED_ROUNDS}: an event scheduled {delay:?} ahead was not dispatched \
                 {:?} after its deadline: the driver's wait(None) stayed blocked ({stuck}); right after \
                 the registration deadline() said {}, and it must say when the source next needs a wait",
                round + 1,
                ctx.config.patience,
                describe_deadline(deadline, now)
            ),
        ));
    }
    Ok(SCHEDULED_ROUNDS)
}

/// An event scheduled from another thread while the driver is blocked with no timeout (or about
/// to block) is dispatched by its deadline: a deadline earlier than the one the driver blocks
/// for wakes it.
pub(crate) fn earlier_while_blocked<H: Harness>(ctx: &Ctx<H>) -> Checked {
    let rig = ctx.rig()?;
    // Whether the harness schedules events at all, before a waiter blocks for one.
    drop(register_at(ctx, &rig.source, Instant::now() + Duration::from_secs(3600), &Counter::default())?);
    let delay = ctx.config.deadline_delay;
    for round in 0..SCHEDULED_ROUNDS {
        let ran = Counter::default();
        let seen = ran.clone();
        let waiting = ctx.start_waiting(&rig, move || seen.get() > 0).map_err(|detail| ctx.setup(detail))?;
        // Not a measurement: only makes it likely that the wait has blocked by now.
        thread::sleep(Duration::from_millis(1 + round as u64));
        let registration = register_at(ctx, &rig.source, Instant::now() + delay, &ran);
        let waited = waiting.finish(ctx, &rig, delay + ctx.config.patience);
        let _registration = registration?;
        let stuck = match waited {
            Waited::Done => continue,
            Waited::Failed(detail) => return Err(ctx.setup(detail)),
            Waited::Stuck { rescued } => bounded::rescue_note(rescued),
        };
        return Err(Verdict::Violated(
            Obligation::Deadlines,
            format!(
                "round {} of {SCHEDULED_ROUNDS}: an event scheduled {delay:?} ahead from another thread, \
                 while the driver was blocked in wait(None), was not dispatched {:?} after its deadline \
                 ({stuck}): a deadline earlier than the one the driver blocks for must notify it",
                round + 1,
                ctx.config.patience
            ),
        ));
    }
    Ok(SCHEDULED_ROUNDS)
}

/// `register_at`, with `Unsupported` as a skip.
fn register_at<H: Harness>(
    ctx: &Ctx<H>,
    source: &H::Source,
    at: Instant,
    ran: &Counter,
) -> Result<H::Registration, Verdict> {
    match ctx.harness.register_at(source, at, ran.callback()) {
        Ok(registration) => Ok(registration),
        Err(error) if error.kind() == io::ErrorKind::Unsupported => {
            Err(Verdict::Skipped("the harness schedules no events (`register_at`)".into()))
        }
        Err(error) => Err(ctx.setup(format!("the harness's `register_at` failed: {error}"))),
    }
}
