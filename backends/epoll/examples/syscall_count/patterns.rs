//! The patterns, each repeated `rounds` times.

use std::future::Future;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use reactor::EventSource;
use reactor_epoll::{Async, Epoll};

struct NoopWake;

impl Wake for NoopWake {
    fn wake(self: Arc<Self>) {}
}

pub(crate) fn run() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let pattern = args.next().unwrap_or_default();
    let rounds: usize = args.next().and_then(|rounds| rounds.parse().ok()).unwrap_or(1_000);
    let epoll = Epoll::new()?;
    match pattern.as_str() {
        "timed-wait" => {
            for _ in 0..rounds {
                epoll.wait(Some(Duration::from_micros(500)))?;
            }
        }
        "timed-wait-ms" => {
            for _ in 0..rounds {
                epoll.wait(Some(Duration::from_millis(1)))?;
            }
        }
        "notify" => {
            for _ in 0..rounds {
                epoll.notify();
                epoll.wait(None)?;
            }
        }
        "readiness" => readiness_cycles(&epoll, rounds)?,
        "polling-timed-wait" => {
            let poller = polling::Poller::new()?;
            let mut events = polling::Events::new();
            for _ in 0..rounds {
                poller.wait(&mut events, Some(Duration::from_micros(500)))?;
            }
        }
        _ => {
            eprintln!(
                "usage: syscall_count timed-wait|timed-wait-ms|readiness|notify|polling-timed-wait [rounds]"
            );
            std::process::exit(2);
        }
    }
    Ok(())
}

fn readiness_cycles(epoll: &Epoll, rounds: usize) -> std::io::Result<()> {
    let (stream, mut peer) = UnixStream::pair()?;
    let stream = Async::with_source(stream, epoll)?;
    let waker = Waker::from(Arc::new(NoopWake));
    let mut cx = Context::from_waker(&waker);
    let mut buf = [0; 1];
    for _ in 0..rounds {
        let mut read = pin!(stream.read_with(|mut io| io.read(&mut buf)));
        assert!(read.as_mut().poll(&mut cx).is_pending(), "nothing to read yet: parks");
        peer.write_all(b"x")?;
        epoll.wait(None)?;
        assert!(matches!(read.as_mut().poll(&mut cx), Poll::Ready(Ok(1))));
    }
    Ok(())
}
