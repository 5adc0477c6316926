//! The `http` workload's server (issue 16, item 4): hyper's HTTP/1.1 server connection with one
//! handler and one configuration for every peer, so that the peers differ only in the runtime
//! and its glue to hyper (reactor-hyper's `HyperIo` and `ReactorTimer` on reactor, hyper-util's
//! `TokioIo` and `TokioTimer` on tokio).

use std::convert::Infallible;
use std::io;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use reactor_epoll::Backend;

use crate::httpload::BODY;
use crate::peers::reactor::Reactor;
use crate::peers::tokio::Tokio;
use crate::peers::Peer;
use crate::sizes::Sizes;
use crate::workloads::{http, Failure, Outcome};

/// Runs the `http` workload once on a fresh runtime of `peer`: reactor or tokio, either mode.
pub(crate) fn run(peer: Peer, sizes: &Sizes) -> Result<Outcome, Failure> {
    let workers = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
    let built = |error: io::Error| format!("building {}: {error}", peer.name());
    match peer {
        Peer::ReactorMulti | Peer::ReactorSingle => {
            let workers = if peer == Peer::ReactorMulti { workers } else { 0 };
            let runtime = Reactor::new(workers, Backend::Epoll).map_err(built)?;
            http::run(|listener, connections| runtime.block_on_http(listener, connections), sizes)
        }
        Peer::TokioMulti | Peer::TokioCurrent => {
            let runtime =
                if peer == Peer::TokioMulti { Tokio::multi_thread(workers) } else { Tokio::current_thread() }
                    .map_err(built)?;
            http::run(|listener, connections| runtime.block_on_http(listener, connections), sizes)
        }
        _ => Ok(Outcome::NotAvailable("hyper on reactor and tokio only")),
    }
}

/// Serves one connection with hyper's HTTP/1.1 server, default settings but for the timer,
/// until the client closes it; returns the requests answered.
///
/// Every request gets the same answer, `200 OK` with [`BODY`] (`Content-Length` set by hyper
/// from the full body), from the same handler on every peer.
pub(crate) async fn serve_connection<I, T>(io: I, timer: T) -> io::Result<u64>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    T: hyper::rt::Timer + Send + Sync + 'static,
{
    let answered = Arc::new(AtomicU64::new(0));
    let counter = answered.clone();
    let hello = service_fn(move |_: Request<Incoming>| {
        // Relaxed: a count read once the connection's future has completed, on the thread that
        // awaited it (the join is the synchronisation).
        counter.fetch_add(1, Ordering::Relaxed);
        std::future::ready(Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(BODY)))))
    });
    http1::Builder::new().timer(timer).serve_connection(io, hello).await.map_err(io::Error::other)?;
    Ok(answered.load(Ordering::Relaxed))
}
