//! HTTP/2 multiplexing: 100 streams of 1 MiB each way, all open at once on one connection
//! (prior knowledge), between hyper's HTTP/2 client and server on reactor. The server runs its
//! streams through `ReactorExecutor` with `ReactorTimer`; every body is checksummed on arrival.

mod support;

use std::io;
use std::sync::{Arc, Mutex};

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::server::conn::http2;
use hyper::service::service_fn;
use hyper::{Request, Response};
use reactor_epoll::channel::oneshot;
use reactor_epoll::net::{TcpListener, TcpStream};
use reactor_hyper::{HyperIo, ReactorExecutor, ReactorTimer};
use support::{body_of, bounded, checksum, join, other, pattern, spawn, Body, Mode};

const STREAMS: usize = 100;
const MIB: usize = 1 << 20;

/// The seed of the response body to request `seed`'s upload.
fn response_seed(request_seed: u64) -> u64 {
    request_seed + 1_000_000
}

/// Holds every caller until `parties` of them wait: the server's handlers meet here, which
/// proves that all the streams are open at the same time.
struct Barrier {
    parties: usize,
    waiting: Mutex<Vec<oneshot::Sender<()>>>,
}

impl Barrier {
    async fn wait(&self) {
        let (release, released) = oneshot();
        {
            let mut waiting = self.waiting.lock().unwrap();
            waiting.push(release);
            if waiting.len() == self.parties {
                for release in waiting.drain(..) {
                    let _ = release.send(());
                }
            }
        }
        released.await.expect("the barrier outlives its waiters");
    }
}

/// Answers `POST /<seed>` carrying 1 MiB with the upload's checksum in a header and 1 MiB of
/// its own, once all the streams have arrived.
async fn handle(request: Request<Incoming>, barrier: Arc<Barrier>) -> io::Result<Response<Body>> {
    let seed: u64 = request.uri().path().trim_start_matches('/').parse().map_err(other)?;
    let upload = request.into_body().collect().await.map_err(other)?.to_bytes();
    barrier.wait().await;
    Response::builder()
        .header("x-upload-length", upload.len())
        .header("x-upload-checksum", checksum(&upload))
        .body(Body::from(pattern(response_seed(seed), MIB)))
        .map_err(other)
}

fn streams_100_of_1_mib_on_one_http2_connection(mode: Mode) {
    let runtime = mode.runtime();
    let result: io::Result<()> = runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = spawn(async move {
            let (stream, _) = listener.accept().await?;
            let barrier = Arc::new(Barrier { parties: STREAMS, waiting: Mutex::new(Vec::new()) });
            let service = service_fn(move |request| handle(request, barrier.clone()));
            http2::Builder::new(ReactorExecutor::current()?)
                .timer(ReactorTimer::current()?)
                .serve_connection(HyperIo::new(stream), service)
                .await
                .map_err(other)
        });

        let stream = TcpStream::connect(addr).await?;
        let (sender, connection) = hyper::client::conn::http2::Builder::new(ReactorExecutor::current()?)
            .timer(ReactorTimer::current()?)
            .handshake(HyperIo::new(stream))
            .await
            .map_err(other)?;
        let connection = spawn(connection);
        let streams: Vec<_> = (0..STREAMS as u64)
            .map(|seed| {
                let mut sender = sender.clone();
                spawn(async move {
                    let upload = pattern(seed, MIB);
                    let sent = checksum(&upload);
                    let request = Request::post(format!("http://reactor.test/{seed}"))
                        .body(Body::from(upload))
                        .map_err(other)?;
                    sender.ready().await.map_err(other)?;
                    let response = sender.send_request(request).await.map_err(other)?;
                    let header = |name| response.headers()[name].to_str().map(str::to_owned).map_err(other);
                    assert_eq!(header("x-upload-length")?, MIB.to_string(), "stream {seed}: upload length");
                    assert_eq!(
                        header("x-upload-checksum")?,
                        sent.to_string(),
                        "stream {seed}: upload checksum"
                    );
                    let body = body_of(response).await?;
                    assert_eq!(body.len(), MIB, "stream {seed}: download length");
                    let expected = checksum(&pattern(response_seed(seed), MIB));
                    assert_eq!(checksum(&body), expected, "stream {seed}: download checksum");
                    io::Result::Ok(())
                })
            })
            .collect();
        for stream in streams {
            join(stream).await?;
        }
        drop(sender); // the last sender: the client closes the connection, the server's side ends
        join(connection).await.map_err(other)?;
        join(server).await
    });
    result.expect("100 streams of 1 MiB on one connection");
}

#[test]
fn streams_100_of_1_mib_on_one_http2_connection_multi_thread() {
    bounded("http2_streams_multi_thread", || streams_100_of_1_mib_on_one_http2_connection(Mode::MultiThread));
}

#[test]
fn streams_100_of_1_mib_on_one_http2_connection_single_thread() {
    bounded("http2_streams_single_thread", || {
        streams_100_of_1_mib_on_one_http2_connection(Mode::SingleThread)
    });
}
