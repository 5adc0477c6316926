//! The runtime embedded in a host's `poll(2)` loop (`Runtime::host`), with real sockets and
//! timers: the host watches the epoll fd and turns whenever it is readable or the last turn's
//! timeout has passed.
//!
//! Every scenario runs under a watchdog, and every poll is bounded: a lost wake-up is a poll
//! that never sees the epoll fd readable, which fails the test instead of hanging it.

use std::cell::Cell;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::rc::Rc;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use reactor::{Host, Turn};
use reactor_epoll::net::{TcpListener, TcpStream};
use reactor_epoll::Runtime;

/// How long a scenario may take before it counts as hung. Generous: these machines are shared.
const WATCHDOG: Duration = Duration::from_secs(30);

/// The longest poll a test makes when it expects the epoll fd to turn readable.
const POLL_LIMIT: Duration = Duration::from_secs(10);

/// Runs `scenario` on a thread and fails with `what` if it has not finished within [`WATCHDOG`].
fn within_watchdog(what: &str, scenario: impl FnOnce() + Send + 'static) {
    let (done_tx, done) = mpsc::channel();
    let runner = thread::spawn(move || {
        scenario();
        let _ = done_tx.send(());
    });
    match done.recv_timeout(WATCHDOG) {
        Ok(()) => runner.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(panic) = runner.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("hung for {WATCHDOG:?}: {what}"),
    }
}

fn hosted_runtime() -> Runtime {
    Runtime::builder().worker_threads(0).build().unwrap()
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

/// The host loop of one runtime: turn, stop once `done`, else poll the epoll fd for the turn's
/// timeout. Returns the number of turns.
fn host_loop(runtime: &Runtime, host: &Host, done: impl Fn() -> bool) -> usize {
    let mut turns = 0;
    loop {
        let turn: Turn = host.turn(64).unwrap();
        turns += 1;
        if done() {
            return turns;
        }
        let expected_event = turn.timeout().is_none();
        let readable = poll(&[runtime.as_fd()], turn.timeout())[0];
        assert!(readable || !expected_event, "the epoll fd never turned readable: a lost wake-up");
    }
}

#[test]
fn a_turn_dispatches_a_ready_socket_and_runs_the_woken_task_without_blocking() {
    within_watchdog("a socket read by a hosted task", || {
        let runtime = hosted_runtime();
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
    });
}

#[test]
fn a_spawn_from_another_thread_makes_the_epoll_fd_readable_and_the_next_turn_runs_it() {
    within_watchdog("a spawn waking the host's poll", || {
        let runtime = hosted_runtime();
        let host = runtime.host().unwrap();
        let turn = host.turn(8).unwrap();
        assert_eq!((turn.tasks_run(), turn.has_more(), turn.timeout()), (0, false, None));
        assert_eq!(poll(&[runtime.as_fd()], Some(Duration::ZERO)), [false], "an idle host can sleep");

        for round in 0..3 {
            let handle = runtime.handle();
            let (task_tx, task) = mpsc::channel();
            thread::spawn(move || task_tx.send(handle.spawn(async move { round * 2 })).unwrap())
                .join()
                .unwrap();
            let task = task.recv().unwrap();
            assert_eq!(poll(&[runtime.as_fd()], None), [true], "round {round}: the host was not woken");
            let turn = host.turn(8).unwrap();
            assert_eq!((turn.tasks_run(), turn.has_more()), (1, false));
            assert!(task.is_finished());
        }
    });
}

#[test]
fn a_timer_deadline_is_the_turns_deadline_and_a_later_turn_fires_it() {
    within_watchdog("a hosted timer", || {
        let runtime = hosted_runtime();
        let host = runtime.host().unwrap();
        let napping = runtime.spawn(async { reactor_epoll::time::sleep(Duration::from_millis(20)).await });
        let turn = host.turn(8).unwrap();
        assert!(turn.deadline().is_some() && !turn.has_more());
        host_loop(&runtime, &host, || napping.is_finished());
    });
}

#[test]
fn two_runtimes_hosted_on_one_thread_wake_each_other() {
    within_watchdog("two hosts on one thread", || {
        let (a, b) = (hosted_runtime(), hosted_runtime());
        let (host_a, host_b) = (a.host().unwrap(), b.host().unwrap());
        // A's task hands work to B and awaits it: B's turn completes it, which wakes A's task
        // through A's epoll fd.
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
    });
}

#[test]
fn two_runtimes_hosted_on_two_threads_talk_over_tcp() {
    within_watchdog("two hosts, an echo over TCP", || {
        let (addr_tx, addr) = mpsc::channel();
        let server = thread::spawn(move || {
            let runtime = hosted_runtime();
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
        let runtime = hosted_runtime();
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
    });
}

#[test]
fn a_plain_std_client_is_served_by_a_hosted_echo_server() {
    within_watchdog("a hosted echo server", || {
        let runtime = hosted_runtime();
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
    });
}

#[test]
fn a_runtime_with_workers_can_be_hosted_and_its_workers_run_what_the_turns_dispatch() {
    within_watchdog("a hosted runtime with workers", || {
        let runtime = Runtime::builder().worker_threads(2).build().unwrap();
        // The workers may be waiting in epoll: making the host takes the source over from them.
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
        // Once the host is gone, the workers wait in epoll again.
        drop(host);
        let napping = runtime.spawn(async { reactor_epoll::time::sleep(Duration::from_millis(5)).await });
        runtime.block_on(napping).unwrap();
        let (talked, echoed) = runtime.block_on(both).unwrap();
        assert_eq!(talked.unwrap().unwrap(), "beside the workers");
        assert_eq!(echoed.unwrap().unwrap(), 18);
    });
}
