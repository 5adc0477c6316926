//! Aborting a task: the flag a task's next poll obeys, and [`AbortHandle`].
//!
//! # The protocol
//!
//! Every task carries a [`Header`] in its async-task metadata: its id, a state byte whose
//! `ABORTED` bit this protocol is about, and a `done` flag.
//!
//! - `abort` sets `ABORTED`, then wakes the task, unless the task had been aborted or had
//!   finished already.
//! - Every poll of the task ([`Abortable::poll`]) first reads the state; with `ABORTED` set it
//!   drops the future and completes the task as aborted instead of polling.
//! - `done` is set when the future is dropped, however that happened.
//!
//! The wake is what makes the flag seen, whatever the task is doing when it lands:
//!
//! - idle: the wake schedules it, and the poll that follows reads the flag;
//! - queued: it was going to be polled anyway; that poll reads the flag;
//! - being polled: async-task records the wake-up and, when this poll returns `Pending`,
//!   schedules the task again; the next poll reads the flag. A poll that completes the task
//!   delivers its output (as tokio does).
//!
//! In each case the flag's store is sequenced before the wake, and the wake happens before the
//! poll that follows through async-task's state word (its wake-up and its run are
//! read-modify-writes of that word with release and acquire semantics). So the poll's read needs
//! no ordering of its own: it costs one plain load per poll, which is all this protocol adds to
//! the hot path. The cost is that an abort always wakes, even a task in the middle of a poll,
//! which only costs an abort.
//!
//! In the model build, loom cannot see async-task's state word, so the poll's read is a
//! read-modify-write there: it reads the latest value, which is what the real build's
//! happens-before guarantees for a flag stored before the wake that led to the poll. The
//! seeded bug `AbortWakesBeforeFlag` (wake, then set the flag) is caught by the `task_abort`
//! models as a task that is never aborted.

use std::fmt;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll, Waker};

use crate::executor::Metadata;
use crate::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use crate::sync::seeded;
use crate::task::hooks::{self, TaskHooks, TaskKind};
use crate::task::id::{Entered, TaskId};
use crate::task::{CatchUnwind, TaskOutput};

/// Set by `abort`: the future is never polled again.
const ABORTED: u8 = 1;
/// Set from the start if the task's executor has task hooks, never changed: the poll's one
/// load of the state then tells it both whether to abort and whether to run hooks.
const HOOKED: u8 = 2;

/// What every task carries in its metadata, beside its executor: its id, kind and abort
/// state (16 bytes: the task hooks are reached through the executor, so that a task's
/// allocation does not grow with them).
pub(crate) struct Header {
    id: TaskId,
    /// `ABORTED | HOOKED` (see the module docs).
    state: AtomicU8,
    /// Set once the future has been dropped: it completed, was aborted, or its task was
    /// cancelled. A byte of its own, so that marking it is a plain store, not a locked
    /// read-modify-write racing with `abort`'s.
    done: AtomicBool,
    kind: TaskKind,
}

impl Header {
    /// The header of a new task of kind `kind`, running the executor's spawn hook if it has
    /// one.
    #[inline]
    pub(crate) fn new(kind: TaskKind, hooks: Option<&TaskHooks>) -> Self {
        let id = TaskId::next();
        if let Some(hooks) = hooks {
            hooks::run(&hooks.spawn, id, kind);
        }
        Self {
            id,
            state: AtomicU8::new(if hooks.is_some() { HOOKED } else { 0 }),
            done: AtomicBool::new(false),
            kind,
        }
    }

    /// Marks the task aborted; whether the caller must wake it so that a poll reads the flag
    /// (not if it was aborted already, or has finished).
    fn abort(&self) -> bool {
        // Relaxed: the flag reaches the poll through the wake that follows (module docs); this
        // read-modify-write only has to tell the first abort from later ones.
        let before = self.state.fetch_or(ABORTED, Ordering::Relaxed);
        // Relaxed: a finished task missed here is woken for nothing, which async-task ignores.
        before & ABORTED == 0 && !self.done.load(Ordering::Relaxed)
    }

    /// The state as the poll about to start sees it: whether it must abort instead
    /// (`ABORTED`), and whether it runs hooks (`HOOKED`).
    #[inline(always)]
    fn state_for_poll(&self) -> u8 {
        // Relaxed: the abort's store happens before this poll through async-task's state word
        // (module docs), and coherence makes a load see a store that happens before it.
        #[cfg(not(reactor_loom))]
        let state = self.state.load(Ordering::Relaxed);
        // The model build cannot see that happens-before: read the latest value instead.
        #[cfg(reactor_loom)]
        let state = self.state.fetch_or(0, Ordering::AcqRel);
        state
    }

    /// Whether the executor has task hooks.
    #[inline(always)]
    fn is_hooked(&self) -> bool {
        // Relaxed: the bit never changes after the header is made, before the task is shared.
        self.state.load(Ordering::Relaxed) & HOOKED != 0
    }

    fn is_done(&self) -> bool {
        // Acquire: pairs with the Release in `mark_done`, so a caller that sees the task done
        // also sees everything its future's drop did.
        self.done.load(Ordering::Acquire)
    }

    #[inline(always)]
    fn mark_done(&self) {
        // Release: see `is_done`.
        self.done.store(true, Ordering::Release);
    }
}

/// A spawned future as its task runs it: panics caught, never polled once aborted, and the
/// task's id current while it is polled or dropped.
pub(crate) struct Abortable<F> {
    /// Dropped in place (it is pinned) once `live` is false.
    future: ManuallyDrop<CatchUnwind<F>>,
    live: bool,
    /// The task's metadata: its header, and its executor's task hooks (see `new`).
    meta: NonNull<Metadata>,
}

// SAFETY: the metadata is only read through `&Metadata`, which is `Sync` (the header: an id,
// a kind and an atomic; the executor's `Arc`); the
// future moves with `Abortable` only when `F: Send`.
unsafe impl<F: Send> Send for Abortable<F> {}

impl<F> Abortable<F> {
    /// Wraps `future` for the task whose metadata is `meta`.
    ///
    /// `meta` must be the metadata of the task that owns this future: async-task drops a
    /// task's future (on completion or cancellation) before its metadata (when the last
    /// reference to the task goes), so the metadata outlives every use here.
    pub(crate) fn new(future: F, meta: &Metadata) -> Self {
        Self { future: ManuallyDrop::new(CatchUnwind::new(future)), live: true, meta: NonNull::from(meta) }
    }

    #[inline(always)]
    fn meta(&self) -> &Metadata {
        // SAFETY: see `new`: the metadata outlives the future.
        unsafe { self.meta.as_ref() }
    }

    #[inline(always)]
    fn header(&self) -> &Header {
        &self.meta().header
    }

    /// Runs the terminate hook, if there is one: the future has just been dropped.
    #[inline]
    fn terminated(&self) {
        if self.header().is_hooked() {
            if let Some(hooks) = self.meta().task_hooks.as_deref() {
                hooks::run(&hooks.terminate, self.header().id, self.header().kind);
            }
        }
    }

    /// Drops the future now, containing a panic of its `Drop`: the task completes as aborted
    /// either way.
    fn drop_future(&mut self) {
        if std::mem::replace(&mut self.live, false) {
            let _entered = Entered::new(self.header().id);
            // SAFETY: `live` was true, so the future has not been dropped; it is dropped in
            // place, where it is pinned, and `live` keeps it from being dropped again.
            let _ = panic::catch_unwind(AssertUnwindSafe(|| unsafe { ManuallyDrop::drop(&mut self.future) }));
            self.header().mark_done();
            self.terminated();
        }
    }
}

impl<F> Drop for Abortable<F> {
    fn drop(&mut self) {
        if self.live {
            let _entered = Entered::new(self.header().id);
            // SAFETY: `live`: not dropped yet; this is the last use of it.
            unsafe { ManuallyDrop::drop(&mut self.future) }
            // After the future's drop (async-task drops it on completion, and when the task is
            // cancelled): an `AbortHandle` then reports the task finished.
            self.header().mark_done();
            self.terminated();
        }
    }
}

impl<F: Future> Future for Abortable<F> {
    type Output = TaskOutput<F::Output>;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out of `self`, only
        // dropped in place; `Abortable` is `Unpin` only when `F` is.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: see `new`: the metadata outlives the future (borrowed apart from `this`).
        let meta = unsafe { this.meta.as_ref() };
        let header = &meta.header;
        let state = header.state_for_poll();
        // async-task never polls a task again once it returned `Ready`, so the future is live.
        if state & ABORTED != 0 {
            this.drop_future();
            return Poll::Ready(TaskOutput::Aborted);
        }
        let _entered = Entered::new(header.id);
        // SAFETY: see above: the future stays where it is and is live.
        let future = unsafe { Pin::new_unchecked(&mut *this.future) };
        if state & HOOKED == 0 {
            return future.poll(cx);
        }
        let Some(hooks) = meta.task_hooks.as_deref() else { return future.poll(cx) };
        let (id, kind) = (header.id, header.kind);
        hooks::run(&hooks.poll_start, id, kind);
        let poll = future.poll(cx);
        hooks::run(&hooks.poll_end, id, kind);
        poll
    }
}

/// A handle that aborts a task without awaiting it: cloneable, `Send + Sync`, from
/// [`Task::abort_handle`](crate::Task::abort_handle) (tokio's `AbortHandle`).
#[derive(Clone)]
pub struct AbortHandle {
    header: NonNull<Header>,
    /// A waker of the task: wakes it so that its next poll reads the abort flag, and holds a
    /// reference to it, which keeps its header alive.
    waker: Waker,
}

// SAFETY: `header` is only read as `&Header` (`Sync`), kept alive by `waker` (`Send + Sync`).
unsafe impl Send for AbortHandle {}
// SAFETY: as above.
unsafe impl Sync for AbortHandle {}

impl AbortHandle {
    /// A handle for the task whose header is `header`; `waker` must be a waker of that task.
    pub(crate) fn new(header: &Header, waker: Waker) -> Self {
        Self { header: NonNull::from(header), waker }
    }

    fn header(&self) -> &Header {
        // SAFETY: the header is in the task's metadata, which lives as long as any reference to
        // the task, and `waker` is one.
        unsafe { self.header.as_ref() }
    }

    /// Aborts the task: see [`Task::abort`](crate::Task::abort).
    pub fn abort(&self) {
        if seeded!(AbortWakesBeforeFlag) {
            self.waker.wake_by_ref();
            self.header().abort();
            return;
        }
        if self.header().abort() {
            self.waker.wake_by_ref();
        }
    }

    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.header().id
    }

    /// Whether the task has finished: its future completed, or was dropped (aborted, or
    /// cancelled by dropping its `Task` or by shutdown).
    pub fn is_finished(&self) -> bool {
        self.header().is_done()
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle").field("id", &self.id()).finish()
    }
}
