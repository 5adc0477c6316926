//! One `Epoll` is driven by one executor (or composite) at a time: a second driver would have its
//! waits return at once, again and again, while the first blocks in the epoll instance. It is
//! refused where it is set up.

use std::io;
use std::os::unix::net::UnixStream;

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use reactor::source::{Composite, PingSource};
use reactor::{Builder, Executor};
use reactor_epoll::{Async, Epoll};

/// A round trip through a socket pair registered with the executor's epoll.
fn echo_once(executor: &Executor<Epoll>) -> io::Result<[u8; 4]> {
    executor.block_on(async {
        let (a, b) = UnixStream::pair()?;
        let (mut a, mut b) = (Async::new(a)?, Async::new(b)?);
        a.write_all(b"ping").await?;
        let mut buf = [0; 4];
        b.read_exact(&mut buf).await?;
        Ok(buf)
    })
}

#[test]
fn one_epoll_given_to_two_executors_the_second_build_fails() {
    let epoll = Epoll::new().unwrap();
    let first = Builder::new().worker_threads(1).build(epoll.clone()).unwrap();

    let error =
        Builder::new().worker_threads(1).build(epoll.clone()).expect_err("the second build is refused");
    assert_eq!(error.kind(), io::ErrorKind::AlreadyExists);
    let message = error.to_string();
    assert!(message.starts_with("cannot run an executor over `reactor_epoll::epoll::Epoll`: "), "{message}");
    assert!(message.contains("attached already"), "{message}");

    // The first executor is unaffected; once it is gone, the instance may be driven again.
    assert_eq!(&echo_once(&first).unwrap(), b"ping");
    drop(first);
    let again = Builder::new().worker_threads(1).build(epoll).unwrap();
    assert_eq!(&echo_once(&again).unwrap(), b"ping");
}

#[test]
fn an_epoll_in_a_composite_is_refused_by_an_executor_and_by_a_second_composite() {
    let epoll = Epoll::new().unwrap();
    let composite = Composite::new(epoll.clone()).unwrap().with(PingSource::new()).unwrap();

    let error = Builder::new().worker_threads(1).build(epoll.clone()).expect_err("refused");
    assert_eq!(error.kind(), io::ErrorKind::AlreadyExists);
    let error = Composite::new(epoll.clone()).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::AlreadyExists);
    let _handed_back: Epoll = error.into_inner();

    // The composite itself drives an executor fine.
    let executor = Builder::new().worker_threads(1).build(composite).unwrap();
    assert_eq!(executor.block_on(async { 5 }), 5);
}
