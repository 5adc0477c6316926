//! A guide to writing an event source: the choices, the traps, and how to check the result.
//!
//! The [`source`](crate::source) module states the five obligations of an
//! [`EventSource`](crate::EventSource); the [crate documentation](crate#writing-an-event-source)
//! has a complete passive source. This guide goes through the rest in the order you meet it:
//!
//! 1. [Blocking or passive?](#blocking-or-passive)
//! 2. [A passive source: deregistration, events before `attach`, flag and queue](#a-passive-source)
//! 3. [A blocking source over file descriptors](#a-blocking-source-over-file-descriptors)
//! 4. [Composing with the default runtime](#composing-with-the-default-runtime)
//! 5. [Embedding in a host loop](#embedding-in-a-host-loop)
//! 6. [Testing with a manual clock](#testing-with-a-manual-clock)
//! 7. [Checking the contract: the conformance suite](#checking-the-contract-the-conformance-suite)
//! 8. [Model-checking with loom](#model-checking-with-loom)
//!
//! This module has no items: it is documentation only.
//!
//! # Blocking or passive?
//!
//! A composite of sources, and so an executor, blocks in exactly one place. Each source is
//! either the one that blocks or one that never does:
//!
//! | | blocking ([`can_block`](crate::EventSource::can_block) is `true`) | passive (`false`) |
//! |---|---|---|
//! | its events come from | the kernel: fds (epoll, `poll` on fds of its own), or a condition variable | other threads of the process, or the clock |
//! | [`wait`](crate::EventSource::wait) | blocks for at most the timeout (a zero timeout never blocks), then dispatches | dispatches what is ready and returns, whatever the timeout |
//! | [`notify`](crate::EventSource::notify) | ends the blocked wait (for an fd source: [`FdNotifier`](#a-blocking-source-over-file-descriptors)) | forwards to the [`Notifier`](crate::source::Notifier) it was attached to |
//! | [`attach`](crate::EventSource::attach) | records its driver only to refuse a second one | keeps the notifier, and calls it when another thread makes it ready |
//! | examples | `reactor_epoll::Epoll`, [`Parking`](crate::source::Parking) | `reactor_timer::Timer`, `reactor_channel::ChannelSource`, [`PingSource`](crate::source::PingSource) |
//!
//! Choose passive whenever the events do not come from the kernel: a passive source composes
//! with anything, including the default runtime (`reactor_epoll::RuntimeBuilder::source`). A
//! source whose events arrive on file descriptors is naturally blocking (it waits for them), and
//! [composing it with the default runtime](#composing-with-the-default-runtime) then takes one
//! more step. Either way, keep the driver in a [`NotifierSlot`](crate::source::NotifierSlot):
//! it refuses a second composite or executor with `AlreadyExists`, which would otherwise take
//! wake-ups from the first (or, for a blocking source, have two threads block in it).
//!
//! A source found by ambient APIs from inside tasks (as `reactor_timer::sleep` finds its timer)
//! answers [`component`](crate::EventSource::component) for its own type; tasks then reach it
//! with [`current_source`](crate::current_source).
//!
//! # A passive source
//!
//! The crate documentation's mailbox is a complete one; these are the three points it gets right
//! that are easy to get wrong.
//!
//! **Deregistration.** Contract 5: a registration returns a handle, dropping the handle
//! deregisters, and once the drop returns the callback never runs again, even if a wait on
//! another thread had already picked the event up. Keep each callback in a
//! [`CallbackSlot`](crate::source::CallbackSlot), run it with `call`, and call `remove` in the
//! handle's `Drop`: `remove` waits for a call in progress on another thread, and from inside the
//! callback (a callback dropping its own registration) it returns at once. Two rules follow: run
//! callbacks outside your source's own locks (a callback may register, post or drop handles),
//! and never drop a handle while holding a lock its callback takes.
//!
//! **Events before `attach`.** A source exists before its driver: events can arrive before
//! [`attach`](crate::EventSource::attach), when there is nobody to notify
//! ([`NotifierSlot::notify`](crate::source::NotifierSlot::notify) does nothing yet). Keep them,
//! and make sure the first wait does not block past them: [`deadline`](crate::EventSource::deadline)
//! answers "now" (`Some(Instant::now())`) while anything is pending, and a composite never blocks
//! beyond the earliest deadline of its parts. (Notifying from `attach` when something is pending
//! works too; the deadline also covers a driver that starts waiting later.) Dropping early events
//! instead is a legitimate choice only if your documentation says so.
//!
//! **The flag and the queue.** A passive source usually keeps a queue of ready events and a
//! `pending` flag so that a burst of events costs one notify: only the event that raises the flag
//! notifies. The wait must lower the flag *before* it drains the queue. Drained first, two
//! publishers lose an event: the wait drains publisher A's event; publisher B queues its own,
//! finds the flag still up and skips its notify; the wait lowers the flag. B's event is queued,
//! the flag is down, and nothing will wake the waiter for it. Lowered first, a publisher that
//! queues after the swap finds the flag down and notifies: at worst the next wait finds an empty
//! queue. Use a read-modify-write (`swap`) with `Acquire` to lower it, and `Release` (or
//! stronger) where publishers raise it, so the wait sees every event queued before a raise it
//! answers. The same reasoning, for an eventfd instead of a queue, is behind the order inside
//! [`Handshake::after_wait`](crate::io::Handshake::after_wait) (take the edge back, then clear the
//! flag).
//!
//! # A blocking source over file descriptors
//!
//! A blocking source waits in the kernel on fds of its own, and its `notify` has to end that
//! wait from any thread, never lost, cheaply when nobody waits. `reactor_epoll::FdNotifier` does
//! that part: put its fd in the poll set, call `notify` from anywhere, and call `after_wait`
//! after every wait, before looking at anything else. It is [`io::Handshake`](crate::io::Handshake)
//! over an eventfd; the handshake's documentation has the protocol and why its orderings are
//! right, and it is model-checked with loom.
//!
//! A source that runs a callback for each datagram arriving on a socket, blocking in `poll(2)`:
//!
//! ```
//! use std::io;
//! use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
//! use std::os::unix::net::UnixDatagram;
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use reactor::source::{Composite, Notifier, NotifierSlot};
//! use reactor::{EventSource, Executor};
//! use reactor_epoll::FdNotifier;
//! use reactor_timer::Timer;
//!
//! /// A blocking source: a callback for every datagram that arrives on a socket.
//! #[derive(Clone)]
//! struct Datagrams {
//!     shared: Arc<Shared>,
//! }
//!
//! struct Shared {
//!     socket: UnixDatagram,
//!     notifier: FdNotifier,
//!     callback: Box<dyn Fn(&[u8]) + Send + Sync>,
//!     driver: NotifierSlot,
//! }
//!
//! impl Datagrams {
//!     fn new(socket: UnixDatagram, callback: impl Fn(&[u8]) + Send + Sync + 'static) -> io::Result<Self> {
//!         socket.set_nonblocking(true)?;
//!         let notifier = FdNotifier::new()?;
//!         let shared = Shared { socket, notifier, callback: Box::new(callback), driver: NotifierSlot::new() };
//!         Ok(Self { shared: Arc::new(shared) })
//!     }
//!
//!     /// Runs the callback for every datagram queued on the socket; returns how many ran.
//!     fn dispatch(&self) -> io::Result<usize> {
//!         let mut buffer = [0; 1024];
//!         let mut ran = 0;
//!         loop {
//!             match self.shared.socket.recv(&mut buffer) {
//!                 Ok(len) => {
//!                     (self.shared.callback)(&buffer[..len]);
//!                     ran += 1;
//!                 }
//!                 Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(ran),
//!                 Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
//!                 Err(error) => return Err(error),
//!             }
//!         }
//!     }
//! }
//!
//! impl EventSource for Datagrams {
//!     fn wait(&self, timeout: Option<Duration>) -> io::Result<usize> {
//!         let shared = &self.shared;
//!         let mut fds = [shared.socket.as_raw_fd(), shared.notifier.as_fd().as_raw_fd()]
//!             .map(|fd| libc::pollfd { fd, events: libc::POLLIN, revents: 0 });
//!         // Whole milliseconds, rounded up: a wait never returns before its timeout, and a
//!         // zero timeout stays zero (never blocks).
//!         let millis = timeout.map_or(-1, |timeout| {
//!             i32::try_from(timeout.as_nanos().div_ceil(1_000_000)).unwrap_or(i32::MAX)
//!         });
//!         // SAFETY: `fds` is an array of two initialised pollfds, alive for the call.
//!         let polled = unsafe { libc::poll(fds.as_mut_ptr(), 2, millis) };
//!         let error = (polled < 0).then(io::Error::last_os_error);
//!         // After every wait, whatever ended it, before looking at anything else.
//!         shared.notifier.after_wait()?;
//!         match error {
//!             Some(error) if error.kind() == io::ErrorKind::Interrupted => Ok(0), // not an error
//!             Some(error) => Err(error),
//!             None if fds[0].revents != 0 => self.dispatch(),
//!             None => Ok(0),
//!         }
//!     }
//!
//!     fn notify(&self) {
//!         self.shared.notifier.notify();
//!     }
//!
//!     /// A blocking source is its own waiter: the slot only refuses a second driver.
//!     fn attach(&self, notifier: Notifier) -> io::Result<()> {
//!         self.shared.driver.attach(notifier)
//!     }
//! }
//!
//! /// The socket, for registering it elsewhere (see the next section).
//! impl AsFd for Datagrams {
//!     fn as_fd(&self) -> BorrowedFd<'_> {
//!         self.shared.socket.as_fd()
//!     }
//! }
//!
//! let (socket, peer) = UnixDatagram::pair()?;
//! let (sender, mut received) = reactor_channel::unbounded();
//! let source = Datagrams::new(socket, move |datagram| {
//!     let _ = sender.try_send(datagram.to_vec());
//! })?;
//! // It blocks; a timer composes with it, and ends its blocked wait through `notify` when a
//! // sleep registers an earlier deadline from another thread.
//! let executor = Executor::new(Composite::new(source)?.with(Timer::new())?)?;
//! peer.send(b"hello")?;
//! let datagram = executor.block_on(async {
//!     reactor_timer::timeout(Duration::from_secs(10), received.recv()).await
//! });
//! assert_eq!(datagram.expect("the datagram did not arrive")?, b"hello");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The dispatch reads until the socket is empty. A source whose events can arrive faster than it
//! reads them may cap what one wait reads instead (the poll is level-triggered, so what is left
//! makes the next wait return at once): a wait that never ends starves the executor's tasks.
//!
//! # Composing with the default runtime
//!
//! `reactor_epoll::Runtime` blocks in its I/O backend (epoll on Linux), with a timer and a channel
//! source composed beside it.
//! A passive source of yours joins them: `Runtime::builder().source(mailbox)`. A blocking one is
//! refused (`InvalidInput`): a composite blocks in one place, and while a thread blocks in
//! epoll, nothing would wait for your source's events. The way out is that the runtime's I/O
//! backend can wait for your fd too:
//!
//! - **Register the fd with the runtime's I/O backend, and dispatch from its callback.**
//!   `reactor_epoll::Watch::new(fd, runtime.io(), callback)` runs `callback` inside the backend's
//!   wait, on the runtime's loop, whenever the fd becomes readable. The registration is edge-triggered: the callback
//!   hears of new data once, so it must read until `WouldBlock` (a capped read would strand the
//!   rest until the next event). The source's own `wait`, `notify` and notifier are not used in
//!   this mode, and dropping the returned `Watch` deregisters (no callback after the drop
//!   returns). Make the two modes exclude each other, as two drivers would: the repository's
//!   `custom_source` example does exactly this for an inotify source (`Inotify::register_with`,
//!   refused while an executor drives it, and the other way round).
//! - **Or make it no source at all.** If tasks are the only consumers, wrap the fd in
//!   `reactor_epoll::Async` and read it in a task: the runtime's backend does the waiting and the
//!   readiness bookkeeping.
//! - **Or keep it on an executor of its own** (as above, on its own threads) and hand its events
//!   to the runtime's tasks through `reactor_channel` channels, which work across executors.
//!
//! The datagram source above, on the default runtime beside a TCP echo:
//!
//! ```
//! # use std::io;
//! # use std::os::fd::{AsFd, BorrowedFd};
//! # use std::os::unix::net::UnixDatagram;
//! # use std::sync::Arc;
//! # use std::time::Duration;
//! # use reactor::EventSource;
//! # #[derive(Clone)]
//! # struct Datagrams(Arc<(UnixDatagram, Box<dyn Fn(&[u8]) + Send + Sync>)>);
//! # impl Datagrams {
//! #     fn new(socket: UnixDatagram, callback: impl Fn(&[u8]) + Send + Sync + 'static) -> io::Result<Self> {
//! #         socket.set_nonblocking(true)?;
//! #         Ok(Self(Arc::new((socket, Box::new(callback)))))
//! #     }
//! #     fn dispatch(&self) -> io::Result<usize> {
//! #         let mut buffer = [0; 1024];
//! #         let mut ran = 0;
//! #         loop {
//! #             match self.0 .0.recv(&mut buffer) {
//! #                 Ok(len) => { (self.0 .1)(&buffer[..len]); ran += 1; }
//! #                 Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(ran),
//! #                 Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
//! #                 Err(error) => return Err(error),
//! #             }
//! #         }
//! #     }
//! # }
//! # impl EventSource for Datagrams {
//! #     fn wait(&self, _: Option<Duration>) -> io::Result<usize> { self.dispatch() }
//! #     fn notify(&self) {}
//! # }
//! # impl AsFd for Datagrams {
//! #     fn as_fd(&self) -> BorrowedFd<'_> { self.0 .0.as_fd() }
//! # }
//! use futures_lite::{AsyncReadExt, AsyncWriteExt};
//! use reactor_epoll::net::{TcpListener, TcpStream};
//! use reactor_epoll::Runtime;
//!
//! let (socket, peer) = UnixDatagram::pair()?;
//! let (sender, mut received) = reactor_epoll::channel::unbounded();
//! let source = Datagrams::new(socket, move |datagram| {
//!     let _ = sender.try_send(datagram.to_vec());
//! })?;
//!
//! // A blocking source cannot join the runtime's composite...
//! let refused = Runtime::builder().source(source.clone()).build();
//! assert_eq!(refused.err().map(|error| error.kind()), Some(io::ErrorKind::InvalidInput));
//!
//! // ...but its fd can join the runtime's I/O backend, whose wait then dispatches it.
//! let runtime = Runtime::new()?;
//! let dispatcher = source.clone();
//! let watch = reactor_epoll::Watch::new(source, runtime.io(), move |_readiness| {
//!     let _ = dispatcher.dispatch(); // edge-triggered: reads until WouldBlock
//! })?;
//!
//! // Beside a TCP echo server, on the same runtime.
//! let listener = TcpListener::from_std(std::net::TcpListener::bind("127.0.0.1:0")?, runtime.io())?;
//! let addr = listener.local_addr()?;
//! let server = runtime.spawn(async move {
//!     let (stream, _) = listener.accept().await?;
//!     let (mut reader, mut writer) = stream.into_split();
//!     futures_lite::io::copy(&mut reader, &mut writer).await
//! });
//!
//! let (datagram, echo) = runtime.block_on(async {
//!     let both = async {
//!         let mut client = TcpStream::connect(addr).await?;
//!         peer.send(b"over the socket")?;
//!         client.write_all(b"over TCP").await?;
//!         let mut echo = [0; 8];
//!         client.read_exact(&mut echo).await?;
//!         let datagram = received.recv().await.map_err(io::Error::other)?;
//!         Ok::<_, io::Error>((datagram, echo))
//!     };
//!     reactor_epoll::time::timeout(Duration::from_secs(10), both).await
//! })??;
//! assert_eq!(datagram, b"over the socket");
//! assert_eq!(&echo, b"over TCP");
//! drop(watch); // deregisters: no dispatch after this returns
//! drop(server);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Embedding in a host loop
//!
//! A GUI toolkit, winit or a Wayland compositor has an event loop of its own, and reactor can
//! run inside it instead of on threads of its own. Build the executor (or
//! `reactor_epoll::Runtime`) with [`worker_threads(0)`](crate::Builder::worker_threads) and make
//! the loop's thread its [`Host`](crate::Host) with [`Executor::host`](crate::Executor::host).
//! Each iteration of the host's loop runs one non-blocking [`turn`](crate::Host::turn), which
//! dispatches the source's ready events, runs up to a budget of tasks, and returns a
//! [`Turn`](crate::Turn): the host then waits in its own poll, for the turn's
//! [`timeout`](crate::Turn::timeout) at most (zero when it reports more work), on its own fds
//! and on the source's fd: `reactor_epoll::Epoll` implements `AsFd`, and its fd turns readable
//! for every event and every `notify`. Everything that must reach the sleeping host arrives
//! there: I/O, a task spawned or woken on another thread, a timer registered with an earlier
//! deadline. `!Send` tasks spawned with [`Host::spawn_local`](crate::Host::spawn_local) run on
//! the host's thread, in its turns. The `host_loop` example of `reactor-epoll` is a complete
//! `poll(2)` loop with a TCP echo server, a timer and a pipe of the host's own.
//!
//! What this asks of a source: a blocking source that wants to be embeddable exposes an fd that
//! turns readable whenever its `wait` would return, **including after `notify`** (put the
//! notify eventfd inside the set the fd watches, as `Epoll` does, or use
//! `reactor_epoll::FdNotifier`), and its `wait(Some(Duration::ZERO))` consumes that readiness.
//! The host owns the source while it lives: no other thread of the executor waits in it, since
//! that thread would consume the readiness the host's poll is waiting for.
//!
//! # Testing with a manual clock
//!
//! Timing logic (timeouts, retries, intervals) is tested on virtual time:
//! `reactor_timer::Timer::with_manual_clock` gives a timer and the clock that moves it, and
//! `reactor_epoll::RuntimeBuilder::build_with_manual_clock` a whole runtime on such a clock.
//! Time moves only when the test advances it, from any thread, on any number of workers, and an
//! advance that makes a timer due wakes the executor, which fires it. An hour passes in no time:
//!
//! ```
//! use std::future::pending;
//! use std::time::Duration;
//!
//! let (runtime, clock) = reactor_epoll::Runtime::builder().worker_threads(2).build_with_manual_clock()?;
//! // The deadline is fixed when the future is created: here, before the advance.
//! let request = runtime.spawn(runtime.timer().timeout(Duration::from_secs(3600), pending::<()>()));
//! clock.advance(Duration::from_secs(3600));
//! assert!(runtime.block_on(request)?.is_err(), "the timeout fired");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! One trap: a deadline is computed when its timed future is created, from the clock's time then.
//! Inside a spawned task that is when the task first runs, which may be after the test's
//! advance: the task's `timeout(30 s, ...)` then ends 30 s after the advance, and a test that
//! advances once waits forever. Create the timed futures before advancing (as above, with the
//! timer's methods), or let the task tell the test it has started. A clock that advances by
//! itself to the next deadline whenever the executor is idle avoids the question altogether;
//! see the timer crate's clock documentation (`reactor_timer`).
//!
//! A passive source of yours that has deadlines of its own should take its time from the same
//! clock as the code under test, so that a test can move it.
//!
//! # Checking the contract: the conformance suite
//!
//! The `reactor-conformance` crate checks a source against the five obligations, given a
//! constructor for it: bulk wait (a zero timeout never blocks, a timeout is honoured), the
//! never-lost notify (thousands of races with real threads, and under loom), deadlines,
//! composition (a passive source notifies through `attach`, a blocking one is refused where it
//! must be, a second driver is refused) and deregistration (no callback after the handle's drop
//! returns). It runs on every built-in source; run it on yours as a dev-dependency, and each
//! failure names the obligation violated. Its documentation has the exact calls.
//!
//! # Model-checking with loom
//!
//! A lost wake-up shows once in a million runs, if at all (the flag-and-queue bug above passes
//! single-publisher tests every time). [loom](https://docs.rs/loom) explores every interleaving
//! of a small model instead, and reactor's own protocols are all checked that way, each with a
//! seeded bug the models must catch. The same is available for your source, against the real
//! executor: reactor's README, section "Model-checking your own source with loom", gives the
//! `Cargo.toml`, the cfg flags and the command, and how to add a seeded-bug control of your own
//! so that you know your model can fail. Model with two publishers, not one: most lost
//! notifications need a second notify to coalesce into the first.
