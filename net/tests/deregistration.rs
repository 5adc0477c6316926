//! Dropping a pending operation or a registration releases its waker, and once a registration
//! is dropped none of its wakers runs again; on each backend, driven by hand (no executor).

mod common;

use std::future::Future;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use common::{on_every_backend, registrations, stored_wakers, Backend, CountingWaker, Source};
use futures_lite::AsyncRead;
use reactor::io::Readiness;
use reactor::EventSource;
use reactor_net::{Async, Watch};

on_every_backend!(
    dropping_a_pending_read_withdraws_its_waker,
    dropping_a_pending_write_or_readiness_wait_withdraws_its_waker,
    dropping_the_registration_releases_a_waker_left_by_poll_read,
    a_ready_event_wakes_the_waiting_task_once,
    no_waker_runs_after_the_drop_of_its_registration_returns,
    no_callback_runs_after_the_drop_of_its_watch_returns,
    a_watch_callback_runs_on_each_edge_and_into_inner_stops_it,
    dropping_an_async_deregisters_the_fd_it_registered_even_if_as_fd_changed,
    into_inner_deregisters_the_fd_it_registered_even_if_as_fd_changed,
);

/// Fills `stream`'s send buffer until a write would block.
fn fill(stream: &UnixStream) {
    let chunk = [0u8; 65_536];
    loop {
        match (&*stream).write(&chunk) {
            Ok(_) => {}
            Err(error) if error.kind() == ErrorKind::WouldBlock => return,
            Err(error) => panic!("{error}"),
        }
    }
}

fn dropping_a_pending_read_withdraws_its_waker(backend: Backend) {
    let source = backend.source();
    let (stream, mut peer) = UnixStream::pair().unwrap();
    let stream = Async::with_source(stream, &source).unwrap();
    let (target, waker) = CountingWaker::new();
    let mut cx = Context::from_waker(&waker);
    {
        let mut buf = [0; 8];
        let mut read = pin!(stream.read_with(|mut io| io.read(&mut buf)));
        assert!(read.as_mut().poll(&mut cx).is_pending());
        assert_eq!(stored_wakers(&target), 1);
    }
    assert_eq!(stored_wakers(&target), 0, "the dropped read's waker is released");
    peer.write_all(b"x").unwrap();
    source.wait(Some(Duration::ZERO)).unwrap();
    assert_eq!(target.wakes(), 0, "nobody waits any more");
}

fn dropping_a_pending_write_or_readiness_wait_withdraws_its_waker(backend: Backend) {
    let source = backend.source();
    let (stream, _peer) = UnixStream::pair().unwrap();
    let stream = Async::with_source(stream, &source).unwrap();
    source.wait(Some(Duration::ZERO)).unwrap(); // the initial edge: writable
    fill(stream.get_ref());
    let (target, waker) = CountingWaker::new();
    let mut cx = Context::from_waker(&waker);
    {
        let mut write = pin!(stream.write_with(|mut io| io.write(&[1; 65_536])));
        assert!(write.as_mut().poll(&mut cx).is_pending());
        assert_eq!(stored_wakers(&target), 1);
    }
    assert_eq!(stored_wakers(&target), 0);
    {
        let mut readable = pin!(stream.readable());
        assert!(readable.as_mut().poll(&mut cx).is_pending());
        assert_eq!(stored_wakers(&target), 1);
    }
    assert_eq!(stored_wakers(&target), 0);
}

fn dropping_the_registration_releases_a_waker_left_by_poll_read(backend: Backend) {
    let source = backend.source();
    let (stream, _peer) = UnixStream::pair().unwrap();
    let mut stream = Async::with_source(stream, &source).unwrap();
    let (target, waker) = CountingWaker::new();
    let mut cx = Context::from_waker(&waker);
    assert!(pin!(&mut stream).poll_read(&mut cx, &mut [0; 8]).is_pending());
    assert_eq!(stored_wakers(&target), 1);
    drop(stream);
    assert_eq!(stored_wakers(&target), 0);
    assert_eq!(registrations(&source), 0);
}

fn a_ready_event_wakes_the_waiting_task_once(backend: Backend) {
    let source = backend.source();
    let (stream, mut peer) = UnixStream::pair().unwrap();
    let stream = Async::with_source(stream, &source).unwrap();
    let (target, waker) = CountingWaker::new();
    let mut cx = Context::from_waker(&waker);
    let mut buf = [0; 8];
    let mut read = pin!(stream.read_with(|mut io| io.read(&mut buf)));
    assert!(read.as_mut().poll(&mut cx).is_pending());
    peer.write_all(b"abc").unwrap();
    assert_eq!(source.wait(None).unwrap(), 1, "one registration dispatched");
    assert_eq!(target.wakes(), 1);
    assert!(matches!(read.as_mut().poll(&mut cx), Poll::Ready(Ok(3))));
}

/// Counts wakes (or callback runs) that arrive after `dropped` is set.
#[derive(Default)]
struct LateWakeDetector {
    dropped: AtomicBool,
    late_wakes: AtomicUsize,
}

impl LateWakeDetector {
    fn hit(&self) {
        if self.dropped.load(Ordering::SeqCst) {
            self.late_wakes.fetch_add(1, Ordering::SeqCst);
        }
    }
}

impl Wake for LateWakeDetector {
    fn wake(self: Arc<Self>) {
        self.hit();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.hit();
    }
}

/// Round after round, registers a stream with `register` (which leaves a waker or callback
/// behind and returns the registration), then drops the registration while another thread makes
/// the stream ready and dispatches. Returns how many wakes or calls came after a drop returned.
fn race_drop_against_dispatch(
    backend: Backend,
    mut register: impl FnMut(&Source, UnixStream, &Arc<LateWakeDetector>) -> Box<dyn std::any::Any>,
) -> usize {
    const ROUNDS: usize = 20_000;
    let source = backend.source();
    let (to_dispatcher, rounds) = mpsc::channel::<Option<UnixStream>>();
    let (round_done, done) = mpsc::channel();
    let dispatcher = {
        let source = source.clone();
        std::thread::spawn(move || {
            // The write fails if the drop already closed the stream.
            while let Some(mut peer) = rounds.recv().unwrap() {
                let _ = peer.write(b"x");
                source.wait(Some(Duration::ZERO)).unwrap();
                round_done.send(peer).unwrap();
            }
        })
    };
    let detector = Arc::new(LateWakeDetector::default());
    for _ in 0..ROUNDS {
        detector.dropped.store(false, Ordering::SeqCst);
        let (stream, peer) = UnixStream::pair().unwrap();
        let registration = register(&source, stream, &detector);
        to_dispatcher.send(Some(peer)).unwrap();
        drop(registration);
        detector.dropped.store(true, Ordering::SeqCst);
        drop(done.recv().unwrap());
    }
    to_dispatcher.send(None).unwrap();
    dispatcher.join().unwrap();
    assert_eq!(registrations(&source), 0);
    detector.late_wakes.load(Ordering::SeqCst)
}

fn no_waker_runs_after_the_drop_of_its_registration_returns(backend: Backend) {
    let late = race_drop_against_dispatch(backend, |source, stream, detector| {
        let stream = Async::with_source(stream, source).unwrap();
        let waker = Waker::from(detector.clone());
        let mut reader = &stream;
        assert!(pin!(&mut reader).poll_read(&mut Context::from_waker(&waker), &mut [0; 1]).is_pending());
        Box::new(stream)
    });
    assert_eq!(late, 0);
}

fn no_callback_runs_after_the_drop_of_its_watch_returns(backend: Backend) {
    let late = race_drop_against_dispatch(backend, |source, stream, detector| {
        let detector = detector.clone();
        Box::new(Watch::new(stream, source, move |_| detector.hit()).unwrap())
    });
    assert_eq!(late, 0);
}

fn a_watch_callback_runs_on_each_edge_and_into_inner_stops_it(backend: Backend) {
    let source = backend.source();
    let (stream, mut peer) = UnixStream::pair().unwrap();
    let (seen, readiness) = mpsc::channel();
    let watch = Watch::new(stream, &source, move |ready: Readiness| seen.send(ready).unwrap()).unwrap();
    source.wait(Some(Duration::ZERO)).unwrap();
    assert!(readiness.try_recv().unwrap().is_writable(), "the initial edge: writable");
    peer.write_all(b"x").unwrap();
    assert_eq!(source.wait(None).unwrap(), 1);
    assert!(readiness.try_recv().unwrap().is_readable());
    let mut stream = watch.into_inner().unwrap();
    peer.write_all(b"y").unwrap();
    assert_eq!(source.wait(Some(Duration::ZERO)).unwrap(), 0);
    assert!(readiness.try_recv().is_err(), "no callback after into_inner");
    let mut buf = [0; 2];
    stream.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"xy");
}

/// An I/O object whose `as_fd` answers with its second fd once `switched` is set: `AsFd` does
/// not promise the same fd on every call.
struct SwitchingFd<'a> {
    first: &'a UnixStream,
    second: &'a UnixStream,
    switched: AtomicBool,
}

impl AsFd for SwitchingFd<'_> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        if self.switched.load(Ordering::SeqCst) { self.second } else { self.first }.as_fd()
    }
}

/// Registers a [`SwitchingFd`], switches it, and ends the registration with `end`: the fd that
/// was registered must be the one deregistered, so it can be registered again afterwards.
fn deregistration_after_as_fd_switched(backend: Backend, end: impl FnOnce(Async<SwitchingFd<'_>>)) {
    let source = backend.source();
    let (first, _first_peer) = UnixStream::pair().unwrap();
    let (second, _second_peer) = UnixStream::pair().unwrap();
    let io = SwitchingFd { first: &first, second: &second, switched: AtomicBool::new(false) };
    let registered = Async::with_source(io, &source).unwrap();
    registered.get_ref().switched.store(true, Ordering::SeqCst);
    end(registered);
    assert_eq!(registrations(&source), 0);
    let again = Async::with_source(&first, &source);
    assert!(again.is_ok(), "the registered fd was left in the backend's set: {:?}", again.err());
    assert!(Async::with_source(&second, &source).is_ok(), "the other fd was never registered");
}

fn dropping_an_async_deregisters_the_fd_it_registered_even_if_as_fd_changed(backend: Backend) {
    deregistration_after_as_fd_switched(backend, |registered| drop(registered));
}

fn into_inner_deregisters_the_fd_it_registered_even_if_as_fd_changed(backend: Backend) {
    deregistration_after_as_fd_switched(backend, |registered| {
        let io = registered.into_inner().expect("deregistering the fd that was registered succeeds");
        assert!(io.switched.load(Ordering::SeqCst));
    });
}
