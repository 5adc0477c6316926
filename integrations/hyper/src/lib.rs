//! [hyper](https://docs.rs/hyper) 1.x on reactor: the three runtime traits hyper asks of its host,
//! implemented on reactor's public API.
//!
//! hyper is runtime-agnostic: a connection runs over any type implementing
//! [`hyper::rt::Read`] and [`hyper::rt::Write`], spawns its background work (HTTP/2 streams, a
//! client's connection task) through a [`hyper::rt::Executor`], and measures its timeouts
//! (`header_read_timeout`, HTTP/2 keep-alive) with a [`hyper::rt::Timer`]. This crate gives:
//!
//! - [`HyperIo`]: hyper's I/O traits over reactor's `net` streams (`TcpStream`, `UnixStream`
//!   and their owned halves), which read straight into hyper's uninitialised buffer and write
//!   vectored, so no byte is copied or zeroed on the way; and, through [`FuturesIo`], over any
//!   `futures-io` type (TLS streams, compat layers), whose reads need an initialised buffer.
//! - [`ReactorExecutor`]: spawns hyper's `Send` futures onto the executor it was made on;
//!   [`LocalExecutor`] spawns `!Send` ones (an HTTP/2 service whose body is `!Send`) onto the
//!   thread running that executor's `block_on`.
//! - [`ReactorTimer`]: hyper's sleeps on reactor's timer, and hyper's clock on the timer's clock,
//!   so a runtime on a paused or manual clock drives hyper's timeouts too: a test of
//!   `header_read_timeout` runs in no real time.
//!
//! Nothing here is specific to one backend: it runs on the default runtime (`reactor-epoll`)
//! and on any executor whose source has an I/O backend and a timer.
//!
//! # Examples
//!
//! An HTTP/1.1 server and a hyper client on the default runtime:
//!
//! ```
//! use std::convert::Infallible;
//! use http_body_util::{BodyExt, Full};
//! use hyper::body::Bytes;
//! use hyper::{Request, Response};
//! use reactor_epoll::net::{TcpListener, TcpStream};
//! use reactor_hyper::{HyperIo, ReactorExecutor, ReactorTimer};
//!
//! reactor_epoll::block_on(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     reactor_epoll::spawn(async move {
//!         let (stream, _) = listener.accept().await?;
//!         let hello = hyper::service::service_fn(|_: Request<hyper::body::Incoming>| async {
//!             Ok::<_, Infallible>(Response::new(Full::new(Bytes::from("hello"))))
//!         });
//!         hyper::server::conn::http1::Builder::new()
//!             .timer(ReactorTimer::current()?)
//!             .serve_connection(HyperIo::new(stream), hello)
//!             .await
//!             .map_err(std::io::Error::other)
//!     })
//!     .detach();
//!
//!     let stream = TcpStream::connect(addr).await?;
//!     let (mut sender, connection) = hyper::client::conn::http1::handshake(HyperIo::new(stream))
//!         .await
//!         .map_err(std::io::Error::other)?;
//!     reactor_epoll::spawn(connection).detach();
//!     let request = Request::get("/").body(Full::new(Bytes::new())).map_err(std::io::Error::other)?;
//!     let response = sender.send_request(request).await.map_err(std::io::Error::other)?;
//!     let body = response.into_body().collect().await.map_err(std::io::Error::other)?.to_bytes();
//!     assert_eq!(&body[..], b"hello");
//!     # let _ = ReactorExecutor::current()?;
//!     Ok::<_, std::io::Error>(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```
#![cfg(unix)]
#![doc(test(attr(deny(warnings))))]

mod executor;
mod io;
mod timer;

pub use executor::{LocalExecutor, ReactorExecutor};
pub use io::{FuturesIo, HyperIo, Joined, Transport};
pub use timer::{ReactorSleep, ReactorTimer};
