//! One HTTP/1.1 connection carries many requests: hyper's client and server on reactor keep the
//! connection alive across 1,000 requests in a row, and each response is the one its request
//! asked for.

mod support;

use std::convert::Infallible;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use reactor_epoll::net::TcpListener;
use reactor_hyper::{HyperIo, ReactorTimer};
use support::{body_of, bounded, get, http1_client, join, other, spawn, Body, Mode};

const REQUESTS: usize = 1_000;

fn one_connection_serves_1000_keep_alive_requests(mode: Mode) {
    let runtime = mode.runtime();
    let served = Arc::new(AtomicUsize::new(0));
    let result: io::Result<()> = runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = spawn({
            let served = served.clone();
            async move {
                let (stream, _) = listener.accept().await?;
                let service = service_fn(move |request: Request<Incoming>| {
                    served.fetch_add(1, Ordering::SeqCst);
                    let body = format!("response to {}", request.uri().path());
                    async move { Ok::<_, Infallible>(Response::new(Body::from(body))) }
                });
                http1::Builder::new()
                    .timer(ReactorTimer::current()?)
                    .serve_connection(HyperIo::new(stream), service)
                    .await
                    .map_err(other)?;
                // The client never opened a second connection: nothing waits to be accepted.
                let second = listener.try_accept().map(|_| ());
                assert_eq!(second.map_err(|error| error.kind()), Err(io::ErrorKind::WouldBlock));
                io::Result::Ok(())
            }
        });

        let (mut sender, connection) = http1_client(addr).await?;
        for i in 0..REQUESTS {
            sender.ready().await.map_err(other)?;
            let response = sender.send_request(get(&format!("/{i}"))).await.map_err(other)?;
            assert_eq!(body_of(response).await?, format!("response to /{i}"), "request {i}");
        }
        drop(sender); // the client closes the connection, and the server's side ends cleanly
        join(connection).await.map_err(other)?;
        join(server).await
    });
    result.expect("1,000 requests on one connection");
    assert_eq!(served.load(Ordering::SeqCst), REQUESTS, "every request reached the service once");
}

#[test]
fn one_connection_serves_1000_keep_alive_requests_multi_thread() {
    bounded("keep_alive_multi_thread", || one_connection_serves_1000_keep_alive_requests(Mode::MultiThread));
}

#[test]
fn one_connection_serves_1000_keep_alive_requests_single_thread() {
    bounded("keep_alive_single_thread", || {
        one_connection_serves_1000_keep_alive_requests(Mode::SingleThread)
    });
}
