//! The loom shim: the only place in the crate that names std's sync types.
//!
//! Everything concurrent in `reactor-channel` imports atomics, `UnsafeCell`, mutexes and thread
//! parking from here. Built with `--cfg reactor_loom`, the same paths resolve to
//! [loom](https://docs.rs/loom)'s models, so `loom-tests/` checks the real code. The std half
//! takes loom's shape where they differ: `UnsafeCell` has `with_mut`, and `Mutex::lock`
//! returns the guard directly (poisoning is cleared: the data the crate guards stays consistent
//! when a user callback panics).
//!
//! [`waker_refcount`] is std's `Arc` and `Weak` in both halves, on purpose: a
//! [`Waker`](std::task::Waker) can only be built from std's `Arc`, and loom's `Arc` has no `Weak`.
//! It is used only for what becomes a waker (and what those point to), never for the channels'
//! own state, which uses the switched [`Arc`] so that loom sees the synchronisation of the last
//! drop.
//!
//! The `Mutex` and `UnsafeCell` wrappers come from the core's shim (`reactor::shim`): one definition
//! decides std or loom for every crate of the workspace.

/// Reference counts for wakers: std's in both halves (see the module docs).
pub(crate) mod waker_refcount {
    pub(crate) use std::sync::{Arc, Weak};
}

#[cfg(not(reactor_loom))]
mod imp {
    pub(crate) use std::sync::Arc;

    pub(crate) mod atomic {
        pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize, Ordering};
    }

    pub(crate) mod thread {
        pub(crate) use std::thread::{current, park, Thread};
    }

    pub(crate) use std::thread_local;

    pub(crate) mod hint {
        pub(crate) use std::hint::spin_loop;
    }
}

#[cfg(reactor_loom)]
mod imp {
    pub(crate) use loom::sync::Arc;

    pub(crate) mod atomic {
        pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize, Ordering};
    }

    pub(crate) mod thread {
        pub(crate) use loom::thread::{current, park, Thread};
    }

    pub(crate) use loom::thread_local;

    pub(crate) mod hint {
        pub(crate) use loom::hint::spin_loop;
    }
}

pub(crate) use imp::*;
pub(crate) use reactor::shim::{Mutex, UnsafeCell};

/// Seeded bugs for the negative controls in `loom-tests/`: each model family has one test that
/// switches a bug on and asserts that loom catches it.
///
/// The switch exists only in `reactor_loom` builds and is a std thread-local of the test's own OS
/// thread (loom runs a whole model on the thread that calls `loom::model`), so a negative control
/// never affects the models running beside it.
#[cfg(reactor_loom)]
pub mod seeded_bug {
    /// A bug that the code under test can be told to contain.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    #[non_exhaustive]
    pub enum Bug {
        /// `WakerSlot::register` drops a wake that raced with it instead of waking the new waker.
        WakerSlotLostWake,
        /// `WakerSlot::register` takes the slot even while another registration holds it (the
        /// single-registrar assumption this crate once relied on): two registrations at once
        /// write the stored waker together.
        RegisterIgnoresRegistration,
        /// `WakerSlot::wake` reads the state without its `SeqCst` fence, so it can miss a
        /// waker registered just before, while the receiver misses the message just pushed.
        WakeSkipsFence,
        /// `Receiver::poll_recv` does not look at the queue again after registering its waker, so
        /// a message sent in between is never noticed.
        RecvSkipsRecheck,
        /// `oneshot::Sender::send` stores the value but does not wake the receiver.
        OneshotSendSkipsWake,
        /// `oneshot::Sender::send` sets `SENT` whatever the state, as it did before
        /// `Receiver::close` existed: a receiver that closed first then finds `SENT` and reads
        /// the value while the sender takes it back.
        OneshotSendIgnoresClose,
        /// The oneshot receiver's close (or drop) does not wake a waiting `Sender::closed`.
        OneshotCloseSkipsSenderWake,
        /// `ChannelSource` never calls its notifier: a send into an idle loop does not wake it.
        SourceSkipsNotify,
        /// The single-token design of waiting senders this crate had before: a take notifies
        /// one waiting sender unless one is notified already, and a notified sender that pushes
        /// hands the room left on. A notified send that is never polled again keeps the token.
        SingleRoomToken,
        /// `Chan::close` does not notify the `Sender::closed` waits.
        CloseSkipsClosedNotify,
        /// `Sender::closed` does not look at the channel again after it starts listening, so a
        /// close in between is never noticed.
        ClosedSkipsRecheck,
        /// `WeakSender::upgrade` checks that a sender is alive, then increments the count in a
        /// second step: the last sender can drop (and close the channel) in between, and the
        /// upgrade hands out a sender of a closed channel.
        UpgradeChecksThenIncrements,
        /// `Receiver::recv_many` reports the end as soon as the channel is closed, before taking
        /// what is still queued.
        RecvManyEndsOnClose,
        /// `Chan::room_made` notifies one waiting sender instead of every one, so a sender is
        /// left waiting beside room that another, notified one does not use.
        RoomMadeNotifiesOne,
        /// `Chan::room_made` reads `room_wanted` without its `SeqCst` fence, so it can miss a
        /// sender that listened just before, while that sender misses the room.
        RoomMadeSkipsFence,
        /// `broadcast::Receiver::poll_recv` finds nothing under the lock, lets the lock go and
        /// takes it again to register its waker: a send in between wakes nobody.
        BroadcastRegistersAfterUnlock,
        /// A lagged broadcast receiver counts what it missed from the tail published before it
        /// takes the lock, then jumps to the head it finds under the lock: a send in between
        /// makes it skip a message it never reports.
        BroadcastLagCountedBeforeLock,
        /// The last broadcast sender wakes the waiting receivers, lets the lock go, and only then
        /// marks the channel closed: a receiver woken in between finds it open and waits again,
        /// and nobody wakes it.
        BroadcastClosesAfterWaking,
        /// `broadcast::WeakSender::upgrade` checks for a live sender under the lock, lets it go
        /// and counts itself in a second critical section: the last sender can drop and close
        /// the channel in between, and the upgraded sender sends into a closed channel.
        BroadcastUpgradeChecksThenIncrements,
    }

    /// Runs `f` with `bug` switched on for this OS thread (the core's switch, see
    /// `reactor::loom_internals::seeded_bug`).
    pub fn with<R>(bug: Bug, f: impl FnOnce() -> R) -> R {
        reactor::loom_internals::seeded_bug::with_any(bug, f)
    }

    /// Whether `bug` is switched on for this OS thread.
    pub(crate) fn is_active(bug: Bug) -> bool {
        reactor::loom_internals::seeded_bug::is_active_any(&bug)
    }
}
