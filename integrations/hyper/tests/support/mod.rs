//! Helpers shared by the hyper tests: the watchdog every test runs under, the two runtime modes,
//! an HTTP/1 client on reactor, and deterministic bodies with checksums.

#![allow(dead_code, unreachable_pub)] // each test binary uses a different subset

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, Response};
use reactor_epoll::net::TcpStream;
use reactor_epoll::{Handle, Runtime, Task};
use reactor_hyper::HyperIo;

/// How long one test may run before the watchdog fails it. Never reached when the test passes:
/// it turns a lost wake-up or a connection that never closes into a failure instead of a hung
/// test run.
pub const WATCHDOG: Duration = Duration::from_secs(120);

/// Runs `test` on a thread of its own named `name` and returns its result; fails if it panics
/// (with its panic) or has not returned within [`WATCHDOG`] (the thread is then left behind and
/// the test binary exits without it).
pub fn bounded<T: Send + 'static>(name: &str, test: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, finished) = mpsc::channel();
    let thread = std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            let _ = done.send(test());
        })
        .expect("spawn the test thread");
    match finished.recv_timeout(WATCHDOG) {
        Ok(result) => {
            let _ = thread.join();
            result
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => match thread.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the test thread returned without sending its result"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("{name} did not finish within {WATCHDOG:?}: a hang or a lost wake-up")
        }
    }
}

/// The runtime shapes each test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Two worker threads beside the `block_on` thread: client and server tasks move between
    /// threads, wakes cross threads.
    MultiThread,
    /// `worker_threads(0)`: every task runs on the thread calling `block_on`.
    SingleThread,
}

impl Mode {
    /// The default runtime (`reactor_epoll::Runtime`) in this mode.
    pub fn runtime(self) -> Runtime {
        self.builder().build().expect("start the runtime")
    }

    /// A runtime builder set to this mode.
    pub fn builder(self) -> reactor_epoll::RuntimeBuilder {
        let workers = match self {
            Self::MultiThread => 2,
            Self::SingleThread => 0,
        };
        Runtime::builder().worker_threads(workers)
    }
}

/// Spawns onto the runtime this thread runs tasks for (never onto the process-wide default
/// runtime, which would run the test somewhere else than the mode it names).
pub fn spawn<F>(future: F) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    Handle::current().expect("inside the test's runtime").spawn(future)
}

/// hyper's (or any) error as an `io::Error`, for `?` in the tests' `io::Result` blocks.
pub fn other(error: impl std::error::Error + Send + Sync + 'static) -> io::Error {
    io::Error::other(error)
}

/// The output of `task`; a panic in it is raised again here (so the test fails with the task's
/// own message), a cancellation fails the test.
pub async fn join<T>(task: Task<T>) -> T {
    match task.await {
        Ok(output) => output,
        Err(error) => match error.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(error) => panic!("a test task did not finish: {error}"),
        },
    }
}

/// The body type every test sends.
pub type Body = Full<Bytes>;

/// An HTTP/1.1 client connection to `addr`: its request sender, and the task driving the
/// connection (it completes when the connection closes).
pub async fn http1_client(addr: SocketAddr) -> io::Result<(SendRequest<Body>, Task<hyper::Result<()>>)> {
    let stream = TcpStream::connect(addr).await?;
    let (sender, connection) =
        hyper::client::conn::http1::handshake(HyperIo::new(stream)).await.map_err(other)?;
    Ok((sender, spawn(connection)))
}

/// A GET request for `path` with an empty body.
pub fn get(path: &str) -> Request<Body> {
    Request::get(path).header("host", "reactor.test").body(Body::default()).expect("a valid request")
}

/// The whole body of `response`, checking that its status is 200.
pub async fn body_of(response: Response<Incoming>) -> io::Result<Bytes> {
    assert_eq!(response.status(), 200, "the response's status");
    Ok(response.into_body().collect().await.map_err(other)?.to_bytes())
}

/// `len` bytes that depend on `seed` (xorshift, 8 bytes a step), so that a body sent for one
/// request cannot pass for another's.
pub fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut bytes = Vec::with_capacity(len + 8);
    while bytes.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

/// A checksum of `bytes` (FNV-1a over 8-byte words, then the tail), to compare bodies by.
pub fn checksum(bytes: &[u8]) -> u64 {
    let step = |hash: u64, word: u64| (hash ^ word).wrapping_mul(0x0100_0000_01b3);
    let words = bytes.chunks_exact(8);
    let tail =
        words.remainder().iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| step(hash, u64::from(byte)));
    words.fold(tail, |hash, word| step(hash, u64::from_le_bytes(word.try_into().expect("8 bytes"))))
}

/// A runtime in `mode` on a paused clock.
pub fn paused(mode: Mode) -> Runtime {
    mode.builder().build_with_paused_clock().expect("start the runtime").0
}

/// The runtime's clock (the test clock), from inside it.
pub fn test_clock() -> std::time::Instant {
    reactor_hyper::ReactorTimer::current().map(|timer| hyper::rt::Timer::now(&timer)).expect("a timer")
}
