//! What the current thread is doing for which executor: the thread-local that lets a waker
//! schedule onto the local queue of the worker it runs on, and lets ambient APIs find the
//! executor's source.

use std::any::TypeId;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::ptr;
use std::rc::Rc;

use crate::executor::blocking;
use crate::executor::injector::Injector;
use crate::executor::local_queue::{LocalQueue, Overflow, CAPACITY};
use crate::executor::local_tasks::LocalTasks;
use crate::executor::shared::{Runnable, Shared};
use crate::sync::{seeded, thread_local, Arc};

/// Consecutive polls a task woken into the LIFO slot may take before the slot's task goes to
/// the back of the queue. Bounds how long two tasks waking each other can starve the others.
const MAX_LIFO_STREAK: u32 = 3;

thread_local! {
    /// This thread's context, owned by the [`EnterGuard`] that made it; null outside an executor.
    ///
    /// A pointer rather than the context itself: a thread-local that needs dropping is checked
    /// for its destructor's registration on every access, and this one is read twice per task
    /// run (to schedule it, to take it); as a plain `Cell` of a pointer every read is one load
    /// (callgrind, `reactor-bench --only spawn-inside reactor-1t 1`: the accesses cost ~75
    /// instructions per task before).
    static CURRENT: Cell<*const RefCell<Current>> = const { Cell::new(ptr::null()) };
}

/// The executor this thread works for, and what it owns of it.
pub(crate) struct Current {
    pub(crate) shared: Arc<Shared>,
    /// The run queue this thread owns: always on a worker, on a `block_on` thread when the spare
    /// queue was free.
    pub(crate) queue: Option<OwnedQueue>,
    /// The `!Send` tasks of the `block_on` running on this thread.
    pub(crate) local_tasks: Option<Rc<LocalTasks>>,
}

/// The run queue a thread owns.
pub(crate) enum RunQueue {
    /// A worker's queue, or the one a `block_on` thread borrows in an executor with workers: a
    /// bounded ring that idle threads steal from.
    Stealable(LocalQueue<Runnable>),
    /// The queue a `block_on` thread (or a host's turn) borrows in an executor without workers:
    /// nobody could steal from it but another `block_on` thread, so it is a plain ring that
    /// only its owner touches. No atomic operation per push or pop, no overflow, and a task
    /// queued here needs no sleeper woken for it (its owner is awake: it is the thread that
    /// queued it). The owner never sleeps with tasks in it (it sleeps only after finding it
    /// empty) and hands what is left to the injector when it leaves (`OwnedQueue::into_queue`).
    Plain(VecDeque<Runnable>),
}

impl RunQueue {
    /// The queue a `block_on` thread borrows in an executor without workers.
    pub(crate) fn plain() -> Self {
        Self::Plain(VecDeque::with_capacity(CAPACITY))
    }

    /// Queues `runnable` at the back; returns whether other threads may take it from here.
    #[inline(always)]
    fn push_back(&mut self, runnable: Runnable, injector: &Injector) -> bool {
        match self {
            Self::Stealable(queue) => {
                queue.push_back(runnable, injector);
                true
            }
            Self::Plain(queue) => {
                queue.push_back(runnable);
                false
            }
        }
    }

    #[inline(always)]
    pub(crate) fn pop(&mut self) -> Option<Runnable> {
        match self {
            Self::Stealable(queue) => queue.pop(),
            Self::Plain(queue) => queue.pop_front(),
        }
    }

    /// Queues `runnable` at the back if there is room, without overflowing.
    pub(crate) fn try_push_back(&mut self, runnable: Runnable) -> Result<(), Runnable> {
        match self {
            Self::Stealable(queue) => queue.try_push_back(runnable),
            Self::Plain(queue) => {
                queue.push_back(runnable);
                Ok(())
            }
        }
    }
}

/// A local run queue with its LIFO slot.
pub(crate) struct OwnedQueue {
    /// Index of the queue's stealer in `Shared::stealers` (skipped when stealing).
    pub(crate) index: usize,
    pub(crate) queue: RunQueue,
    /// The task most recently woken by this thread: it likely works on data that is still in
    /// cache, so it runs next. Not stealable. Always empty in front of a plain queue (see
    /// [`push`](Self::push)).
    lifo: Option<Runnable>,
    /// How many tasks in a row came from `lifo`.
    lifo_streak: u32,
    /// Whether this thread is dispatching its executor's source (see [`collect_wakes`]).
    collecting: bool,
    /// The tasks woken by that dispatch, in wake order; empty otherwise (kept for its capacity).
    dispatched: Vec<Runnable>,
}

impl OwnedQueue {
    pub(crate) fn new(index: usize, queue: RunQueue) -> Self {
        Self { index, queue, lifo: None, lifo_streak: 0, collecting: false, dispatched: Vec::new() }
    }

    /// The next local task: the LIFO slot unless its streak is spent, then the queue's head.
    #[inline]
    pub(crate) fn pop(&mut self, shared: &Shared) -> Option<Runnable> {
        if let Some(runnable) = self.lifo.take() {
            if self.lifo_streak < MAX_LIFO_STREAK {
                self.lifo_streak += 1;
                return Some(runnable);
            }
            self.requeue_lifo(runnable, shared);
        }
        self.lifo_streak = 0;
        self.queue.pop()
    }

    /// Puts the LIFO slot's task, whose streak is spent, at the back of the queue: out of line,
    /// so that [`pop`](Self::pop) stays small enough to inline.
    #[inline(never)]
    fn requeue_lifo(&mut self, runnable: Runnable, shared: &Shared) {
        self.queue.push_back(runnable, &shared.injector);
    }

    /// Queues a task woken on this thread; returns whether it became stealable (so that an idle
    /// thread is worth waking).
    ///
    /// A plain queue has no LIFO slot: its tasks run in wake order, like those of tokio's
    /// current-thread scheduler and smol's `LocalExecutor`. With one thread the slot cannot keep
    /// a woken task's data in another core's cache, and it made a task awaiting many others in
    /// turn (a `JoinHandle` loop) run after each of them: one more poll, wake and schedule per
    /// task awaited (callgrind, `reactor-bench --only spawn-inside reactor-1t 1`: 116.1M
    /// instructions with the slot, 79.3M without).
    #[inline]
    fn push(&mut self, runnable: Runnable, yielded: bool, shared: &Shared) -> bool {
        if self.collecting {
            self.dispatched.push(runnable);
            return false;
        }
        if yielded || matches!(self.queue, RunQueue::Plain(_)) {
            return self.queue.push_back(runnable, &shared.injector);
        }
        match self.lifo.replace(runnable) {
            Some(previous) => self.queue.push_back(previous, &shared.injector),
            None => false,
        }
    }

    /// Ends a dispatch of the source: the first task it woke goes into the LIFO slot (an idle
    /// runtime's single timer or I/O wake-up runs next on this thread, as before), the others go
    /// to the injector in one batch, in wake order (all of them to the back of a plain queue, in
    /// wake order, without workers); returns whether an idle thread is worth waking.
    fn end_dispatch(&mut self, shared: &Shared) -> bool {
        self.collecting = false;
        let mut woken = self.dispatched.drain(..);
        let Some(first) = woken.next() else { return false };
        let more = woken.len() > 0;
        match &mut self.queue {
            // Nobody else could take them from here but another `block_on` thread: keep them,
            // in wake order, without the injector's lock or a sleeper to wake.
            RunQueue::Plain(queue) => {
                queue.push_back(first);
                queue.extend(woken);
                return false;
            }
            RunQueue::Stealable(_) if more => shared.injector.push_batch(woken),
            RunQueue::Stealable(_) => drop(woken),
        }
        self.push(first, false, shared) || more
    }

    /// Tasks queued here, not counting the LIFO slot (for the metrics).
    pub(crate) fn len(&self) -> usize {
        match &self.queue {
            RunQueue::Stealable(queue) => queue.len(),
            RunQueue::Plain(queue) => queue.len(),
        }
    }

    /// Hands every task still held back to the pool; returns the emptied queue.
    pub(crate) fn into_queue(mut self, shared: &Shared) -> RunQueue {
        if let (RunQueue::Plain(queue), true) = (&mut self.queue, seeded!(PlainQueueKeptAtExit)) {
            queue.extend(self.lifo.take());
            return self.queue;
        }
        let tasks = self.lifo.take().into_iter().chain(std::iter::from_fn(|| self.queue.pop()));
        // One batch under one lock; moving runnables runs no user code.
        shared.injector.push_batch(tasks);
        self.queue
    }
}

/// Makes `current` this thread's context until the guard drops.
///
/// # Errors
///
/// Hands `current` back if the thread already works for an executor.
pub(crate) fn enter(current: Current) -> Result<EnterGuard, Current> {
    if !CURRENT.with(Cell::get).is_null() {
        return Err(current);
    }
    let context = Box::new(RefCell::new(current));
    CURRENT.with(|slot| slot.set(&*context));
    Ok(EnterGuard { context: Some(context), _not_send: std::marker::PhantomData })
}

/// Leaves the context on drop. Use [`EnterGuard::exit`] to get the context back.
pub(crate) struct EnterGuard {
    /// The context `CURRENT` points to while the guard lives (boxed: the guard moves, the
    /// context must not). `None` once left.
    context: Option<Box<RefCell<Current>>>,
    _not_send: std::marker::PhantomData<*const ()>,
}

impl EnterGuard {
    /// Leaves the context and returns it.
    pub(crate) fn exit(mut self) -> Option<Current> {
        self.leave()
    }

    /// Clears `CURRENT`, then hands the context out of its box.
    fn leave(&mut self) -> Option<Current> {
        let context = self.context.take()?;
        CURRENT.with(|slot| slot.set(ptr::null()));
        Some(context.into_inner())
    }
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        // Dropped after `CURRENT` is cleared: dropping queued runnables drops futures, whose drop
        // may wake other tasks and so reach `schedule_local` on this thread.
        drop(self.leave());
    }
}

/// This thread's context, if it has one. Only ever borrowed inside the functions of this module,
/// which run no code that could drop the guard owning it.
#[inline(always)]
fn current() -> Option<&'static RefCell<Current>> {
    let context = CURRENT.with(Cell::get);
    // SAFETY: a non-null `CURRENT` points into the box of the live `EnterGuard` of this thread
    // (it is cleared before that box is freed or moved out of), and the guard is `!Send`. The
    // reference is only used within the calling function of this module, none of which runs code
    // that could reach the guard (it lives in a `block_on` or turn frame further up the stack),
    // so it is not used after the box is freed, despite its lifetime.
    unsafe { context.as_ref() }
}

/// Runs `f` with this thread's context, if it has one and it is not borrowed already.
#[inline]
pub(crate) fn with_current<R>(f: impl FnOnce(&mut Current) -> R) -> Option<R> {
    Some(f(&mut *current()?.try_borrow_mut().ok()?))
}

/// The next task of this thread's own queue (see [`OwnedQueue::pop`]), if it owns one.
#[inline]
pub(crate) fn pop_local(shared: &Shared) -> Option<Runnable> {
    current()?.try_borrow_mut().ok()?.queue.as_mut()?.pop(shared)
}

/// The executor this thread works for (inside a task, a worker, a `block_on` or a turn), if any.
pub(crate) fn current_shared() -> Option<Arc<Shared>> {
    Some(current()?.try_borrow().ok()?.shared.clone())
}

/// The executor this thread works for, or else runs a blocking job of: what ambient APIs use
/// to find their executor. Not a context: a blocking job may `block_on` or host.
pub(crate) fn ambient_shared() -> Option<Arc<Shared>> {
    match current() {
        Some(current) => Some(current.try_borrow().ok()?.shared.clone()),
        None => blocking::running_for(),
    }
}

/// Queues `runnable` on this thread's local queue if this thread owns one of its executor's
/// queues, waking an idle thread if it became stealable; hands the runnable back otherwise.
#[inline]
pub(crate) fn schedule_local(runnable: Runnable, yielded: bool) -> Result<(), Runnable> {
    let Some(Ok(mut current)) = current().map(RefCell::try_borrow_mut) else { return Err(runnable) };
    match &mut *current {
        Current { shared, queue: Some(queue), .. } if Arc::ptr_eq(shared, runnable.metadata()) => {
            if queue.push(runnable, yielded, shared) {
                shared.notify_idle();
            }
            Ok(())
        }
        _ => Err(runnable),
    }
}

/// Runs `dispatch`, a wait of `shared`'s source that must not unwind, collecting the tasks it
/// wakes on this thread; then queues them with [`OwnedQueue::end_dispatch`].
///
/// Without this, every wake of a large dispatch (a burst of timers due together) went to this
/// thread's local queue: the other threads only saw them through its overflow, and a busy
/// thread polling the source every `EVENT_INTERVAL` tasks kept pushing newer wakes in front of
/// the older ones its overflow had moved to the injector (issue 14). In the injector they run
/// in wake order, and idle threads take their share at once.
pub(crate) fn collect_wakes<R>(shared: &Shared, dispatch: impl FnOnce() -> R) -> R {
    let collecting = with_current(|current| match current.queue.as_mut() {
        Some(queue) if std::ptr::eq(&*current.shared, shared) => {
            queue.collecting = true;
            true
        }
        _ => false,
    });
    let result = dispatch();
    if collecting == Some(true) {
        let notify = with_current(|current| {
            current.queue.as_mut().is_some_and(|queue| queue.end_dispatch(&current.shared))
        });
        if notify == Some(true) {
            shared.notify_idle();
        }
    }
    result
}

/// The part of type `T` of the source of the executor this thread works for.
///
/// This is how ambient APIs find their source from inside a task: a timer's `sleep` finds the
/// executor's timer, through [`EventSource::component`](crate::EventSource::component). Returns
/// `None` outside an executor, or if its source has no part of type `T`. Inside a blocking job
/// ([`Executor::spawn_blocking`](crate::Executor::spawn_blocking)) it finds the source of the
/// job's executor.
///
/// # Examples
///
/// ```
/// use reactor::source::PingSource;
/// use reactor::Executor;
///
/// let executor = Executor::new(PingSource::new()).unwrap();
/// assert!(reactor::current_source::<PingSource>().is_none()); // not inside the executor
/// executor.block_on(async {
///     let pings = reactor::current_source::<PingSource>().expect("the executor's source");
///     let (ping, _registration) = pings.register(|| println!("pinged"));
///     ping.ping();
/// });
/// ```
pub fn current_source<T: Clone + 'static>() -> Option<T> {
    // Borrowed, not cloned: ambient APIs (a timer's `sleep`) call this once per use, and
    // cloning the executor's and the source's `Arc`s cost two shared-counter round trips each
    // (up to 5% of a run arming 100,000 timers).
    let Some(current) = current() else {
        let shared = ambient_shared()?;
        return shared.source.component(TypeId::of::<T>())?.downcast_ref::<T>().cloned();
    };
    let current = current.try_borrow().ok()?;
    current.shared.source.component(TypeId::of::<T>())?.downcast_ref::<T>().cloned()
}
