//! The process-wide half: the `sigaction` handler, its installation and restoration, the
//! previous dispositions it chains to, and the self-pipe it writes to.

use std::ffi::{c_int, c_void};
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::ptr;

use crate::broadcast::{Hub, Wakeup};
use crate::driver::Drivers;
use crate::sync::{AtomicPtr, Mutex, OnceLock, Ordering};

/// Slots for signal numbers `0..SLOTS`: every number Linux has (1 to 64; 0 unused).
pub(crate) const SLOTS: usize = 65;

/// Everything process-wide, created on the first listener and never dropped (the handler may
/// run at any time, on any thread, and reaches it without a lock).
#[derive(Debug)]
pub(crate) struct Global {
    pub(crate) hub: Hub,
    pub(crate) pipe: Pipe,
    /// Per signal number, the disposition found when our handler was installed (null before the
    /// first installation). Each pointee is leaked and never freed, so a handler still running
    /// after a restore can read it; a new one is leaked only when the disposition found differs
    /// from the last one recorded.
    previous: Box<[AtomicPtr<libc::sigaction>]>,
    /// Per signal number, how many listeners there are: our handler is installed while it is
    /// not zero. Installing and restoring happen under this lock.
    listeners: Mutex<Box<[usize]>>,
    /// The read end's registration on each I/O backend that has listeners.
    pub(crate) drivers: Drivers,
}

/// The process's signal state. A std `OnceLock`, outside the loom shim on purpose: a signal
/// handler reaches it with one acquiring load and no lock, and the models check the protocol
/// (`Hub`) on instances of their own.
static GLOBAL: OnceLock<Global> = OnceLock::new();

/// The process's signal state, created on first use.
///
/// # Errors
///
/// The error of creating the self-pipe (`EMFILE`, ...); the next call tries again.
pub(crate) fn global() -> io::Result<&'static Global> {
    if let Some(global) = GLOBAL.get() {
        return Ok(global);
    }
    let created = Global {
        hub: Hub::new(SLOTS),
        pipe: Pipe::new()?,
        previous: (0..SLOTS).map(|_| AtomicPtr::new(ptr::null_mut())).collect(),
        listeners: Mutex::new(vec![0; SLOTS].into_boxed_slice()),
        drivers: Drivers::default(),
    };
    // Two threads may race here: the loser's pipe is closed, and both use the winner's.
    Ok(GLOBAL.get_or_init(|| created))
}

impl Global {
    /// Counts a new listener of `signal`; the first one installs our handler.
    ///
    /// # Errors
    ///
    /// The error of `sigaction`.
    pub(crate) fn add_listener(&self, signal: c_int, index: usize) -> io::Result<()> {
        let mut listeners = self.listeners.lock();
        if listeners[index] == 0 {
            self.install(signal, index)?;
        }
        listeners[index] += 1;
        Ok(())
    }

    /// Forgets a listener of `signal`; the last one restores the disposition found at
    /// installation, unless someone else replaced our handler since (theirs is kept).
    pub(crate) fn remove_listener(&self, signal: c_int, index: usize) {
        let mut listeners = self.listeners.lock();
        listeners[index] = listeners[index].saturating_sub(1);
        if listeners[index] == 0 {
            self.restore(signal, index);
        }
    }

    fn install(&self, signal: c_int, index: usize) -> io::Result<()> {
        // Record the disposition we replace before installing, so that the first delivery
        // already chains to it.
        let current = query(signal)?;
        self.remember(index, &current);
        // A flag left by a handler of an earlier installation still running when its last
        // listener went is not a delivery for the listeners to come.
        self.hub.clear_pending(index);
        // SAFETY: `sigaction` is plain data; all zeroes is a valid value, completed below.
        let mut ours: libc::sigaction = unsafe { std::mem::zeroed() };
        ours.sa_sigaction = our_handler();
        // Not `SA_ONSTACK`: Rust gives each thread an alternate stack of only `SIGSTKSZ` (8 KiB),
        // sized for the SIGSEGV handler that reports a stack overflow, and every nested delivery
        // of another signal pushes a whole signal frame (about 3 KiB with AVX-512 state), so
        // three nested handlers overflowed it (`tests/nesting.rs`). On the thread's own stack
        // nesting is bounded by the number of signals with handlers, and a thread whose stack is
        // exhausted dies of its SIGSEGV whatever we do.
        ours.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
        // SAFETY: `sa_mask` is a valid `sigset_t` to initialise. No other signal is blocked
        // while the handler runs (the kernel blocks this one): it is reentrant (atomics and one
        // write(2)), so another signal's handler may interrupt it.
        unsafe { libc::sigemptyset(&mut ours.sa_mask) };
        // SAFETY: zeroed, then filled in by `sigaction`.
        let mut replaced: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: both pointers are valid for the call; `ours` names a handler that stays valid
        // for the life of the process.
        if unsafe { libc::sigaction(signal, &ours, &mut replaced) } != 0 {
            return Err(io::Error::last_os_error());
        }
        if !same_action(&replaced, &current) {
            // Someone changed the disposition between our two calls: chain to theirs.
            self.remember(index, &replaced);
        }
        Ok(())
    }

    /// Records `action` as the disposition to chain to and to restore, reusing the last record
    /// when it is the same.
    fn remember(&self, index: usize, action: &libc::sigaction) {
        let slot = &self.previous[index];
        // Acquire: pairs with the Release store below, to compare against a whole record.
        let recorded = slot.load(Ordering::Acquire);
        // SAFETY: a non-null pointer here came from `Box::into_raw` below and is never freed.
        if !recorded.is_null() && same_action(unsafe { &*recorded }, action) {
            return;
        }
        // Leaked on purpose: a handler running on another thread may read it at any later time.
        let leaked = Box::into_raw(Box::new(*action));
        // Release: the handler's Acquire load then sees the whole record.
        slot.store(leaked, Ordering::Release);
    }

    fn restore(&self, signal: c_int, index: usize) {
        let Ok(current) = query(signal) else { return };
        if current.sa_sigaction != handle as extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void) as usize
        {
            return;
        }
        // Acquire: pairs with `remember`'s Release store.
        let recorded = self.previous[index].load(Ordering::Acquire);
        let action = if recorded.is_null() {
            default_action()
        } else {
            // SAFETY: never freed (see `remember`).
            unsafe { *recorded }
        };
        // SAFETY: a valid action for the call. A failure leaves our handler installed, which
        // only means deliveries go to no listener; a drop has nobody to report it to.
        unsafe { libc::sigaction(signal, &action, ptr::null_mut()) };
    }

    /// Calls the disposition recorded for `signal` if it is a handler (not the default, not
    /// ignore, not ours).
    fn chain(&self, index: usize, signal: c_int, info: *mut libc::siginfo_t, context: *mut c_void) {
        let Some(slot) = self.previous.get(index) else { return };
        // Acquire: pairs with `remember`'s Release store, so the record is whole.
        let recorded = slot.load(Ordering::Acquire);
        if recorded.is_null() {
            return;
        }
        // SAFETY: never freed (see `remember`).
        let action = unsafe { &*recorded };
        let handler = action.sa_sigaction;
        if handler == libc::SIG_DFL || handler == libc::SIG_IGN || handler == our_handler() {
            return;
        }
        if action.sa_flags & libc::SA_SIGINFO != 0 {
            // SAFETY: a handler installed with SA_SIGINFO is called by the kernel with exactly
            // these three arguments, so its installer wrote a function of this type.
            let handler: extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void) =
                unsafe { std::mem::transmute(handler) };
            handler(signal, info, context);
        } else {
            // SAFETY: without SA_SIGINFO the kernel calls it with the signal number alone.
            let handler: extern "C" fn(c_int) = unsafe { std::mem::transmute(handler) };
            handler(signal);
        }
    }
}

/// The handler: marks the signal pending, writes the pipe's byte, chains the previous handler.
/// Async-signal-safe: atomics, `write(2)`, and errno saved and restored around them.
extern "C" fn handle(signal: c_int, info: *mut libc::siginfo_t, context: *mut c_void) {
    let errno = Errno::save();
    if let (Some(global), Ok(index)) = (GLOBAL.get(), usize::try_from(signal)) {
        global.hub.on_signal(index, &global.pipe);
        global.chain(index, signal, info, context);
    }
    errno.restore();
}

/// [`handle`] as a `sigaction`'s `sa_sigaction`.
fn our_handler() -> libc::sighandler_t {
    handle as extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void) as libc::sighandler_t
}

/// The disposition of `signal` now.
fn query(signal: c_int) -> io::Result<libc::sigaction> {
    // SAFETY: zeroed, then filled in by `sigaction`.
    let mut current: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: a null new action only queries; `current` is valid for the write.
    if unsafe { libc::sigaction(signal, ptr::null(), &mut current) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(current)
}

fn default_action() -> libc::sigaction {
    // SAFETY: all zeroes is `SIG_DFL` with no flags and an empty mask.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = libc::SIG_DFL;
    action
}

/// Whether two dispositions are the same handler, flags and mask.
fn same_action(a: &libc::sigaction, b: &libc::sigaction) -> bool {
    let same_mask = (1..SLOTS as c_int).all(|signal| {
        // SAFETY: both masks are valid `sigset_t`s; an invalid number only returns -1.
        unsafe { libc::sigismember(&a.sa_mask, signal) == libc::sigismember(&b.sa_mask, signal) }
    });
    a.sa_sigaction == b.sa_sigaction && a.sa_flags == b.sa_flags && same_mask
}

/// The self-pipe: a non-blocking Unix stream pair (`socketpair`), created once per process.
#[derive(Debug)]
pub(crate) struct Pipe {
    read: UnixStream,
    write: UnixStream,
}

impl Pipe {
    fn new() -> io::Result<Self> {
        let (read, write) = UnixStream::pair()?;
        read.set_nonblocking(true)?;
        write.set_nonblocking(true)?;
        Ok(Self { read, write })
    }

    /// A new fd for the read end, to register with one I/O backend.
    pub(crate) fn read_end(&self) -> io::Result<UnixStream> {
        self.read.try_clone()
    }
}

impl Wakeup for Pipe {
    fn raise(&self) {
        let byte = 1u8;
        // SAFETY: write(2) is async-signal-safe; the fd stays open for the life of the process
        // (`GLOBAL` is never dropped) and the buffer is one valid byte. A full pipe (`EAGAIN`)
        // is readable already, and the pending flag carries the delivery.
        unsafe { libc::write(self.write.as_raw_fd(), ptr::addr_of!(byte).cast(), 1) };
    }

    fn drain(&self) {
        let mut buffer = [0; 256];
        loop {
            match (&self.read).read(&mut buffer) {
                Ok(0) => return,
                Ok(_) => {}
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                // `WouldBlock`: drained.
                Err(_) => return,
            }
        }
    }
}

/// errno, saved on entry to the handler and restored on exit: the write(2) and sigaction(2) it
/// may make must not change what the interrupted code reads.
struct Errno(c_int);

impl Errno {
    fn save() -> Self {
        // SAFETY: the location is the calling thread's errno, valid for the life of the thread.
        Self(unsafe { *errno_location() })
    }

    fn restore(self) {
        // SAFETY: as in `save`.
        unsafe { *errno_location() = self.0 };
    }
}

#[cfg(any(target_os = "linux", target_os = "dragonfly", target_os = "redox", target_os = "hurd"))]
fn errno_location() -> *mut c_int {
    // SAFETY: no preconditions.
    unsafe { libc::__errno_location() }
}

#[cfg(any(target_os = "android", target_os = "netbsd", target_os = "openbsd"))]
fn errno_location() -> *mut c_int {
    // SAFETY: no preconditions.
    unsafe { libc::__errno() }
}

#[cfg(any(target_vendor = "apple", target_os = "freebsd"))]
fn errno_location() -> *mut c_int {
    // SAFETY: no preconditions.
    unsafe { libc::__error() }
}

#[cfg(any(target_os = "illumos", target_os = "solaris"))]
fn errno_location() -> *mut c_int {
    // SAFETY: no preconditions.
    unsafe { libc::___errno() }
}

#[cfg(not(any(
    target_os = "linux",
    target_os = "dragonfly",
    target_os = "redox",
    target_os = "hurd",
    target_os = "android",
    target_os = "netbsd",
    target_os = "openbsd",
    target_vendor = "apple",
    target_os = "freebsd",
    target_os = "illumos",
    target_os = "solaris",
)))]
compile_error!("reactor-signal does not know where errno lives on this platform");
