//! Obligation 2, notify is never lost: before a wait, racing with its start, from several
//! threads at once.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use reactor::EventSource;

use super::{Checked, Ctx, Verdict, Waited};
use crate::bounded;
use crate::{Harness, Obligation};

pub(crate) const BEFORE: &str = "a notify before a wait ends it";
pub(crate) const RACE: &str = "a notify racing with the start of a wait ends it";
pub(crate) const CROWD: &str = "notifies from several threads at once end a wait";

/// How many notify-then-wait pairs the check makes.
const BEFORE_ROUNDS: usize = 3;

/// `notify`, then `wait(None)`: the wait returns at once.
pub(crate) fn before_wait<H: Harness>(ctx: &Ctx<H>) -> Checked {
    let rig = ctx.rig()?;
    for round in 0..BEFORE_ROUNDS {
        rig.source.notify();
        let detail = match ctx.wait_until(&rig, ctx.config.patience, || true) {
            Waited::Done => continue,
            Waited::Failed(detail) => return Err(ctx.setup(detail)),
            Waited::Stuck { rescued } => format!(
                "round {} of {BEFORE_ROUNDS}: notify() and then wait(None) on the same thread: the wait \
                 was still blocked {:?} later ({}); a notify ends the next wait if none is blocked",
                round + 1,
                ctx.config.patience,
                bounded::rescue_note(rescued)
            ),
        };
        return Err(Verdict::Violated(Obligation::NeverLostNotify, detail));
    }
    Ok(BEFORE_ROUNDS)
}

/// Thousands of rounds: one thread notifies while another starts `wait(None)`.
pub(crate) fn race_with_wait<H: Harness>(ctx: &Ctx<H>) -> Checked {
    notify_race(ctx, ctx.config.notify_rounds, 1, |_| {
        "a notify from another thread, racing with the start of wait(None), was lost".into()
    })
}

/// Rounds of several threads notifying at once while a wait starts; the wait must end once all
/// of them notified.
pub(crate) fn crowd<H: Harness>(ctx: &Ctx<H>) -> Checked {
    let threads = ctx.config.crowd_threads;
    notify_race(ctx, ctx.config.crowd_rounds, threads, move |_| {
        format!("{threads} threads notified at once while wait(None) started, and a notify was lost")
    })
}

/// Each racer counts its notify, then notifies the source (not the driver: a passive source
/// must forward it); the round's wait ends once every racer of the round has counted.
fn notify_race<H: Harness>(
    ctx: &Ctx<H>,
    rounds: usize,
    racers: usize,
    lost: impl Fn(usize) -> String,
) -> Checked {
    let rig = ctx.rig()?;
    let notified = Arc::new(AtomicUsize::new(0));
    let begin = {
        let notified = notified.clone();
        move |round: usize| {
            let notified = notified.clone();
            // Cumulative: racers of this round only count once the round has begun.
            move || notified.load(Ordering::SeqCst) >= (round + 1) * racers
        }
    };
    let source = rig.source.clone();
    let race = move |_round: usize, _racer: usize| {
        // SeqCst, before the notify: a wait that sees the count was ended by this notify or
        // comes after it, and a wait that does not see it must be ended by the notify.
        notified.fetch_add(1, Ordering::SeqCst);
        source.notify();
    };
    ctx.race(rig.waiter.clone(), (rounds, racers), begin, race, Obligation::NeverLostNotify, lost)
}
