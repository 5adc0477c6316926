//! [`Signals`], [`Recv`] and [`ctrl_c`]: the public API.

use std::ffi::c_int;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use reactor::io::{AsIoHandle, IoHandle};

use crate::broadcast::Subscription;
use crate::driver::Driver;
use crate::handler::{global, Global};
use crate::sync::StdArc;

/// A listener for chosen signals, delivered to a task through the I/O backend of an executor.
///
/// While any listener of a signal exists in the process, a handler of this crate is installed
/// for it: the signal no longer has its default effect (SIGINT no longer ends the process), and
/// a handler installed before it still runs (it is called after ours). Each listener sees every
/// delivery made after it was created, and any number of listeners, in any number of runtimes,
/// see each delivery. When the last listener of a signal is dropped, the disposition found when
/// the first was created is restored (see the crate docs, "How it works").
///
/// The deliveries are read by the loop of the I/O backend the listener was made on, or by the
/// loop of any other backend in the process with listeners, whichever runs first; a listener
/// whose runtime has shut down hears of deliveries only while another runtime with listeners
/// still runs.
///
/// Deliveries coalesce, as the OS's do: a signal delivered several times before a
/// [`recv`](Self::recv) is seen once (the kernel itself keeps at most one pending instance of a
/// standard signal). A listener of several signals sees each of them.
///
/// # Examples
///
/// ```
/// use reactor_signal::Signals;
///
/// reactor_epoll::block_on(async {
///     let mut signals = Signals::new(&[libc::SIGUSR1])?;
///     // SAFETY: kill(2) with our own pid and a signal we listen for.
///     unsafe { libc::kill(libc::getpid(), libc::SIGUSR1) };
///     assert_eq!(signals.recv().await?, libc::SIGUSR1);
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Signals {
    /// One per signal listened to, with the signal's number.
    subscriptions: Vec<(c_int, Subscription)>,
    /// Where the next poll starts, so that a signal delivered often does not starve another.
    next: usize,
    global: &'static Global,
    /// Keeps the pipe registered with this listener's I/O backend; dropped last.
    _driver: StdArc<Driver>,
}

impl Signals {
    /// A listener for `signals` (libc constants such as `libc::SIGTERM`; a number listed twice
    /// counts once), on the I/O backend of the executor running the current task.
    ///
    /// # Errors
    ///
    /// - `InvalidInput`, naming the signal, for an empty list, 0, a negative or out-of-range
    ///   number, on Linux the numbers the C library reserves for itself (32 up to `SIGRTMIN`),
    ///   SIGKILL and SIGSTOP (no handler can catch them), and the synchronous fault signals
    ///   SIGSEGV, SIGBUS, SIGILL and SIGFPE (their handler runs on the faulting instruction,
    ///   which runs again on return: no task could ever answer them);
    /// - `NotFound` outside an executor whose source has an I/O backend (use
    ///   [`with_source`](Self::with_source) there);
    /// - the errors of [`with_source`](Self::with_source).
    pub fn new(signals: &[i32]) -> io::Result<Self> {
        let numbers = validate(signals)?;
        let backend = IoHandle::current().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "Signals::new found no I/O backend: call it inside an executor whose source has one \
                 (an Epoll, a PollingSource, a Runtime), or use Signals::with_source",
            )
        })?;
        Self::listen(numbers, &backend)
    }

    /// A listener for `signals` on the I/O backend of `source` (an [`IoHandle`], a runtime's
    /// source, an `Epoll`, ...), whose loop then reads the deliveries.
    ///
    /// # Errors
    ///
    /// - `InvalidInput` as for [`new`](Self::new);
    /// - `NotFound` if `source` has no I/O backend;
    /// - the errors of creating the process's self-pipe (once per process), of registering its
    ///   read end with the backend (once per backend), and of `sigaction`.
    pub fn with_source(signals: &[i32], source: &(impl AsIoHandle + ?Sized)) -> io::Result<Self> {
        let numbers = validate(signals)?;
        let backend = source.io_handle().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "Signals::with_source was given a source with no I/O backend (an Epoll, a \
                 PollingSource or your own IoSource)",
            )
        })?;
        Self::listen(numbers, &backend)
    }

    fn listen(numbers: Vec<c_int>, backend: &IoHandle) -> io::Result<Self> {
        let global = global()?;
        let driver = global.drivers.on(backend)?;
        let mut this =
            Self { subscriptions: Vec::with_capacity(numbers.len()), next: 0, global, _driver: driver };
        for signal in numbers {
            let index = signal as usize; // validated: 1..SLOTS
                                         // Subscribed before the handler is installed: a delivery right after installation
                                         // is a new generation for this listener.
            let Some(subscription) = global.hub.subscribe(index) else { continue };
            if let Err(error) = global.add_listener(signal, index) {
                global.hub.unsubscribe(&subscription);
                return Err(error); // `this`'s drop releases the signals added so far
            }
            this.subscriptions.push((signal, subscription));
        }
        Ok(this)
    }

    /// Waits for the next delivery of one of the signals and returns its number.
    ///
    /// Cancel-safe: dropping the future loses nothing (a delivery not yet returned is seen by the
    /// next call). Deliveries made before this listener was created are not seen; several made
    /// since the last call are seen once.
    ///
    /// # Errors
    ///
    /// None today: everything that can fail was checked by [`new`](Self::new). The `Result`
    /// leaves room for a backend whose registration can fail later.
    pub fn recv(&mut self) -> Recv<'_> {
        Recv { signals: self }
    }

    /// Polls for the next delivery (the poll form of [`recv`](Self::recv)): `Ready` with the
    /// signal's number, or `Pending` with the task's waker kept until one of the signals is
    /// delivered.
    ///
    /// # Errors
    ///
    /// None today (see [`recv`](Self::recv)).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<i32>> {
        let count = self.subscriptions.len();
        for offset in 0..count {
            let at = (self.next + offset) % count;
            let (signal, subscription) = &mut self.subscriptions[at];
            if self.global.hub.poll(subscription, cx).is_ready() {
                self.next = (at + 1) % count;
                return Poll::Ready(Ok(*signal));
            }
        }
        Poll::Pending
    }

    /// The signals this listener listens for, in ascending order.
    pub fn signals(&self) -> impl Iterator<Item = i32> + '_ {
        self.subscriptions.iter().map(|(signal, _)| *signal)
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        for (signal, subscription) in &self.subscriptions {
            self.global.hub.unsubscribe(subscription);
            self.global.remove_listener(*signal, subscription.signal());
        }
    }
}

impl fmt::Debug for Signals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signals")
            .field("signals", &self.signals().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// A stream of deliveries, one item per [`recv`](Signals::recv); it never ends.
impl futures_core::Stream for Signals {
    type Item = io::Result<i32>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_recv(cx).map(Some)
    }
}

/// The future of [`Signals::recv`]: the number of the next signal delivered.
#[must_use = "futures do nothing unless polled"]
pub struct Recv<'a> {
    signals: &'a mut Signals,
}

impl Future for Recv<'_> {
    type Output = io::Result<i32>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().signals.poll_recv(cx)
    }
}

impl fmt::Debug for Recv<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recv").field("signals", &self.signals).finish()
    }
}

/// Waits for Ctrl-C (SIGINT), on the I/O backend of the executor running the current task.
///
/// The listener is created when the future is first polled (so it may be created outside a
/// task and awaited inside one): a SIGINT before that has its usual effect (by default it ends
/// the process). While the future lives, SIGINT does not end the process; once it is dropped
/// (or has completed) and no other listener of SIGINT is left, Ctrl-C ends the process again.
///
/// # Errors
///
/// Those of [`Signals::new`]: `NotFound` when polled outside an executor with an I/O backend.
///
/// # Examples
///
/// ```no_run
/// # reactor_epoll::block_on(async {
/// reactor_signal::ctrl_c().await?;
/// println!("shutting down");
/// # Ok::<(), std::io::Error>(())
/// # })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn ctrl_c() -> io::Result<()> {
    let mut signals = Signals::new(&[libc::SIGINT])?;
    signals.recv().await.map(drop)
}

/// The signals to listen for, checked, sorted and without duplicates.
fn validate(signals: &[i32]) -> io::Result<Vec<c_int>> {
    if signals.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "no signals to listen for: the list is empty",
        ));
    }
    let mut numbers = Vec::with_capacity(signals.len());
    for &signal in signals {
        if let Some(reason) = refusal(signal) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("signal {}: {reason}", describe(signal)),
            ));
        }
        numbers.push(signal);
    }
    numbers.sort_unstable();
    numbers.dedup();
    Ok(numbers)
}

/// Why `signal` cannot be listened to, if it cannot.
fn refusal(signal: c_int) -> Option<String> {
    let highest = highest_signal();
    if signal <= 0 || signal > highest {
        return Some(format!("out of range: signal numbers run from 1 to {highest} here"));
    }
    if signal == libc::SIGKILL || signal == libc::SIGSTOP {
        return Some("cannot be caught: the kernel never runs a handler for it".into());
    }
    if [libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE].contains(&signal) {
        return Some(
            "a synchronous fault: its handler runs on the faulting instruction, which runs again on \
             return, so no task could answer it"
                .into(),
        );
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if signal > 31 && signal < libc::SIGRTMIN() {
        return Some(format!(
            "reserved by the C library for its threads (real-time signals start at SIGRTMIN = {})",
            libc::SIGRTMIN()
        ));
    }
    None
}

/// The highest signal number listeners may ask for: `SIGRTMAX` on Linux, 31 elsewhere (the
/// classic signals; the slots stop at 64).
fn highest_signal() -> c_int {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        libc::SIGRTMAX().min(crate::handler::SLOTS as c_int - 1)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        31
    }
}

/// `signal`'s number, with its name when it has a well-known one: "9 (SIGKILL)".
fn describe(signal: c_int) -> String {
    let names = [
        (libc::SIGHUP, "SIGHUP"),
        (libc::SIGINT, "SIGINT"),
        (libc::SIGQUIT, "SIGQUIT"),
        (libc::SIGILL, "SIGILL"),
        (libc::SIGTRAP, "SIGTRAP"),
        (libc::SIGABRT, "SIGABRT"),
        (libc::SIGBUS, "SIGBUS"),
        (libc::SIGFPE, "SIGFPE"),
        (libc::SIGKILL, "SIGKILL"),
        (libc::SIGUSR1, "SIGUSR1"),
        (libc::SIGSEGV, "SIGSEGV"),
        (libc::SIGUSR2, "SIGUSR2"),
        (libc::SIGPIPE, "SIGPIPE"),
        (libc::SIGALRM, "SIGALRM"),
        (libc::SIGTERM, "SIGTERM"),
        (libc::SIGCHLD, "SIGCHLD"),
        (libc::SIGCONT, "SIGCONT"),
        (libc::SIGSTOP, "SIGSTOP"),
        (libc::SIGTSTP, "SIGTSTP"),
        (libc::SIGTTIN, "SIGTTIN"),
        (libc::SIGTTOU, "SIGTTOU"),
        (libc::SIGURG, "SIGURG"),
        (libc::SIGWINCH, "SIGWINCH"),
    ];
    match names.iter().find(|(number, _)| *number == signal) {
        Some((_, name)) => format!("{signal} ({name})"),
        None => signal.to_string(),
    }
}
