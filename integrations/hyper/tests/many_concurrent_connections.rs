//! Many connections at once: 200 hyper clients connect to one hyper server on reactor, all 200
//! are open together, then each sends 50 requests, all concurrently; every response is checked
//! to be the one its request asked for.

mod support;

use std::convert::Infallible;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use reactor_epoll::channel::{oneshot, unbounded};
use reactor_epoll::net::TcpListener;
use reactor_hyper::{HyperIo, ReactorTimer};
use support::{body_of, bounded, get, http1_client, join, other, spawn, Body, Mode};

const CONNECTIONS: usize = 200;
const REQUESTS_PER_CONNECTION: usize = 50;

fn connections_200_by_50_requests_all_answered(mode: Mode) {
    let runtime = mode.runtime();
    let result: io::Result<usize> = runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        // Accepts exactly CONNECTIONS connections, serves each on a task of its own, and returns
        // the number of requests served once every connection has closed.
        let server = spawn(async move {
            let mut connections = Vec::with_capacity(CONNECTIONS);
            for _ in 0..CONNECTIONS {
                let (stream, _) = listener.accept().await?;
                connections.push(spawn(async move {
                    let served = AtomicUsize::new(0);
                    let service = service_fn(|request: Request<Incoming>| {
                        served.fetch_add(1, Ordering::SeqCst);
                        let body = format!("response to {}", request.uri().path());
                        async move { Ok::<_, Infallible>(Response::new(Body::from(body))) }
                    });
                    http1::Builder::new()
                        .timer(ReactorTimer::current()?)
                        .serve_connection(HyperIo::new(stream), service)
                        .await
                        .map_err(other)?;
                    io::Result::Ok(served.into_inner())
                }));
            }
            let mut served = 0;
            for connection in connections {
                served += join(connection).await?;
            }
            io::Result::Ok(served)
        });

        // Each client reports its open connection and waits for the go, so that all 200 are open
        // at once before any request is sent.
        let (connected, mut connections_open) = unbounded();
        let clients: Vec<_> = (0..CONNECTIONS)
            .map(|c| {
                let connected = connected.clone();
                spawn(async move {
                    let (mut sender, connection) = http1_client(addr).await?;
                    let (go, wait_for_go) = oneshot();
                    connected.send(go).await.map_err(|_| io::Error::other("the coordinator is gone"))?;
                    wait_for_go.await.map_err(other)?;
                    for r in 0..REQUESTS_PER_CONNECTION {
                        let path = format!("/connection/{c}/request/{r}");
                        sender.ready().await.map_err(other)?;
                        let response = sender.send_request(get(&path)).await.map_err(other)?;
                        assert_eq!(body_of(response).await?, format!("response to {path}"));
                    }
                    drop(sender);
                    join(connection).await.map_err(other)
                })
            })
            .collect();
        drop(connected);
        let mut go = Vec::with_capacity(CONNECTIONS);
        while go.len() < CONNECTIONS {
            go.push(connections_open.recv().await.map_err(other)?);
        }
        for go in go {
            let _ = go.send(());
        }
        for client in clients {
            join(client).await?;
        }
        join(server).await
    });
    let served = result.expect("200 connections x 50 requests");
    assert_eq!(served, CONNECTIONS * REQUESTS_PER_CONNECTION, "every request reached the service once");
}

#[test]
fn connections_200_by_50_requests_all_answered_multi_thread() {
    bounded("connections_multi_thread", || connections_200_by_50_requests_all_answered(Mode::MultiThread));
}

#[test]
fn connections_200_by_50_requests_all_answered_single_thread() {
    bounded("connections_single_thread", || connections_200_by_50_requests_all_answered(Mode::SingleThread));
}
