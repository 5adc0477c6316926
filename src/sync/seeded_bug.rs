//! Seeded bugs: a switch that makes code contain a known bug on demand, in the model build only,
//! so that a negative control proves a loom model can fail, and fails for the reason it states.
//!
//! A model that passes proves little until it has been seen to fail: a model that never reaches
//! the interesting interleaving passes for a broken source too. So next to each model keep a
//! *negative control*: the same model with a bug switched on, which loom must catch with the
//! report you expect (a deadlock for a lost wake-up, your own assertion's message for a lost
//! event). `reactor` and its backends have one per protocol family; the functions here serve
//! your own source the same way, with a bug enum of your own.
//!
//! - In the source, test the switch where the bug would be: `if seeded_bug::is_active(MyBug::X)
//!   { /* the buggy variant */ }`. Outside the model build (`--cfg reactor_loom`),
//!   [`is_active`] is a constant `false` that the optimiser removes, so the call sites need no
//!   `cfg` and cost nothing in production.
//! - In the model test, run the model inside [`with`]: `seeded_bug::with(MyBug::X, || model())`.
//!   The switch is a thread-local of the OS thread that calls `with`; loom runs every thread of a
//!   model on the OS thread that calls `loom::model`, so the whole model sees it, and models
//!   running beside it on other test threads do not.
//! - Loom aborts the process on a deadlock, so run the seeded model in a child process and
//!   check its report: the `reactor-loom` kit's `assert_loom_catches` does exactly that.
//!
//! # Examples
//!
//! ```
//! use reactor::sync::atomic::{AtomicBool, Ordering};
//! use reactor::sync::{seeded_bug, Mutex};
//!
//! /// The bugs this source can be told to contain.
//! #[derive(Clone, Copy, Debug, PartialEq, Eq)]
//! enum Bug {
//!     /// The pending flag is cleared after the queue is drained, not before.
//!     ClearAfterDrain,
//! }
//!
//! fn drain(pending: &AtomicBool, queue: &Mutex<Vec<u32>>) -> Vec<u32> {
//!     if seeded_bug::is_active(Bug::ClearAfterDrain) {
//!         let events = std::mem::take(&mut *queue.lock());
//!         pending.store(false, Ordering::Release); // loses an event pushed meanwhile
//!         return events;
//!     }
//!     // Acquire: pairs with the publisher's Release swap, so its push is visible below.
//!     pending.swap(false, Ordering::Acquire);
//!     std::mem::take(&mut *queue.lock())
//! }
//!
//! let (pending, queue) = (AtomicBool::new(true), Mutex::new(vec![7]));
//! // Outside the model build nothing is ever switched on: `with` only runs the closure.
//! let drained = seeded_bug::with(Bug::ClearAfterDrain, || drain(&pending, &queue));
//! assert_eq!(drained, [7]);
//! assert!(!seeded_bug::is_active(Bug::ClearAfterDrain));
//! ```

#[cfg(reactor_loom)]
use std::any::Any;
#[cfg(reactor_loom)]
use std::cell::RefCell;

#[cfg(reactor_loom)]
std::thread_local! {
    /// The bug switched on for this OS thread, of whichever crate's bug type.
    static ACTIVE: RefCell<Option<Box<dyn Any>>> = const { RefCell::new(None) };
}

/// Runs `f` with `bug` switched on for this OS thread, and switches it off again (restoring the
/// bug switched on before, if any) when `f` returns or unwinds.
///
/// `bug` is a value of any type of your own, typically a `Copy` enum with one variant per bug;
/// [`is_active`] compares against it. One bug is on at a time: a nested `with` replaces the
/// outer bug until it returns.
///
/// Outside the model build (`--cfg reactor_loom`) this only runs `f`: nothing can be switched on.
pub fn with<B: 'static, R>(bug: B, f: impl FnOnce() -> R) -> R {
    #[cfg(reactor_loom)]
    {
        struct Reset(Option<Box<dyn Any>>);
        impl Drop for Reset {
            fn drop(&mut self) {
                ACTIVE.with(|active| *active.borrow_mut() = self.0.take());
            }
        }
        let _reset = Reset(ACTIVE.with(|active| active.borrow_mut().replace(Box::new(bug))));
        f()
    }
    #[cfg(not(reactor_loom))]
    {
        drop(bug);
        f()
    }
}

/// Whether `bug` is switched on for this OS thread (by [`with`]): a value of the same type,
/// equal to it.
///
/// Always `false` outside the model build (`--cfg reactor_loom`), inlined to a constant.
#[cfg_attr(not(reactor_loom), inline(always))]
pub fn is_active<B: PartialEq + 'static>(bug: B) -> bool {
    is_active_any(&bug)
}

/// The name the workspace's backends use for [`with`].
#[doc(hidden)]
pub fn with_any<B: 'static, R>(bug: B, f: impl FnOnce() -> R) -> R {
    with(bug, f)
}

/// [`is_active`], by reference: the name the workspace's backends use.
#[doc(hidden)]
#[cfg_attr(not(reactor_loom), inline(always))]
pub fn is_active_any<B: PartialEq + 'static>(bug: &B) -> bool {
    #[cfg(reactor_loom)]
    {
        ACTIVE.with(|active| {
            active.borrow().as_ref().and_then(|active| active.downcast_ref::<B>()) == Some(bug)
        })
    }
    #[cfg(not(reactor_loom))]
    {
        let _ = bug;
        false
    }
}

/// The core's own seeded bugs, one per protocol family, for the negative controls of the
/// workspace's models; not a public API.
#[cfg(reactor_loom)]
#[doc(hidden)]
mod core_bugs {
    /// A bug that the code under test can be told to contain.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    #[non_exhaustive]
    pub enum Bug {
        /// `IoState::clear` clears readiness without checking the tick: an edge that arrives
        /// between a failed operation and the clear is lost.
        ClearIgnoresTick,
        /// `IoRegistration::rearm` skips the backend's `rearm`: a re-armed backend never watches
        /// again a direction that an I/O object found not ready.
        ClearSkipsRearm,
        /// `OneshotInterest` disarms every direction of a registration an event reported, the
        /// unreported ones too, so a task waiting in the other direction sleeps through it.
        OneshotForgetsUnreported,
        /// `OneshotInterest::dispatch` runs the callbacks before it processes the reports: a task
        /// woken that re-arms at once has its direction disarmed again by the report after it.
        OneshotDispatchesFirst,
        /// `OneshotInterest::rearm` decides the directions under its lock but modifies the
        /// registration after releasing it: two re-arms racing apply in the wrong order, and the
        /// OS watches less than the bookkeeping says.
        OneshotModifiesOutsideLock,
        /// `Registry::remove` takes the entry out of the table but skips `CallbackSlot::remove`:
        /// a dispatch that looked the entry up already runs the callback after removal returns.
        RemoveSkipsCallbackSlot,
        /// `Waiters::register` keeps one waiter per direction: a new one displaces the others
        /// without waking them (the defect of issue 11).
        OneWaiterPerDirection,
        /// `Waiters::take_all` looks at the spilled waiters only when the inline slot held a
        /// waker, as if a second waiter could only wait beside a first: once the inline future
        /// is withdrawn, the spilled waiters are left asleep by the next event.
        EventSkipsSpilledWaiters,
        /// `Handshake::on_edge` clears `pending` with a store (as the epoll source did before the
        /// handshake was modelled), which acquires nothing: a notify coalesced into the edge
        /// being answered can go unseen by the waiter's re-check, with no edge left to wake it.
        NotifyClearIsAStore,
        /// `Handshake::after_wait` clears `pending` before it takes the edge back (reads the
        /// eventfd): a notify between the two raises, the take consumes its raise, and the flag
        /// stays up with nothing raised, so no later notify raises again.
        NotifierClearsBeforeTaking,
        /// `Handshake::after_wait` clears `pending` even when the take found nothing (the notify
        /// that raised the flag has not raised its edge yet): its raise lands with the flag down,
        /// and the edge stays raised with nothing pending, so every poll returns at once.
        NotifierClearsWithNothingTaken,
        /// `Parking::notify` skips the unpark: a notify racing with a wait is lost.
        ParkingLostUnpark,
        /// Work arriving for an idle pool wakes a listener if there is one, but forgets to notify
        /// the source when the only sleeper is the poller blocked in it.
        NotifyIdleForgetsPoller,
        /// A thread woken for new work does not clear the executor's wake-in-flight flag, so the
        /// next task pushed for a sleeping pool wakes nobody.
        WokenThreadKeepsWakeFlag,
        /// Unparking a thread blocked in the source as the poller skips the source's notify.
        UnparkSkipsSourceNotify,
        /// Unparking a thread parked without the poll token skips its thread unpark.
        UnparkSkipsThreadUnpark,
        /// `CallbackSlot::remove` marks the slot removed without waiting for a call in progress.
        CallbackRemoveSkipsLock,
        /// `Ping::ping` queues its entry but does not notify the blocking source.
        PingSkipsNotify,
        /// A stealer loads a local queue's `tail` with `Relaxed` instead of `Acquire`: it may read
        /// a task before the owner's write of it is visible.
        LocalQueueRelaxedTail,
        /// A stealer claims its batch with a plain store instead of a compare-and-swap: a
        /// concurrent pop (or steal) takes the same task too.
        LocalQueueUnreservedSteal,
        /// Unparking a thread blocked in the source skips the source's notify whenever the waking
        /// thread is dispatching some source, not checking that it is the sleeper itself.
        UnparkTrustsAnyDispatcher,
        /// A `block_on` thread sleeps without entering the idle list, so pool work never wakes it.
        BlockOnSleepsUnlisted,
        /// A `block_on` that returns does not hand the poll role to a thread sleeping without it.
        BlockOnExitSkipsHandOff,
        /// Without workers, a `block_on` (or a host's turn) that leaves puts its plain run
        /// queue back with its tasks still in it, instead of handing them to the injector,
        /// where another `block_on` thread would find them.
        PlainQueueKeptAtExit,
        /// A thread that was picked for new work while it cancelled its own sleep (it had found
        /// work) does not release the wake-in-flight flag.
        CancelledParkKeepsWakeFlag,
        /// A thread picked for new work runs the first task it finds without handing on the
        /// work left beside it, which a producer skipped its own wake-up for: that work waits
        /// for the task to finish while another thread sleeps.
        PickedThreadKeepsTheWork,
        /// A returning `block_on` cancels its `!Send` tasks without waiting for the wake-ups that
        /// other threads have in flight, leaving those tasks' futures undropped.
        LocalExitSkipsInFlightWakes,
        /// Shutdown cancels queued tasks but does not wake the idle ones, whose futures then live
        /// on in the wakers that sources hold.
        ShutdownSkipsIdleTasks,
        /// `abort` wakes the task before it sets the abort flag: the poll that wake-up leads to
        /// may read the flag unset, and nothing wakes the task again, so it stays pending for
        /// ever.
        AbortWakesBeforeFlag,
        /// `TaskSet::poll_join_next` finds no ready task under the lock but registers its waker
        /// under a second one: a completion between the two is not seen and wakes nobody.
        TaskSetRegistersAfterCheck,
        /// A blocking thread whose keep-alive ran out exits without looking at the queue,
        /// although a submitter may have picked it (and queued a job for it) meanwhile: the job
        /// waits with no thread to run it.
        BlockingThreadExitsOnItsClock,
        /// Blocking-pool shutdown cancels the queued jobs but does not wake the idle threads,
        /// which then never exit, and the executor's drop waits for them forever.
        BlockingShutdownLeavesIdleThreads,
        /// With paused time, the last thread to fall asleep beside a blocked poller does not wake
        /// it, so the clock never moves.
        LastSleeperLeavesPollerBlocked,
        /// With paused time, the poller blocks after its zero-timeout wait although that wait
        /// consumed the notify meant to end its sleep.
        IdleWaitIgnoresItsWakeUp,
        /// With paused time, the poller checks "every thread idle" and moves time in two steps,
        /// so a `block_on` that starts between them arms a timer that time then jumps over.
        IdleCheckApartFromAdvance,
        /// With paused time, "every thread idle" counts a thread still on the idle list whose
        /// wake-up is pending (a `block_on` whose future was woken), so time jumps while it has
        /// work.
        WokenThreadCountedAsIdle,
        /// With paused time, the poller moves time without looking at its own wake-up: a
        /// `block_on` poller whose future a task on another thread just woke jumps time
        /// although it has work.
        PollerCountsItselfIdle,
        /// `CallbackSlot::remove` recognises only the innermost slot running on its thread, so a
        /// nested callback removing an outer slot waits for the call up its own stack.
        CallbackRemoveSeesOnlyInnermost,
        /// `NotifierSlot::attach` stores a second notifier over the first instead of refusing it.
        NotifierSlotOverwrites,
        /// A host's turn reports whether more work is ready without looking at the queues after
        /// it lists itself as asleep again, so a task queued meanwhile by a thread that found
        /// nobody listed is left for a host that sleeps.
        TurnEndSkipsRecheck,
        /// Between turns a host's parker stays *running* instead of *driving*, so a wake-up of
        /// one of its tasks sets a permit nobody looks at instead of notifying the source.
        HostSleepsUnannounced,
        /// A host that leaves releases the poll token without handing the role to a thread
        /// parked without it.
        HostExitSkipsHandOff,
        /// A host being made waits for the poll token without notifying the source, so a thread
        /// blocked in it as the poller never gives the token up.
        HostTakeoverSkipsNotify,
        /// Task-local keys keep their values in a std thread-local instead of loom's: under loom,
        /// whose threads share one OS thread, every thread then sees the slot of every other.
        TaskLocalStdSlot,
    }
}

#[cfg(reactor_loom)]
#[doc(hidden)]
pub use core_bugs::Bug;
