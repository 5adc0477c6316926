//! The io_uring backend's own behaviour, beyond the shared suites (`reactor-net`'s and
//! `reactor-epoll`'s, which run on it too): deregistration lets go of the fd at once, polls
//! outlive the thread that submitted them, registration errors have precise kinds, and many
//! registrations ended at once are all armed again.
#![cfg(target_os = "linux")]

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use reactor::io::{IoHandle, Readiness};
use reactor::EventSource;
use reactor_uring::{Unavailable, Uring};

/// How long one test may run before the watchdog fails it; never reached when it passes.
const WATCHDOG: Duration = Duration::from_secs(60);

/// A new source, or `None` (the test then passes, saying why) where io_uring is unavailable.
fn uring() -> Option<Uring> {
    match Uring::new() {
        Ok(uring) => Some(uring),
        Err(error) => {
            eprintln!("skipped: io_uring is unavailable here: {}", Unavailable::of(&error));
            None
        }
    }
}

/// Runs `test` on its own thread and fails if it panics or has not returned within
/// [`WATCHDOG`].
fn bounded(test: impl FnOnce() + Send + 'static) {
    let (done, finished) = mpsc::channel();
    let runner = std::thread::spawn(move || {
        test();
        let _ = done.send(());
    });
    match finished.recv_timeout(WATCHDOG) {
        Ok(()) => runner.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Disconnected) => std::panic::resume_unwind(runner.join().unwrap_err()),
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("no result within {WATCHDOG:?}: a lost event or a hang")
        }
    }
}

/// Registers `fd` with a callback that records each readiness it is given.
fn register(handle: &IoHandle, fd: &impl AsFd) -> (reactor::io::IoRegistration, Arc<Mutex<Vec<Readiness>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    // SAFETY: every test deregisters before it closes the fd.
    let registration = unsafe {
        handle.register(fd.as_fd(), Box::new(move |readiness| record.lock().unwrap().push(readiness)))
    }
    .unwrap();
    (registration, seen)
}

/// Waits (short timeouts, up to the watchdog) until `done` holds.
fn wait_until(source: &Uring, done: impl Fn() -> bool) {
    let deadline = Instant::now() + WATCHDOG;
    while !done() {
        assert!(Instant::now() < deadline, "the event never came");
        source.wait(Some(Duration::from_millis(50))).unwrap();
    }
}

#[test]
fn a_socket_closed_after_its_deregistration_sends_its_fin_while_another_thread_waits() {
    let Some(source) = uring() else { return };
    bounded(move || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut peer = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (stream, _) = listener.accept().unwrap();
        // A waiter blocked in the ring, with nothing to wake it but the notify at the end.
        let waiter = {
            let source = source.clone();
            std::thread::spawn(move || source.wait(None).map(drop))
        };
        let (registration, _) = register(source.io_handle(), &stream);
        registration.deregister().unwrap();
        drop(stream);
        // The ring must have let go of the socket's file: the peer reads the FIN now, not at the
        // waiter's next enter (which only the notify below brings).
        peer.set_read_timeout(Some(WATCHDOG / 2)).unwrap();
        let mut byte = [0; 1];
        assert_eq!(peer.read(&mut byte).unwrap(), 0, "the peer saw the close");
        source.notify();
        waiter.join().unwrap().unwrap();
    });
}

#[test]
fn a_registration_made_by_a_thread_that_exited_still_reports_events() {
    let Some(source) = uring() else { return };
    bounded(move || {
        let (mine, mut peer) = UnixStream::pair().unwrap();
        let mine = Arc::new(mine);
        let handle = source.io_handle().clone();
        let registering = {
            let mine = mine.clone();
            std::thread::spawn(move || register(&handle, &*mine))
        };
        let (registration, seen) = registering.join().unwrap();
        source.wait(Some(Duration::ZERO)).unwrap();
        seen.lock().unwrap().clear(); // the initial writability
        peer.write_all(b"x").unwrap();
        wait_until(&source, || seen.lock().unwrap().iter().any(|readiness| readiness.is_readable()));
        registration.deregister().unwrap();
    });
}

#[test]
fn no_callback_runs_for_an_event_that_came_before_the_deregistration() {
    let Some(source) = uring() else { return };
    bounded(move || {
        let (mine, mut peer) = UnixStream::pair().unwrap();
        let (registration, seen) = register(source.io_handle(), &mine);
        peer.write_all(b"x").unwrap();
        // Let the kernel post the CQE, then deregister before any wait reaps it.
        std::thread::sleep(Duration::from_millis(10));
        registration.deregister().unwrap();
        seen.lock().unwrap().clear();
        for _ in 0..3 {
            source.wait(Some(Duration::from_millis(1))).unwrap();
        }
        assert_eq!(*seen.lock().unwrap(), [], "a callback ran after its deregistration returned");
        assert_eq!(source.registrations(), 0);
    });
}

/// (The shared suite, `reactor-net`'s `registration_errors`, checks the same kinds and a closed
/// fd's `InvalidInput` on every backend; this is the backend's own view of them.)
#[test]
fn registration_errors_have_precise_kinds() {
    let Some(source) = uring() else { return };
    let handle = source.io_handle();
    let file = std::fs::File::open("/proc/self/exe").unwrap();
    // SAFETY: refused, so nothing is registered.
    let refused = unsafe { handle.register(file.as_fd(), Box::new(|_| {})) }.unwrap_err();
    assert_eq!(refused.kind(), io::ErrorKind::Unsupported, "{refused}");

    let (mine, _peer) = UnixStream::pair().unwrap();
    let (registration, _) = register(handle, &mine);
    // SAFETY: refused, so nothing is registered twice.
    let twice = unsafe { handle.register(mine.as_fd(), Box::new(|_| {})) }.unwrap_err();
    assert_eq!(twice.kind(), io::ErrorKind::AlreadyExists, "{twice}");
    registration.deregister().unwrap();
    assert_eq!(source.registrations(), 0);
}

#[test]
fn a_hang_up_is_reported_with_read_closed() {
    let Some(source) = uring() else { return };
    bounded(move || {
        let (mine, peer) = UnixStream::pair().unwrap();
        let (registration, seen) = register(source.io_handle(), &mine);
        drop(peer);
        wait_until(&source, || {
            seen.lock().unwrap().iter().any(|readiness| readiness.contains(Readiness::READ_CLOSED))
        });
        registration.deregister().unwrap();
    });
}

#[test]
fn hundreds_of_registrations_made_ready_at_once_all_report() {
    let Some(source) = uring() else { return };
    bounded(move || {
        let pairs: Vec<_> = (0..300).map(|_| UnixStream::pair().unwrap()).collect();
        let registrations: Vec<_> =
            pairs.iter().map(|(mine, _)| register(source.io_handle(), mine)).collect();
        for (_, peer) in &pairs {
            (&*peer).write_all(b"x").unwrap();
        }
        let all_read = || {
            registrations
                .iter()
                .all(|(_, seen)| seen.lock().unwrap().iter().any(|readiness| readiness.is_readable()))
        };
        wait_until(&source, all_read);
        for (registration, _) in registrations {
            registration.deregister().unwrap();
        }
        assert_eq!(source.registrations(), 0);
    });
}

/// The echo stress test on one thread (the executor has no workers): 200 connections, each
/// echoing 64 bytes and closing, every byte back. The form that runs under valgrind too, whose
/// one-thread-at-a-time scheduler does not see `io_uring_enter` as a blocking call.
#[test]
fn an_echo_stress_on_one_thread_round_trips_every_byte() {
    use futures_lite::{AsyncReadExt, AsyncWriteExt, StreamExt};
    use reactor_net::net::{TcpListener, TcpStream};

    const CONNECTIONS: usize = 200;
    let Some(source) = uring() else { return };
    bounded(move || {
        let executor = reactor::Builder::new().worker_threads(0).build(source).unwrap();
        executor.block_on(async {
            let listener = TcpListener::bind(([127, 0, 0, 1], 0)).await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = reactor::Handle::current().unwrap().spawn(async move {
                let mut incoming = listener.incoming();
                let mut echoes = Vec::new();
                for _ in 0..CONNECTIONS {
                    let stream = incoming.next().await.unwrap().unwrap();
                    echoes.push(reactor::Handle::current().unwrap().spawn(async move {
                        let (mut reader, mut writer) = stream.into_split();
                        futures_lite::io::copy(&mut reader, &mut writer).await.unwrap();
                        writer.close().await.unwrap();
                    }));
                }
                for echo in echoes {
                    echo.await.unwrap();
                }
            });
            let clients: Vec<_> = (0..CONNECTIONS)
                .map(|connection| {
                    reactor::Handle::current().unwrap().spawn(async move {
                        let mut stream = TcpStream::connect(addr).await.unwrap();
                        let sent: Vec<u8> = (0..64).map(|byte| (byte + connection) as u8).collect();
                        stream.write_all(&sent).await.unwrap();
                        stream.close().await.unwrap();
                        let mut received = Vec::new();
                        stream.read_to_end(&mut received).await.unwrap();
                        assert_eq!(received, sent);
                    })
                })
                .collect();
            for client in clients {
                client.await.unwrap();
            }
            server.await.unwrap();
        });
    });
}
