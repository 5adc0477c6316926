//! [`EventStream`]: a watch's events as an async stream, woken from the loop's dispatch.

use std::collections::VecDeque;
use std::fmt;
use std::future::{self, Future};
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use futures_core::Stream;

use super::{lock, Event, Mask, Watch};

/// The most events a stream buffers for a reader that falls behind; beyond it events are
/// dropped and the reader gets one [`Mask::OVERFLOW`] event in their place, as the kernel does.
pub(super) const CAPACITY: usize = 4096;

/// The events of one watch, as a [`Stream`] (or one by one with
/// [`next_event`](Self::next_event)).
///
/// The watch's callback, which runs on the loop, buffers each event and wakes the task that
/// reads. The stream ends after [`Mask::IGNORED`], when the watch ended because the path was
/// deleted or unmounted. Dropping the stream drops its watch.
pub(crate) struct EventStream {
    buffer: Arc<Mutex<Buffer>>,
    /// Feeds `buffer` until dropped.
    watch: Watch,
}

#[derive(Default)]
struct Buffer {
    events: VecDeque<Event>,
    /// Events were dropped since the reader last caught up; it gets an overflow event next.
    overflowed: bool,
    /// The watch ended: once `events` is empty, the stream is over.
    ended: bool,
    /// The task waiting for an event.
    waker: Option<Waker>,
}

impl EventStream {
    /// A stream fed by the watch that `watch` registers with the callback it is given.
    pub(super) fn new(
        watch: impl FnOnce(Box<dyn FnMut(&Event) + Send>) -> io::Result<Watch>,
    ) -> io::Result<Self> {
        let buffer = Arc::new(Mutex::new(Buffer::default()));
        let feed = buffer.clone();
        let watch = watch(Box::new(move |event| {
            let waker = {
                let mut buffer = lock(&feed);
                if buffer.events.len() < CAPACITY {
                    buffer.events.push_back(event.clone());
                } else {
                    buffer.overflowed = true;
                }
                buffer.ended |= event.mask.contains(Mask::IGNORED);
                buffer.waker.take()
            };
            // Outside the lock: the woken task may run at once on another worker and poll.
            if let Some(waker) = waker {
                waker.wake();
            }
        }))?;
        Ok(Self { buffer, watch })
    }

    /// The next event, or `None` once the watch ended.
    pub(crate) fn next_event(&mut self) -> impl Future<Output = Option<Event>> + '_ {
        future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx))
    }
}

impl Stream for EventStream {
    type Item = Event;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        let mut buffer = lock(&self.buffer);
        if let Some(event) = buffer.events.pop_front() {
            return Poll::Ready(Some(event));
        }
        if buffer.overflowed {
            buffer.overflowed = false;
            return Poll::Ready(Some(Event { mask: Mask::OVERFLOW, name: None }));
        }
        if buffer.ended {
            return Poll::Ready(None);
        }
        match &mut buffer.waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            waker => *waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl fmt::Debug for EventStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventStream").field("watch", &self.watch).finish_non_exhaustive()
    }
}
