//! Async I/O for [`reactor`] over any I/O backend: [`Async<T>`] and the [`net`] types.
//!
//! Everything here runs over whichever backend the executor's source has, through the
//! [`reactor::io`] trait: epoll (`reactor-epoll`, the default runtime on Linux), the portable
//! `polling` backend (`reactor-polling`: kqueue on macOS and the BSDs, event ports on illumos,
//! `poll` elsewhere), or one of your own. Inside a task, [`Async::new`] and the `net`
//! constructors find the backend ambiently ([`IoHandle::current`](reactor::io::IoHandle::current));
//! `with_source` and `from_std` take one explicitly.
//!
//! - [`Async<T>`] registers any [`AsFd`](std::os::fd::AsFd) type, with no `unsafe`: it owns the
//!   I/O object and deregisters before the fd can close.
//! - [`Watch`] registers one for a callback run on the loop instead of a task.
//! - [`net`] has TCP, UDP and Unix sockets implementing `futures-io`'s `AsyncRead`/`AsyncWrite`,
//!   with readiness and `try_*` calls, socket options, [`TcpSocket`](net::TcpSocket) for a
//!   chosen listen backlog, and host names resolved on the executor's blocking pool.
//!
//! The readiness cache, the waiter sets and the registry behind them are the core's
//! ([`reactor::io::IoState`], [`reactor::io::Registry`]), shared by every backend and
//! model-checked once.
//!
//! # Examples
//!
//! A pair of Unix streams on an executor over the epoll backend; the same code runs unchanged
//! over any other:
//!
//! ```
//! use std::os::unix::net::UnixStream;
//! use futures_lite::{AsyncReadExt, AsyncWriteExt};
//! use reactor::Executor;
//! use reactor_epoll::Epoll;
//! use reactor_net::Async;
//!
//! let executor = Executor::new(Epoll::new()?)?;
//! executor.block_on(async {
//!     let (a, b) = UnixStream::pair()?;
//!     let (mut a, mut b) = (Async::new(a)?, Async::new(b)?);
//!     a.write_all(b"ping").await?;
//!     let mut buf = [0; 4];
//!     b.read_exact(&mut buf).await?;
//!     assert_eq!(&buf, b"ping");
//!     Ok::<(), std::io::Error>(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```
#![cfg(unix)]
#![doc(test(attr(deny(warnings))))]

mod async_io;
pub mod net;
mod registered;
mod sys;
mod watch;

pub use async_io::{Async, Ready, WithReadiness};
pub use watch::Watch;
