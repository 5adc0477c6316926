//! The runtime embedded in a host's `poll(2)` loop (`Runtime::host`), with real sockets and
//! timers, on every I/O backend: the host watches the runtime's fd (the epoll instance, or the
//! portable backend's poller) and turns whenever it is readable or the last turn's timeout has
//! passed.
//!
//! Every scenario runs under the harness's watchdog ([`common::run_bounded`]), and every poll is
//! bounded: a lost wake-up is a poll that never sees the fd readable, which fails the test
//! instead of hanging it.

mod common;

use std::cell::Cell;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::rc::Rc;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use common::{assert_runs_on, builder, on_every_backend};
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use reactor::{Host, Turn};
use reactor_epoll::net::{TcpListener, TcpStream};
use reactor_epoll::{Backend, Runtime};

on_every_backend!(
    a_turn_dispatches_a_ready_socket_and_runs_the_woken_task_without_blocking,
    a_spawn_from_another_thread_makes_the_fd_readable_and_the_next_turn_runs_it,
    a_timer_deadline_is_the_turns_deadline_and_a_later_turn_fires_it,
    two_runtimes_hosted_on_one_thread_wake_each_other,
    two_runtimes_hosted_on_two_threads_talk_over_tcp,
    a_plain_std_client_is_served_by_a_hosted_echo_server,
    a_runtime_with_workers_can_be_hosted_and_its_workers_run_what_the_turns_dispatch,
    a_wait_cut_short_before_the_host_leaves_nothing_for_its_poll,
);

/// The longest poll a test makes when it expects the runtime's fd to turn readable.
const POLL_LIMIT: Duration = Duration::from_secs(10);

/// A runtime on `backend` with no thread of its own.
fn hosted_runtime(backend: Backend) -> Runtime {
    let runtime = builder(backend).worker_threads(0).build().unwrap();
    assert_runs_on(&runtime, backend);
    runtime
}

/// `poll(2)` on `fds` for readability, at most `timeout` (`None`: [`POLL_LIMIT`]); which are
/// readable.
fn poll(fds: &[BorrowedFd<'_>], timeout: Option<Duration>) -> Vec<bool> {
    let timeout = timeout.unwrap_or(POLL_LIMIT).min(POLL_LIMIT);
    let timeout_ms = i32::try_from(timeout.as_nanos().div_ceil(1_000_000)).unwrap_or(i32::MAX);
    let mut pollfds: Vec<libc::pollfd> =
        fds.iter().map(|fd| libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 }).collect();
    loop {
        // SAFETY: `pollfds` is a valid array of `pollfds.len()` entries for the whole call.
        let ready = unsafe { libc::poll(pollfds.as_mut_ptr(), pollfds.len() as libc::nfds_t, timeout_ms) };
        if ready >= 0 {
            return pollfds.iter().map(|pollfd| pollfd.revents & libc::POLLIN != 0).collect();
        }
        let error = std::io::Error::last_os_error();
        assert_eq!(error.kind(), std::io::ErrorKind::Interrupted, "poll failed: {error}");
    }
}

/// The host loop of one runtime: turn, stop once `done`, else poll the runtime's fd for the
/// turn's timeout. Returns the number of turns.
///
/// Fails on a lost wake-up (no deadline, and the fd never turned readable) and on a spinning
/// host: [`SPIN_LIMIT`] wake-ups in a row, each finding the fd readable and then nothing to do,
/// mean the fd stays readable although the turns consumed what the backend had.
fn host_loop(runtime: &Runtime, host: &Host, done: impl Fn() -> bool) -> usize {
    let mut turns = 0;
    let mut woken = false;
    let mut idle_wake_ups = 0;
    loop {
        let turn: Turn = host.turn(64).unwrap();
        turns += 1;
        if done() {
            return turns;
        }
        if woken && turn.tasks_run() == 0 && !turn.has_more() {
            idle_wake_ups += 1;
            assert!(idle_wake_ups < SPIN_LIMIT, "the host spins: its fd stays readable with nothing to do");
        } else {
            idle_wake_ups = 0;
        }
        let expected_event = turn.timeout().is_none();
        woken = poll(&[runtime.as_fd()], turn.timeout())[0];
        assert!(woken || !expected_event, "the runtime's fd never turned readable: a lost wake-up");
    }
}

/// How many wake-ups in a row with nothing to do make a spinning host: far more than the
/// spurious readiness a scenario's few real events can cause (a socket turning writable that no
/// task waits for, say), far fewer than a spin makes.
const SPIN_LIMIT: usize = 100;

fn a_turn_dispatches_a_ready_socket_and_runs_the_woken_task_without_blocking(backend: Backend) {
    let runtime = hosted_runtime(backend);
    let host = runtime.host().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let listener = TcpListener::from_std(listener, runtime.io()).unwrap();
    // A `!Send` task on the host's thread reads what a plain client writes.
    let received = Rc::new(Cell::new(None));
    let reading = host.spawn_local({
        let received = received.clone();
        async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buffer = [0; 5];
            stream.read_exact(&mut buffer).await.unwrap();
            received.set(Some(buffer));
        }
    });
    let turn = host.turn(8).unwrap();
    assert_eq!((turn.tasks_run(), turn.has_more()), (1, false));
    assert_eq!(poll(&[runtime.as_fd()], Some(Duration::ZERO)), [false], "nothing ready yet");

    let mut client = std::net::TcpStream::connect(addr).unwrap();
    client.write_all(b"hello").unwrap();
    let turns = host_loop(&runtime, &host, || reading.is_finished());
    assert!(turns >= 2);
    assert_eq!(received.get(), Some(*b"hello"));
}

fn a_spawn_from_another_thread_makes_the_fd_readable_and_the_next_turn_runs_it(backend: Backend) {
    let runtime = hosted_runtime(backend);
    let host = runtime.host().unwrap();
    let turn = host.turn(8).unwrap();
    assert_eq!((turn.tasks_run(), turn.has_more(), turn.timeout()), (0, false, None));
    assert_eq!(poll(&[runtime.as_fd()], Some(Duration::ZERO)), [false], "an idle host can sleep");

    for round in 0..3 {
        let handle = runtime.handle();
        let (task_tx, task) = mpsc::channel();
        thread::spawn(move || task_tx.send(handle.spawn(async move { round * 2 })).unwrap()).join().unwrap();
        let task = task.recv().unwrap();
        assert_eq!(poll(&[runtime.as_fd()], None), [true], "round {round}: the host was not woken");
        let turn = host.turn(8).unwrap();
        assert_eq!((turn.tasks_run(), turn.has_more()), (1, false));
        assert!(task.is_finished());
        // The turn's zero-timeout wait consumed the notify: the host can sleep again.
        assert_eq!(poll(&[runtime.as_fd()], Some(Duration::ZERO)), [false], "round {round}: still readable");
    }
}

fn a_timer_deadline_is_the_turns_deadline_and_a_later_turn_fires_it(backend: Backend) {
    let runtime = hosted_runtime(backend);
    let host = runtime.host().unwrap();
    let napping = runtime.spawn(async { reactor_epoll::time::sleep(Duration::from_millis(20)).await });
    let turn = host.turn(8).unwrap();
    assert!(turn.deadline().is_some() && !turn.has_more());
    host_loop(&runtime, &host, || napping.is_finished());
}

fn two_runtimes_hosted_on_one_thread_wake_each_other(backend: Backend) {
    let (a, b) = (hosted_runtime(backend), hosted_runtime(backend));
    let (host_a, host_b) = (a.host().unwrap(), b.host().unwrap());
    // A's task hands work to B and awaits it: B's turn completes it, which wakes A's task
    // through A's fd.
    let b_handle = b.handle();
    let asked = a.spawn(async move {
        reactor_epoll::time::sleep(Duration::from_millis(1)).await;
        b_handle.spawn(async { 40 + 2 }).await.unwrap()
    });
    let mut polls = 0;
    while !asked.is_finished() {
        let (turn_a, turn_b) = (host_a.turn(16).unwrap(), host_b.turn(16).unwrap());
        if asked.is_finished() {
            break;
        }
        let timeout = match (turn_a.timeout(), turn_b.timeout()) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        };
        poll(&[a.as_fd(), b.as_fd()], timeout);
        polls += 1;
        assert!(polls < 10_000, "the hosts spin");
    }
    drop((host_a, host_b));
    assert_eq!(a.block_on(asked).unwrap(), 42);
}

fn two_runtimes_hosted_on_two_threads_talk_over_tcp(backend: Backend) {
    let (addr_tx, addr) = mpsc::channel();
    let server = thread::spawn(move || {
        let runtime = hosted_runtime(backend);
        let host = runtime.host().unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        addr_tx.send(listener.local_addr().unwrap()).unwrap();
        let listener = TcpListener::from_std(listener, runtime.io()).unwrap();
        let echoing = runtime.spawn(async move {
            let (stream, _) = listener.accept().await?;
            let (mut reader, mut writer) = stream.into_split();
            futures_lite::io::copy(&mut reader, &mut writer).await
        });
        host_loop(&runtime, &host, || echoing.is_finished());
        drop(host);
        runtime.block_on(echoing).unwrap().unwrap()
    });
    let addr = addr.recv().unwrap();
    let runtime = hosted_runtime(backend);
    let host = runtime.host().unwrap();
    let talking = runtime.spawn(async move {
        let mut client = TcpStream::connect(addr).await?;
        client.write_all(b"over the host loops").await?;
        client.close().await?;
        let mut echoed = String::new();
        client.read_to_string(&mut echoed).await?;
        Ok::<_, std::io::Error>(echoed)
    });
    host_loop(&runtime, &host, || talking.is_finished());
    drop(host);
    assert_eq!(runtime.block_on(talking).unwrap().unwrap(), "over the host loops");
    assert_eq!(server.join().unwrap(), 19);
}

fn a_plain_std_client_is_served_by_a_hosted_echo_server(backend: Backend) {
    let runtime = hosted_runtime(backend);
    let host = runtime.host().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let listener = TcpListener::from_std(listener, runtime.io()).unwrap();
    let echoing = runtime.spawn(async move {
        let (mut stream, _) = listener.accept().await?;
        let mut buffer = [0; 4];
        stream.read_exact(&mut buffer).await?;
        stream.write_all(&buffer).await?;
        Ok::<_, std::io::Error>(())
    });
    let client = thread::spawn(move || {
        let mut client = std::net::TcpStream::connect(addr).unwrap();
        client.write_all(b"ping").unwrap();
        let mut buffer = [0; 4];
        client.read_exact(&mut buffer).unwrap();
        buffer
    });
    host_loop(&runtime, &host, || echoing.is_finished());
    assert_eq!(&client.join().unwrap(), b"ping");
}

fn a_runtime_with_workers_can_be_hosted_and_its_workers_run_what_the_turns_dispatch(backend: Backend) {
    let runtime = builder(backend).worker_threads(2).build().unwrap();
    assert_runs_on(&runtime, backend);
    // The workers may be waiting in the backend: making the host takes the source over from them.
    let host = runtime.host().unwrap();
    assert_eq!(runtime.host().err(), Some(reactor::HostError::AlreadyHosted));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let listener = TcpListener::from_std(listener, runtime.io()).unwrap();
    let echoing = runtime.spawn(async move {
        let (stream, _) = listener.accept().await?;
        let (mut reader, mut writer) = stream.into_split();
        futures_lite::io::copy(&mut reader, &mut writer).await
    });
    let talking = runtime.spawn(async move {
        let mut client = TcpStream::connect(addr).await?;
        client.write_all(b"beside the workers").await?;
        client.close().await?;
        let mut echoed = String::new();
        client.read_to_string(&mut echoed).await?;
        Ok::<_, std::io::Error>(echoed)
    });
    // The tasks may finish on a worker, which wakes nobody: a task of the host awaits them,
    // and its wake-up reaches the host's poll.
    let both = host.spawn_local(async move { (talking.await, echoing.await) });
    host_loop(&runtime, &host, || both.is_finished());
    // Once the host is gone, the workers wait in the backend again.
    drop(host);
    let napping = runtime.spawn(async { reactor_epoll::time::sleep(Duration::from_millis(5)).await });
    runtime.block_on(napping).unwrap();
    let (talked, echoed) = runtime.block_on(both).unwrap();
    assert_eq!(talked.unwrap().unwrap(), "beside the workers");
    assert_eq!(echoed.unwrap().unwrap(), 18);
}

/// The one readiness of the portable backend that no turn asked for: `polling` bounds a wait
/// with a timer inside its poller (a timerfd in its epoll set on Linux), and a wait that ends
/// before its timeout leaves that timer armed. A wait made before the host existed (here a
/// `block_on`'s, cut short by a channel send) would make the fd readable at its old deadline,
/// with nothing to do; the host's first turn, whose zero-timeout wait disarms that timer, comes
/// first, so a host loop that turns before it polls never sees it. The epoll backend bounds its
/// waits with `epoll_wait`'s own timeout and leaves nothing behind.
fn a_wait_cut_short_before_the_host_leaves_nothing_for_its_poll(backend: Backend) {
    const CUT_SHORT_AFTER: Duration = Duration::from_millis(50);
    const TIMEOUT: Duration = Duration::from_millis(250);
    let runtime = hosted_runtime(backend);
    let (sender, mut receiver) = reactor_epoll::channel::bounded::<()>(1);
    // The head start lets the `block_on` thread block in the source first (should a loaded
    // machine delay it past the send, its wait is not cut short and the test checks less).
    let sending = thread::spawn(move || {
        thread::sleep(CUT_SHORT_AFTER);
        sender.send_blocking(()).unwrap();
    });
    runtime.block_on(futures_lite::future::or(
        async {
            let _ = receiver.recv().await;
        },
        async { reactor_epoll::time::sleep(TIMEOUT).await },
    ));
    sending.join().unwrap();
    // The timer of `block_on` is gone with its future: nothing is due, and nothing is ready.
    let host = runtime.host().unwrap();
    let turn = host.turn(8).unwrap();
    assert_eq!((turn.tasks_run(), turn.has_more(), turn.timeout()), (0, false, None));
    // Past the old deadline, with margin.
    assert_eq!(poll(&[runtime.as_fd()], Some(TIMEOUT * 2)), [false], "readable with nothing to do");
}
