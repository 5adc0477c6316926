//! Obligation 5, deregistration: once a registration's drop has returned, its callback never runs
//! again, even with an event pending, a dispatch running on another thread and the event being
//! fired from a third.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use reactor::EventSource;

use super::{Checked, Ctx, Verdict};
use crate::bounded::panic_message;
use crate::{Callback, Harness, Obligation};

pub(crate) const PENDING: &str = "a pending event never runs after the drop";
pub(crate) const RACING: &str = "no callback after the drop, with a dispatch racing";

/// How long the dispatcher of the racing check blocks per wait.
const DISPATCH_TIMEOUT: Duration = Duration::from_millis(1);

/// A registration's callback that counts its runs, and its runs after the drop returned.
#[derive(Default)]
struct Tracked {
    dropped: AtomicBool,
    ran: AtomicUsize,
    late: AtomicUsize,
}

impl Tracked {
    fn callback(self: &Arc<Self>) -> Callback {
        let tracked = self.clone();
        Box::new(move || {
            // SeqCst, as the store of `dropped`: a callback that starts after the drop returned
            // (and `dropped` was set) sees it.
            if tracked.dropped.load(Ordering::SeqCst) {
                tracked.late.fetch_add(1, Ordering::SeqCst);
            }
            tracked.ran.fetch_add(1, Ordering::SeqCst);
        })
    }

    fn register<H: Harness>(
        self: &Arc<Self>,
        ctx: &Ctx<H>,
        source: &H::Source,
    ) -> Result<(Arc<H::Trigger>, H::Registration), Verdict> {
        match ctx.harness.register(source, self.callback()) {
            Ok((trigger, registration)) => Ok((Arc::new(trigger), registration)),
            Err(error) if error.kind() == std::io::ErrorKind::Unsupported => {
                Err(Verdict::Skipped("the harness registers no events".into()))
            }
            Err(error) => Err(ctx.setup(format!("the harness's `register` failed: {error}"))),
        }
    }
}

/// Register, fire, drop, then wait: the pending event's callback does not run.
pub(crate) fn pending_event_dropped<H: Harness>(ctx: &Ctx<H>) -> Checked {
    let rig = ctx.rig()?;
    let tracked = Arc::new(Tracked::default());
    let (trigger, registration) = tracked.register(ctx, &rig.source)?;
    ctx.harness.fire(&trigger);
    ctx.deregister(registration)?;
    tracked.dropped.store(true, Ordering::SeqCst);
    ctx.zero_waits(rig.waiter.clone(), 2, "the driver after a deregistration")?;
    ctx.zero_waits(rig.source.clone(), 1, "a source after a deregistration")?;
    // Fired again after the drop: must be harmless, and run nothing.
    ctx.harness.fire(&trigger);
    ctx.zero_waits(rig.waiter.clone(), 1, "the driver after a deregistration")?;
    match tracked.late.load(Ordering::SeqCst) {
        0 => Ok(1),
        late => Err(Verdict::Violated(
            Obligation::Deregistration,
            format!(
                "an event was fired and its registration dropped; once the drop had returned, the \
                 callback still ran {late} time(s) in later waits"
            ),
        )),
    }
}

/// Rounds of: register; let a dispatcher thread (waiting in a loop) and a firing thread (firing
/// the event in a loop) run the callback, or not yet; drop the registration on a third thread;
/// then let the dispatcher wait twice more. No round's callback may run after its drop returned.
pub(crate) fn drop_racing_dispatch<H: Harness>(ctx: &Ctx<H>) -> Checked {
    let rig = ctx.rig()?;
    // Whether the harness registers events at all, before any thread starts.
    drop(Arc::new(Tracked::default()).register(ctx, &rig.source)?);

    let stop = Arc::new(AtomicBool::new(false));
    let waits = Arc::new(AtomicUsize::new(0));
    let failure = Arc::new(Mutex::new(None::<String>));
    let current: Arc<Mutex<Option<Arc<H::Trigger>>>> = Arc::new(Mutex::new(None));
    let dispatcher = {
        let (waiter, stop, waits, failure) =
            (rig.waiter.clone(), stop.clone(), waits.clone(), failure.clone());
        thread::Builder::new().name("conformance: dispatcher".into()).spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let waited = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    waiter.wait(Some(DISPATCH_TIMEOUT))
                }));
                let error = match waited {
                    Ok(Ok(_)) => None,
                    Ok(Err(error)) => Some(format!("wait failed: {error}")),
                    Err(payload) => Some(format!("wait {}", panic_message(&*payload))),
                };
                if let Some(error) = error {
                    failure.lock().unwrap_or_else(|poison| poison.into_inner()).get_or_insert(error);
                }
                waits.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    let firer = {
        let (harness, stop, current) = (ctx.harness.clone(), stop.clone(), current.clone());
        thread::Builder::new().name("conformance: firer".into()).spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let trigger = current.lock().unwrap_or_else(|poison| poison.into_inner()).clone();
                if let Some(trigger) = trigger {
                    harness.fire(&trigger);
                }
                thread::yield_now();
            }
        })
    };
    let threads = match (dispatcher, firer) {
        (Ok(dispatcher), Ok(firer)) => [dispatcher, firer],
        _ => {
            stop.store(true, Ordering::SeqCst);
            return Err(ctx.setup("could not spawn the dispatcher and firing threads".into()));
        }
    };

    let rounds = ctx.config.deregistration_rounds;
    let outcome = (|| {
        for round in 0..rounds {
            hammer_round(ctx, &rig.waiter, &rig.source, &current, &waits, round)?;
            if let Some(error) = failure.lock().unwrap_or_else(|poison| poison.into_inner()).take() {
                return Err(ctx.setup(format!("round {} of {rounds}: the dispatching {error}", round + 1)));
            }
        }
        Ok(rounds)
    })();

    stop.store(true, Ordering::SeqCst);
    *current.lock().unwrap_or_else(|poison| poison.into_inner()) = None;
    let give_up = Instant::now() + ctx.config.patience;
    while threads.iter().any(|thread| !thread.is_finished()) && Instant::now() < give_up {
        rig.waiter.notify();
        thread::sleep(Duration::from_millis(1));
    }
    for thread in threads {
        if thread.is_finished() {
            let _ = thread.join();
        }
    }
    outcome
}

/// One round of [`drop_racing_dispatch`].
fn hammer_round<H: Harness>(
    ctx: &Ctx<H>,
    waiter: &Arc<dyn EventSource>,
    source: &H::Source,
    current: &Mutex<Option<Arc<H::Trigger>>>,
    waits: &AtomicUsize,
    round: usize,
) -> Result<(), Verdict> {
    let rounds = ctx.config.deregistration_rounds;
    let patience = ctx.config.patience;
    let tracked = Arc::new(Tracked::default());
    let (trigger, registration) = tracked.register(ctx, source)?;
    *current.lock().unwrap_or_else(|poison| poison.into_inner()) = Some(trigger);
    // Every other round the callback has run (and may be running again) when the drop starts;
    // in the others the drop races with the first dispatches.
    if round % 2 == 0 {
        let give_up = Instant::now() + patience;
        while tracked.ran.load(Ordering::SeqCst) == 0 {
            if Instant::now() >= give_up {
                return Err(Verdict::Violated(
                    Obligation::BulkWait,
                    format!(
                        "round {} of {rounds}: an event fired again and again from another thread was not \
                         dispatched within {patience:?} by a thread waiting with a {DISPATCH_TIMEOUT:?} timeout",
                        round + 1
                    ),
                ));
            }
            thread::yield_now();
        }
    }
    ctx.deregister(registration)?;
    tracked.dropped.store(true, Ordering::SeqCst);
    // Two more whole waits of the dispatcher, the firing thread still firing the old trigger.
    let target = waits.load(Ordering::SeqCst) + 2;
    let give_up = Instant::now() + patience;
    while waits.load(Ordering::SeqCst) < target {
        if Instant::now() >= give_up {
            return Err(Verdict::Violated(
                Obligation::BulkWait,
                format!(
                    "round {} of {rounds}: wait(Some({DISPATCH_TIMEOUT:?})) had not returned after {patience:?}",
                    round + 1
                ),
            ));
        }
        waiter.notify();
        thread::yield_now();
    }
    *current.lock().unwrap_or_else(|poison| poison.into_inner()) = None;
    match tracked.late.load(Ordering::SeqCst) {
        0 => Ok(()),
        late => Err(Verdict::Violated(
            Obligation::Deregistration,
            format!(
                "round {} of {rounds}: the callback ran {late} time(s) after its registration's drop had \
                 returned (a dispatch was running on another thread, and the event was being fired from \
                 a third)",
                round + 1
            ),
        )),
    }
}
