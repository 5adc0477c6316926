//! Bad registrations give a clear error, never a panic, and leave nothing registered, on each
//! backend: every backend answers a mistake with the same kind (as `IoSource::add` asks) and a
//! message that names it.

mod common;

use std::io::ErrorKind;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;

use common::{on_every_backend, registrations, Backend};
use reactor::source::Parking;
use reactor::Executor;
use reactor_net::Async;

on_every_backend!(
    registering_the_same_fd_twice_is_already_exists,
    registering_a_regular_file_is_unsupported,
    registering_a_closed_fd_is_invalid_input,
    async_new_inside_an_executor_finds_its_backend,
    into_inner_deregisters_and_hands_the_io_object_back,
);

fn registering_the_same_fd_twice_is_already_exists(backend: Backend) {
    let source = backend.source();
    let (stream, _peer) = UnixStream::pair().unwrap();
    let first = Async::with_source(stream.as_fd(), &source).unwrap();
    let error = Async::with_source(stream.as_fd(), &source).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::AlreadyExists);
    assert!(error.to_string().contains("already registered"), "{error}");
    assert_eq!(registrations(&source), 1);
    drop(first);
    assert_eq!(registrations(&source), 0);
    let again = Async::with_source(stream.as_fd(), &source);
    assert!(again.is_ok(), "the fd can register again once the first registration is gone");
}

fn registering_a_regular_file_is_unsupported(backend: Backend) {
    let source = backend.source();
    let file = std::fs::File::open(std::env::current_exe().unwrap()).unwrap();
    let error = Async::with_source(file, &source).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unsupported);
    assert!(error.to_string().contains("regular file"), "{error}");
    assert_eq!(registrations(&source), 0);
}

/// An fd number no process can have open (far above any `RLIMIT_NOFILE`).
#[derive(Debug)]
struct ClosedFd;

impl AsFd for ClosedFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        // SAFETY: deliberately breaks `borrow_raw`'s "open fd" contract to exercise the error
        // path: the number is above every fd limit, so no syscall can touch a real file with it.
        unsafe { BorrowedFd::borrow_raw(i32::MAX - 1) }
    }
}

fn registering_a_closed_fd_is_invalid_input(backend: Backend) {
    let source = backend.source();
    let error = Async::with_source(ClosedFd, &source).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert!(error.to_string().contains("not an open file descriptor"), "{error}");
    assert_eq!(registrations(&source), 0);
}

#[test]
fn async_new_outside_an_executor_with_an_io_backend_is_not_found() {
    let (stream, _peer) = UnixStream::pair().unwrap();
    let error = Async::new(stream.as_fd()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
    assert!(error.to_string().contains("with_source"), "{error}");

    let parking = Executor::new(Parking::new()).unwrap();
    let error = parking.block_on(async { Async::new(stream.as_fd()).unwrap_err() });
    assert_eq!(error.kind(), ErrorKind::NotFound);
}

fn async_new_inside_an_executor_finds_its_backend(backend: Backend) {
    let executor = backend.executor();
    let (stream, _peer) = UnixStream::pair().unwrap();
    executor.block_on(async {
        let registered = Async::new(stream.as_fd()).unwrap();
        assert_eq!(registrations(executor.source()), 1);
        drop(registered);
    });
    assert_eq!(registrations(executor.source()), 0);
}

fn into_inner_deregisters_and_hands_the_io_object_back(backend: Backend) {
    let source = backend.source();
    let (stream, _peer) = UnixStream::pair().unwrap();
    let registered = Async::with_source(stream, &source).unwrap();
    let stream = registered.into_inner().unwrap();
    assert_eq!(registrations(&source), 0);
    Async::with_source(stream, &source).unwrap();
}
