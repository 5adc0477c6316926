//! Graceful shutdown of a hyper server on reactor (hyper's `Connection::graceful_shutdown`):
//! once it is triggered, the listener is dropped so new connections are refused, idle
//! keep-alive connections are closed at once, and a request in flight completes with its whole
//! response before its connection closes.

mod support;

use std::convert::Infallible;
use std::future::{poll_fn, Future};
use std::io;
use std::pin::{pin, Pin};
use std::sync::{Arc, Mutex};

use futures_lite::{future, AsyncReadExt};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use reactor_epoll::channel::{oneshot, unbounded, Sender};
use reactor_epoll::net::{TcpListener, TcpStream};
use reactor_hyper::{HyperIo, ReactorTimer};
use support::{body_of, bounded, get, http1_client, join, other, spawn, Body, Mode};

/// What the service of every connection shares: `/slow` reports that it started and waits for
/// `release` before answering; anything else is answered at once.
#[derive(Clone)]
struct Slow {
    started: Sender<()>,
    release: Arc<Mutex<Option<oneshot::Receiver<()>>>>,
}

async fn handle(request: Request<Incoming>, slow: Slow) -> Result<Response<Body>, Infallible> {
    if request.uri().path() != "/slow" {
        return Ok(Response::new(Body::from("fast")));
    }
    let release = slow.release.lock().unwrap().take().expect("one slow request");
    let _ = slow.started.send(()).await;
    let _ = release.await;
    Ok(Response::new(Body::from("slow, and complete")))
}

/// Serves `stream` until it closes, shutting down gracefully once `stop` completes (its sender
/// sent or dropped).
async fn serve(stream: TcpStream, stop: oneshot::Receiver<()>, slow: Slow) -> io::Result<()> {
    let service = service_fn(move |request| handle(request, slow.clone()));
    let mut connection = pin!(http1::Builder::new()
        .timer(ReactorTimer::current()?)
        .serve_connection(HyperIo::new(stream), service));
    let mut stop = Some(stop);
    poll_fn(|cx| {
        if let Some(signal) = stop.as_mut() {
            if Pin::new(signal).poll(cx).is_ready() {
                stop = None;
                connection.as_mut().graceful_shutdown();
            }
        }
        connection.as_mut().poll(cx)
    })
    .await
    .map_err(other)
}

/// Accepts connections until `shutdown` completes, then drops the listener (and says so on
/// `listener_dropped`), tells every connection to shut down gracefully and waits for them all.
async fn server(
    listener: TcpListener,
    mut shutdown: oneshot::Receiver<()>,
    listener_dropped: oneshot::Sender<()>,
    slow: Slow,
) -> io::Result<usize> {
    let mut stops = Vec::new();
    let mut connections = Vec::new();
    loop {
        let accepted = future::or(async { Some(listener.accept().await) }, async {
            let _ = (&mut shutdown).await;
            None
        })
        .await;
        let Some(accepted) = accepted else { break };
        let (stream, _) = accepted?;
        let (stop, stopped) = oneshot();
        stops.push(stop);
        connections.push(spawn(serve(stream, stopped, slow.clone())));
    }
    drop(listener);
    let _ = listener_dropped.send(());
    drop(stops); // every connection's stop signal completes
    let served = connections.len();
    for connection in connections {
        join(connection).await?;
    }
    Ok(served)
}

fn shutdown_completes_in_flight_requests_and_refuses_new_connections(mode: Mode) {
    let runtime = mode.runtime();
    let served = runtime
        .block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let (started, mut slow_started) = unbounded();
            let (release_slow, release) = oneshot();
            let slow = Slow { started, release: Arc::new(Mutex::new(Some(release))) };
            let (trigger, shutdown) = oneshot();
            let (listener_dropped, wait_listener_dropped) = oneshot();
            let server = spawn(server(listener, shutdown, listener_dropped, slow));

            // Two keep-alive connections, each served once: `busy` will have a request in
            // flight at the shutdown, `idle` none.
            let (mut busy, busy_connection) = http1_client(addr).await?;
            let (mut idle, idle_connection) = http1_client(addr).await?;
            for sender in [&mut busy, &mut idle] {
                sender.ready().await.map_err(other)?;
                let response = sender.send_request(get("/fast")).await.map_err(other)?;
                assert_eq!(body_of(response).await?, "fast");
            }
            // `ready` first: a sender whose connection has not yet taken up the last response
            // refuses a request at once ("connection was not ready").
            busy.ready().await.map_err(other)?;
            let in_flight = spawn(busy.send_request(get("/slow")));
            slow_started.recv().await.map_err(other)?;

            trigger.send(()).expect("the server waits for the trigger");
            wait_listener_dropped.await.map_err(other)?;
            match TcpStream::connect(addr).await {
                Err(error) => assert_eq!(error.kind(), io::ErrorKind::ConnectionRefused, "{error}"),
                Ok(mut late) => {
                    // Not on Linux; elsewhere a connection a closing listener had queued must
                    // be reset or closed without an answer.
                    let mut buf = [0; 1];
                    let read = late.read(&mut buf).await;
                    assert!(
                        matches!(read, Ok(0)) || read.is_err(),
                        "a connection after the shutdown was served"
                    );
                }
            }

            // The idle connection is closed without waiting for the slow request.
            join(idle_connection).await.map_err(other)?;
            assert!(idle.send_request(get("/fast")).await.is_err(), "the idle connection still serves");

            // The request in flight completes, with its whole response, then its connection
            // closes.
            assert!(!in_flight.is_finished(), "the slow request was answered before its release");
            release_slow.send(()).expect("the slow request waits");
            let response = join(in_flight).await.map_err(other)?;
            assert_eq!(body_of(response).await?, "slow, and complete");
            join(busy_connection).await.map_err(other)?;
            assert!(busy.send_request(get("/fast")).await.is_err(), "the busy connection still serves");
            join(server).await
        })
        .expect("graceful shutdown");
    assert_eq!(served, 2, "the server accepted the two connections made before the shutdown, and no other");
}

#[test]
fn shutdown_completes_in_flight_requests_and_refuses_new_connections_multi_thread() {
    bounded("graceful_shutdown_multi_thread", || {
        shutdown_completes_in_flight_requests_and_refuses_new_connections(Mode::MultiThread)
    });
}

#[test]
fn shutdown_completes_in_flight_requests_and_refuses_new_connections_single_thread() {
    bounded("graceful_shutdown_single_thread", || {
        shutdown_completes_in_flight_requests_and_refuses_new_connections(Mode::SingleThread)
    });
}
