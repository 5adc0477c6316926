//! A blocking event source over a pipe, written only against the public API of `reactor` and
//! `reactor_epoll`: [`PipeSource`] runs a callback on the loop for each [`Doorbell`] rung, from
//! any thread, and blocks in `poll(2)` on the read end of its pipe and on an
//! [`FdNotifier`].
//!
//! Each registration has an id. Ringing its doorbell writes the id (8 bytes, so one atomic
//! pipe write) into the pipe; the driver's `wait` wakes on the readable pipe, reads the ids
//! and runs their callbacks. How it stays correct:
//!
//! - **Rings coalesce per doorbell**: a ring raises the doorbell's `rung` flag and writes its id
//!   only when it raised the flag from down; `wait` lowers the flag *before* it runs the
//!   callback. A ring that finds the flag up is covered by the run still to come, so the pipe
//!   holds at most one id per doorbell.
//! - **A full pipe loses nothing**: a ring whose write fails (the pipe holds 64 KiB, 8,192
//!   ids) raises a source-wide `overflow` flag and notifies; the next wait then looks at every
//!   doorbell's flag.
//! - **Events before `attach`** wait in the pipe (or raised the notifier's eventfd), so the
//!   driver's first poll returns at once: a blocking source needs no deadline for them.
//! - **Deregistration**: dropping the [`Registration`] takes the doorbell out of the table and
//!   empties its [`CallbackSlot`], which waits for a run in progress: no callback runs after
//!   the drop returns. Its id may still be in the pipe; `wait` ignores ids it does not know.
//!
//! ```
//! use std::sync::mpsc;
//! use std::time::Duration;
//!
//! use loom_user::pipe_source::PipeSource;
//!
//! let source = PipeSource::new()?;
//! let (ran, runs) = mpsc::channel();
//! let (doorbell, registration) = source.register(move || ran.send(()).unwrap());
//! let executor = reactor::Executor::new(source)?; // a blocking source: its own waiter
//! std::thread::spawn(move || doorbell.ring()).join().unwrap();
//! executor.block_on(async {
//!     while runs.try_recv().is_err() {
//!         reactor::yield_now().await;
//!     }
//! });
//! drop(registration); // no callback runs after this returns
//! # Ok::<(), std::io::Error>(())
//! ```

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd};
use std::time::Duration;

use reactor::source::{CallbackSlot, Notifier, NotifierSlot};
use reactor::sync::atomic::{AtomicBool, Ordering};
use reactor::sync::{Arc, Mutex};
use reactor::EventSource;
use reactor_epoll::FdNotifier;

/// The size of one id in the pipe: well under `PIPE_BUF`, so every write is atomic (all or
/// nothing, never interleaved with another thread's).
const ID: usize = std::mem::size_of::<u64>();

/// A blocking source: runs the callback of every [`Doorbell`] rung since its last wait.
///
/// Clones are handles to the same source (one to give a driver, one to register with).
#[derive(Clone)]
pub struct PipeSource {
    shared: Arc<Shared>,
}

struct Shared {
    /// The read end (non-blocking); only `wait` reads it.
    reader: File,
    /// A partial id left by the last read, and its length (never seen: every id is written
    /// whole, atomically; kept so that a short read could never misalign the ids after it).
    partial: Mutex<([u8; ID], usize)>,
    /// The write end (non-blocking), shared by every doorbell.
    writer: File,
    /// Ends the blocked poll on `notify` (and on a ring that found the pipe full).
    notifier: FdNotifier,
    /// Refuses a second driver; a blocking source is its own waiter, so it never notifies it.
    driver: NotifierSlot,
    /// Up when a ring could not write its id: `wait` must look at every doorbell.
    overflow: AtomicBool,
    /// The registered doorbells by id, and the next id.
    bells: Mutex<(HashMap<u64, Arc<Bell>>, u64)>,
}

struct Bell {
    id: u64,
    /// Up from a ring until the wait that runs the callback for it lowers it.
    rung: AtomicBool,
    callback: CallbackSlot<dyn FnMut() + Send>,
}

impl Bell {
    /// Runs the callback if the doorbell was rung; returns how many callbacks ran (0 or 1).
    fn run(&self) -> usize {
        // Acquire: pairs with the Release raise of every ring that this lowers (a ring that
        // found the flag up wrote nothing and relies on this run), so what they wrote before
        // ringing is visible to the callback. Lowered before the run: a ring after this
        // raises it again and writes its id for the next wait.
        if !self.rung.swap(false, Ordering::Acquire) {
            return 0;
        }
        self.callback.call(|callback| callback()).map_or(0, |()| 1)
    }
}

impl PipeSource {
    /// A source with no doorbells: one pipe and one eventfd.
    ///
    /// # Errors
    ///
    /// The error of `pipe2(2)` or `eventfd(2)`: typically `EMFILE` when out of file descriptors.
    pub fn new() -> io::Result<Self> {
        let (reader, writer) = pipe()?;
        let shared = Shared {
            reader,
            partial: Mutex::new(([0; ID], 0)),
            writer,
            notifier: FdNotifier::new()?,
            driver: NotifierSlot::new(),
            overflow: AtomicBool::new(false),
            bells: Mutex::new((HashMap::new(), 0)),
        };
        Ok(Self { shared: Arc::new(shared) })
    }

    /// Registers `callback`, run on the loop (inside the driver's `wait`) after every ring of
    /// the returned [`Doorbell`]; rings before that run coalesce into it. Dropping the
    /// [`Registration`] deregisters.
    pub fn register(&self, callback: impl FnMut() + Send + 'static) -> (Doorbell, Registration) {
        let mut bells = self.shared.bells.lock();
        let id = bells.1;
        bells.1 += 1;
        let bell = Arc::new(Bell {
            id,
            rung: AtomicBool::new(false),
            callback: CallbackSlot::new(Box::new(callback)),
        });
        bells.0.insert(id, bell.clone());
        drop(bells);
        let doorbell = Doorbell { bell: bell.clone(), shared: self.shared.clone() };
        (doorbell, Registration { bell, shared: self.shared.clone() })
    }

    /// Reads every id in the pipe; returns the doorbells they name that are still registered.
    fn read_ids(&self) -> io::Result<Vec<Arc<Bell>>> {
        let mut ids = Vec::new();
        let mut partial = self.shared.partial.lock();
        let mut buffer = [0; 128 * ID];
        loop {
            let start = partial.1;
            buffer[..start].copy_from_slice(&partial.0[..start]);
            match (&self.shared.reader).read(&mut buffer[start..]) {
                // Only when every write end is closed, which `shared.writer` prevents.
                Ok(0) => break,
                Ok(read) => {
                    let tokens = buffer[..start + read].chunks_exact(ID);
                    let rest = tokens.remainder();
                    partial.0[..rest.len()].copy_from_slice(rest);
                    partial.1 = rest.len();
                    ids.extend(tokens.map(|token| u64::from_ne_bytes(token.try_into().unwrap_or_default())));
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        drop(partial);
        let bells = self.shared.bells.lock();
        // An unknown id is a doorbell rung around its deregistration: nothing to run.
        Ok(ids.iter().filter_map(|id| bells.0.get(id).cloned()).collect())
    }

    /// Runs the callbacks of what the last poll reported; returns how many ran. Never runs a
    /// callback with a lock of the source held (a callback may register or deregister).
    fn dispatch(&self, readable: bool) -> io::Result<usize> {
        let mut ran = 0;
        if readable {
            ran += self.read_ids()?.iter().map(|bell| bell.run()).sum::<usize>();
        }
        // Acquire: pairs with the Release raise of a ring that found the pipe full, so its
        // doorbell's raised flag is seen by the scan below. Lowered before the scan: a ring
        // that overflows after it raises it again and notifies.
        if self.shared.overflow.swap(false, Ordering::Acquire) {
            let bells: Vec<_> = self.shared.bells.lock().0.values().cloned().collect();
            ran += bells.iter().map(|bell| bell.run()).sum::<usize>();
        }
        Ok(ran)
    }
}

impl EventSource for PipeSource {
    /// Blocks in `poll(2)` (at most `timeout`; a zero timeout never blocks) until a doorbell
    /// rings or a notify arrives, then runs the callback of every doorbell rung.
    fn wait(&self, timeout: Option<Duration>) -> io::Result<usize> {
        let shared = &self.shared;
        let mut fds = [shared.reader.as_raw_fd(), shared.notifier.as_fd().as_raw_fd()]
            .map(|fd| libc::pollfd { fd, events: libc::POLLIN, revents: 0 });
        // Whole milliseconds, rounded up: a wait never returns before a short timeout, and a
        // zero timeout stays zero (never blocks). Beyond `i32::MAX` ms it returns early.
        let millis = timeout
            .map_or(-1, |timeout| i32::try_from(timeout.as_nanos().div_ceil(1_000_000)).unwrap_or(i32::MAX));
        // SAFETY: `fds` is an array of two initialised pollfds, alive for the call; both fds
        // stay open while `shared` lives.
        let polled = unsafe { libc::poll(fds.as_mut_ptr(), 2, millis) };
        let error = (polled < 0).then(io::Error::last_os_error);
        // After every wait, whatever ended it, before looking at anything else.
        shared.notifier.after_wait()?;
        match error {
            // A signal: not an error, and nothing is known to be ready.
            Some(error) if error.kind() == io::ErrorKind::Interrupted => self.dispatch(false),
            Some(error) => Err(error),
            None => self.dispatch(fds[0].revents != 0),
        }
    }

    fn notify(&self) {
        self.shared.notifier.notify();
    }

    /// A blocking source is its own waiter: the slot only refuses a second driver.
    fn attach(&self, notifier: Notifier) -> io::Result<()> {
        self.shared.driver.attach(notifier)
    }
}

/// The read end of the pipe, for registering the source with an epoll set (readable).
impl AsFd for PipeSource {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.shared.reader.as_fd()
    }
}

/// Rings one registration's doorbell, from any thread; clones ring the same one.
#[derive(Clone)]
pub struct Doorbell {
    bell: Arc<Bell>,
    shared: Arc<Shared>,
}

impl Doorbell {
    /// Makes the driver's wait run the registration's callback (once for any number of rings
    /// before that run). Ringing after the registration was dropped does nothing.
    pub fn ring(&self) {
        // Release: the wait's Acquire swap that lowers the flag sees what the caller wrote
        // before ringing. A read-modify-write: finding the flag up means the lowering swap is
        // still to come, so the run after it covers this ring.
        if self.bell.rung.swap(true, Ordering::Release) {
            return;
        }
        loop {
            match (&self.shared.writer).write(&self.bell.id.to_ne_bytes()) {
                // All or nothing: a pipe write of at most `PIPE_BUF` bytes is atomic.
                Ok(_) => return,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                // The pipe is full (or the write failed otherwise): the next wait looks at
                // every doorbell instead.
                Err(_) => break,
            }
        }
        // Release: the wait's Acquire swap of `overflow` then sees this doorbell's raised flag.
        self.shared.overflow.store(true, Ordering::Release);
        self.shared.notifier.notify();
    }
}

/// Keeps a callback registered with a [`PipeSource`]; dropping it deregisters.
pub struct Registration {
    bell: Arc<Bell>,
    shared: Arc<Shared>,
}

impl Drop for Registration {
    /// Takes the doorbell out of the source and waits for a run of its callback in progress on
    /// another thread: once this returns, the callback never runs again. (Called from inside
    /// the callback itself, it returns at once and the callback is dropped when it returns.)
    fn drop(&mut self) {
        let removed = self.shared.bells.lock().0.remove(&self.bell.id);
        // Not under the table's lock: `remove` waits for the callback, which may register.
        self.bell.callback.remove();
        drop(removed);
    }
}

/// A non-blocking, close-on-exec pipe: (read end, write end).
fn pipe() -> io::Result<(File, File)> {
    let mut fds = [0; 2];
    // SAFETY: `fds` is an array of two c_ints for `pipe2` to fill.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `pipe2` succeeded: both fds are open, and nothing else owns them.
    Ok(unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) })
}

impl fmt::Debug for PipeSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipeSource")
            .field("registered", &self.shared.bells.lock().0.len())
            .field("attached", &self.shared.driver.is_attached())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Doorbell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Doorbell").field("id", &self.bell.id).finish_non_exhaustive()
    }
}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration").field("id", &self.bell.id).finish_non_exhaustive()
    }
}
