//! A task's panic payload is contained like its output: a payload whose `Drop` panics, dropped
//! by the executor (the task was detached), must not abort the process.
//!
//! In a file of its own: an abort would take down every test of the binary.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use reactor::source::Parking;
use reactor::Builder;

/// A panic payload whose drop panics too.
struct PanickyPayload {
    dropped: Arc<AtomicBool>,
}

impl Drop for PanickyPayload {
    fn drop(&mut self) {
        self.dropped.store(true, Ordering::SeqCst);
        panic!("the panic payload's drop panicked");
    }
}

#[test]
fn a_detached_task_panicking_with_a_payload_whose_drop_panics_leaves_the_executor_working() {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        let executor = Builder::new().worker_threads(2).build(Parking::new()).unwrap();
        let dropped = Arc::new(AtomicBool::new(false));
        let payload = PanickyPayload { dropped: dropped.clone() };
        executor.spawn(async move { std::panic::panic_any(payload) }).detach();
        executor.block_on(async {
            while !dropped.load(Ordering::SeqCst) {
                reactor::yield_now().await;
            }
        });
        // The pool still runs tasks, on its workers and in `block_on`.
        let answers: Vec<_> = (0..4).map(|i| executor.spawn(async move { i * 10 })).collect();
        let sum = executor.block_on(async {
            let mut sum = 0;
            for answer in answers {
                sum += answer.await.unwrap();
            }
            sum
        });
        sender.send(sum).unwrap();
    });
    let sum = receiver.recv_timeout(Duration::from_secs(10)).expect("the executor stopped working");
    assert_eq!(sum, 60);
}
