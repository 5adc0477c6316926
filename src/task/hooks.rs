//! Task hooks: user callbacks at a task's spawn, around each of its polls, and at its end
//! (documented on [`TaskMeta`], the public face of this module).

use std::fmt;
use std::marker::PhantomData;
use std::panic::{self, AssertUnwindSafe};

use crate::task::TaskId;

// std's `Arc`, not the loom shim's: the hooks are configuration, written once before any
// thread sees them, as the builder's other hooks.
use std::sync::Arc;

/// A task hook, as the builder stores it.
pub(crate) type TaskHook = Arc<dyn Fn(&TaskMeta<'_>) + Send + Sync>;

/// What kind of task a hook is told about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TaskKind {
    /// A task spawned onto the executor's pool (`spawn`), run by any of its threads.
    Pool,
    /// A `!Send` task spawned with [`spawn_local`](crate::spawn_local), run by the thread of its
    /// `block_on`.
    Local,
    /// A job of the [blocking pool](crate::Executor::spawn_blocking), run by a blocking thread
    /// in one poll.
    Blocking,
}

/// What a task hook is told about the task. Task hooks are user callbacks at a task's spawn,
/// around each of its polls, and at its end.
///
///
/// They are set on the [`Builder`](crate::Builder) (`on_task_spawn`, `on_task_poll_start`,
/// `on_task_poll_end`, `on_task_terminate`) and see every task of the executor: pool tasks,
/// [local](crate::spawn_local) ones and [blocking jobs](crate::Executor::spawn_blocking), told
/// apart by [`TaskMeta::kind`]. With the task's [`TaskId`] they are enough to keep a span per
/// task (entered around each poll) or to feed a task console.
///
/// # When each hook runs
///
/// - spawn: on the spawning thread, as the task is created, before it is first scheduled;
/// - poll start and poll end: on the thread that polls, right around the poll of the spawned
///   future, with [`task::id`](crate::task::id) already giving the task's id. A task aborted
///   before a poll is not polled, so that run has no poll hooks;
/// - terminate: once, on the thread that drops the future, right after it was dropped: when the
///   task completed, panicked, was aborted or was cancelled (by dropping its [`Task`](crate::Task)
///   or at shutdown).
///
/// A hook that panics has its panic contained (the panic hook reports it as for any panic):
/// the task and the thread running it go on as if the hook had returned.
///
/// Hooks cost nothing when none is set: each task carries an empty pointer, which its polls test.
///
/// # Compared with tokio
///
/// tokio's `on_task_spawn`, `on_before_task_poll`, `on_after_task_poll` and `on_task_terminate`
/// (unstable there) are the same four points, and its `TaskMeta` likewise gives the task's id.
/// Differences: reactor's `TaskMeta` tells the kind of task (pool, local, blocking job), and
/// tokio's also gives the spawn's source location, which reactor does not record.
pub struct TaskMeta<'a> {
    id: TaskId,
    kind: TaskKind,
    _task: PhantomData<&'a ()>,
}

impl TaskMeta<'_> {
    /// The task's id, as [`Task::id`](crate::Task::id) and [`task::id`](crate::task::id) give it.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The kind of task.
    pub fn kind(&self) -> TaskKind {
        self.kind
    }
}

impl fmt::Debug for TaskMeta<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskMeta").field("id", &self.id).field("kind", &self.kind).finish()
    }
}

/// The hooks an executor was built with; shared by all its tasks.
#[derive(Default)]
pub(crate) struct TaskHooks {
    pub(crate) spawn: Option<TaskHook>,
    pub(crate) poll_start: Option<TaskHook>,
    pub(crate) poll_end: Option<TaskHook>,
    pub(crate) terminate: Option<TaskHook>,
}

impl TaskHooks {
    /// The hooks to give each task, `None` if no hook is set (tasks then skip them at no cost).
    pub(crate) fn into_shared(self) -> Option<Arc<Self>> {
        let any = self.spawn.is_some() || self.poll_start.is_some() || self.poll_end.is_some();
        (any || self.terminate.is_some()).then(|| Arc::new(self))
    }
}

/// Runs `hook`, if set, for task `id` of kind `kind`, containing its panic.
///
/// Cold: only executors built with hooks get here, and out of line it keeps every task's
/// spawn, poll and drop as small as without hooks.
#[cold]
#[inline(never)]
pub(crate) fn run(hook: &Option<TaskHook>, id: TaskId, kind: TaskKind) {
    if let Some(hook) = hook {
        let meta = TaskMeta { id, kind, _task: PhantomData };
        let _ = panic::catch_unwind(AssertUnwindSafe(|| hook(&meta)));
    }
}

impl fmt::Debug for TaskHooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskHooks")
            .field("spawn", &self.spawn.is_some())
            .field("poll_start", &self.poll_start.is_some())
            .field("poll_end", &self.poll_end.is_some())
            .field("terminate", &self.terminate.is_some())
            .finish()
    }
}
