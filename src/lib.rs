//! Build async runtimes out of pluggable event sources.
//!
//! An event loop registers interest in events together with a callback, waits for them in bulk,
//! and runs the callback of each event that completed. An async task that has to wait registers
//! its [waker](std::task::Waker) as that callback, so when the event fires the task goes back on
//! the run queue. `reactor` is that machinery with the event source left open:
//!
//! - [`EventSource`] is the trait every source implements: epoll, timers and channels (the
//!   `reactor-epoll`, `reactor-timer` and `reactor-channel` crates) and your own, alike.
//! - [`Executor`] runs tasks over any source: a work-stealing thread pool, `block_on`,
//!   `spawn_local`, task handles that report panics, cancellation at shutdown; or, with no
//!   thread of its own, turn by turn inside a GUI's or compositor's event loop ([`Host`]).
//!   `!Send` tasks run on the thread that spawns them (see [below](#tasks-that-are-not-send)),
//!   and [`task_local!`] binds a value to a task wherever it runs.
//! - [`source`] holds the portable sources: [`Parking`](source::Parking) (block a thread, no OS
//!   resources), [`PingSource`](source::PingSource) (callbacks triggered from any thread),
//!   [`Composite`](source::Composite) (many sources, one of which blocks), and the two building
//!   blocks every source needs: [`CallbackSlot`](source::CallbackSlot) (the deregistration
//!   guarantee) and [`NotifierSlot`](source::NotifierSlot) (one driver, woken on demand).
//! - [`sync`] holds the locks, atomics, cells and threads `reactor` is built on, which become
//!   [loom](https://docs.rs/loom)'s under `--cfg reactor_loom --cfg loom`: write a source on
//!   them and loom checks it together with the real executor (the `reactor-loom` crate has the
//!   rest of the kit).
//!
//! ```
//! use reactor::{source::Parking, Executor};
//!
//! let executor = Executor::new(Parking::new())?;
//! let task = executor.spawn(async { "hello from a worker" });
//! assert_eq!(executor.block_on(task)?, "hello from a worker");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Tasks that are not `Send`
//!
//! A future holding an `Rc`, a `RefCell` shared with its siblings or a GUI handle cannot move
//! between threads, so it cannot go to the pool. It runs on the thread that owns it instead:
//!
//! - **[`spawn_local`]** (or [`Executor::spawn_local`]) spawns it onto the calling thread's
//!   current [`block_on`](Executor::block_on). That thread alone polls the task, interleaved
//!   with its main future and the pool tasks it helps with, and wakes from any thread (a timer,
//!   an I/O event dispatched elsewhere, a channel send) bring the task back to it. Local tasks may
//!   spawn more local tasks, which go to the same thread.
//! - **Every thread has its own.** Several threads may each run a `block_on` of one executor at
//!   once: each one's local tasks stay on that thread. With
//!   [`worker_threads(0)`](Builder::worker_threads) (the worker-less flavour, also
//!   `reactor_epoll::RuntimeBuilder::worker_threads(0)`) nothing runs on threads of the
//!   executor's own: everything runs inside the `block_on` calls.
//! - **They live as long as the `block_on` call.** When it returns (or unwinds), its local
//!   tasks still pending are cancelled: their futures are dropped on that thread before
//!   `block_on` returns, and awaiting their handles reports cancellation
//!   ([`JoinError::is_cancelled`]). Keep one `block_on` running for the program's local work (its
//!   main future), or use a [`Host`], whose [`spawn_local`](Host::spawn_local) tasks live as long
//!   as the host.
//! - **Outside a `block_on`** (on a plain thread, on a worker, in a
//!   [`spawn_blocking`](Executor::spawn_blocking) job, after `block_on` returned) there is no
//!   local executor: `spawn_local` returns a [`SpawnLocalError`] that hands the future back
//!   ([`into_inner`](SpawnLocalError::into_inner)), rather than panicking.
//! - **From a pool task** it spawns onto the thread that is polling that task: on a worker that
//!   is an error; on a `block_on` thread it works. A worker-less executor with one `block_on`
//!   thread polls every pool task there, so it always works then; with workers, which thread
//!   polls a pool task is not up to you, so spawn local tasks from the `block_on` future or from
//!   other local tasks.
//! - As for any [`Task`], dropping the handle cancels the task; [`detach`](Task::detach) it to
//!   let it run unobserved.
//!
//! ```
//! use std::cell::RefCell;
//! use std::rc::Rc;
//! use reactor::{source::Parking, Builder};
//!
//! let executor = Builder::new().worker_threads(0).build(Parking::new())?;
//! let log = Rc::new(RefCell::new(Vec::new())); // not Send
//! executor.block_on(async {
//!     let writer = reactor::spawn_local({
//!         let log = log.clone();
//!         async move {
//!             for line in ["one", "two"] {
//!                 log.borrow_mut().push(line);
//!                 reactor::yield_now().await;
//!             }
//!         }
//!     })?;
//!     // Never finishes: cancelled (its future dropped, here) when block_on returns.
//!     reactor::spawn_local(std::future::pending::<()>())?.detach();
//!     writer.await?;
//!     Ok::<_, Box<dyn std::error::Error>>(())
//! })?;
//! assert_eq!(*log.borrow(), ["one", "two"]);
//!
//! // No block_on on this thread any more: the future comes back.
//! let refused = reactor::spawn_local(async { 42 }).unwrap_err();
//! assert_eq!(executor.block_on(refused.into_inner()), 42);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Compared with tokio
//!
//! | tokio | reactor |
//! |---|---|
//! | `LocalSet` + `local.block_on(&rt, fut)` / `local.run_until(fut)` | `executor.block_on(fut)`: every `block_on` has a local set of its own |
//! | `tokio::task::spawn_local(fut)` | [`reactor::spawn_local(fut)`](spawn_local), [`Executor::spawn_local`] |
//! | `LocalRuntime` (unstable; a current-thread runtime where `spawn_local` works in every task) | [`worker_threads(0)`](Builder::worker_threads) and one `block_on` thread |
//! | `spawn_local` outside a `LocalSet`: panics | returns [`SpawnLocalError`] with the future |
//! | a `LocalSet`'s tasks outlive one `run_until` call, until the set is dropped | cancelled when their `block_on` returns; a [`Host`]'s live as long as the host |
//! | dropping a `JoinHandle` detaches | dropping a [`Task`] cancels |
//!
//! Task-local values ([`task_local!`], see [`mod@task_local`]) work the same in local and pool
//! tasks: a value bound with [`LocalKey::scope`](task_local::LocalKey::scope) may itself be
//! `!Send` in a local task.
//!
//! # Writing an event source
//!
//! A complete custom source: a mailbox that any thread posts messages to, with a callback that
//! runs for each message on the loop. It is passive (it never blocks itself), so it is composed
//! with a blocking source and wakes that source's waiter through the
//! [`Notifier`](source::Notifier) it is attached to, which a
//! [`NotifierSlot`](source::NotifierSlot) keeps (refusing a second driver, whose wake-ups would
//! otherwise be taken from the first). Three things in it are easy to get wrong:
//!
//! - **Deregistration.** The callback lives in a [`CallbackSlot`](source::CallbackSlot), and
//!   the registration handle's `Drop` removes it: once the drop returns, the callback never runs
//!   again, even if a wait on another thread was about to run it (the drop waits for a call in
//!   progress; from inside the callback itself it returns at once).
//! - **Events before [`attach`](EventSource::attach).** A post before any driver exists
//!   notifies nobody ([`NotifierSlot::notify`](source::NotifierSlot::notify) does nothing yet).
//!   The message is kept, not lost: it stays queued with the `pending` flag up, and
//!   [`deadline`](EventSource::deadline) answers "now" while the flag is up, so the driver's
//!   first wait does not block and dispatches it.
//! - **Lower the flag, then drain the queue.** `pending` coalesces notifies: only the post that
//!   raises it notifies, the others count on the wait that will answer it. So the wait lowers
//!   the flag *first* and drains the queue *second*: a post landing after the swap raises the
//!   flag again and notifies, so whatever the drain misses gets a wait of its own. In the other
//!   order, with two publishers: the wait drains publisher A's message; publisher B pushes its
//!   message, finds the flag still up (A raised it) and skips its notify; the wait then lowers
//!   the flag. B's message sits in the queue with the flag down and nobody told, until some
//!   later post. Tests with one publisher rarely see it; a loom model with two does.
//!
//! ```
//! use std::collections::VecDeque;
//! use std::io;
//! use std::sync::atomic::{AtomicBool, Ordering};
//! use std::sync::{mpsc, Arc, Mutex};
//! use std::time::{Duration, Instant};
//!
//! use reactor::source::{CallbackSlot, Composite, Notifier, NotifierSlot, Parking};
//! use reactor::EventSource;
//!
//! /// A passive source: any thread posts a message; a callback runs for each, on the loop.
//! #[derive(Clone)]
//! struct Mailbox {
//!     shared: Arc<Shared>,
//! }
//!
//! struct Shared {
//!     /// Posted messages that no wait has taken yet.
//!     queue: Mutex<VecDeque<String>>,
//!     /// Raised by the post that notifies, lowered by the wait that answers it; while it is
//!     /// up, further posts skip the notify.
//!     pending: AtomicBool,
//!     callback: CallbackSlot<dyn FnMut(String) + Send>,
//!     notifier: NotifierSlot,
//! }
//!
//! /// Keeps the callback registered; dropping it deregisters.
//! struct Registration(Arc<Shared>);
//!
//! impl Drop for Registration {
//!     fn drop(&mut self) {
//!         self.0.callback.remove(); // no call after this returns
//!     }
//! }
//!
//! impl Mailbox {
//!     fn new(callback: impl FnMut(String) + Send + 'static) -> (Self, Registration) {
//!         let shared = Arc::new(Shared {
//!             queue: Mutex::default(),
//!             pending: AtomicBool::new(false),
//!             callback: CallbackSlot::new(Box::new(callback)),
//!             notifier: NotifierSlot::new(),
//!         });
//!         (Self { shared: shared.clone() }, Registration(shared))
//!     }
//!
//!     /// Posts `message`, from any thread.
//!     fn post(&self, message: &str) {
//!         self.shared.queue.lock().unwrap().push_back(message.to_owned());
//!         // Release: the wait whose swap reads this flag sees the push. Only the post that
//!         // raises the flag notifies (before `attach`, nobody: see `deadline`).
//!         if !self.shared.pending.swap(true, Ordering::Release) {
//!             self.shared.notifier.notify();
//!         }
//!     }
//! }
//!
//! impl EventSource for Mailbox {
//!     fn wait(&self, _timeout: Option<Duration>) -> io::Result<usize> {
//!         // Passive: dispatch what is there, never block. The flag first, then the queue.
//!         // Acquire: every post whose swap came before this one has its message visible.
//!         if !self.shared.pending.swap(false, Ordering::Acquire) {
//!             return Ok(0);
//!         }
//!         let messages = std::mem::take(&mut *self.shared.queue.lock().unwrap());
//!         // Callbacks run outside the queue's lock, so a callback may post.
//!         let mut ran = 0;
//!         for message in messages {
//!             ran += self.shared.callback.call(|callback| callback(message)).map_or(0, |()| 1);
//!         }
//!         Ok(ran)
//!     }
//!
//!     fn notify(&self) {
//!         self.shared.notifier.notify();
//!     }
//!
//!     fn deadline(&self) -> Option<Instant> {
//!         // "Now" while a post is pending, even one that notified nobody. Relaxed: a post that
//!         // raises the flag after this load notifies the attached driver.
//!         self.shared.pending.load(Ordering::Relaxed).then(Instant::now)
//!     }
//!
//!     fn can_block(&self) -> bool {
//!         false
//!     }
//!
//!     fn attach(&self, notifier: Notifier) -> io::Result<()> {
//!         self.shared.notifier.attach(notifier) // refuses a second driver with AlreadyExists
//!     }
//! }
//!
//! let (sender, received) = mpsc::channel();
//! let (mailbox, registration) = Mailbox::new(move |message| sender.send(message).unwrap());
//!
//! // Before any driver: kept, and dispatched by the first wait, which does not block.
//! mailbox.post("early");
//! let source = Composite::new(Parking::new())?.with(mailbox.clone())?;
//! assert_eq!(source.wait(None)?, 1);
//!
//! // One driver at a time: a second composite (or executor) over the mailbox is refused.
//! let second = Composite::new(Parking::new())?.with(mailbox.clone());
//! assert_eq!(second.err().map(|error| error.kind()), Some(io::ErrorKind::AlreadyExists));
//!
//! // From another thread: the post notifies the driver, and the wait returns.
//! let poster = mailbox.clone();
//! std::thread::spawn(move || poster.post("from a thread")).join().unwrap();
//! assert_eq!(source.wait(None)?, 1);
//!
//! // Deregistered: the message is taken, the callback does not run.
//! drop(registration);
//! mailbox.post("late");
//! assert_eq!(source.wait(None)?, 0);
//! assert_eq!(received.try_iter().collect::<Vec<_>>(), ["early", "from a thread"]);
//! # Ok::<(), io::Error>(())
//! ```
//!
//! An [`Executor`] runs tasks over such a source directly (`Executor::new(mailbox)` composes it
//! with a [`Parking`](source::Parking) source to block in), and the default runtime of
//! `reactor-epoll` takes it beside its own sources (`RuntimeBuilder::source`). The built-in
//! [`PingSource`](source::PingSource) is the production version of the same idea.
//!
//! A blocking source (one that owns an OS wait, like epoll) instead returns `true` from
//! [`can_block`](EventSource::can_block), blocks in [`wait`](EventSource::wait) for at most the
//! timeout, and makes [`notify`](EventSource::notify) interrupt that wait. The
//! [`source`] module documents the five obligations in full, and the [`guide`] goes through
//! writing both kinds: a blocking fd source, running it beside the default runtime's TCP,
//! testing with a manual clock, the conformance suite and model-checking with loom.
#![doc(test(attr(deny(warnings))))]

pub mod coop;
mod executor;
pub mod guide;
#[cfg(unix)]
pub mod io;
pub mod source;
pub mod sync;
pub mod task;
pub mod task_local;

pub use coop::yield_now;
pub use executor::metrics;
pub use executor::{
    current_source, spawn_local, BlockOnError, Builder, Executor, Handle, Host, HostError, NoExecutorError,
    OnSourceError, SourceError, SpawnError, SpawnLocalError, Turn,
};
pub use source::EventSource;
pub use task::{AbortHandle, JoinError, Task, TaskId, TaskSet};

// The model build needs both cfgs: `reactor_loom` switches this workspace to loom, `loom` switches
// concurrent-queue and event-listener, without which the executor would block real threads
// inside a model (see the `sync` module docs).
#[cfg(all(reactor_loom, not(loom)))]
compile_error!(
    "reactor: `--cfg reactor_loom` needs `--cfg loom` too; build models with \
     RUSTFLAGS=\"--cfg reactor_loom --cfg loom\" (see the docs of `reactor::sync`)"
);

/// The old path of [`sync`]'s wrapper types, kept for the workspace's backends.
#[doc(hidden)]
pub mod shim {
    pub use crate::sync::{Mutex, UnsafeCell};
}

/// Internals that the workspace's own loom models drive directly; only in `reactor_loom` builds.
/// Not a public API: a source of your own uses [`sync`] and [`sync::seeded_bug`].
#[cfg(reactor_loom)]
#[doc(hidden)]
pub mod loom_internals {
    pub use crate::executor::local_queue::{local_queue, LocalQueue, Overflow, Stealer, CAPACITY};
    pub use crate::sync::seeded_bug;
}
