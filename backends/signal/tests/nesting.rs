//! Handlers of different signals nesting on one thread: storms of eight real-time signals at
//! once, each delivered while the others' handlers run.
//!
//! Rust gives each thread an alternate signal stack of only `SIGSTKSZ` (8 KiB), sized for the
//! one SIGSEGV handler that reports a stack overflow; a handler installed with `SA_ONSTACK`
//! runs there, and each nested delivery pushes a whole signal frame (about 3 KiB with AVX-512
//! state), so three nested handlers overflowed it and the process died of SIGSEGV (5 runs in
//! 10 of this test, before the handler stopped asking for `SA_ONSTACK`).

#![cfg(target_os = "linux")]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::{disposition, realtime, run_bounded, runtime, send_surely, wait_until_not_pending};
use reactor_epoll::signal::Signals;
use reactor_epoll::Backend;

#[test]
fn storms_of_eight_signals_at_once_nest_their_handlers_without_overflowing_a_stack() {
    run_bounded("nesting", || {
        let signals: Vec<i32> = (10..18).map(realtime).collect();
        let runtime = runtime(Backend::Epoll);
        let mut listener = Signals::with_source(&signals, runtime.io()).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let receiver = {
            let stop = stop.clone();
            runtime.spawn(async move {
                loop {
                    listener.recv().await.unwrap();
                    if stop.load(Ordering::SeqCst) {
                        return listener;
                    }
                }
            })
        };
        let storms: Vec<_> = signals
            .iter()
            .map(|&signal| {
                std::thread::spawn(move || {
                    for _ in 0..2_000 {
                        // SAFETY: kill(2) with our own pid and a signal with a listener; a full
                        // queue (EAGAIN) only drops this instance.
                        unsafe { libc::kill(libc::getpid(), signal) };
                    }
                })
            })
            .collect();
        storms.into_iter().for_each(|storm| storm.join().unwrap());
        stop.store(true, Ordering::SeqCst);
        send_surely(signals[0]);
        let listener = runtime.block_on(receiver).unwrap();
        signals.iter().for_each(|&signal| wait_until_not_pending(signal));
        drop(listener);
        assert!(signals.iter().all(|&signal| disposition(signal) == libc::SIG_DFL));
    });
}
