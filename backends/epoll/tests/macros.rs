//! `#[reactor_epoll::test]` as users write it: real I/O and timers, the paused clock on several
//! workers, `Result` returns, `#[should_panic]`; and `#[reactor_epoll::main]` on a function
//! called from a test (the macro does not care that it is not the crate's `main`).
//!
//! The compile errors are unit-tested on the argument and signature parsers in the
//! `reactor-macros` crate (`cargo test -p reactor-macros`), and listed in the macros' docs.

use std::error::Error;
use std::future::pending;
use std::time::Duration;

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use reactor_epoll::net::{TcpListener, TcpStream};
use reactor_epoll::time::{self, Timer};

#[reactor_epoll::test]
async fn a_test_does_tcp_on_loopback_and_sleeps() {
    let listener = TcpListener::bind(([127, 0, 0, 1], 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = reactor_epoll::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut request = [0; 4];
        stream.read_exact(&mut request).await.unwrap();
        stream.write_all(&request).await.unwrap();
    });
    let mut client = TcpStream::connect(addr).await.unwrap();
    client.write_all(b"ping").await.unwrap();
    let mut reply = [0; 4];
    client.read_exact(&mut reply).await.unwrap();
    assert_eq!(&reply, b"ping");
    server.await.unwrap();

    time::sleep(Duration::from_millis(2)).await; // on the real clock
}

#[reactor_epoll::test(worker_threads = 4, paused_clock)]
async fn a_timeout_on_the_paused_clock_elapses_instantly_by_exactly_its_duration() {
    let start = Timer::current().now();
    let result = time::timeout(Duration::from_secs(30), pending::<()>()).await;
    assert!(result.is_err(), "Elapsed, not a value");
    assert_eq!(Timer::current().now() - start, Duration::from_secs(30));
}

#[reactor_epoll::test(paused_clock, worker_threads = 0)]
async fn a_paused_clock_test_runs_on_the_test_thread_alone() {
    let start = Timer::current().now();
    time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(Timer::current().now() - start, Duration::from_secs(3600));
}

#[reactor_epoll::test]
async fn a_test_returning_a_result_can_use_question_mark() -> Result<(), Box<dyn Error>> {
    let listener = TcpListener::bind(([127, 0, 0, 1], 0)).await?;
    let answer = reactor_epoll::spawn(async { 6 * 7 }).await?;
    assert_eq!(answer, 42);
    assert_eq!(listener.local_addr()?.ip(), std::net::Ipv4Addr::LOCALHOST);
    if answer != 42 {
        return Err("`return` inside the body infers the same type".into());
    }
    Ok(())
}

/// Doc comments and other attributes on the function are kept.
#[reactor_epoll::test]
#[should_panic(expected = "the body's panic reaches the test harness")]
async fn a_panic_in_the_body_fails_the_test() {
    time::sleep(Duration::from_millis(1)).await;
    panic!("the body's panic reaches the test harness");
}

#[reactor_epoll::test]
#[ignore = "checks that `#[ignore]` is kept: this test would fail if it ran"]
async fn an_ignored_test_is_not_run() {
    panic!("ran an #[ignore]d test");
}

#[test]
fn each_test_gets_its_own_runtime() {
    // A `#[reactor_epoll::test]` body runs in `block_on`, where another `block_on` would panic;
    // a plain test calling two macro-built mains in a row shows that each builds a fresh one.
    assert_eq!(main_with_a_result(), Ok(7));
    assert_eq!(main_with_a_result(), Ok(7));
    main_on_a_paused_clock();
}

#[reactor_epoll::main(worker_threads = 2)]
async fn main_with_a_result() -> Result<u32, String> {
    let seven = reactor_epoll::spawn(async { 7 }).await.map_err(|error| error.to_string())?;
    Ok(seven)
}

#[reactor_epoll::main(paused_clock)]
async fn main_on_a_paused_clock() {
    let start = Timer::current().now();
    time::sleep(Duration::from_secs(60)).await;
    assert_eq!(Timer::current().now() - start, Duration::from_secs(60));
}
