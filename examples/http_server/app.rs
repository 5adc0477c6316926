//! The `http_server` example's program ([`run`]), accept loop ([`serve`]) and routes
//! ([`route`]): a module of its own so that `tests/http_real_clients.rs` serves exactly this code
//! to curl and Python, and `tests/http_server_ctrl_c.rs` runs [`run`] as a process to stop with
//! a real SIGINT.
//!
//! Routes:
//! - `GET /`: `Hello, world!`
//! - `GET /stream`: [`STREAM_CHUNKS`] lines sent one by one, [`STREAM_INTERVAL`] apart
//!   (chunked over HTTP/1.1: the length is not known in advance)
//! - `POST /upload`: reads the whole body as it comes and answers
//!   `length=<bytes> crc32=<8 hex digits>` (the CRC-32 of zlib and PNG)
//! - `GET /download?bytes=N`: N bytes of [`pattern_byte`], sent in 64 KiB chunks with a
//!   `content-length`, so a client can check both length and checksum

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::pin;
use std::sync::OnceLock;
use std::time::Duration;

use futures_lite::{future, stream};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Bytes, Frame, Incoming};
use hyper::header::{HeaderValue, ALLOW, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use reactor_epoll::net::TcpListener;
use reactor_hyper::{HyperIo, ReactorExecutor, ReactorTimer};

/// The body of every response: boxed, so that each route can stream its own way.
pub(crate) type Body = UnsyncBoxBody<Bytes, io::Error>;

/// How many lines `/stream` sends.
pub(crate) const STREAM_CHUNKS: usize = 5;
/// The pause before each line of `/stream` after the first.
pub(crate) const STREAM_INTERVAL: Duration = Duration::from_millis(50);
/// The size of the chunks `/download` sends.
const DOWNLOAD_CHUNK: usize = 64 * 1024;
/// The pattern of `/download` repeats every `PERIOD` bytes (a prime, so it never lines up with
/// a power-of-two buffer and a shifted or dropped chunk changes the checksum).
const PERIOD: u64 = 251;

/// Line `index` of `/stream`.
pub(crate) fn stream_line(index: usize) -> String {
    format!("chunk {} of {STREAM_CHUNKS}\n", index + 1)
}

/// Byte `offset` of every `/download` body: `offset % 251`.
pub(crate) fn pattern_byte(offset: u64) -> u8 {
    // Below 251, so the cast keeps the value.
    (offset % PERIOD) as u8
}

/// The CRC-32 (IEEE 802.3, as zlib's `crc32` and Python's `zlib.crc32`) of a byte stream,
/// computed as it arrives.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Crc32(u32);

/// The table of the byte-at-a-time CRC-32 (reflected polynomial 0xEDB88320).
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut index = 0;
    while index < 256 {
        let mut crc = index as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 { 0xEDB8_8320 ^ (crc >> 1) } else { crc >> 1 };
            bit += 1;
        }
        table[index] = crc;
        index += 1;
    }
    table
};

impl Crc32 {
    /// The CRC of nothing yet.
    pub(crate) fn new() -> Self {
        Self(!0)
    }

    /// Adds `bytes` to the stream.
    pub(crate) fn update(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = CRC_TABLE[((self.0 ^ u32::from(byte)) & 0xff) as usize] ^ (self.0 >> 8);
        }
    }

    /// The CRC of everything added so far.
    pub(crate) fn value(&self) -> u32 {
        !self.0
    }
}

impl Default for Crc32 {
    fn default() -> Self {
        Self::new()
    }
}

/// What `/upload` answers for a body of `length` bytes whose CRC-32 is `crc32`.
pub(crate) fn upload_answer(length: u64, crc32: u32) -> String {
    format!("length={length} crc32={crc32:08x}\n")
}

/// Answers one request.
pub(crate) async fn route(request: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let response = match (request.method(), request.uri().path()) {
        (&Method::GET | &Method::HEAD, "/") => text(StatusCode::OK, "Hello, world!\n"),
        (&Method::GET, "/stream") => streamed(),
        (&Method::POST, "/upload") => upload(request.into_body()).await,
        (&Method::GET, "/download") => match download_size(request.uri().query()) {
            Some(bytes) => download(bytes),
            None => text(StatusCode::BAD_REQUEST, "expected /download?bytes=<count>\n"),
        },
        (_, "/" | "/stream" | "/download") => not_allowed("GET"),
        (_, "/upload") => not_allowed("POST"),
        _ => text(StatusCode::NOT_FOUND, "no such route; try /, /stream, /upload, /download?bytes=N\n"),
    };
    Ok(response)
}

/// A plain-text response.
fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut response = Response::new(Full::new(body.into()).map_err(|never| match never {}).boxed_unsync());
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

/// A 405 naming the one method the route takes.
fn not_allowed(allow: &'static str) -> Response<Body> {
    let mut response = text(StatusCode::METHOD_NOT_ALLOWED, format!("this route takes {allow}\n"));
    response.headers_mut().insert(ALLOW, HeaderValue::from_static(allow));
    response
}

/// `/stream`: lines produced over time on reactor's timer, each sent as soon as it exists.
fn streamed() -> Response<Body> {
    let lines = stream::unfold(0, |index| async move {
        if index == STREAM_CHUNKS {
            return None;
        }
        if index > 0 {
            reactor_epoll::time::sleep(STREAM_INTERVAL).await;
        }
        Some((Ok(Frame::data(Bytes::from(stream_line(index)))), index + 1))
    });
    let mut response = Response::new(StreamBody::new(lines).boxed_unsync());
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

/// `/upload`: the body's length and CRC-32, read frame by frame (never held whole).
async fn upload(mut body: Incoming) -> Response<Body> {
    let mut crc = Crc32::new();
    let mut length = 0u64;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => {
                if let Some(data) = frame.data_ref() {
                    crc.update(data);
                    length += data.len() as u64;
                }
            }
            Err(error) => {
                return text(StatusCode::BAD_REQUEST, format!("reading the body failed: {error}\n"));
            }
        }
    }
    text(StatusCode::OK, upload_answer(length, crc.value()))
}

/// The `bytes` parameter of `/download`.
fn download_size(query: Option<&str>) -> Option<u64> {
    query?.split('&').find_map(|pair| pair.strip_prefix("bytes="))?.parse().ok()
}

/// `/download?bytes=N`: slices of one shared buffer, so a large body costs no copy per chunk.
fn download(total: u64) -> Response<Body> {
    static PATTERN: OnceLock<Bytes> = OnceLock::new();
    let pattern = PATTERN
        .get_or_init(|| (0..(DOWNLOAD_CHUNK as u64 + PERIOD)).map(pattern_byte).collect::<Vec<u8>>().into())
        .clone();
    let chunks = (0..total).step_by(DOWNLOAD_CHUNK).map(move |start| {
        // Both below DOWNLOAD_CHUNK + PERIOD, the length of `pattern`.
        let length = (total - start).min(DOWNLOAD_CHUNK as u64) as usize;
        let at = (start % PERIOD) as usize;
        Ok(Frame::data(pattern.slice(at..at + length)))
    });
    let mut response = Response::new(StreamBody::new(stream::iter(chunks)).boxed_unsync());
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(total));
    response
}

/// How long connections get to finish their requests after Ctrl-C.
pub(crate) const GRACE: Duration = Duration::from_secs(10);

/// The example's program: serves on `addr` until Ctrl-C, then shuts down gracefully (at most
/// [`GRACE`]) and returns.
///
/// # Errors
///
/// Those of binding `addr`; `NotFound` outside a reactor executor with a timer.
pub(crate) async fn run(addr: &str) -> io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    println!("serving HTTP/1.1 and HTTP/2 (h2c) on http://{}", listener.local_addr()?);
    let ctrl_c = async {
        match reactor_epoll::signal::ctrl_c().await {
            Ok(()) => println!("Ctrl-C: finishing the requests in flight (at most {GRACE:?})"),
            // Without a signal handler the server still serves; it just cannot stop gently.
            Err(error) => {
                eprintln!("cannot listen for Ctrl-C: {error}");
                std::future::pending::<()>().await;
            }
        }
    };
    match serve(listener, ctrl_c, GRACE).await? {
        Shutdown::Drained => println!("every connection finished; bye"),
        Shutdown::DeadlinePassed => println!("closing the connections still open after {GRACE:?}"),
    }
    Ok(())
}

/// How [`serve`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shutdown {
    /// Every connection finished its requests in flight and closed within the grace period.
    Drained,
    /// The grace period ended with connections still open; they are left to the runtime.
    DeadlinePassed,
}

/// Serves [`route`] over HTTP/1.1 and HTTP/2 (prior knowledge, "h2c") on `listener` until
/// `shutdown` completes; then stops accepting, asks each connection to finish what is in flight
/// and close (HTTP/1: after the current response; HTTP/2: GOAWAY), and waits for them at most
/// `grace`.
///
/// # Errors
///
/// `NotFound` outside a reactor executor with a timer. Accept errors are printed and retried.
pub(crate) async fn serve(
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) -> io::Result<Shutdown> {
    let mut builder = auto::Builder::new(ReactorExecutor::current()?);
    builder.http1().timer(ReactorTimer::current()?);
    builder.http2().timer(ReactorTimer::current()?);
    let graceful = GracefulShutdown::new();
    let mut shutdown = pin!(shutdown);
    loop {
        // The shutdown is polled first: on the first turn, so that a listener it makes (as
        // `ctrl_c` does when first polled) exists before any connection is served, and on each
        // turn after, so that no connection is accepted once it has completed.
        let accepted = future::or(
            async {
                shutdown.as_mut().await;
                None
            },
            async { Some(listener.accept().await) },
        )
        .await;
        match accepted {
            Some(Ok((stream, peer))) => {
                let connection =
                    builder.serve_connection(HyperIo::new(stream), service_fn(route)).into_owned();
                let connection = graceful.watch(connection);
                reactor_epoll::spawn(async move {
                    if let Err(error) = connection.await {
                        eprintln!("{peer}: {error}");
                    }
                })
                .detach();
            }
            // Out of fds, or a connection reset before it was accepted: back off, keep serving.
            Some(Err(error)) => {
                eprintln!("accept failed: {error}");
                reactor_epoll::time::sleep(Duration::from_millis(10)).await;
            }
            None => break,
        }
    }
    // New connections are refused from here on.
    drop(listener);
    match reactor_epoll::time::timeout(grace, graceful.shutdown()).await {
        Ok(()) => Ok(Shutdown::Drained),
        Err(_) => Ok(Shutdown::DeadlinePassed),
    }
}
