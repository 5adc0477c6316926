//! The cached readiness of one registered fd and the wakers waiting on it.
//!
//! The backend reports each readiness change once (edge-triggered, or re-armed on demand: see
//! the [module documentation](super)). The cache remembers it: a direction stays ready until an operation in that
//! direction fails with `WouldBlock`, and only then does a task wait for the next edge.
//!
//! Clearing races with a new edge: the operation may fail, then new data arrives and its event
//! sets the bit, and only then does the failed operation clear it, losing the edge for good. The
//! `tick` counts events; an operation notes the tick before it runs and clears the bit only if no
//! event arrived since (the same scheme as tokio's `ScheduledIo` and async-io's `Source`).
//!
//! Any number of tasks may wait in each direction (see [`Waiters`]); an event wakes all of them,
//! outside the lock.

use std::fmt;
use std::task::{Context, Poll};

use super::waiters::{WaiterKey, Waiters, Wakeups};
use super::Readiness;
use crate::sync::Mutex;

/// The readiness cache and waiting tasks of one registered fd: what an I/O object keeps beside
/// its [`IoRegistration`](super::IoRegistration), with [`on_event`](Self::on_event) as the
/// registration's callback.
///
/// The protocol of an operation in one direction: [`poll_ready`](Self::poll_ready) until it is
/// ready, run the operation, and if it fails with `WouldBlock`, [`clear`](Self::clear) with the
/// tick `poll_ready` gave (and [`rearm`](super::IoRegistration::rearm) if it cleared), then
/// poll again.
#[derive(Default)]
pub struct IoState {
    inner: Mutex<Inner>,
}

/// 64 bytes: `tick`, the 48 of [`Waiters`] (one inline waker per direction, the box of the
/// others, two one-byte tags) and `ready` in the padding after them.
#[derive(Default)]
struct Inner {
    /// Directions known to be ready.
    ready: Readiness,
    /// Number of events delivered so far.
    tick: u64,
    /// The tasks waiting to read, and those waiting to write.
    waiters: Waiters,
}

impl IoState {
    /// Records an event and wakes every waiter of the directions it made ready.
    pub fn on_event(&self, readiness: Readiness) {
        let mut wakeups = Wakeups::default();
        {
            let mut inner = self.inner.lock();
            inner.ready = inner.ready | readiness;
            inner.tick += 1;
            for direction in [Readiness::READABLE, Readiness::WRITABLE] {
                if readiness.contains(direction) {
                    inner.waiters.take_all(direction, &mut wakeups);
                }
            }
        }
        // Woken outside the lock: a wake may drop the last reference to a task whose future
        // owns this very registration, and its drop must be able to take the lock.
        wakeups.wake();
    }

    /// `Ready(tick)` if `direction` is ready (pass the tick to [`clear`](Self::clear)), else
    /// stores the waker of `cx` and returns `Pending`.
    ///
    /// `waiter` is the key of a future, which it must [`withdraw`](Self::withdraw) when dropped,
    /// or `None` for an anonymous `poll_*` caller, whose waker stays until the next event in
    /// `direction` (once per task; see [waiting tasks](super#waiting-tasks)). Other waiters are
    /// left alone: any number wait side by side, and none is woken by another one's poll.
    pub fn poll_ready(
        &self,
        direction: Readiness,
        cx: &mut Context<'_>,
        waiter: Option<&mut WaiterKey>,
    ) -> Poll<u64> {
        let mut wakeups = Wakeups::default();
        let replaced = {
            let mut inner = self.inner.lock();
            if inner.ready.contains(direction) {
                return Poll::Ready(inner.tick);
            }
            inner.waiters.register(direction, cx.waker(), waiter, &mut wakeups)
        };
        // Dropped and woken outside the lock, as in `on_event`.
        drop(replaced);
        wakeups.wake();
        Poll::Pending
    }

    /// The number of events delivered so far, for an operation run without
    /// [`poll_ready`](Self::poll_ready) (a `try_read` that runs whatever the cache says): read it
    /// before the operation, and pass it to [`clear`](Self::clear) after a `WouldBlock`, which
    /// then clears only if no event arrived in between (so no edge is lost).
    pub fn tick(&self) -> u64 {
        self.inner.lock().tick
    }

    /// Marks `direction` not ready, unless an event arrived after `tick` was read; returns
    /// whether it did (so the direction is to be re-armed).
    // `#[inline]` here and on `clear_drained`: the I/O objects that call them are generic code
    // of other crates (`reactor-net`), which cannot inline them otherwise; `clear_drained` runs
    // after every short stream read, where the out-of-line call doubled its cost (about 20 of
    // the instructions of an echo round trip, measured with callgrind).
    #[inline]
    pub fn clear(&self, direction: Readiness, tick: u64) -> bool {
        let mut inner = self.inner.lock();
        let tick = if crate::sync::seeded!(ClearIgnoresTick) { inner.tick } else { tick };
        let cleared = inner.tick == tick;
        if cleared {
            inner.ready = inner.ready.without(direction);
        }
        cleared
    }

    /// Like [`clear`](Self::clear), after an operation that succeeded but emptied the kernel's
    /// queue (a read of a stream shorter than its buffer): the next one would block, and finding
    /// that out costs a syscall. Unless the peer hung up ([`Readiness::READ_CLOSED`]): then the
    /// next read returns EOF and no new event will come, so the direction stays ready. Returns
    /// whether it cleared.
    ///
    /// Only for backends that [report every hang-up](super::IoSource::reports_read_closed):
    /// otherwise a hang-up that came with the data goes unnoticed and the EOF is never read.
    #[inline]
    pub fn clear_drained(&self, direction: Readiness, tick: u64) -> bool {
        let mut inner = self.inner.lock();
        let cleared = inner.tick == tick && !inner.ready.contains(Readiness::READ_CLOSED);
        if cleared {
            inner.ready = inner.ready.without(direction);
        }
        cleared
    }

    /// Withdraws the future `waiter` from `direction`: its waker is released and its key freed.
    /// Does nothing for a key that never waited.
    pub fn withdraw(&self, direction: Readiness, waiter: &mut WaiterKey) {
        if !waiter.has_slot() {
            return; // a future that found its direction ready at once: no lock to take
        }
        let withdrawn = self.inner.lock().waiters.withdraw(direction, waiter);
        drop(withdrawn); // outside the lock, as in `on_event`
    }
}

impl fmt::Debug for IoState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.inner.lock();
        f.debug_struct("IoState").field("ready", &inner.ready).field("tick", &inner.tick).finish()
    }
}

#[cfg(all(test, not(reactor_loom)))]
mod tests {
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};

    use super::IoState;
    use crate::io::Readiness;

    struct Unused;

    impl Wake for Unused {
        fn wake(self: Arc<Self>) {}
    }

    /// The tick of `state`'s readable direction if it is ready.
    fn readable(state: &IoState) -> Option<u64> {
        let waker = Waker::from(Arc::new(Unused));
        match state.poll_ready(Readiness::READABLE, &mut Context::from_waker(&waker), None) {
            Poll::Ready(tick) => Some(tick),
            Poll::Pending => None,
        }
    }

    #[test]
    fn every_registered_fd_pays_for_one_inline_waiter_per_direction_and_no_more() {
        // Every `Async` (of `reactor-net`) holds one, in an `Arc`. 72 bytes and the `Arc`'s counts make an 88-byte
        // allocation, a 96-byte chunk with glibc, where the one-slot state before issue 11 (80
        // bytes) took a 112-byte chunk. The waiter sets beyond one per direction are boxed.
        #[cfg(target_pointer_width = "64")]
        assert!(std::mem::size_of::<IoState>() <= 72, "{} bytes", std::mem::size_of::<IoState>());
    }

    #[test]
    fn a_drained_read_clears_readiness_unless_an_event_came_since() {
        let state = IoState::default();
        state.on_event(Readiness::READABLE);
        let tick = readable(&state).expect("the event made it readable");
        state.on_event(Readiness::READABLE);
        state.clear_drained(Readiness::READABLE, tick);
        let tick = readable(&state).expect("data that arrived after the read keeps it readable");
        state.clear_drained(Readiness::READABLE, tick);
        assert_eq!(readable(&state), None, "a drained read with no event since clears it");
    }

    #[test]
    fn a_drained_read_after_the_peer_hung_up_leaves_reads_ready_for_the_eof() {
        let state = IoState::default();
        // Data and the peer's FIN arriving together are one edge-triggered event.
        state.on_event(Readiness::READABLE | Readiness::READ_CLOSED);
        let tick = readable(&state).expect("readable");
        state.clear_drained(Readiness::READABLE, tick);
        assert!(readable(&state).is_some(), "no event will come for the EOF: the next read must run");
    }
}
