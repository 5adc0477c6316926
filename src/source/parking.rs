//! A blocking source with no OS resources: it parks the waiting thread.

use std::io;
use std::time::{Duration, Instant};

use crate::source::{EventSource, Notifier, NotifierSlot};
use crate::sync::atomic::{AtomicUsize, Ordering};
use crate::sync::{thread, Mutex};

/// No waiter is parked and no notification is pending.
const EMPTY: usize = 0;
/// A waiter is parked (or about to park) and its thread handle is in `Parking::waiter`.
const PARKED: usize = 1;
/// A notification is pending; the next wait consumes it and returns at once.
const NOTIFIED: usize = 2;

/// A portable blocking source: [`wait`](EventSource::wait) parks the thread until
/// [`notify`](EventSource::notify) or the timeout.
///
/// It has no events of its own. It is what an [`Executor`](crate::Executor) blocks in when it
/// runs pure-Rust workloads with no OS backend, and the blocking half that passive sources (timers,
/// channels, [`PingSource`](crate::source::PingSource)) are composed with when used alone.
///
/// `notify` costs one atomic swap when nobody is parked, plus an unpark when somebody is.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use reactor::source::{EventSource, Parking};
///
/// let parking = Parking::new();
/// parking.notify(); // a notify before the wait is not lost
/// assert_eq!(parking.wait(None).unwrap(), 0); // returns at once
/// assert_eq!(parking.wait(Some(Duration::from_millis(1))).unwrap(), 0); // times out
/// ```
#[derive(Debug)]
pub struct Parking {
    /// `EMPTY`, `PARKED` or `NOTIFIED`.
    state: AtomicUsize,
    /// The thread to unpark. Written by the waiter before it publishes `PARKED`; read by a
    /// notifier that saw `PARKED`.
    waiter: Mutex<Option<thread::Thread>>,
    /// Its driver: one thread at a time parks here, so a second driver is refused.
    driver: NotifierSlot,
}

impl Parking {
    /// A parking source with no pending notification.
    pub fn new() -> Self {
        Self { state: AtomicUsize::new(EMPTY), waiter: Mutex::new(None), driver: NotifierSlot::new() }
    }

    /// Ends a wait that is returning without `take_notification`: resets the state to EMPTY,
    /// consuming a notification that may land at the same moment (the wait returns either way).
    ///
    /// A swap, not a store: notifiers swap too, so every write to `state` is a read-modify-write
    /// and none can be ordered before a write it did not see (loom checks exactly that).
    /// Acquire: a notification consumed here publishes its notifier's writes like any other.
    fn leave(&self) {
        self.state.swap(EMPTY, Ordering::Acquire);
    }

    /// Consumes a pending notification, if any.
    fn take_notification(&self) -> bool {
        // Acquire: whatever the notifier did before notifying is visible after the wait returns.
        self.state.compare_exchange(NOTIFIED, EMPTY, Ordering::Acquire, Ordering::Relaxed).is_ok()
    }
}

impl Default for Parking {
    fn default() -> Self {
        Self::new()
    }
}

impl EventSource for Parking {
    fn wait(&self, timeout: Option<Duration>) -> io::Result<usize> {
        if self.take_notification() || timeout == Some(Duration::ZERO) {
            return Ok(0);
        }
        let deadline = timeout.and_then(|timeout| Instant::now().checked_add(timeout));
        *self.waiter.lock() = Some(thread::current());
        // Release on success: a notifier that reads PARKED (with Acquire) sees `waiter` set.
        // On failure the state is NOTIFIED, which `leave` consumes.
        if self.state.compare_exchange(EMPTY, PARKED, Ordering::Release, Ordering::Relaxed).is_err() {
            self.leave();
            return Ok(0);
        }
        loop {
            match deadline {
                None => thread::park(),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        self.leave();
                        return Ok(0);
                    }
                    thread::park_timeout(deadline - now);
                }
            }
            if self.take_notification() {
                return Ok(0);
            }
            if cfg!(reactor_loom) && deadline.is_some() {
                // Loom cannot sleep: a timed park is an early return (see `crate::sync`).
                self.leave();
                return Ok(0);
            }
        }
    }

    fn notify(&self) {
        // A read-modify-write, never a plain load: it always sees the latest state, so a
        // notification that the waiter already consumed cannot be mistaken for a pending one.
        // AcqRel: Release publishes the caller's writes to the waiter that consumes NOTIFIED;
        // Acquire pairs with the waiter's Release of PARKED so `waiter` is visible.
        if self.state.swap(NOTIFIED, Ordering::AcqRel) == PARKED {
            #[cfg(reactor_loom)]
            if crate::sync::seeded_bug::is_active(crate::sync::seeded_bug::Bug::ParkingLostUnpark) {
                return;
            }
            if let Some(waiter) = self.waiter.lock().as_ref() {
                waiter.unpark();
            }
        }
    }

    /// Records its driver. A `Parking` has one waiter: shared by two drivers (an
    /// `Arc<Parking>` given to two executors), one would take the other's notifications.
    ///
    /// # Errors
    ///
    /// [`AlreadyExists`](io::ErrorKind::AlreadyExists) while another driver is live.
    fn attach(&self, notifier: Notifier) -> io::Result<()> {
        self.driver.attach(notifier)
    }
}
