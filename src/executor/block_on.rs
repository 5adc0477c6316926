//! The `block_on` loop: runs one future on the calling thread while helping the pool, with the
//! thread's `!Send` tasks beside it.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll};
use std::time::Instant;

use crate::coop;
use crate::executor::context::{self, Current, EnterGuard, OwnedQueue};
use crate::executor::host;
use crate::executor::local_tasks::LocalTasks;
use crate::executor::parker::Parker;
use crate::executor::shared::Shared;
use crate::executor::signal::Signal;
use crate::executor::sleep::OwnWork;
use crate::executor::worker::{next_task, run_task, CountedThread, Ticks, EVENT_INTERVAL};
use crate::executor::{BlockOnError, Executor};
use crate::source::EventSource;
use crate::sync::{self, Arc};

impl<S: EventSource + 'static> Executor<S> {
    /// The `block_on` loop; `None` if `deadline` passed first.
    pub(super) fn block_on_until<F: Future>(
        &self,
        future: F,
        deadline: Option<Instant>,
    ) -> Result<Option<F::Output>, BlockOnError<F>> {
        if host::hosts_here(&self.shared) {
            return Err(BlockOnError::new(future));
        }
        let (parker, _in_use) = Parker::enter();
        let signal = Arc::new(Signal::new(parker.clone(), self.shared.source.clone()));
        let local_tasks = LocalTasks::new(signal.clone(), self.shared.clone());
        let spare_index = self.shared.spare_index();
        let spare = self.shared.spare_queue.try_lock().and_then(|mut spare| spare.take());
        let holds_spare = spare.is_some();
        let current = Current {
            shared: self.shared.clone(),
            queue: spare.map(|queue| OwnedQueue::new(spare_index, queue)),
            local_tasks: Some(local_tasks.clone()),
        };
        let entered = match context::enter(current) {
            Ok(entered) => BlockOnExit { entered: Some(entered), shared: &self.shared, local_tasks },
            Err(current) => {
                if let Some(owned) = current.queue {
                    *self.shared.spare_queue.lock() = Some(owned.into_queue(&self.shared));
                }
                return Err(BlockOnError::new(future));
            }
        };
        let _counted = CountedThread::join(&self.shared);
        let waker = sync::waker(signal.clone());
        let mut cx = Context::from_waker(&waker);
        let mut future = pin!(future);
        let mut ticks = Ticks::new(spare_index, self.shared.metrics.outside(holds_spare));
        let local_tasks = &entered.local_tasks;
        let pending = || signal.is_woken() || !local_tasks.is_empty();
        // Whether this thread was picked for pool work and has not taken a pool task since.
        let mut picked = false;
        loop {
            let polled_main = signal.take_woken();
            if polled_main {
                if let Poll::Ready(output) = coop::with_budget(|| future.as_mut().poll(&mut cx)) {
                    return Ok(Some(output));
                }
            }
            if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                return Ok(None);
            }
            let local = local_tasks.pop();
            let ran_local = local.is_some();
            if let Some(runnable) = local {
                run_task(runnable);
                ticks.recorder.polled();
            }
            let pooled = next_task(&self.shared, &mut ticks);
            let ran_pooled = pooled.is_some();
            if let Some(runnable) = pooled {
                if std::mem::take(&mut picked) {
                    self.shared.hand_on_work();
                }
                run_task(runnable);
                ticks.recorder.polled();
            }
            // A main future that keeps waking itself counts as work too, so that the source is
            // still polled while it spins (with no workers nobody else would).
            if ran_local || ran_pooled || polled_main {
                if ticks.advance() % EVENT_INTERVAL == 0 {
                    ticks.publish(&self.shared);
                    self.shared.report(self.shared.poll_events());
                }
                continue;
            }
            let timeout = deadline.map(|deadline| deadline.saturating_duration_since(Instant::now()));
            let own = OwnWork { pending: &pending };
            let parked_at = ticks.recorder.parking();
            let unparked = self.shared.park(&parker, timeout, Some(own));
            ticks.recorder.unparked(parked_at);
            picked = unparked.picked;
            self.shared.report(unparked.result);
        }
    }
}

/// Leaves a `block_on` call, also when its future panics: cancels its `!Send` tasks on this
/// thread, hands the tasks of the borrowed spare queue back to the pool, hands the poll role on
/// to a parked thread, and wakes a sleeper for any task queued.
struct BlockOnExit<'a> {
    entered: Option<EnterGuard>,
    shared: &'a Arc<Shared>,
    local_tasks: std::rc::Rc<LocalTasks>,
}

impl Drop for BlockOnExit<'_> {
    fn drop(&mut self) {
        let current = self.entered.take().and_then(EnterGuard::exit);
        self.local_tasks.cancel_all();
        if let Some(owned) = current.and_then(|current| current.queue) {
            let queue = owned.into_queue(self.shared);
            *self.shared.spare_queue.lock() = Some(queue);
        }
        self.shared.hand_off_poll_role();
        self.shared.wake_for_leftover_work();
    }
}
