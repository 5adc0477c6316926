//! `Watch`: a callback on the loop hears of every change in readiness, on each backend, for as
//! long as it drains what it was told of (the contract of its docs).
//!
//! On the re-armed path (`polling_oneshot`) a watch re-arms readability after each callback told
//! of it (the callback drained it, by the contract), and reports writability once, as its docs
//! say: a callback cannot tell the watch when it filled the buffer, and re-arming a writable fd
//! would report it again at once, in a loop. So the writability test is ignored there (run with
//! `--ignored` to see it fail).

mod common;

use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{on_every_backend, Backend, Source};
use reactor::EventSource;
use reactor_net::Watch;

on_every_backend!(
    a_watch_hears_of_data_that_arrives_after_it_drained_the_fd,
    a_watch_hears_when_a_full_fd_turns_writable_again: polling_oneshot #[ignore = "documented: on \
        a re-armed backend a Watch reports writability once (see Watch::new)"],
);

/// How long a wait for a callback may take before the test reports it lost (never reached when
/// it passes).
const LOST: Duration = Duration::from_secs(10);

/// Waits on `source` (dispatching its callbacks) until `received` has something; fails if that
/// takes longer than [`LOST`].
fn next<T>(source: &Source, received: &mpsc::Receiver<T>, what: &str) -> T {
    let give_up = Instant::now() + LOST;
    loop {
        if let Ok(value) = received.try_recv() {
            return value;
        }
        assert!(Instant::now() < give_up, "the watch never heard of {what}");
        source.wait(Some(Duration::from_millis(100))).unwrap();
    }
}

fn a_watch_hears_of_data_that_arrives_after_it_drained_the_fd(backend: Backend) {
    let source = backend.source();
    let (stream, mut peer) = UnixStream::pair().unwrap();
    let reader = stream.try_clone().unwrap();
    let (received, messages) = mpsc::channel();
    let _watch = Watch::new(stream, &source, move |readiness| {
        let mut buf = [0; 16];
        // Reads until `WouldBlock`, as the callback of a watch must.
        while readiness.is_readable() {
            match (&reader).read(&mut buf) {
                Ok(len) if len > 0 => received.send(buf[..len].to_vec()).unwrap(),
                _ => break,
            }
        }
    })
    .unwrap();
    for message in [&b"one"[..], b"two", b"three"] {
        peer.write_all(message).unwrap();
        assert_eq!(next(&source, &messages, "the data"), message);
    }
}

fn a_watch_hears_when_a_full_fd_turns_writable_again(backend: Backend) {
    let source = backend.source();
    let (stream, mut peer) = UnixStream::pair().unwrap();
    let writer = stream.try_clone().unwrap();
    let (writable, reports) = mpsc::channel();
    let _watch = Watch::new(stream, &source, move |readiness| {
        if readiness.is_writable() {
            writable.send(()).unwrap();
        }
    })
    .unwrap();
    next(&source, &reports, "the initial writability");
    for _ in 0..3 {
        // Fill the send buffer until a write would block, then let the peer drain it.
        let mut filled = 0;
        loop {
            match (&writer).write(&[1; 65_536]) {
                Ok(len) => filled += len,
                Err(error) if error.kind() == ErrorKind::WouldBlock => break,
                Err(error) => panic!("{error}"),
            }
        }
        let mut drained = vec![0; filled];
        peer.read_exact(&mut drained).unwrap();
        next(&source, &reports, "writability after the peer drained the buffer");
    }
}
