//! hyper over the transports `HyperIo` accepts besides a whole reactor stream: any `futures-io`
//! type through `FuturesIo` (here an adapter of the test's own that hands over a few bytes at a
//! time and yields between calls), and split halves joined again with `Joined` (TCP and Unix,
//! and a reader half with a writer of the user's own). Each carries keep-alive requests whose
//! bodies are echoed back and compared.

mod support;

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::rt::{Read, Write};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use reactor_epoll::net::{TcpListener, TcpStream, UnixStream};
use reactor_hyper::{FuturesIo, HyperIo, Joined, ReactorTimer};
use support::{body_of, bounded, checksum, join, other, pattern, spawn, Body, Mode};

const REQUESTS: u64 = 3;
const BODY: usize = 16 * 1024;

/// A `futures-io` stream of the test's own over any other: every other read and every other
/// write yields (wakes the task and returns `Pending`), reads hand over at most 7 bytes and
/// writes take at most 5, so hyper meets partial reads and writes everywhere. Counts the bytes
/// it carried.
///
/// Reads and writes alternate separately: with one flag for both, a task that reads and writes
/// once per poll would always find its writes on the yielding turn and never write again.
struct Trickle<T> {
    inner: T,
    yield_read: bool,
    yield_write: bool,
    carried: Arc<AtomicUsize>,
}

impl<T> Trickle<T> {
    fn new(inner: T) -> (Self, Arc<AtomicUsize>) {
        let carried = Arc::new(AtomicUsize::new(0));
        (Self { inner, yield_read: true, yield_write: true, carried: carried.clone() }, carried)
    }
}

/// Whether this call yields instead of doing anything, flipping `turn` for the next call.
fn yields(turn: &mut bool, cx: &Context<'_>) -> bool {
    *turn = !*turn;
    if *turn {
        return false;
    }
    cx.waker().wake_by_ref();
    true
}

impl<T: AsyncRead + Unpin> AsyncRead for Trickle<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        if yields(&mut self.yield_read, cx) {
            return Poll::Pending;
        }
        let limit = buf.len().min(7);
        let read = std::task::ready!(Pin::new(&mut self.inner).poll_read(cx, &mut buf[..limit]))?;
        self.carried.fetch_add(read, Ordering::SeqCst);
        Poll::Ready(Ok(read))
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Trickle<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if yields(&mut self.yield_write, cx) {
            return Poll::Pending;
        }
        let limit = buf.len().min(5);
        let written = std::task::ready!(Pin::new(&mut self.inner).poll_write(cx, &buf[..limit]))?;
        self.carried.fetch_add(written, Ordering::SeqCst);
        Poll::Ready(Ok(written))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}

/// Serves `server` with a service that echoes request bodies, and sends `REQUESTS` keep-alive
/// requests of `BODY` bytes over `client`, checking each echo.
async fn echo_over<S, C>(server: S, client: C) -> io::Result<()>
where
    S: Read + Write + Unpin + Send + 'static,
    C: Read + Write + Unpin + Send + 'static,
{
    let echo = service_fn(|request: Request<Incoming>| async {
        let body = request.into_body().collect().await?.to_bytes();
        Ok::<_, hyper::Error>(Response::new(Body::from(body)))
    });
    let server = spawn(async move {
        http1::Builder::new()
            .timer(ReactorTimer::current()?)
            .serve_connection(server, echo)
            .await
            .map_err(other)
    });
    let (mut sender, connection) = hyper::client::conn::http1::handshake(client).await.map_err(other)?;
    let connection = spawn(connection);
    for seed in 0..REQUESTS {
        let sent = pattern(seed, BODY);
        let request = Request::post("/echo").header("host", "reactor.test").body(Body::from(sent.clone()));
        sender.ready().await.map_err(other)?;
        let response = sender.send_request(request.map_err(other)?).await.map_err(other)?;
        let echoed = body_of(response).await?;
        assert_eq!((echoed.len(), checksum(&echoed)), (BODY, checksum(&sent)), "request {seed}: the echo");
    }
    drop(sender);
    join(connection).await.map_err(other)?;
    join(server).await
}

fn a_futures_io_stream_serves_http_in_small_pieces(mode: Mode) {
    let runtime = mode.runtime();
    runtime
        .block_on(async {
            let (server, client) = UnixStream::pair()?;
            let (server, server_carried) = Trickle::new(server);
            let (client, client_carried) = Trickle::new(client);
            echo_over(HyperIo::new(FuturesIo(server)), HyperIo::new(FuturesIo(client))).await?;
            // Every request and response byte went through both adapters.
            let least = REQUESTS as usize * 2 * BODY;
            assert!(server_carried.load(Ordering::SeqCst) > least, "the server's bytes bypassed FuturesIo");
            assert!(client_carried.load(Ordering::SeqCst) > least, "the client's bytes bypassed FuturesIo");
            io::Result::Ok(())
        })
        .expect("HTTP over a futures-io stream");
}

#[test]
fn a_futures_io_stream_serves_http_in_small_pieces_multi_thread() {
    bounded("futures_io_multi_thread", || a_futures_io_stream_serves_http_in_small_pieces(Mode::MultiThread));
}

#[test]
fn a_futures_io_stream_serves_http_in_small_pieces_single_thread() {
    bounded("futures_io_single_thread", || {
        a_futures_io_stream_serves_http_in_small_pieces(Mode::SingleThread)
    });
}

/// A `futures-io` reader that claims to have read more than the buffer it was given would
/// make hyper read past its buffer: `HyperIo` reports `InvalidData` instead, and hyper's buffer
/// is left as it was. (Polled directly: hyper itself takes a read error for the peer going away
/// and closes the connection without reporting it.)
#[test]
fn a_reader_claiming_more_than_its_buffer_is_an_error() {
    /// Claims one byte more than the buffer holds, and writes nothing into it.
    struct Liar;
    impl AsyncRead for Liar {
        fn poll_read(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
            Poll::Ready(Ok(buf.len() + 1))
        }
    }
    impl AsyncWrite for Liar {
        fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
            Poll::Ready(Ok(buf.len()))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }
    struct Unused;
    impl std::task::Wake for Unused {
        fn wake(self: Arc<Self>) {}
    }

    bounded("lying_reader", || {
        let mut io = HyperIo::new(FuturesIo(Liar));
        let mut storage = [0; 64];
        let mut buf = hyper::rt::ReadBuf::new(&mut storage);
        let waker = std::task::Waker::from(Arc::new(Unused));
        let read = Pin::new(&mut io).poll_read(&mut Context::from_waker(&waker), buf.unfilled());
        match read {
            Poll::Ready(Err(error)) => assert_eq!(error.kind(), io::ErrorKind::InvalidData, "{error}"),
            other => panic!("a lying reader was believed: {other:?}"),
        }
        assert!(buf.filled().is_empty(), "hyper's buffer was advanced by a lie");
    });
}

#[test]
fn split_tcp_halves_joined_serve_http() {
    bounded("joined_tcp", || {
        let runtime = Mode::MultiThread.runtime();
        runtime
            .block_on(async {
                let listener = TcpListener::bind("127.0.0.1:0").await?;
                let client = TcpStream::connect(listener.local_addr()?).await?;
                let (server, _) = listener.accept().await?;
                let (reader, writer) = server.into_split();
                let server = HyperIo::new(Joined { reader, writer });
                let (reader, writer) = client.into_split();
                echo_over(server, HyperIo::new(Joined { reader, writer })).await
            })
            .expect("HTTP over joined TCP halves");
    });
}

#[test]
fn split_unix_halves_joined_serve_http() {
    bounded("joined_unix", || {
        let runtime = Mode::MultiThread.runtime();
        runtime
            .block_on(async {
                let (server, client) = UnixStream::pair()?;
                let (reader, writer) = server.into_split();
                let server = HyperIo::new(Joined { reader, writer });
                let (reader, writer) = client.into_split();
                echo_over(server, HyperIo::new(Joined { reader, writer })).await
            })
            .expect("HTTP over joined Unix halves");
    });
}

/// A reactor reader half joined with a writer of the user's own (here one that writes a few
/// bytes at a time over the other half).
#[test]
fn a_reader_half_joined_with_any_writer_serves_http() {
    bounded("joined_any_writer", || {
        let runtime = Mode::MultiThread.runtime();
        runtime
            .block_on(async {
                let (server, client) = UnixStream::pair()?;
                let (reader, writer) = server.into_split();
                let (writer, carried) = Trickle::new(writer);
                echo_over(HyperIo::new(Joined { reader, writer }), HyperIo::new(client)).await?;
                let least = REQUESTS as usize * BODY;
                assert!(carried.load(Ordering::SeqCst) > least, "the responses bypassed the writer");
                io::Result::Ok(())
            })
            .expect("HTTP over a reader half and a writer of our own");
    });
}
