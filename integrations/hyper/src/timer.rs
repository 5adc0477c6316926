//! hyper's `Timer`: sleeps on reactor's timer, on the timer's clock.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use reactor_timer::{Sleep, Timer};

/// hyper's timer on reactor's [`Timer`]: hyper's timeouts (`header_read_timeout`, HTTP/2
/// keep-alive) sleep on it, and hyper reads the time from its clock, so on a runtime built with
/// a paused or manual clock they follow that clock.
#[derive(Clone, Debug)]
pub struct ReactorTimer {
    timer: Timer,
}

impl ReactorTimer {
    /// The timer of the executor this thread runs tasks for.
    ///
    /// # Errors
    ///
    /// `NotFound` outside an executor, or in one whose source has no [`Timer`].
    pub fn current() -> io::Result<Self> {
        reactor::current_source::<Timer>().map(Self::new).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "ReactorTimer::current needs a reactor executor with a timer",
            )
        })
    }

    /// hyper's timer on `timer`.
    pub fn new(timer: Timer) -> Self {
        Self { timer }
    }
}

impl hyper::rt::Timer for ReactorTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(ReactorSleep { sleep: self.timer.sleep(duration) })
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(ReactorSleep { sleep: self.timer.sleep_until(deadline) })
    }

    fn now(&self) -> Instant {
        self.timer.now()
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<ReactorSleep>() {
            // Re-armed in place: no new allocation, the timer slot is reused.
            Some(mut ours) => ours.sleep.reset(new_deadline),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

/// A [`ReactorTimer`]'s sleep, as hyper holds it.
#[derive(Debug)]
pub struct ReactorSleep {
    sleep: Sleep,
}

impl Future for ReactorSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.sleep).poll(cx)
    }
}

impl hyper::rt::Sleep for ReactorSleep {}
