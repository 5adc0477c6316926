//! Task ids, and which task this thread is polling.

use std::cell::Cell;
use std::fmt;
use std::num::NonZeroU64;

use crate::sync::thread_local;

/// A task's id: unique among all the tasks of the process (pool, local and blocking), never
/// reused. Shown in a [`JoinError`](crate::JoinError); [`id`] gives the current task's from inside it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId(NonZeroU64);

impl TaskId {
    /// A new id. Each thread takes ids from a block of [`ID_BLOCK`] it reserved from a global
    /// counter, so spawning threads do not all contend on one cache line per spawn: ids are
    /// unique, but not ordered by spawn time across threads (tokio promises no order either).
    #[inline]
    pub(crate) fn next() -> Self {
        let id = NEXT_IDS.with(|ids| {
            let (next, end) = ids.get();
            let (next, end) = if next == end { reserve_ids() } else { (next, end) };
            ids.set((next + 1, end));
            next
        });
        // 2^64 spawns do not happen; wrapping to zero would need centuries at a spawn per ns.
        Self(NonZeroU64::new(id).unwrap_or(NonZeroU64::MIN))
    }

    /// The id as a number.
    pub fn as_u64(self) -> u64 {
        self.0.get()
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// How many ids a thread reserves at a time.
const ID_BLOCK: u64 = 1024;

/// Reserves the next block of ids: `(first, end)`.
#[cold]
fn reserve_ids() -> (u64, u64) {
    // A plain std counter, not the loom shim's: it only hands out distinct numbers and
    // synchronises nothing (Relaxed suffices: each `fetch_add` alone is atomic), and loom
    // atomics cannot live in a static shared by every model run.
    static NEXT_BLOCK: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let first = NEXT_BLOCK.fetch_add(ID_BLOCK, std::sync::atomic::Ordering::Relaxed);
    (first, first + ID_BLOCK)
}

thread_local! {
    /// The ids this thread may hand out: `next..end` of its reserved block.
    static NEXT_IDS: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

thread_local! {
    /// The task this thread is polling, if any.
    static CURRENT: Cell<Option<TaskId>> = const { Cell::new(None) };
}

/// The id of the task being polled on this thread.
///
/// # Panics
///
/// Outside a task (in a `block_on`'s own future, say, which is no task): use [`try_id`] there.
pub fn id() -> TaskId {
    try_id().expect("reactor::task::id() called outside a task; use try_id()")
}

/// The id of the task being polled on this thread (its future's `poll` or `Drop`), or `None`
/// outside a task (a `block_on`'s own future is none).
pub fn try_id() -> Option<TaskId> {
    CURRENT.with(Cell::get)
}

/// Marks the thread as polling task `id` until dropped (restoring the task polled before, if
/// tasks nest: a `block_on` inside a blocking job, say).
pub(crate) struct Entered(Option<TaskId>);

impl Entered {
    #[inline]
    pub(crate) fn new(id: TaskId) -> Self {
        Self(CURRENT.with(|current| current.replace(Some(id))))
    }
}

impl Drop for Entered {
    #[inline]
    fn drop(&mut self) {
        CURRENT.with(|current| current.set(self.0));
    }
}
