//! hyper's `header_read_timeout` on reactor's clock: a client that sends half a request header
//! and stops is disconnected once the timeout passes on the runtime's clock. On a paused clock
//! (time jumps whenever everything is idle) a 30 s timeout takes no real time, which shows
//! that `ReactorTimer` (not the wall clock) drove it. Controls: a header completed within the
//! timeout is served, and each request of a keep-alive connection gets the whole timeout anew.

mod support;

use std::convert::Infallible;
use std::io;
use std::time::{Duration, Instant};

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use reactor_epoll::net::{TcpListener, TcpStream};
use reactor_epoll::time;
use reactor_hyper::{HyperIo, ReactorTimer};
use support::{bounded, join, paused, spawn, test_clock, Body, Mode};

const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Far below the 30 s the test clock runs through; generous for a loaded machine. Passing it
/// would mean the wall clock drove the timeout, not the paused one.
const REAL_TIME_BOUND: Duration = Duration::from_secs(10);
const HALF_A_HEADER: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n";

// The clients run in tasks of their own, not in `block_on`'s future: written while the paused
// clock could jump under a `block_on` that had just been woken (since fixed, see the
// executor's paused_time.rs; one rarer path is still open), which fired the 30 s timeout
// before the client's connect returned.

/// Serves one connection with the header read timeout, answering "hello"; returns how the
/// connection ended.
async fn serve_one(listener: TcpListener) -> io::Result<hyper::Result<()>> {
    let (stream, _) = listener.accept().await?;
    let hello =
        service_fn(|_: Request<Incoming>| async { Ok::<_, Infallible>(Response::new(Body::from("hello"))) });
    Ok(http1::Builder::new()
        .timer(ReactorTimer::current()?)
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .serve_connection(HyperIo::new(stream), hello)
        .await)
}

/// Reads until the server closes; a reset counts as closed. Returns what arrived.
async fn read_until_closed(stream: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut received = Vec::new();
    match stream.read_to_end(&mut received).await {
        Ok(_) => Ok(received),
        Err(error) if error.kind() == io::ErrorKind::ConnectionReset => Ok(received),
        Err(error) => Err(error),
    }
}

/// A close for a timed-out header is an EOF, or a 408 and then an EOF.
fn assert_closed_for_timeout(received: &[u8]) {
    assert!(
        received.is_empty() || received.starts_with(b"HTTP/1.1 408"),
        "the server closed with something else than a 408: {:?}",
        String::from_utf8_lossy(received)
    );
}

fn half_a_header_is_closed_after_the_header_read_timeout(mode: Mode) {
    let real_start = Instant::now();
    let runtime = paused(mode);
    let (waited, served) = runtime
        .block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let server = spawn(serve_one(listener));
            let client = spawn(async move {
                let mut stream = TcpStream::connect(addr).await?;
                let start = test_clock();
                stream.write_all(HALF_A_HEADER).await?;
                assert_closed_for_timeout(&read_until_closed(&mut stream).await?);
                io::Result::Ok(test_clock() - start)
            });
            io::Result::Ok((join(client).await?, join(server).await?))
        })
        .expect("the client's side of the test");
    let error = served.expect_err("the connection ends with the timeout, not cleanly");
    assert!(error.is_timeout(), "the connection ended for another reason: {error}");
    assert!(waited >= HEADER_READ_TIMEOUT, "closed after {waited:?} of test time, before the timeout");
    assert!(waited < 2 * HEADER_READ_TIMEOUT, "closed after {waited:?} of test time, long after the timeout");
    assert!(real_start.elapsed() < REAL_TIME_BOUND, "the wall clock drove the timeout, not the test clock");
}

#[test]
fn half_a_header_is_closed_after_the_header_read_timeout_multi_thread() {
    bounded("half_header_multi_thread", || {
        half_a_header_is_closed_after_the_header_read_timeout(Mode::MultiThread)
    });
}

#[test]
fn half_a_header_is_closed_after_the_header_read_timeout_single_thread() {
    bounded("half_header_single_thread", || {
        half_a_header_is_closed_after_the_header_read_timeout(Mode::SingleThread)
    });
}

/// The control: the same half header, completed 20 s (of test time) later, is served.
fn a_header_completed_within_the_timeout_is_served(mode: Mode) {
    let real_start = Instant::now();
    let runtime = paused(mode);
    let (received, waited, served) = runtime
        .block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let server = spawn(serve_one(listener));
            let client = spawn(async move {
                let mut stream = TcpStream::connect(addr).await?;
                let start = test_clock();
                stream.write_all(HALF_A_HEADER).await?;
                time::sleep(Duration::from_secs(20)).await;
                stream.write_all(b"Connection: close\r\n\r\n").await?;
                let received = read_until_closed(&mut stream).await?;
                io::Result::Ok((received, test_clock() - start))
            });
            let (received, waited) = join(client).await?;
            io::Result::Ok((received, waited, join(server).await?))
        })
        .expect("the client's side of the test");
    let response = String::from_utf8_lossy(&received);
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "not served: {response:?}");
    assert!(response.ends_with("\r\n\r\nhello"), "not the service's body: {response:?}");
    served.expect("the connection ends cleanly after the response");
    assert!(waited >= Duration::from_secs(20), "the client's 20 s pause took {waited:?} of test time");
    assert!(real_start.elapsed() < REAL_TIME_BOUND, "the wall clock drove the pause, not the test clock");
}

#[test]
fn a_header_completed_within_the_timeout_is_served_multi_thread() {
    bounded("completed_header_multi_thread", || {
        a_header_completed_within_the_timeout_is_served(Mode::MultiThread)
    });
}

#[test]
fn a_header_completed_within_the_timeout_is_served_single_thread() {
    bounded("completed_header_single_thread", || {
        a_header_completed_within_the_timeout_is_served(Mode::SingleThread)
    });
}

/// On a keep-alive connection the timeout starts again for each request: a first request sent
/// 10 s after connecting is served, and the next header, left half-sent, is cut off 30 s after
/// the first response (40 s after connecting), not 30 s after connecting.
#[test]
fn each_keep_alive_request_gets_the_whole_header_read_timeout() {
    bounded("keep_alive_header_timeout", || {
        let real_start = Instant::now();
        let runtime = paused(Mode::MultiThread);
        let (since_connect, since_response, served) = runtime
            .block_on(async {
                let listener = TcpListener::bind("127.0.0.1:0").await?;
                let addr = listener.local_addr()?;
                let server = spawn(serve_one(listener));
                let client = spawn(async move {
                    let mut stream = TcpStream::connect(addr).await?;
                    let connected = test_clock();
                    time::sleep(Duration::from_secs(10)).await;
                    stream.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await?;
                    let mut response = Vec::new();
                    while !response.ends_with(b"\r\n\r\nhello") {
                        let mut chunk = [0; 512];
                        let read = stream.read(&mut chunk).await?;
                        assert_ne!(
                            read,
                            0,
                            "closed before the first response: {:?}",
                            String::from_utf8_lossy(&response)
                        );
                        response.extend_from_slice(&chunk[..read]);
                    }
                    assert!(response.starts_with(b"HTTP/1.1 200 OK\r\n"));
                    let responded = test_clock();
                    stream.write_all(HALF_A_HEADER).await?;
                    assert_closed_for_timeout(&read_until_closed(&mut stream).await?);
                    let closed = test_clock();
                    io::Result::Ok((closed - connected, closed - responded))
                });
                let (since_connect, since_response) = join(client).await?;
                io::Result::Ok((since_connect, since_response, join(server).await?))
            })
            .expect("the client's side of the test");
        let error = served.expect_err("the connection ends with the timeout");
        assert!(error.is_timeout(), "the connection ended for another reason: {error}");
        assert!(since_response >= HEADER_READ_TIMEOUT, "cut off {since_response:?} after the first response");
        assert!(since_connect >= Duration::from_secs(40), "cut off {since_connect:?} after connecting");
        assert!(
            real_start.elapsed() < REAL_TIME_BOUND,
            "the wall clock drove the timeout, not the test clock"
        );
    });
}
