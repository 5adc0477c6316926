//! Two executors waking each other's tasks: a task of one sleeps on the other's timer (or waits
//! on an fd registered with the other's epoll), so the wake-up is dispatched by the other
//! executor's poller, on a thread that is dispatching a source but not this executor's.

use std::os::unix::net::UnixStream;
use std::thread;
use std::time::Duration;

use reactor::source::Composite;
use reactor::Executor;
use reactor_channel::{oneshot, unbounded};
use reactor_epoll::{Async, Epoll};
use reactor_timer::Timer;

use crate::harness::{Env, Variant};

/// Each executor's tasks sleep on the other's timer and, with epoll, wait for a socket
/// registered with the other's epoll; every one of them completes once.
pub(crate) fn two_executors(env: &mut Env) {
    const SLEEPS: u64 = 16;
    const SOCKETS: u64 = 4;
    env.add_peer();
    let (here, there) = (env.executor(), env.peer(0));
    let parts = |executor: &Executor<Composite>| {
        executor.block_on(async { (Timer::current(), reactor::current_source::<Epoll>()) })
    };
    let ((here_timer, here_epoll), (there_timer, there_epoll)) = (parts(here), parts(there));
    let (done_tx, done_rx) = unbounded::<u64>();
    for id in 0..SLEEPS {
        let delay = env.rng.duration(Duration::from_millis(10));
        let (runs_on, timer) =
            if id % 2 == 0 { (here, there_timer.clone()) } else { (there, here_timer.clone()) };
        let done = done_tx.clone();
        let sleeper = async move {
            timer.sleep(delay).await;
            done.try_send(id).expect("the collector waits");
        };
        runs_on.spawn(sleeper).detach();
    }
    let mut writers = Vec::new();
    if env.scenario.variant == Variant::Epoll {
        let (here_epoll, there_epoll) =
            (here_epoll.expect("an epoll here"), there_epoll.expect("an epoll there"));
        for id in SLEEPS..SLEEPS + SOCKETS {
            let (ours, theirs) = UnixStream::pair().expect("a socket pair");
            let (runs_on, epoll) = if id % 2 == 0 { (here, &there_epoll) } else { (there, &here_epoll) };
            let ours = Async::with_source(ours, epoll).expect("register with the other executor's epoll");
            let done = done_tx.clone();
            runs_on
                .spawn(async move {
                    ours.readable().await.expect("the socket becomes readable");
                    done.try_send(id).expect("the collector waits");
                })
                .detach();
            writers.push(theirs);
        }
    }
    drop(done_tx);
    let total = SLEEPS + writers.len() as u64;
    thread::scope(|scope| {
        // Without workers the other executor runs its tasks only inside a `block_on`.
        let (stop_tx, stop_rx) = oneshot::<()>();
        if env.workers() == 0 {
            scope.spawn(move || there.block_on(stop_rx));
        }
        for (index, mut writer) in writers.into_iter().enumerate() {
            scope.spawn(move || {
                thread::sleep(Duration::from_millis(index as u64));
                std::io::Write::write_all(&mut writer, b"x").expect("write to the socket");
                writer
            });
        }
        let mut done = env.collect(done_rx, total as usize, "tasks woken by the other executor");
        done.sort_unstable();
        assert_eq!(done, (0..total).collect::<Vec<_>>(), "each task completed once");
        let _ = stop_tx.send(());
    });
}
