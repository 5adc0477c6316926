//! HTTP/2 with a `!Send` service and body, served through `LocalExecutor` inside `block_on`:
//! hyper spawns a task per stream, and with a `!Send` body those tasks must stay on the thread
//! that owns them. The service counts requests in an `Rc<Cell<_>>` and answers with a body
//! holding an `Rc`; every stream runs on the `block_on` thread.

mod support;

use std::cell::{Cell, RefCell};
use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::thread::{self, ThreadId};

use hyper::body::{Bytes, Frame, Incoming};
use hyper::server::conn::http2;
use hyper::service::service_fn;
use hyper::{Request, Response};
use reactor_epoll::net::{TcpListener, TcpStream};
use reactor_hyper::{HyperIo, LocalExecutor, ReactorExecutor, ReactorTimer};
use support::{body_of, bounded, join, other, spawn, Body, Mode};

const STREAMS: usize = 20;

/// A response body that is `!Send`: one chunk, kept beside an `Rc`.
struct LocalBody {
    chunk: Option<Bytes>,
    _not_send: Rc<Cell<usize>>,
}

impl hyper::body::Body for LocalBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.chunk.take().map(|chunk| Ok(Frame::data(chunk))))
    }
}

fn a_non_send_service_is_served_on_the_block_on_thread(mode: Mode) {
    let runtime = mode.runtime();
    let served = Rc::new(Cell::new(0));
    let threads = Rc::new(RefCell::new(Vec::<ThreadId>::new()));
    let result: io::Result<()> = runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let service = {
            let (served, threads) = (served.clone(), threads.clone());
            service_fn(move |request: Request<Incoming>| {
                let (served, threads) = (served.clone(), threads.clone());
                async move {
                    // An `Rc` held across an await: the stream's future is `!Send`.
                    reactor_epoll::yield_now().await;
                    served.set(served.get() + 1);
                    threads.borrow_mut().push(thread::current().id());
                    let body = format!("stream {}", request.uri().path());
                    Ok::<_, Infallible>(Response::new(LocalBody {
                        chunk: Some(body.into()),
                        _not_send: served,
                    }))
                }
            })
        };
        let server = async move {
            let (stream, _) = listener.accept().await?;
            http2::Builder::new(LocalExecutor::current()?)
                .timer(ReactorTimer::current()?)
                .serve_connection(HyperIo::new(stream), service)
                .await
                .map_err(other)
        };
        let server = runtime.spawn_local(server).map_err(|_| io::Error::other("inside block_on"))?;

        let client = spawn(async move {
            let stream = TcpStream::connect(addr).await?;
            let (sender, connection) = hyper::client::conn::http2::Builder::new(ReactorExecutor::current()?)
                .handshake::<_, Body>(HyperIo::new(stream))
                .await
                .map_err(other)?;
            let connection = spawn(connection);
            let streams: Vec<_> = (0..STREAMS)
                .map(|i| {
                    let mut sender = sender.clone();
                    spawn(async move {
                        sender.ready().await.map_err(other)?;
                        let request = hyper::Request::get(format!("http://reactor.test/{i}"))
                            .body(Body::default())
                            .map_err(other)?;
                        let response = sender.send_request(request).await.map_err(other)?;
                        assert_eq!(body_of(response).await?, format!("stream /{i}"));
                        io::Result::Ok(())
                    })
                })
                .collect();
            for stream in streams {
                join(stream).await?;
            }
            drop(sender);
            join(connection).await.map_err(other)
        });
        join(client).await?;
        join(server).await
    });
    result.expect("HTTP/2 with a !Send service");
    assert_eq!(served.get(), STREAMS, "every stream reached the service once");
    let here = thread::current().id();
    assert!(
        threads.borrow().iter().all(|&thread| thread == here),
        "a !Send stream ran off the block_on thread"
    );
}

#[test]
fn a_non_send_service_is_served_on_the_block_on_thread_multi_thread() {
    bounded("non_send_multi_thread", || {
        a_non_send_service_is_served_on_the_block_on_thread(Mode::MultiThread)
    });
}

#[test]
fn a_non_send_service_is_served_on_the_block_on_thread_single_thread() {
    bounded("non_send_single_thread", || {
        a_non_send_service_is_served_on_the_block_on_thread(Mode::SingleThread)
    });
}

/// Where no task could run (a plain thread, a blocking-pool thread), the constructors say so
/// with `NotFound` instead of handing out an executor or timer that would drop its work.
#[test]
fn executors_and_timer_outside_a_runtime_are_not_found() {
    bounded("outside_a_runtime", || {
        let kinds = || {
            [
                LocalExecutor::current().map(drop).map_err(|error| error.kind()),
                ReactorExecutor::current().map(drop).map_err(|error| error.kind()),
                ReactorTimer::current().map(drop).map_err(|error| error.kind()),
            ]
        };
        assert_eq!(kinds(), [Err(io::ErrorKind::NotFound); 3], "on a plain thread");
        let runtime = Mode::MultiThread.runtime();
        let on_blocking_pool =
            runtime.block_on(runtime.spawn_blocking(move || kinds()[0])).expect("the job ran");
        assert_eq!(on_blocking_pool, Err(io::ErrorKind::NotFound), "LocalExecutor on a blocking-pool thread");
    });
}
