//! The patterns, each repeated `rounds` times, written once over any blocking I/O backend.

use std::future::Future;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use futures_lite::AsyncReadExt;
use reactor::EventSource;
use reactor_epoll::{net, Async, Epoll, PollingSource, Triggering};

const USAGE: &str = "usage: syscall_count \
    timed-wait|timed-wait-ms|register|readiness|stream-readiness|notify|polling-timed-wait \
    [rounds] [epoll|polling|polling-oneshot]";

struct NoopWake;

impl Wake for NoopWake {
    fn wake(self: Arc<Self>) {}
}

pub(crate) fn run() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() > 3 {
        usage();
    }
    let pattern = args.first().map_or("", String::as_str);
    let rounds = match args.get(1).map(|rounds| rounds.parse::<usize>()) {
        None => 1_000,
        Some(Ok(rounds)) => rounds,
        Some(Err(_)) => usage(),
    };
    let known = match args.get(2).map_or("epoll", String::as_str) {
        "epoll" => run_on(&Epoll::new()?, pattern, rounds)?,
        "polling" => run_on(&PollingSource::with_triggering(Triggering::Edge)?, pattern, rounds)?,
        "polling-oneshot" => run_on(&PollingSource::with_triggering(Triggering::Oneshot)?, pattern, rounds)?,
        _ => false,
    };
    if !known {
        usage();
    }
    Ok(())
}

fn usage() -> ! {
    eprintln!("{USAGE}");
    std::process::exit(2);
}

/// Runs `pattern` on `source`; `false` if there is no such pattern.
fn run_on<S: EventSource>(source: &S, pattern: &str, rounds: usize) -> std::io::Result<bool> {
    match pattern {
        "timed-wait" => {
            for _ in 0..rounds {
                source.wait(Some(Duration::from_micros(500)))?;
            }
        }
        "timed-wait-ms" => {
            for _ in 0..rounds {
                source.wait(Some(Duration::from_millis(1)))?;
            }
        }
        "notify" => {
            for _ in 0..rounds {
                source.notify();
                source.wait(None)?;
            }
        }
        "register" => {
            let (stream, _peer) = UnixStream::pair()?;
            for _ in 0..rounds {
                drop(Async::with_source(&stream, source)?);
            }
        }
        "readiness" => readiness_cycles(source, rounds)?,
        "stream-readiness" => stream_readiness_cycles(source, rounds)?,
        "polling-timed-wait" => {
            let poller = polling::Poller::new()?;
            let mut events = polling::Events::new();
            for _ in 0..rounds {
                poller.wait(&mut events, Some(Duration::from_micros(500)))?;
            }
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// Each round: a 1-byte read parks, the peer writes a byte, the wait dispatches, the read
/// completes (filling its buffer, so nothing says the socket is drained: the next round's read
/// meets `WouldBlock` first).
fn readiness_cycles<S: EventSource>(source: &S, rounds: usize) -> std::io::Result<()> {
    let (stream, mut peer) = UnixStream::pair()?;
    let stream = Async::with_source(stream, source)?;
    let waker = Waker::from(Arc::new(NoopWake));
    let mut cx = Context::from_waker(&waker);
    let mut buf = [0; 1];
    for _ in 0..rounds {
        let mut read = pin!(stream.read_with(|mut io| io.read(&mut buf)));
        assert!(read.as_mut().poll(&mut cx).is_pending(), "nothing to read yet: parks");
        peer.write_all(b"x")?;
        source.wait(None)?;
        assert!(matches!(read.as_mut().poll(&mut cx), Poll::Ready(Ok(1))));
    }
    Ok(())
}

/// Each round: a read of a stream through `AsyncRead` into a 64-byte buffer parks, the peer
/// writes a byte, the wait dispatches, the read completes short. Where the backend marks every
/// hang-up (epoll), the short read marks the stream drained and the next round's read parks
/// without a syscall; elsewhere it meets `WouldBlock` first.
fn stream_readiness_cycles<S: EventSource>(source: &S, rounds: usize) -> std::io::Result<()> {
    let (stream, mut peer) = UnixStream::pair()?;
    let mut stream = net::UnixStream::from_std(stream, source)?;
    let waker = Waker::from(Arc::new(NoopWake));
    let mut cx = Context::from_waker(&waker);
    let mut buf = [0; 64];
    for _ in 0..rounds {
        let mut read = pin!(stream.read(&mut buf));
        assert!(read.as_mut().poll(&mut cx).is_pending(), "nothing to read yet: parks");
        peer.write_all(b"x")?;
        source.wait(None)?;
        assert!(matches!(read.as_mut().poll(&mut cx), Poll::Ready(Ok(1))));
    }
    Ok(())
}
