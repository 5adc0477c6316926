//! A `Timeout` fires even around a future that spends the whole cooperative budget on every poll.

use std::future::Future;
use std::pin::Pin;
use std::sync::mpsc;
use std::task::{Context, Poll};
use std::thread;
use std::time::Duration;

use reactor::Builder;
use reactor_timer::{timeout, Timer};

/// A leaf that is always ready but honours the cooperative budget, like a channel that always
/// has a message.
struct AlwaysReady;

impl Future for AlwaysReady {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        reactor::coop::poll_proceed(cx)
    }
}

/// Awaits `AlwaysReady` forever: every poll of its task ends with the budget spent.
async fn spend_the_budget_forever() {
    loop {
        AlwaysReady.await;
    }
}

/// Runs `run` on another thread and fails the test if it does not return within 10 s.
fn within_ten_seconds<T: Send + 'static>(run: impl FnOnce() -> T + Send + 'static) -> T {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || sender.send(run()));
    receiver.recv_timeout(Duration::from_secs(10)).expect("hung: the timeout never fired")
}

#[test]
fn a_timeout_fires_around_a_future_that_spends_its_budget_on_every_poll() {
    let elapsed = within_ten_seconds(|| {
        let executor = Builder::new().worker_threads(1).build(Timer::new()).unwrap();
        // `async` blocks: the ambient `timeout` finds the executor's timer when first polled.
        let in_block_on =
            executor.block_on(async { timeout(Duration::from_millis(10), spend_the_budget_forever()).await });
        let task =
            executor.spawn(async { timeout(Duration::from_millis(10), spend_the_budget_forever()).await });
        let in_task = executor.block_on(task).unwrap();
        (in_block_on.is_err(), in_task.is_err())
    });
    assert_eq!(elapsed, (true, true), "both timeouts end with Elapsed");
}
