//! Several tasks waiting on one I/O object (issue 11): every waiter is woken by the event that
//! concerns it, and waiters on an idle fd are not polled at all; on each backend.

mod common;

use std::future::{poll_fn, Future};
use std::io::Write;
use std::net::{SocketAddr, UdpSocket};
use std::os::unix::net::UnixStream;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::task::{Context, Poll};
use std::time::Duration;

use common::{on_every_backend, Backend, Source};
use futures_lite::AsyncReadExt;
use reactor::{Executor, Task};
use reactor_net::net::{TcpListener, UdpSocket as AsyncUdpSocket};
use reactor_net::Async;

on_every_backend!(
    two_tasks_accepting_on_one_idle_listener_are_not_polled_while_no_connection_comes,
    two_tasks_receiving_on_one_idle_udp_socket_are_not_polled_while_no_datagram_comes,
    two_tasks_awaiting_readable_on_one_idle_async_are_not_polled_while_nothing_arrives,
    two_tasks_reading_one_idle_async_through_async_read_are_not_polled_while_nothing_arrives,
    two_tasks_reading_one_async_through_async_read_are_both_woken,
    one_connection_wakes_every_task_waiting_to_accept,
    every_task_accepting_on_a_shared_listener_gets_a_connection,
);

/// How long a test waits for a wake-up before it reports it lost (never reached when it passes).
const LOST: Duration = Duration::from_secs(10);

/// Wraps a future: counts its polls, and reports its first `Pending` (its waker is registered
/// by then).
struct CountPolls<F: Future> {
    inner: Pin<Box<F>>,
    polls: Arc<AtomicUsize>,
    first_pending: Option<mpsc::Sender<()>>,
}

impl<F: Future> Future for CountPolls<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        let poll = self.inner.as_mut().poll(cx);
        if poll.is_pending() {
            if let Some(pending) = self.first_pending.take() {
                pending.send(()).unwrap();
            }
        }
        poll
    }
}

/// Spawns `future` counting its polls into `polls`; its first `Pending` is sent to `pending`.
fn spawn_counted<F>(
    executor: &Executor<Source>,
    polls: &Arc<AtomicUsize>,
    pending: &mpsc::Sender<()>,
    future: F,
) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    executor.spawn(CountPolls {
        inner: Box::pin(future),
        polls: polls.clone(),
        first_pending: Some(pending.clone()),
    })
}

/// Waits for `count` messages on `receiver`, failing with `what` if one does not come.
fn expect(receiver: &mpsc::Receiver<()>, count: usize, what: &str) {
    for received in 0..count {
        if receiver.recv_timeout(LOST).is_err() {
            panic!("{what}: {received} of {count} arrived");
        }
    }
}

fn tcp_listener(source: &Source) -> (Arc<TcpListener>, SocketAddr) {
    let listener =
        TcpListener::from_std(std::net::TcpListener::bind("127.0.0.1:0").unwrap(), source).unwrap();
    let addr = listener.local_addr().unwrap();
    (Arc::new(listener), addr)
}

/// Spawns two tasks made by `waiter`, lets them wait 200 ms on an fd with no traffic, and
/// returns how often they were polled in all.
fn polls_of_two_idle_waiters<F>(executor: &Executor<Source>, mut waiter: impl FnMut() -> F) -> usize
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let polls = Arc::new(AtomicUsize::new(0));
    let (pending, pendings) = mpsc::channel();
    let tasks: Vec<_> = (0..2).map(|_| spawn_counted(executor, &polls, &pending, waiter())).collect();
    expect(&pendings, 2, "the waiters did not start waiting");
    std::thread::sleep(Duration::from_millis(200));
    let polls = polls.load(Ordering::SeqCst);
    drop(tasks); // cancels them
    polls
}

/// Two polls each to start waiting, a few more allowed for wake-ups of the executor's own.
const IDLE_POLL_BOUND: usize = 50;

fn two_tasks_accepting_on_one_idle_listener_are_not_polled_while_no_connection_comes(backend: Backend) {
    let executor = backend.executor();
    let (listener, _addr) = tcp_listener(executor.source());
    let polls = polls_of_two_idle_waiters(&executor, || {
        let listener = listener.clone();
        async move { listener.accept().await.map(drop) }
    });
    assert!(polls < IDLE_POLL_BOUND, "two idle accepts were polled {polls} times");
}

fn two_tasks_receiving_on_one_idle_udp_socket_are_not_polled_while_no_datagram_comes(backend: Backend) {
    let executor = backend.executor();
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let socket = Arc::new(AsyncUdpSocket::from_std(socket, executor.source()).unwrap());
    let polls = polls_of_two_idle_waiters(&executor, || {
        let socket = socket.clone();
        async move { socket.recv_from(&mut [0; 16]).await.map(drop) }
    });
    assert!(polls < IDLE_POLL_BOUND, "two idle receives were polled {polls} times");
}

fn two_tasks_awaiting_readable_on_one_idle_async_are_not_polled_while_nothing_arrives(backend: Backend) {
    let executor = backend.executor();
    let (stream, _peer) = UnixStream::pair().unwrap();
    let stream = Arc::new(Async::with_source(stream, executor.source()).unwrap());
    let polls = polls_of_two_idle_waiters(&executor, || {
        let stream = stream.clone();
        async move { stream.readable().await }
    });
    assert!(polls < IDLE_POLL_BOUND, "two idle readable() waits were polled {polls} times");
}

fn two_tasks_reading_one_idle_async_through_async_read_are_not_polled_while_nothing_arrives(
    backend: Backend,
) {
    let executor = backend.executor();
    let (stream, _peer) = UnixStream::pair().unwrap();
    let stream = Arc::new(Async::with_source(stream, executor.source()).unwrap());
    let polls = polls_of_two_idle_waiters(&executor, || {
        let stream = stream.clone();
        async move { (&*stream).read(&mut [0; 16]).await }
    });
    assert!(polls < IDLE_POLL_BOUND, "two idle AsyncRead reads were polled {polls} times");
}

fn two_tasks_reading_one_async_through_async_read_are_both_woken(backend: Backend) {
    let executor = backend.executor();
    let (stream, mut peer) = UnixStream::pair().unwrap();
    let stream = Arc::new(Async::with_source(stream, executor.source()).unwrap());
    let (pending, pendings) = mpsc::channel();
    let (done, dones) = mpsc::channel();
    let polls = Arc::new(AtomicUsize::new(0));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (stream, done) = (stream.clone(), done.clone());
            spawn_counted(&executor, &polls, &pending, async move {
                let mut byte = [0; 1];
                (&*stream).read_exact(&mut byte).await.unwrap();
                done.send(()).unwrap();
                byte[0]
            })
        })
        .collect();
    expect(&pendings, 2, "the readers did not start waiting");
    peer.write_all(b"xy").unwrap(); // one edge, one byte for each reader
    expect(&dones, 2, "a reader waiting through AsyncRead was never woken");
    let mut bytes: Vec<u8> = readers.into_iter().map(|reader| executor.block_on(reader).unwrap()).collect();
    bytes.sort_unstable();
    assert_eq!(bytes, b"xy");
}

/// tokio's `tcp_accept::accept_many`: fifty tasks each poll an `accept` once and then wait
/// without polling it again; one connection must wake every one of them.
fn one_connection_wakes_every_task_waiting_to_accept(backend: Backend) {
    const TASKS: usize = 50;
    let executor = backend.executor();
    let (listener, addr) = tcp_listener(executor.source());
    let connected = Arc::new(AtomicBool::new(false));
    let (pending, pendings) = mpsc::channel();
    let (woken, wakes) = mpsc::channel();
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let (listener, connected) = (listener.clone(), connected.clone());
            let (pending, woken) = (pending.clone(), woken.clone());
            executor.spawn(async move {
                let mut accept = pin!(listener.accept());
                let mut polled = false;
                poll_fn(|cx| {
                    if !polled {
                        polled = true;
                        assert!(accept.as_mut().poll(cx).is_pending());
                        pending.send(()).unwrap();
                        Poll::Pending
                    } else if connected.load(Ordering::SeqCst) {
                        woken.send(()).unwrap();
                        Poll::Ready(())
                    } else {
                        Poll::Pending
                    }
                })
                .await;
            })
        })
        .collect();
    expect(&pendings, TASKS, "the tasks did not start accepting");
    connected.store(true, Ordering::SeqCst);
    let _client = std::net::TcpStream::connect(addr).unwrap();
    expect(&wakes, TASKS, "tasks waiting to accept were not woken by the connection");
    drop(tasks);
}

fn every_task_accepting_on_a_shared_listener_gets_a_connection(backend: Backend) {
    const TASKS: usize = 50;
    let executor = backend.executor();
    let (listener, addr) = tcp_listener(executor.source());
    let (pending, pendings) = mpsc::channel();
    let (accepted, accepts) = mpsc::channel();
    let polls = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let (listener, accepted) = (listener.clone(), accepted.clone());
            spawn_counted(&executor, &polls, &pending, async move {
                let (stream, _) = listener.accept().await.unwrap();
                accepted.send(()).unwrap();
                stream
            })
        })
        .collect();
    expect(&pendings, TASKS, "the tasks did not start accepting");
    let clients: Vec<_> = (0..TASKS).map(|_| std::net::TcpStream::connect(addr).unwrap()).collect();
    expect(&accepts, TASKS, "a task waiting to accept never got a connection");
    for task in tasks {
        executor.block_on(task).unwrap();
    }
    drop(clients);
}
