//! Obligation 4, composition: one driver at a time, a blocking source is never a passive part,
//! a passive source wakes its driver through the notifier it was attached to, and a blocking
//! source is woken through a composite.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;

use reactor::source::{Composite, Notifier, Parking, PingSource};
use reactor::EventSource;

use super::{Checked, Counter, Ctx, Verdict};
use crate::checks::wait::event_race;
use crate::{Harness, Obligation};

pub(crate) const ATTACH_ONCE: &str = "one attach is accepted, a second refused";
pub(crate) const COMPOSITE_ROLES: &str = "a composite takes the source in its role only";
pub(crate) const NOTIFIER: &str = "a passive source wakes its attached notifier";
pub(crate) const EVENT_WAKES_COMPOSITE: &str = "an event from another thread wakes the composite";
pub(crate) const BLOCKING_PART: &str = "a composite's notify ends a wait in the source";

fn violated(detail: impl Into<String>) -> Verdict {
    Verdict::Violated(Obligation::Composition, detail.into())
}

/// The first `attach` is accepted; a second, while the first notifier is live, is refused with
/// `AlreadyExists`.
pub(crate) fn attach_once<H: Harness>(ctx: &Ctx<H>) -> Checked {
    let source = ctx.fresh()?;
    if let Err(error) = source.attach(Notifier::new(|| {})) {
        return Err(violated(format!("the first attach was refused: {error}")));
    }
    let second = source.attach(Notifier::new(|| {})).map_err(|error| error.kind());
    second_attach_refused(second, "a second attach")?;
    Ok(2)
}

/// What a second driver must get: `AlreadyExists`.
fn second_attach_refused(second: Result<(), io::ErrorKind>, what: &str) -> Result<(), Verdict> {
    match second {
        Ok(_) => Err(violated(format!(
            "{what}, while the first driver lives, was accepted: a source is driven by one driver at \
             a time and refuses another with AlreadyExists (a `NotifierSlot` does this)"
        ))),
        Err(io::ErrorKind::AlreadyExists) => Ok(()),
        Err(kind) => Err(violated(format!("{what} was refused with {kind:?} instead of AlreadyExists"))),
    }
}

/// A blocking source is refused as a passive part of a composite and accepted as its blocking
/// part; a passive source is accepted as a passive part. Either way a second composite over the
/// same source, while the first lives, is refused with `AlreadyExists`.
pub(crate) fn composite_roles<H: Harness>(ctx: &Ctx<H>) -> Checked {
    let source = Arc::new(ctx.fresh()?);
    let parking = || Composite::new(Parking::new()).map_err(|error| ctx.setup(error.to_string()));
    if source.can_block() {
        match parking()?.with(source.clone()) {
            Ok(_) => {
                return Err(violated("a source that can block was accepted as a passive part of a composite"))
            }
            Err(error) if !error.is_blocking() => {
                return Err(violated(format!(
                    "offered as a passive part, it was refused for another reason: {error}"
                )))
            }
            Err(_) => {}
        }
        let _first = Composite::new(source.clone())
            .map_err(|error| violated(format!("refused as the blocking part of a composite: {error}")))?;
        let second = Composite::new(source.clone()).map(drop).map_err(|error| error.kind());
        second_attach_refused(second, "a second composite blocking in it")?;
    } else {
        let _first = parking()?
            .with(source.clone())
            .map_err(|error| violated(format!("refused as a passive part of a composite: {error}")))?;
        let second = parking()?.with(source.clone()).map(drop).map_err(|error| error.kind());
        second_attach_refused(second, "composing it into a second composite")?;
    }
    Ok(3)
}

/// A passive source calls the notifier it was attached to when notified, and when an event is
/// fired on another thread.
pub(crate) fn notifies_through_attach<H: Harness>(ctx: &Ctx<H>) -> Checked {
    let source = ctx.fresh()?;
    if source.can_block() {
        return Err(Verdict::Skipped("a blocking source is its own waiter".into()));
    }
    let (sender, notified) = mpsc::channel();
    let sender = Mutex::new(sender);
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let notifier = Notifier::new(move || {
        counted.fetch_add(1, Ordering::SeqCst);
        let _ = sender.lock().map(|sender| sender.send(()));
    });
    if let Err(error) = source.attach(notifier) {
        return Err(violated(format!("the first attach was refused: {error}")));
    }
    let patience = ctx.config.patience;
    source.notify();
    if notified.recv_timeout(patience).is_err() {
        return Err(violated(format!(
            "notify() on the passive source did not call the Notifier it was attached to (within \
             {patience:?}): a passive source forwards notify to its driver"
        )));
    }
    let ran = Counter::default();
    let (trigger, registration) = match ctx.register(&source, &ran) {
        Ok(registered) => registered,
        Err(Verdict::Skipped(_)) => return Ok(1),
        Err(violated) => return Err(violated),
    };
    let source = Arc::new(source);
    // Whatever the registration made ready is dispatched first, so that the fire below is an
    // idle-to-ready change.
    ctx.zero_waits(source.clone(), 1, "a source with a fresh registration")?;
    while notified.try_recv().is_ok() {}
    let harness = ctx.harness.clone();
    let fired = thread::Builder::new().name("conformance: fire".into()).spawn(move || harness.fire(&trigger));
    let fired = fired.map_err(|error| ctx.setup(format!("could not spawn: {error}")))?;
    let woken = notified.recv_timeout(patience).is_ok();
    let _ = fired.join();
    drop(registration);
    if !woken {
        return Err(violated(format!(
            "an event fired on another thread did not call the Notifier the source was attached to \
             (within {patience:?}): a passive source wakes its driver whenever something becomes ready"
        )));
    }
    Ok(2)
}

/// A passive source in a composite: an event fired from another thread, racing with the start
/// of the composite's wait with no timeout, ends it.
pub(crate) fn event_wakes_composite<H: Harness>(ctx: &Ctx<H>) -> Checked {
    let rig = ctx.rig()?;
    if !rig.is_passive() {
        return Err(Verdict::Skipped(format!("a blocking source; see `{}`", super::wait::EVENT_ENDS_WAIT)));
    }
    event_race(ctx, rig.waiter.clone(), &rig.source, Obligation::Composition)
}

/// A blocking source as the blocking part of a composite with a passive `PingSource`: a ping
/// from another thread, racing with the start of the composite's wait, ends the wait blocked in
/// the source (the ping calls the notifier the composite attached it to, which notifies the
/// source).
pub(crate) fn wakes_as_blocking_part<H: Harness>(ctx: &Ctx<H>) -> Checked {
    let source = ctx.fresh()?;
    if !source.can_block() {
        return Err(Verdict::Skipped("a passive source is never the blocking part".into()));
    }
    let pings = PingSource::new();
    let ran = Counter::default();
    let (ping, _registration) = pings.register(ran.callback());
    let composite = Composite::new(source)
        .map_err(|error| violated(format!("refused as the blocking part of a composite: {error}")))?
        .with(pings)
        .map_err(|error| ctx.setup(error.to_string()))?;
    let composite: Arc<dyn EventSource> = Arc::new(composite);
    let begin = move |_round: usize| {
        let (ran, baseline) = (ran.clone(), ran.get());
        move || ran.get() > baseline
    };
    // A stuck round is the source's notify lost (the composite's notifier only calls it), so
    // it is reported against obligation 2.
    ctx.race(
        composite,
        (ctx.config.event_rounds, 1),
        begin,
        move |_, _| ping.ping(),
        Obligation::NeverLostNotify,
        |_| {
            "a ping from another thread on a passive part of a composite blocking in this source, \
             racing with the start of the composite's wait(None), did not end it: the source's \
             notify, called by the composite's notifier, was lost"
                .into()
        },
    )
}
