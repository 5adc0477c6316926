//! The global run queue: tasks scheduled from outside a worker, and local-queue overflow.
//!
//! A mutex around a ring buffer, with the length mirrored in an atomic so that the common
//! questions (is there anything? how much?) cost one load and no lock. Tasks mostly move in
//! batches: a full local queue hands over half of itself under one lock, and a worker takes its
//! fair share under one lock. A lock-free unbounded queue would pay an atomic operation per task
//! both ways; profiles of spawning 100,000 tasks from one task put that at 12% of the run.
//!
//! Runnables are never dropped while the lock is held: dropping one cancels its task, which may
//! wake another task, whose schedule call would push here again.

use std::collections::VecDeque;

use crate::executor::context::RunQueue;
use crate::executor::local_queue::Overflow;
use crate::executor::shared::Runnable;
use crate::sync::atomic::{AtomicUsize, Ordering};
use crate::sync::Mutex;

/// The global queue, unbounded; closed at shutdown so that late pushes are refused and dropped.
pub(crate) struct Injector {
    state: Mutex<State>,
    /// `state.queue.len()`, written under the lock, read without it.
    len: AtomicUsize,
}

struct State {
    queue: VecDeque<Runnable>,
    closed: bool,
}

impl Injector {
    pub(crate) fn new() -> Self {
        Self { state: Mutex::new(State { queue: VecDeque::new(), closed: false }), len: AtomicUsize::new(0) }
    }

    /// Queues `runnable`; after shutdown the runnable is dropped, which cancels its task.
    pub(crate) fn push(&self, runnable: Runnable) {
        // Not `push_batch(once(runnable))`: a generic `extend` of one item cost twice the
        // instructions of this push under the lock (callgrind, 100,000 spawns from a plain
        // thread: 102 against about 50 per push), on the spawning thread's critical path.
        let refused = {
            let mut state = self.state.lock();
            if state.closed {
                Some(runnable)
            } else {
                state.queue.push_back(runnable);
                self.set_len(&state);
                None
            }
        };
        drop(refused);
    }

    /// Pops the oldest task.
    pub(crate) fn pop(&self) -> Option<Runnable> {
        if self.is_empty() {
            return None;
        }
        let mut state = self.state.lock();
        let runnable = state.queue.pop_front();
        self.set_len(&state);
        runnable
    }

    /// Pops the oldest task and moves up to `share` more into `local`, under one lock.
    pub(crate) fn pop_into(
        &self,
        local: &mut RunQueue,
        share: impl FnOnce(usize) -> usize,
    ) -> Option<Runnable> {
        if self.is_empty() {
            return None;
        }
        let mut state = self.state.lock();
        let first = state.queue.pop_front()?;
        for _ in 0..share(state.queue.len()) {
            let Some(runnable) = state.queue.pop_front() else { break };
            // `try_push_back`, not `push_back`: an overflow would come back here, under the lock.
            if let Err(runnable) = local.try_push_back(runnable) {
                state.queue.push_front(runnable);
                break;
            }
        }
        self.set_len(&state);
        Some(first)
    }

    /// How many tasks are queued (a snapshot).
    pub(crate) fn len(&self) -> usize {
        // SeqCst, though Relaxed would do: where a stale answer could lose a wake-up (the sleep
        // handshake), the caller orders this load with a SeqCst fence. But a Relaxed load may be
        // served any value not yet overwritten, and loom explores every one of them: with
        // Relaxed the end-to-end model ran 1,309 s instead of 233 s, and the two-worker executor
        // model 400 s instead of 73 s. On x86 a SeqCst load is a plain load.
        self.len.load(Ordering::SeqCst)
    }

    /// Whether no task is queued (a snapshot, see [`len`](Self::len)).
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Refuses further pushes and drops everything queued.
    pub(crate) fn close_and_drain(&self) {
        let drained = {
            let mut state = self.state.lock();
            state.closed = true;
            let drained = std::mem::take(&mut state.queue);
            self.set_len(&state);
            drained
        };
        drop(drained);
    }

    fn set_len(&self, state: &State) {
        // SeqCst: see `len`. The store is made under the lock, once per push or batch.
        self.len.store(state.queue.len(), Ordering::SeqCst);
    }
}

impl Overflow<Runnable> for Injector {
    fn push_batch(&self, tasks: impl Iterator<Item = Runnable>) {
        let refused: Vec<Runnable> = {
            let mut state = self.state.lock();
            if state.closed {
                tasks.collect()
            } else {
                state.queue.extend(tasks);
                self.set_len(&state);
                Vec::new()
            }
        };
        drop(refused);
    }
}
