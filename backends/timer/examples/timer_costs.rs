//! A fixed, clock-independent sequence of timer operations, to count instructions with
//! `valgrind --tool=callgrind` (the real-clock workloads of `reactor-bench` register too late
//! under valgrind to measure the timer):
//!
//! - `burst`: 100,000 sleeps with deadlines 1..=50 ms (fixed seed) are polled once, then a
//!   manual clock advances 1 ms at a time; each step fires what is due (`wait`) and polls each
//!   fired sleep to completion and drops it, as the `timer-burst` workload's tasks do;
//! - `cancel`: 1,000,000 sleeps an hour or more away are polled once, then all dropped, as the
//!   `timer-memory` workload does.
//!
//! Run: `cargo run --release -p reactor-timer --example timer_costs -- burst` (or `cancel`);
//! compare the inclusive costs of `Sleep::poll`, `Sleep::drop` and `Timer::wait`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Wake, Waker};
use std::time::Duration;

use reactor::EventSource;
use reactor_timer::{Sleep, Timer};

struct Noop;

impl Wake for Noop {
    fn wake(self: Arc<Self>) {}
}

fn poll(sleep: &mut Sleep, cx: &mut Context<'_>) -> bool {
    Pin::new(sleep).poll(cx).is_ready()
}

fn main() {
    let (timer, clock) = Timer::with_manual_clock();
    let waker = Waker::from(Arc::new(Noop));
    let mut cx = Context::from_waker(&waker);
    match std::env::args().nth(1).as_deref() {
        Some("burst") => {
            let mut state = 0x9e37_79b9_7f4a_7c15_u64;
            let mut by_ms: Vec<Vec<Sleep>> = (0..=50).map(|_| Vec::new()).collect();
            for _ in 0..100_000 {
                // splitmix64
                state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut z = state;
                z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                let ms = 1 + (z ^ (z >> 31)) % 50;
                let mut sleep = timer.sleep(Duration::from_millis(ms));
                assert!(!poll(&mut sleep, &mut cx));
                by_ms[ms as usize].push(sleep);
            }
            for sleeps in by_ms.iter_mut().skip(1) {
                clock.advance(Duration::from_millis(1));
                timer.wait(None).unwrap();
                for mut sleep in sleeps.drain(..) {
                    assert!(poll(&mut sleep, &mut cx));
                }
            }
        }
        Some("cancel") => {
            let mut sleeps = Vec::with_capacity(1_000_000);
            for i in 0..1_000_000u64 {
                let mut sleep = timer.sleep(Duration::from_secs(3600 + i % 3600));
                assert!(!poll(&mut sleep, &mut cx));
                sleeps.push(sleep);
            }
            drop(sleeps);
        }
        _ => eprintln!("usage: timer_costs burst|cancel"),
    }
    assert_eq!(timer.pending(), 0);
}
