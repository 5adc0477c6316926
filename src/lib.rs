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
//!   `spawn_local`, task handles that report panics, cancellation at shutdown.
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
//! # Writing an event source
//!
//! A complete custom source: a set of flags that any thread raises, each running a callback on
//! the loop. It is passive (it never blocks itself), so it is composed with a blocking source and
//! wakes that source's waiter through the [`Notifier`](source::Notifier) it is attached to,
//! which a [`NotifierSlot`](source::NotifierSlot) keeps (refusing a second driver, whose
//! wake-ups would otherwise be taken from the first). The built-in
//! [`PingSource`](source::PingSource) is the production version of the same idea.
//!
//! ```
//! use std::io;
//! use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
//! use std::sync::{Arc, Mutex};
//! use std::time::Duration;
//!
//! use reactor::source::{CallbackSlot, Notifier, NotifierSlot};
//! use reactor::{Builder, EventSource};
//!
//! struct Flag {
//!     raised: AtomicBool,
//!     callback: CallbackSlot<dyn FnMut() + Send>,
//! }
//!
//! #[derive(Clone, Default)]
//! struct Flags {
//!     flags: Arc<Mutex<Vec<Arc<Flag>>>>,
//!     notifier: Arc<NotifierSlot>,
//! }
//!
//! impl Flags {
//!     /// Registers `callback`; the returned closure raises the flag from any thread.
//!     fn register(&self, callback: impl FnMut() + Send + 'static) -> impl Fn() + Send + Sync {
//!         let flag = Arc::new(Flag {
//!             raised: AtomicBool::new(false),
//!             callback: CallbackSlot::new(Box::new(callback)),
//!         });
//!         self.flags.lock().unwrap().push(flag.clone());
//!         let notifier = self.notifier.clone();
//!         move || {
//!             flag.raised.store(true, Ordering::Release);
//!             notifier.notify(); // wake the blocked waiter: it must dispatch us
//!         }
//!     }
//! }
//!
//! impl EventSource for Flags {
//!     fn wait(&self, _timeout: Option<Duration>) -> io::Result<usize> {
//!         // Passive: dispatch what is ready, never block.
//!         let flags = self.flags.lock().unwrap().clone();
//!         let mut ran = 0;
//!         for flag in flags {
//!             if flag.raised.swap(false, Ordering::Acquire) {
//!                 ran += flag.callback.call(|callback| callback()).map_or(0, |()| 1);
//!             }
//!         }
//!         Ok(ran)
//!     }
//!
//!     fn notify(&self) {
//!         self.notifier.notify();
//!     }
//!
//!     fn can_block(&self) -> bool {
//!         false
//!     }
//!
//!     fn attach(&self, notifier: Notifier) -> io::Result<()> {
//!         self.notifier.attach(notifier) // refuses a second driver with AlreadyExists
//!     }
//! }
//!
//! let flags = Flags::default();
//! let seen = Arc::new(AtomicUsize::new(0));
//! let counter = seen.clone();
//! let raise = flags.register(move || {
//!     counter.fetch_add(1, Ordering::Relaxed);
//! });
//! // The executor composes a passive source with a parking thread to block in.
//! let executor = Builder::new().worker_threads(1).build(flags.clone())?;
//! // One driver at a time: a second executor over the same flags is refused.
//! let second = Builder::new().worker_threads(1).build(flags);
//! assert_eq!(second.err().map(|error| error.kind()), Some(io::ErrorKind::AlreadyExists));
//! std::thread::spawn(raise).join().unwrap();
//! executor.block_on(async {
//!     while seen.load(Ordering::Relaxed) == 0 {
//!         reactor::yield_now().await;
//!     }
//! });
//! # Ok::<(), io::Error>(())
//! ```
//!
//! A blocking source (one that owns an OS wait, like epoll) instead returns `true` from
//! [`can_block`](EventSource::can_block), blocks in [`wait`](EventSource::wait) for at most the
//! timeout, and makes [`notify`](EventSource::notify) interrupt that wait. The
//! [`source`] module documents the five obligations in full.
#![doc(test(attr(deny(warnings))))]

pub mod coop;
mod executor;
pub mod source;
pub mod sync;
mod task;

pub use coop::yield_now;
pub use executor::{
    current_source, BlockOnError, Builder, Executor, Handle, OnSourceError, SourceError, SpawnError,
    SpawnLocalError,
};
pub use source::EventSource;
pub use task::{JoinError, Task};

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
