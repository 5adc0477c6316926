//! The one-shot path of `PollingSource` on the real OS, and the kernel behaviour that the loom
//! models' mock kernel (`reactor_loom::mock`, one-shot mode) stands in for: a report disarms the
//! whole registration, and a modify of a ready direction reports it at the next wait.
//!
//! Every wait has a timeout, so a lost event fails an assertion instead of hanging.

use std::future::Future;
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use polling::{Event, Events, PollMode, Poller};
use reactor::EventSource;
use reactor_net::Async;
use reactor_polling::{PollingSource, Triggering};

/// Long enough for an event that is due; a due event ends the wait at once.
const DUE: Duration = Duration::from_secs(5);

/// A waker that records that it was woken.
#[derive(Default)]
struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl Flag {
    fn take(&self) -> bool {
        self.0.swap(false, Ordering::SeqCst)
    }
}

/// A connected pair whose first end's send buffer is full, so it is not writable.
fn full_pair() -> io::Result<(UnixStream, UnixStream)> {
    let (a, b) = UnixStream::pair()?;
    a.set_nonblocking(true)?;
    b.set_nonblocking(true)?;
    let chunk = [0u8; 4096];
    loop {
        match (&a).write(&chunk) {
            Ok(_) => continue,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok((a, b)),
            Err(error) => return Err(error),
        }
    }
}

/// Reads everything `stream` has queued.
fn drain(mut stream: &UnixStream) -> io::Result<()> {
    let mut buf = [0u8; 65536];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(_) => continue,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(error) => return Err(error),
        }
    }
}

#[test]
fn the_kernel_disarms_both_directions_on_a_report_and_reports_a_ready_direction_once_modified(
) -> io::Result<()> {
    let poller = Poller::new()?;
    let (a, b) = full_pair()?;
    // SAFETY: `a` is deleted from the poller before it is dropped, at the end of this test.
    unsafe { poller.add_with_mode(&a, Event::all(7), PollMode::Oneshot) }?;
    (&b).write_all(b"x")?; // readable, not writable
    let mut events = Events::new();
    poller.wait(&mut events, Some(DUE))?;
    let event = events.iter().next().expect("the read is reported");
    assert!(event.readable && !event.writable);
    drain(&b)?; // now writable too, but the registration reported and is disarmed
    events.clear();
    poller.wait(&mut events, Some(Duration::ZERO))?;
    assert_eq!(events.len(), 0, "a reported one-shot registration watches nothing");
    poller.modify_with_mode(&a, Event::writable(7), PollMode::Oneshot)?;
    events.clear();
    poller.wait(&mut events, Some(DUE))?;
    let event = events.iter().next().expect("a modify of a ready direction reports it");
    assert!(event.writable);
    poller.delete(&a)
}

#[test]
fn a_writer_waiting_while_a_read_event_fires_is_woken_when_room_appears() -> io::Result<()> {
    let source = PollingSource::with_triggering(Triggering::Oneshot)?;
    let (a, b) = full_pair()?;
    let a = Async::with_source(a, &source)?;
    let flag = Arc::new(Flag::default());
    let waker = Waker::from(flag.clone());
    let mut cx = Context::from_waker(&waker);
    let mut write = pin!(a.write_with(|mut stream| stream.write(b"y")));
    assert!(write.as_mut().poll(&mut cx).is_pending(), "the send buffer is full");
    // The first wait reports the registration (it was ready for nothing yet, or the read alone);
    // either way the write direction, unreported, must stay watched.
    (&b).write_all(b"x")?;
    source.wait(Some(DUE))?;
    assert!(!flag.take(), "no room yet");
    drain(&b)?;
    source.wait(Some(DUE))?;
    assert!(flag.take(), "the room made for the writer woke it");
    assert!(matches!(write.as_mut().poll(&mut cx), Poll::Ready(Ok(1))));
    Ok(())
}

#[test]
fn a_reader_that_drains_and_re_arms_is_woken_by_the_next_message() -> io::Result<()> {
    let source = PollingSource::with_triggering(Triggering::Oneshot)?;
    let (a, b) = UnixStream::pair()?;
    let a = Async::with_source(a, &source)?;
    let flag = Arc::new(Flag::default());
    let waker = Waker::from(flag.clone());
    let mut cx = Context::from_waker(&waker);
    // Writability is reported first and consumed by nobody; the reader waits for messages.
    source.wait(Some(Duration::ZERO))?;
    for message in [b"1", b"2"] {
        let mut buf = [0u8; 1];
        {
            let mut read = pin!(a.read_with(|mut stream| stream.read(&mut buf)));
            assert!(read.as_mut().poll(&mut cx).is_pending(), "nothing to read yet");
            (&b).write_all(message)?;
            source.wait(Some(DUE))?;
            assert!(flag.take(), "the message woke the reader");
            assert!(matches!(read.as_mut().poll(&mut cx), Poll::Ready(Ok(1))));
        }
        assert_eq!(&buf, message);
    }
    Ok(())
}
