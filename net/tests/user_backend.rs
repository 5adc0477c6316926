//! An I/O backend written the way a user writes one, on public APIs only: `poll(2)`,
//! level-triggered, in about two hundred lines; and `reactor-net`'s TCP running on it unchanged.
//!
//! What a backend has to do (the contract of `reactor::io::IoSource`), and how this one does it:
//!
//! 1. **Own a [`Registry`].** `IoHandle::register` takes a key in it for the I/O object's
//!    callback and calls the backend's `add` with the fd and the key. The backend reports what
//!    it observes as `(key, readiness)` pairs to [`Registry::dispatch`] from inside its
//!    [`EventSource::wait`]; the registry runs the callbacks, and ignores keys deregistered
//!    meanwhile (so the backend never has to fear a stale report).
//! 2. **Report each direction once per change.** `reactor-net`'s readiness cache keeps a
//!    direction ready until an operation meets `WouldBlock`. `poll(2)` is level-triggered: it
//!    would report a ready fd at every call until someone drains it, which is a busy loop for a
//!    fd nobody reads. So this backend stops watching a direction once it has reported it, says
//!    so with `needs_rearm() == true`, and watches it again when the I/O object calls `rearm`
//!    (after it cleared the direction from its cache).
//! 3. **Let a blocked wait see a change to the set.** `poll(2)` watches the set it was given. An
//!    fd added or a direction re-armed by another thread while a poll blocks would wait for some
//!    unrelated event, so `add` and `rearm` notify, and the next wait polls the new set.
//! 4. **Notify without losing a wake-up.** `reactor_epoll::FdNotifier` (an eventfd and a flag) is
//!    polled beside the fds and answered after every poll.
//! 5. **Be found.** `component` answers with the backend's `IoHandle`, so that `Async::new` and
//!    the `net` constructors find it from inside a task; `attach` keeps the one driver in a
//!    `NotifierSlot`, which refuses a second (two threads must not poll one backend).
//! 6. **Say whether every hang-up is marked.** Only Linux's `poll` has `POLLRDHUP`, so this
//!    backend keeps `reports_read_closed() == false`: `reactor-net` then makes sure a stream is
//!    drained with one more read instead of trusting a short one.

mod common;

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::io;
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_lite::future::{block_on, poll_once};
use futures_lite::{AsyncReadExt, AsyncWriteExt, StreamExt};
use reactor::io::{DispatchBuffer, IoHandle, IoSource, Readiness, Registry};
use reactor::source::{Notifier, NotifierSlot};
use reactor::sync::Mutex;
use reactor::{EventSource, Executor};
use reactor_epoll::FdNotifier;
use reactor_net::net::{TcpListener, TcpStream};
use reactor_net::Async;

/// A `poll(2)` I/O backend. Clones are handles to the same backend.
#[derive(Clone)]
struct PollBackend {
    shared: Arc<Shared>,
    /// The ambient name of this backend, which `component` answers with.
    io: IoHandle,
}

struct Shared {
    registry: Registry,
    /// What the next poll watches: the fd and the directions armed, per registry key.
    interest: Mutex<HashMap<usize, Interest>>,
    /// Ends a poll: on `notify`, and whenever `interest` grew under a blocked poll.
    notifier: FdNotifier,
    /// The buffers of a wait, reused; held for the whole wait (the executor serialises waits).
    buffers: Mutex<Buffers>,
    driver: NotifierSlot,
}

#[derive(Clone, Copy)]
struct Interest {
    fd: RawFd,
    armed: Readiness,
}

#[derive(Default)]
struct Buffers {
    /// The notifier first, then one entry per fd with a direction armed.
    pollfds: Vec<libc::pollfd>,
    /// The registry key of `pollfds[i + 1]`.
    keys: Vec<usize>,
    reported: Vec<(usize, Readiness)>,
    dispatch: DispatchBuffer,
}

impl PollBackend {
    fn new() -> io::Result<Self> {
        let shared = Arc::new(Shared {
            registry: Registry::default(),
            interest: Mutex::new(HashMap::new()),
            notifier: FdNotifier::new()?,
            buffers: Mutex::new(Buffers::default()),
            driver: NotifierSlot::new(),
        });
        Ok(Self { io: IoHandle::new(shared.clone()), shared })
    }

    /// Number of fds registered.
    fn registrations(&self) -> usize {
        self.shared.registry.count()
    }
}

impl EventSource for PollBackend {
    fn wait(&self, timeout: Option<Duration>) -> io::Result<usize> {
        let shared = &*self.shared;
        // Should two threads wait at once anyway, the second returns instead of blocking.
        let Some(mut buffers) = shared.buffers.try_lock() else {
            return Ok(0);
        };
        let Buffers { pollfds, keys, reported, dispatch } = &mut *buffers;
        pollfds.clear();
        keys.clear();
        pollfds.push(pollfd(shared.notifier.as_fd().as_raw_fd(), Readiness::READABLE));
        for (&key, interest) in shared.interest.lock().iter() {
            if interest.armed != Readiness::NONE {
                pollfds.push(pollfd(interest.fd, interest.armed));
                keys.push(key);
            }
        }
        let count = libc::nfds_t::try_from(pollfds.len()).unwrap_or(libc::nfds_t::MAX);
        // SAFETY: `pollfds` holds `count` initialised entries and lives across the call. poll
        // only reads fd numbers: one closed meanwhile (deregistered while this poll blocked) is
        // reported as `POLLNVAL`, or its number's next owner is polled, never memory unsafety.
        if unsafe { libc::poll(pollfds.as_mut_ptr(), count, timeout_ms(timeout)) } < 0 {
            let error = io::Error::last_os_error();
            // A signal ended the poll: an empty wait, as `EventSource::wait` asks.
            return if error.kind() == io::ErrorKind::Interrupted { Ok(0) } else { Err(error) };
        }
        // Take back the notifications this poll saw, before anything is checked again.
        shared.notifier.after_wait()?;

        // Stop watching what is reported: level-triggered, it would be reported again at every
        // poll until the I/O object drains it, which it tells us by calling `rearm`.
        reported.clear();
        let mut interest = shared.interest.lock();
        for (entry, key) in pollfds[1..].iter().zip(keys.iter()) {
            let readiness = readiness_of(entry.revents);
            // A key deleted while the poll blocked is not reported (its fd may be closed).
            let Some(watched) = interest.get_mut(key).filter(|_| readiness != Readiness::NONE) else {
                continue;
            };
            watched.armed = watched.armed.without(readiness);
            reported.push((*key, readiness));
        }
        drop(interest);
        Ok(shared.registry.dispatch(reported.drain(..), dispatch))
    }

    fn notify(&self) {
        self.shared.notifier.notify();
    }

    fn attach(&self, notifier: Notifier) -> io::Result<()> {
        self.shared.driver.attach(notifier)
    }

    /// `Async::new` and the `net` types ask for the `IoHandle`; `current_source` for `Self`.
    fn component(&self, type_id: TypeId) -> Option<&dyn Any> {
        if type_id == TypeId::of::<IoHandle>() {
            return Some(&self.io);
        }
        (type_id == TypeId::of::<Self>()).then_some(self as &dyn Any)
    }
}

impl IoSource for Shared {
    fn registry(&self) -> &Registry {
        &self.registry
    }

    unsafe fn add(&self, fd: BorrowedFd<'_>, key: usize) -> io::Result<()> {
        let fd = fd.as_raw_fd();
        let mut interest = self.interest.lock();
        if interest.values().any(|watched| watched.fd == fd) {
            let message = format!("fd {fd} is already registered with this poll backend");
            return Err(io::Error::new(io::ErrorKind::AlreadyExists, message));
        }
        // Both directions: what is ready already is reported by the next poll.
        interest.insert(key, Interest { fd, armed: Readiness::READABLE | Readiness::WRITABLE });
        drop(interest);
        self.notifier.notify(); // a poll blocked now does not watch the new fd
        Ok(())
    }

    fn delete(&self, _fd: BorrowedFd<'_>, key: usize) -> io::Result<()> {
        // A poll blocked now may still watch the fd; what it reports for the key is dropped.
        self.interest.lock().remove(&key);
        Ok(())
    }

    fn needs_rearm(&self) -> bool {
        true
    }

    fn rearm(&self, _fd: BorrowedFd<'_>, key: usize, directions: Readiness) -> io::Result<()> {
        let mut interest = self.interest.lock();
        match interest.get_mut(&key) {
            Some(watched) if !watched.armed.contains(directions) => {
                watched.armed = watched.armed | directions;
                drop(interest);
                self.notifier.notify(); // a poll blocked now does not watch these directions
            }
            _ => {} // armed already, or deleted
        }
        Ok(())
    }
}

/// A `pollfd` watching `directions` of `fd`.
fn pollfd(fd: RawFd, directions: Readiness) -> libc::pollfd {
    let mut events = 0;
    if directions.is_readable() {
        events |= libc::POLLIN;
    }
    if directions.is_writable() {
        events |= libc::POLLOUT;
    }
    libc::pollfd { fd, events, revents: 0 }
}

/// What `poll` reported. A hang-up or an error (reported whatever was asked for) makes both
/// directions ready, so that the next operation runs and meets the EOF or the error; the core's
/// `Readiness::from_event` holds that rule for every backend.
fn readiness_of(revents: libc::c_short) -> Readiness {
    let has = |flags: libc::c_short| revents & flags != 0;
    Readiness::from_event(
        has(libc::POLLIN),
        has(libc::POLLOUT),
        false,
        has(libc::POLLHUP | libc::POLLERR | libc::POLLNVAL),
    )
}

/// `poll`'s timeout: whole milliseconds rounded up (a wait may return early, never late), `-1`
/// for none.
fn timeout_ms(timeout: Option<Duration>) -> libc::c_int {
    timeout.map_or(-1, |timeout| {
        libc::c_int::try_from(timeout.as_nanos().div_ceil(1_000_000)).unwrap_or(libc::c_int::MAX)
    })
}

// The tests: reactor-net's TCP on the backend above, through an `Executor` like any other.

/// Bytes that differ per connection and position.
fn message(connection: usize) -> Vec<u8> {
    let len = 1 + connection * 7_919 % 200_000; // up to 200 kB: writes meet `WouldBlock`
    (0..len).map(|i| (connection.wrapping_mul(31).wrapping_add(i * 7) % 251) as u8).collect()
}

fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().enumerate().map(|(i, &b)| (i as u64 + 1) * u64::from(b)).sum()
}

#[test]
fn a_hundred_concurrent_echo_connections_round_trip_their_bytes_on_a_poll_backend() {
    common::bounded("echo on a poll(2) backend", || {
        const CONNECTIONS: usize = 100;
        let backend = PollBackend::new().unwrap();
        let executor = Executor::new(backend.clone()).unwrap();
        let listener = TcpListener::from_std(std::net::TcpListener::bind("127.0.0.1:0").unwrap(), &backend);
        let listener = listener.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = executor.spawn(async move {
            let mut incoming = listener.incoming();
            let mut echoes = Vec::new();
            for _ in 0..CONNECTIONS {
                let (mut reader, mut writer) = incoming.next().await.unwrap()?.into_split();
                echoes.push(reactor::Handle::current().unwrap().spawn(async move {
                    futures_lite::io::copy(&mut reader, &mut writer).await?;
                    writer.close().await
                }));
            }
            for echo in echoes {
                echo.await.unwrap()?;
            }
            Ok::<(), io::Error>(())
        });
        let clients: Vec<_> = (0..CONNECTIONS)
            .map(|connection| {
                executor.spawn(async move {
                    // Writes and reads at once: the echo of a long message comes back while
                    // the rest of it is still being sent.
                    let (mut reader, mut writer) = TcpStream::connect(addr).await?.into_split();
                    let sent = message(connection);
                    let expected = (checksum(&sent), sent.len());
                    let sending = reactor::Handle::current().unwrap().spawn(async move {
                        writer.write_all(&sent).await?;
                        writer.close().await // half-close: the echo ends
                    });
                    let mut received = Vec::new();
                    reader.read_to_end(&mut received).await?;
                    sending.await.unwrap()?;
                    Ok::<_, io::Error>((expected, (checksum(&received), received.len())))
                })
            })
            .collect();
        executor.block_on(async {
            for client in clients {
                let (sent, received) = client.await.unwrap().unwrap();
                assert_eq!(sent, received, "the echo has the bytes sent");
            }
            server.await.unwrap().unwrap();
        });
        assert_eq!(backend.registrations(), 0, "every socket deregistered on drop");
    });
}

#[test]
fn a_peers_half_close_reads_as_eof_on_a_poll_backend() {
    common::bounded("half-close on a poll(2) backend", || {
        let executor = Executor::new(PollBackend::new().unwrap()).unwrap();
        executor.block_on(async {
            // Found ambiently: the backend answers `component` for its `IoHandle`.
            let listener = TcpListener::bind(([127, 0, 0, 1], 0)).await.unwrap();
            let mut client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
            let (mut server, _) = listener.accept().await.unwrap();
            client.write_all(b"request").await.unwrap();
            client.shutdown(Shutdown::Write).unwrap();
            let mut request = Vec::new();
            server.read_to_end(&mut request).await.unwrap();
            assert_eq!(request, b"request");
            assert_eq!(server.read(&mut [0; 8]).await.unwrap(), 0, "EOF stays EOF");
            server.write_all(b"response").await.unwrap();
            let mut response = [0; 8];
            client.read_exact(&mut response).await.unwrap();
            assert_eq!(&response, b"response", "the other direction still works");
        });
    });
}

#[test]
fn dropping_a_tcp_stream_deregisters_it_from_a_poll_backend() {
    common::bounded("deregistration on a poll(2) backend", || {
        let backend = PollBackend::new().unwrap();
        let executor = Executor::new(backend.clone()).unwrap();
        let listener = TcpListener::from_std(std::net::TcpListener::bind("127.0.0.1:0").unwrap(), &backend);
        let listener = listener.unwrap();
        assert_eq!(backend.registrations(), 1);
        let (client, server) = executor.block_on(async {
            let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
            (client, listener.accept().await.unwrap().0)
        });
        assert_eq!(backend.registrations(), 3);
        drop(client);
        assert_eq!(backend.registrations(), 2);
        drop(server);
        drop(listener);
        assert_eq!(backend.registrations(), 0);
    });
}

#[test]
fn a_reported_direction_is_not_reported_again_until_it_is_rearmed() {
    common::bounded("re-arming on a poll(2) backend", || {
        let backend = PollBackend::new().unwrap();
        let (stream, mut peer) = UnixStream::pair().unwrap();
        let stream = Async::with_source(stream, &backend).unwrap();
        // The first poll reports the socket writable, and stops watching that direction: a
        // level-triggered poll would report it again at every wait, a busy loop.
        assert_eq!(backend.wait(Some(Duration::ZERO)).unwrap(), 1);
        assert_eq!(backend.wait(Some(Duration::ZERO)).unwrap(), 0, "writability reported twice");
        // Readability is still watched.
        io::Write::write_all(&mut peer, b"x").unwrap();
        assert_eq!(backend.wait(Some(Duration::from_secs(10))).unwrap(), 1);
        // The reader takes the byte; its next read meets `WouldBlock`, and the I/O object clears
        // readability from its cache and re-arms it: new data is reported again.
        let executor = Executor::new(backend.clone()).unwrap();
        let mut buf = [0; 1];
        executor.block_on((&stream).read_exact(&mut buf)).unwrap();
        let reader = executor.spawn(async move {
            let mut buf = [0; 1];
            (&stream).read_exact(&mut buf).await.map(|()| buf)
        });
        io::Write::write_all(&mut peer, b"y").unwrap();
        assert_eq!(&executor.block_on(reader).unwrap().unwrap(), b"y");
    });
}

#[test]
fn a_direction_rearmed_while_another_thread_polls_is_watched_by_that_poll() {
    common::bounded("re-arming under a blocked poll(2)", || {
        let backend = PollBackend::new().unwrap();
        let (stream, mut peer) = UnixStream::pair().unwrap();
        let stream = Async::with_source(stream, &backend).unwrap();
        // Another thread polls, as an idle executor thread does; it never looks at the stream.
        let done = Arc::new(AtomicBool::new(false));
        let poller = {
            let (backend, done) = (backend.clone(), done.clone());
            std::thread::spawn(move || {
                while !done.load(Ordering::SeqCst) {
                    backend.wait(None).unwrap();
                }
            })
        };
        let mut buf = [0; 1];
        for round in 0..200u8 {
            io::Write::write_all(&mut peer, &[round]).unwrap();
            block_on((&stream).read_exact(&mut buf)).unwrap();
            assert_eq!(buf[0], round);
            // This read meets `WouldBlock` and re-arms readability, most likely while the
            // poller blocks in a poll that does not watch it: unless `rearm` ends that poll,
            // the next byte is never reported.
            let mut reader = &stream;
            let mut read = std::pin::pin!(reader.read(&mut buf));
            assert!(block_on(poll_once(&mut read)).is_none(), "nothing to read yet");
            io::Write::write_all(&mut peer, &[round]).unwrap();
            assert_eq!(block_on(read).unwrap(), 1, "round {round}");
        }
        done.store(true, Ordering::SeqCst);
        backend.notify();
        poller.join().unwrap();
    });
}
