//! Negative controls: sources with one seeded defect each, written the way such a defect is
//! really written. The suite must reject each with violations of the obligation broken, and
//! name it in the message. A correct twin of each (the same code with the defect fixed) passes,
//! so the suite rejects the defect, not the shape of the source.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use reactor::source::{CallbackSlot, Notifier, NotifierSlot, Parking};
use reactor::EventSource;
use reactor_conformance::{Callback, Failure, Harness, NoEvents, Obligation, Suite};

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The suite, with short bounds: every seeded defect hangs for ever, so any bound finds it.
fn suite<H: Harness>(harness: H) -> Suite<H> {
    Suite::new(harness).patience(Duration::from_millis(500)).zero_timeout_bound(Duration::from_millis(300))
}

/// Requires `result` to be a failure whose violations are all of `obligation`, each naming it.
fn rejected_for<T: std::fmt::Debug>(result: Result<T, Failure>, obligation: Obligation) -> Failure {
    let failure = result.expect_err("the seeded defect was not found");
    println!("{failure:?}");
    let name = obligation.to_string();
    for violation in &failure.violations {
        assert_eq!(violation.obligation, obligation, "another obligation reported: {violation}");
        assert!(violation.to_string().starts_with(&name), "{violation} does not name {name}");
    }
    assert!(failure.to_string().contains(&name));
    failure
}

// ---------------------------------------------------------------------------------------------
// A lost notify: the check of the flag and the sleep are not one step under the lock.

/// A blocking source on a condition variable. With `checks_under_lock` false it checks the
/// notification flag before taking the lock, and `notify` signals without taking it: a notify
/// between the check and the sleep is lost. With it true, it is the textbook version.
pub(crate) struct Condvars {
    notified: AtomicBool,
    lock: Mutex<()>,
    condvar: Condvar,
    checks_under_lock: bool,
    driver: NotifierSlot,
}

impl Condvars {
    /// Sleeps on the condition variable until notified or `deadline`; returns whether it timed out.
    fn sleep<'a>(&self, guard: MutexGuard<'a, ()>, deadline: Option<Instant>) -> (MutexGuard<'a, ()>, bool) {
        match deadline {
            None => (self.condvar.wait(guard).unwrap_or_else(PoisonError::into_inner), false),
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                let (guard, timeout) =
                    self.condvar.wait_timeout(guard, left).unwrap_or_else(PoisonError::into_inner);
                (guard, timeout.timed_out())
            }
        }
    }
}

impl EventSource for Condvars {
    fn wait(&self, timeout: Option<Duration>) -> io::Result<usize> {
        if timeout == Some(Duration::ZERO) {
            self.notified.store(false, Ordering::SeqCst);
            return Ok(0);
        }
        let deadline = timeout.map(|timeout| Instant::now() + timeout);
        if !self.checks_under_lock {
            // The defect: the flag is checked before the lock is taken, and `notify` does not take
            // it, so a notify between this check and the sleep wakes nobody.
            if self.notified.swap(false, Ordering::SeqCst) {
                return Ok(0);
            }
            // Stands for the work a real source does between its check and its sleep (a system
            // call, say), which widens the window: a window of a few dozen nanoseconds is found
            // by real threads only by luck on a loaded machine (that is what loom is for).
            std::thread::yield_now();
            let guard = lock(&self.lock);
            let _ = self.sleep(guard, deadline);
            self.notified.store(false, Ordering::SeqCst);
            return Ok(0);
        }
        let mut guard = lock(&self.lock);
        while !self.notified.swap(false, Ordering::SeqCst) {
            let timed_out;
            (guard, timed_out) = self.sleep(guard, deadline);
            if timed_out {
                break;
            }
        }
        Ok(0)
    }

    fn notify(&self) {
        self.notified.store(true, Ordering::SeqCst);
        if self.checks_under_lock {
            drop(lock(&self.lock));
        }
        self.condvar.notify_one();
    }

    fn attach(&self, notifier: Notifier) -> io::Result<()> {
        self.driver.attach(notifier)
    }
}

pub(crate) fn condvars(checks_under_lock: bool) -> io::Result<Condvars> {
    Ok(Condvars {
        notified: AtomicBool::new(false),
        lock: Mutex::new(()),
        condvar: Condvar::new(),
        checks_under_lock,
        driver: NotifierSlot::new(),
    })
}

#[test]
fn a_lost_notify_is_rejected_for_obligation_2() {
    let failure = rejected_for(suite(NoEvents(|| condvars(false))).run(), Obligation::NeverLostNotify);
    assert!(failure.violations[0].to_string().starts_with("obligation 2 (notify is never lost): "));
}

#[test]
fn the_same_source_checking_under_its_lock_passes() {
    suite(NoEvents(|| condvars(true))).run().unwrap();
}

// ---------------------------------------------------------------------------------------------
// A zero-timeout wait that blocks: zero whole milliseconds taken for "no timeout".

/// A blocking source that converts its timeout to whole milliseconds, poll(2)-style. With
/// `zero_blocks` it maps zero milliseconds to "no timeout" (-1 in poll's terms); otherwise
/// it rounds up, and keeps zero as zero.
struct Millis {
    parking: Parking,
    zero_blocks: bool,
}

impl EventSource for Millis {
    fn wait(&self, timeout: Option<Duration>) -> io::Result<usize> {
        let millis = timeout.map(|timeout| timeout.as_nanos().div_ceil(1_000_000) as u64);
        let timeout = match millis {
            // The defect: zero is taken for "wait for ever".
            Some(0) if self.zero_blocks => None,
            millis => millis.map(Duration::from_millis),
        };
        self.parking.wait(timeout)
    }

    fn notify(&self) {
        self.parking.notify();
    }

    fn attach(&self, notifier: Notifier) -> io::Result<()> {
        self.parking.attach(notifier)
    }
}

#[test]
fn a_zero_timeout_wait_that_blocks_is_rejected_for_obligation_1() {
    let harness = NoEvents(|| Ok(Millis { parking: Parking::new(), zero_blocks: true }));
    let failure = rejected_for(suite(harness).run(), Obligation::BulkWait);
    let first = failure.violations[0].to_string();
    assert!(first.starts_with("obligation 1 (bulk wait): a zero-timeout wait never blocks: "), "{first}");
}

#[test]
fn the_same_source_keeping_zero_as_zero_passes() {
    suite(NoEvents(|| Ok(Millis { parking: Parking::new(), zero_blocks: false }))).run().unwrap();
}

// ---------------------------------------------------------------------------------------------
// An ignored deadline: a passive source of alarms that keeps the trait's default `deadline`.

/// One alarm: its instant and its callback.
struct Alarm {
    at: Instant,
    callback: CallbackSlot<dyn FnMut() + Send>,
}

/// A passive source of alarms: `wait` runs those that are due. With `reports_deadline` false it
/// keeps the default `deadline` (None), so its driver never knows when to wait.
struct Alarms {
    alarms: Mutex<Vec<Arc<Alarm>>>,
    notifier: NotifierSlot,
    reports_deadline: bool,
}

impl EventSource for Alarms {
    fn wait(&self, _timeout: Option<Duration>) -> io::Result<usize> {
        let now = Instant::now();
        let due: Vec<_> = {
            let mut alarms = lock(&self.alarms);
            let (due, pending) = alarms.drain(..).partition(|alarm: &Arc<Alarm>| alarm.at <= now);
            *alarms = pending;
            due
        };
        Ok(due.iter().filter_map(|alarm| alarm.callback.call(|callback| callback())).count())
    }

    fn notify(&self) {
        self.notifier.notify();
    }

    fn deadline(&self) -> Option<Instant> {
        // The defect, when `reports_deadline` is false: the trait's default, None.
        let earliest = lock(&self.alarms).iter().map(|alarm| alarm.at).min();
        earliest.filter(|_| self.reports_deadline)
    }

    fn can_block(&self) -> bool {
        false
    }

    fn attach(&self, notifier: Notifier) -> io::Result<()> {
        self.notifier.attach(notifier)
    }
}

/// Keeps an alarm set; dropping it deregisters.
struct AlarmRegistration(Arc<Alarm>);

impl Drop for AlarmRegistration {
    fn drop(&mut self) {
        self.0.callback.remove();
    }
}

/// Alarms are scheduled events; there are no fired ones.
struct AlarmHarness {
    reports_deadline: bool,
}

impl Harness for AlarmHarness {
    type Source = Alarms;
    type Trigger = ();
    type Registration = AlarmRegistration;

    fn source(&self) -> io::Result<Alarms> {
        let reports_deadline = self.reports_deadline;
        Ok(Alarms { alarms: Mutex::new(Vec::new()), notifier: NotifierSlot::new(), reports_deadline })
    }

    fn register_at(&self, alarms: &Alarms, at: Instant, callback: Callback) -> io::Result<AlarmRegistration> {
        let alarm = Arc::new(Alarm { at, callback: CallbackSlot::new(callback) });
        lock(&alarms.alarms).push(alarm.clone());
        // A new alarm may be the earliest: the driver computes its timeout again.
        alarms.notifier.notify();
        Ok(AlarmRegistration(alarm))
    }
}

#[test]
fn an_ignored_deadline_is_rejected_for_obligation_3() {
    let failure = rejected_for(suite(AlarmHarness { reports_deadline: false }).run(), Obligation::Deadlines);
    let first = failure.violations[0].to_string();
    assert!(first.starts_with("obligation 3 (deadlines): a scheduled event is dispatched by its deadline: "));
}

#[test]
fn the_same_source_reporting_its_deadline_passes() {
    suite(AlarmHarness { reports_deadline: true }).run().unwrap();
}

// ---------------------------------------------------------------------------------------------
// A callback after deregistration: the registration's drop only retires the entry, and the next
// wait removes it, after dispatching.

/// One bell: raised by its trigger, rung (its callback run) by the next wait.
struct Bell {
    raised: AtomicBool,
    callback: Mutex<Option<Callback>>,
}

/// A passive source of bells. With `retires_lazily`, a dropped registration is only queued for
/// removal, which the next wait does after it dispatched (so that a drop never waits): a bell
/// raised before the drop still rings after it. Otherwise the drop takes the callback out under
/// its lock, which waits for a ring in progress.
#[derive(Clone)]
struct Bells {
    shared: Arc<BellsShared>,
}

struct BellsShared {
    bells: Mutex<Vec<Arc<Bell>>>,
    retired: Mutex<Vec<Arc<Bell>>>,
    notifier: NotifierSlot,
    retires_lazily: bool,
}

impl EventSource for Bells {
    fn wait(&self, _timeout: Option<Duration>) -> io::Result<usize> {
        let bells = lock(&self.shared.bells).clone();
        let mut rang = 0;
        for bell in bells {
            if bell.raised.swap(false, Ordering::SeqCst) {
                if let Some(callback) = lock(&bell.callback).as_mut() {
                    callback();
                    rang += 1;
                }
            }
        }
        // The defect: retired bells leave only now, after they could ring once more.
        let retired: Vec<_> = lock(&self.shared.retired).drain(..).collect();
        lock(&self.shared.bells).retain(|bell| !retired.iter().any(|retired| Arc::ptr_eq(bell, retired)));
        Ok(rang)
    }

    fn notify(&self) {
        self.shared.notifier.notify();
    }

    fn deadline(&self) -> Option<Instant> {
        let bells = lock(&self.shared.bells);
        bells.iter().any(|bell| bell.raised.load(Ordering::SeqCst)).then(Instant::now)
    }

    fn can_block(&self) -> bool {
        false
    }

    fn attach(&self, notifier: Notifier) -> io::Result<()> {
        self.shared.notifier.attach(notifier)
    }
}

/// Keeps a bell registered.
struct BellRegistration {
    bells: Bells,
    bell: Arc<Bell>,
}

impl Drop for BellRegistration {
    fn drop(&mut self) {
        if self.bells.shared.retires_lazily {
            lock(&self.bells.shared.retired).push(self.bell.clone());
        } else {
            lock(&self.bells.shared.bells).retain(|bell| !Arc::ptr_eq(bell, &self.bell));
            // Under the bell's lock: waits for a ring in progress on another thread.
            let callback = lock(&self.bell.callback).take();
            drop(callback);
        }
    }
}

struct BellHarness {
    retires_lazily: bool,
}

impl Harness for BellHarness {
    type Source = Bells;
    type Trigger = (Arc<Bell>, Bells);
    type Registration = BellRegistration;

    fn source(&self) -> io::Result<Bells> {
        let shared = BellsShared {
            bells: Mutex::new(Vec::new()),
            retired: Mutex::new(Vec::new()),
            notifier: NotifierSlot::new(),
            retires_lazily: self.retires_lazily,
        };
        Ok(Bells { shared: Arc::new(shared) })
    }

    fn register(&self, bells: &Bells, callback: Callback) -> io::Result<(Self::Trigger, BellRegistration)> {
        let bell = Arc::new(Bell { raised: AtomicBool::new(false), callback: Mutex::new(Some(callback)) });
        lock(&bells.shared.bells).push(bell.clone());
        let registration = BellRegistration { bells: bells.clone(), bell: bell.clone() };
        Ok(((bell, bells.clone()), registration))
    }

    fn fire(&self, (bell, bells): &Self::Trigger) {
        bell.raised.store(true, Ordering::SeqCst);
        bells.notify();
    }
}

#[test]
fn a_callback_after_deregistration_is_rejected_for_obligation_5() {
    let failure = rejected_for(suite(BellHarness { retires_lazily: true }).run(), Obligation::Deregistration);
    let first = failure.violations[0].to_string();
    assert!(first.starts_with("obligation 5 (no callback after deregistration): "), "{first}");
}

#[test]
fn the_same_source_removing_at_once_passes() {
    suite(BellHarness { retires_lazily: false }).run().unwrap();
}
