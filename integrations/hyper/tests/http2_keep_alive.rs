//! HTTP/2 keep-alive on reactor's clock: a server with `keep_alive_interval(10 s)` and
//! `keep_alive_timeout(20 s)` pings an idle peer and drops one that never answers, 30 s later on
//! the runtime's paused clock (in no real time); a hyper client, which answers pings, stays
//! connected through many keep-alive rounds. hyper re-arms one sleep for these (via
//! `ReactorTimer::reset`), earlier and later, before and after it fired.

mod support;

use std::convert::Infallible;
use std::io;
use std::time::{Duration, Instant};

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use hyper::body::Incoming;
use hyper::server::conn::http2;
use hyper::service::service_fn;
use hyper::{Request, Response};
use reactor_epoll::net::{TcpListener, TcpStream};
use reactor_epoll::time;
use reactor_hyper::{HyperIo, ReactorExecutor, ReactorTimer};
use support::{body_of, bounded, join, other, paused, spawn, test_clock, Body, Mode};

const INTERVAL: Duration = Duration::from_secs(10);
const TIMEOUT: Duration = Duration::from_secs(20);
/// How long the answering client stays idle: nine keep-alive rounds.
const IDLE: Duration = Duration::from_secs(95);
/// Far below the test time the tests run through; passing it would mean the wall clock drove
/// the keep-alive, not the paused one.
const REAL_TIME_BOUND: Duration = Duration::from_secs(10);

/// The client preface and an empty SETTINGS frame: all a silent HTTP/2 peer ever sends.
const PREFACE_AND_SETTINGS: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";
const PING: u8 = 0x6;
const GOAWAY: u8 = 0x7;

/// Serves one HTTP/2 connection with keep-alive pings, answering "hello"; returns how the
/// connection ended.
async fn serve_one(listener: TcpListener) -> io::Result<hyper::Result<()>> {
    let (stream, _) = listener.accept().await?;
    let hello =
        service_fn(|_: Request<Incoming>| async { Ok::<_, Infallible>(Response::new(Body::from("hello"))) });
    Ok(http2::Builder::new(ReactorExecutor::current()?)
        .timer(ReactorTimer::current()?)
        .keep_alive_interval(INTERVAL)
        .keep_alive_timeout(TIMEOUT)
        .serve_connection(HyperIo::new(stream), hello)
        .await)
}

/// The frame types in `bytes`, a sequence of HTTP/2 frames.
fn frame_types(mut bytes: &[u8]) -> Vec<u8> {
    let mut types = Vec::new();
    while bytes.len() >= 9 {
        let length = usize::from(bytes[0]) << 16 | usize::from(bytes[1]) << 8 | usize::from(bytes[2]);
        types.push(bytes[3]);
        bytes = &bytes[(9 + length).min(bytes.len())..];
    }
    types
}

fn a_peer_that_never_answers_pings_is_dropped(mode: Mode) {
    let real_start = Instant::now();
    let runtime = paused(mode);
    let (frames, waited, served) = runtime
        .block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let server = spawn(serve_one(listener));
            let client = spawn(async move {
                let mut stream = TcpStream::connect(addr).await?;
                let start = test_clock();
                stream.write_all(PREFACE_AND_SETTINGS).await?;
                let mut received = Vec::new();
                match stream.read_to_end(&mut received).await {
                    Err(error) if error.kind() != io::ErrorKind::ConnectionReset => return Err(error),
                    _ => {}
                }
                io::Result::Ok((frame_types(&received), test_clock() - start))
            });
            let (frames, waited) = join(client).await?;
            io::Result::Ok((frames, waited, join(server).await?))
        })
        .expect("the test's tasks");
    let error = served.expect_err("the connection ends with the keep-alive timeout");
    assert!(error.is_timeout(), "the connection ended for another reason: {error}");
    assert!(frames.contains(&PING), "the server never pinged: frames {frames:?}");
    assert_eq!(frames.last(), Some(&GOAWAY), "the server did not go away: frames {frames:?}");
    assert!(waited >= INTERVAL + TIMEOUT, "dropped after {waited:?} of test time, before ping + timeout");
    assert!(
        waited < 2 * (INTERVAL + TIMEOUT),
        "dropped after {waited:?} of test time, long after the timeout"
    );
    assert!(
        real_start.elapsed() < REAL_TIME_BOUND,
        "the wall clock drove the keep-alive, not the test clock"
    );
}

#[test]
fn a_peer_that_never_answers_pings_is_dropped_multi_thread() {
    bounded("silent_peer_multi_thread", || a_peer_that_never_answers_pings_is_dropped(Mode::MultiThread));
}

#[test]
fn a_peer_that_never_answers_pings_is_dropped_single_thread() {
    bounded("silent_peer_single_thread", || a_peer_that_never_answers_pings_is_dropped(Mode::SingleThread));
}

/// Ignored: on the multi-thread runtime the paused clock sometimes jumps past the 20 s timeout
/// while the client's answer to a PING is on its way, and the server drops the client: 4 runs
/// in 20 before the executor's paused-time fixes (idle check and jump in one step, a woken
/// thread not idle), 1 in 12 after; never on one thread (0 in 20) nor on the real clock (0 in
/// 10 runs of 60 rounds). A further path of the same defect, still open; run it with
/// `--ignored`.
#[test]
#[ignore = "open paused-time defect: fails about 1 run in 12 on the multi-thread runtime"]
fn a_client_that_answers_pings_stays_connected_multi_thread() {
    bounded("answering_client_multi_thread", || {
        a_client_that_answers_pings_stays_connected(Mode::MultiThread)
    });
}

#[test]
fn a_client_that_answers_pings_stays_connected_single_thread() {
    bounded("answering_client_single_thread", || {
        a_client_that_answers_pings_stays_connected(Mode::SingleThread)
    });
}

/// The control: hyper's client answers the pings, so after 95 s of idle test time (nine
/// keep-alive rounds; 95 s so that no ping crosses the request and the client's close) its
/// connection still carries a request.
fn a_client_that_answers_pings_stays_connected(mode: Mode) {
    let real_start = Instant::now();
    let runtime = paused(mode);
    let (body, waited) = runtime
        .block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let server = spawn(serve_one(listener));
            let client = spawn(async move {
                let stream = TcpStream::connect(addr).await?;
                let (mut sender, connection) =
                    hyper::client::conn::http2::Builder::new(ReactorExecutor::current()?)
                        .timer(ReactorTimer::current()?)
                        .handshake(HyperIo::new(stream))
                        .await
                        .map_err(other)?;
                let connection = spawn(connection);
                let start = test_clock();
                time::sleep(IDLE).await;
                let request = Request::get("http://reactor.test/").body(Body::default()).map_err(other)?;
                let response = sender.send_request(request).await.map_err(other)?;
                let body = body_of(response).await?;
                let waited = test_clock() - start;
                drop(sender);
                join(connection).await.map_err(other)?;
                io::Result::Ok((body, waited))
            });
            let result = join(client).await?;
            // The client's close may reset the connection under the server's feet (a
            // `NotConnected` shutdown, as on any runtime); what must not happen is a
            // keep-alive timeout.
            if let Err(error) = join(server).await? {
                assert!(!error.is_timeout(), "the server timed the answering client out: {error}");
            }
            io::Result::Ok(result)
        })
        .expect("the test's tasks");
    assert_eq!(&body[..], b"hello");
    assert!(waited >= IDLE, "the client idled {waited:?} of test time");
    assert!(real_start.elapsed() < REAL_TIME_BOUND, "the wall clock drove the test, not the test clock");
}
