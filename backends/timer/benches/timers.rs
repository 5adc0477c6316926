//! reactor-timer next to tokio's timers and async-io's `Timer`, in one run:
//!
//! - `insert+cancel/{runtime}/{pending}`: register one timer (first poll) and cancel it (drop),
//!   with 1k, 100k or 1M other timers pending;
//! - `insert+cancel, 2 threads/{runtime}`: the same with 100k pending, done by two threads at
//!   once (one per core), per iteration one operation on each: the cost of contention;
//! - `fire 100k/{runtime}`: 100,000 timers due at once, from the moment the runtime is asked to
//!   fire them until the last waker ran;
//! - wake lateness p50/p99 of a 1–2 ms sleep, printed before the criterion runs. reactor's
//!   timer is measured composed with two blocking sources: the core's `Parking` (a futex wait,
//!   subject to the kernel's 50 µs timer slack) and a minimal source on the `polling` crate
//!   (epoll, arming a timerfd for sub-millisecond timeouts, as async-io does), standing in for
//!   the epoll backend.
//!
//! Run: `cargo bench -p reactor-timer --bench timers` (about two minutes).

use std::future::Future;
use std::hint::black_box;
use std::io;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, SamplingMode};
use reactor::source::Composite;
use reactor::EventSource;
use reactor_timer::Timer;

const PENDING: [usize; 3] = [1_000, 100_000, 1_000_000];
const FIRED: usize = 100_000;
const LATENESS_SAMPLES: usize = 300;

/// Wakes nothing; counts how often it was woken.
#[derive(Default)]
struct Counter(AtomicUsize);

impl Counter {
    fn count(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

fn poll<F: Future + ?Sized>(future: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(waker))
}

/// A deadline between 100 s and 101 s away, spread so that timers do not share one.
fn far(i: usize) -> Duration {
    Duration::from_secs(100) + Duration::from_nanos((i as u64).wrapping_mul(7_919_993) % 1_000_000_000)
}

/// The smallest blocking source on `polling`: it waits for nothing but the timeout and notifies.
struct Epoll {
    poller: polling::Poller,
    events: Mutex<polling::Events>,
}

impl Epoll {
    fn new() -> Self {
        Self { poller: polling::Poller::new().expect("epoll"), events: Mutex::new(polling::Events::new()) }
    }
}

impl EventSource for Epoll {
    fn wait(&self, timeout: Option<Duration>) -> io::Result<usize> {
        let mut events = self.events.lock().expect("events lock");
        events.clear();
        self.poller.wait(&mut events, timeout)?;
        Ok(0)
    }

    fn notify(&self) {
        let _ = self.poller.notify();
    }
}

fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_time().build().expect("tokio runtime")
}

fn insert_cancel(c: &mut Criterion) {
    let waker = Waker::from(Arc::new(Counter::default()));
    let mut group = c.benchmark_group("insert+cancel");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_millis(700));
    for pending in PENDING {
        let timer = Timer::new();
        measure_insert_cancel(&mut group, "reactor", pending, &waker, |after| timer.sleep(after));
        let runtime = tokio_runtime();
        let _entered = runtime.enter();
        measure_insert_cancel(&mut group, "tokio", pending, &waker, tokio::time::sleep);
        measure_insert_cancel(&mut group, "async-io", pending, &waker, async_io::Timer::after);
    }
    group.finish();
}

fn insert_cancel_contended(c: &mut Criterion) {
    const PENDING: usize = 100_000;
    let mut group = c.benchmark_group("insert+cancel, 2 threads");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_millis(700));
    let timer = Timer::new();
    measure_contended(&mut group, "reactor", PENDING, None, &|after| timer.sleep(after));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .expect("tokio runtime");
    measure_contended(&mut group, "tokio", PENDING, Some(&runtime), &tokio::time::sleep);
    measure_contended(&mut group, "async-io", PENDING, None, &async_io::Timer::after);
    group.finish();
}

/// Like `measure_insert_cancel`, on two threads at once (inside `runtime`'s context, if any).
fn measure_contended<F: Future>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    pending: usize,
    runtime: Option<&tokio::runtime::Runtime>,
    sleep: &(impl Fn(Duration) -> F + Sync),
) {
    let waker = Waker::from(Arc::new(Counter::default()));
    let _entered = runtime.map(tokio::runtime::Runtime::enter);
    let others: Vec<_> = (0..pending)
        .map(|i| {
            let mut timer = Box::pin(sleep(far(i)));
            let _ = poll(timer.as_mut(), &waker);
            timer
        })
        .collect();
    group.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let start = std::sync::Barrier::new(2);
            let elapsed: Vec<Duration> = std::thread::scope(|scope| {
                let threads: Vec<_> = (0..2usize)
                    .map(|thread| {
                        let start = &start;
                        scope.spawn(move || {
                            // A waker per thread: its reference count is not what is measured.
                            let waker = Waker::from(Arc::new(Counter::default()));
                            let _entered = runtime.map(tokio::runtime::Runtime::enter);
                            start.wait();
                            let began = Instant::now();
                            for i in 0..iters as usize {
                                let timer = pin!(sleep(far(i * 2 + thread)));
                                let _ = black_box(poll(timer, &waker));
                            }
                            began.elapsed()
                        })
                    })
                    .collect();
                threads.into_iter().map(|thread| thread.join().expect("bench thread")).collect()
            });
            elapsed.into_iter().max().unwrap_or_default()
        });
    });
    drop(others);
}

/// With `pending` timers from `sleep` pending, measures registering one more (its first poll)
/// and cancelling it (its drop).
fn measure_insert_cancel<F: Future>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    pending: usize,
    waker: &Waker,
    sleep: impl Fn(Duration) -> F,
) {
    let others: Vec<_> = (0..pending)
        .map(|i| {
            let mut timer = Box::pin(sleep(far(i)));
            let _ = poll(timer.as_mut(), waker);
            timer
        })
        .collect();
    let mut i = pending;
    group.bench_function(BenchmarkId::new(name, pending), |b| {
        b.iter(|| {
            i += 1;
            let timer = pin!(sleep(far(i)));
            let _ = black_box(poll(timer, waker));
        });
    });
    drop(others);
}

/// Runs `fire` `iters` times on `FIRED` freshly registered timers due at once; sums the time
/// `fire` took. `register(deadline, waker)` registers one timer and returns what keeps it alive.
fn time_firing<T>(
    iters: u64,
    mut register: impl FnMut(Instant, &Waker) -> T,
    mut fire: impl FnMut(&Counter),
) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let counter = Arc::new(Counter::default());
        let waker = Waker::from(counter.clone());
        // Far enough ahead that the last registration is still before it (else its first poll
        // would complete instead of waiting).
        let deadline = Instant::now() + Duration::from_millis(150);
        let timers: Vec<T> = (0..FIRED).map(|_| register(deadline, &waker)).collect();
        assert!(Instant::now() < deadline, "registering {FIRED} timers took over 150 ms");
        while Instant::now() < deadline {
            std::thread::sleep(deadline - Instant::now());
        }
        let start = Instant::now();
        fire(&counter);
        total += start.elapsed();
        assert_eq!(counter.count(), FIRED);
        drop(timers);
    }
    total
}

fn fire(c: &mut Criterion) {
    let mut group = c.benchmark_group("fire 100k");
    // Each iteration also spends 150 ms registering and waiting, unmeasured: keep them few.
    group.sample_size(10).sampling_mode(SamplingMode::Flat).warm_up_time(Duration::from_millis(1));
    group.measurement_time(Duration::from_millis(100));

    let timer = Timer::new();
    let source = Composite::new(timer.clone()).unwrap();
    group.bench_function("reactor", |b| {
        b.iter_custom(|iters| {
            time_firing(
                iters,
                |deadline, waker| {
                    let mut sleep = timer.sleep_until(deadline);
                    let _ = poll(Pin::new(&mut sleep), waker);
                    sleep
                },
                |counter| {
                    while counter.count() < FIRED {
                        source.wait(None).expect("wait");
                    }
                },
            )
        });
    });

    let runtime = tokio_runtime();
    group.bench_function("tokio", |b| {
        b.iter_custom(|iters| {
            let _entered = runtime.enter();
            time_firing(
                iters,
                |deadline, waker| {
                    let mut sleep = Box::pin(tokio::time::sleep_until(deadline.into()));
                    let _ = poll(sleep.as_mut(), waker);
                    sleep
                },
                |counter| {
                    runtime.block_on(async {
                        while counter.count() < FIRED {
                            tokio::task::yield_now().await;
                        }
                    });
                },
            )
        });
    });

    group.bench_function("async-io", |b| {
        b.iter_custom(|iters| {
            time_firing(
                iters,
                |deadline, waker| {
                    let mut sleep = async_io::Timer::at(deadline);
                    let _ = poll(Pin::new(&mut sleep), waker);
                    sleep
                },
                |counter| {
                    async_io::block_on(async {
                        while counter.count() < FIRED {
                            futures_lite::future::yield_now().await;
                        }
                    });
                },
            )
        });
    });
    group.finish();
}

/// Sleeps `LATENESS_SAMPLES` times for 1–2 ms (sub-millisecond parts varying) with `sleep_until`
/// and reports how late each wake-up was: (p50, p99).
fn lateness(mut sleep_until: impl FnMut(Instant) -> Instant) -> (Duration, Duration) {
    let mut late: Vec<Duration> = (0..LATENESS_SAMPLES)
        .map(|i| {
            let offset = Duration::from_millis(1) + Duration::from_nanos((i as u64 * 7_919) % 1_000_000);
            let deadline = Instant::now() + offset;
            let woke = sleep_until(deadline);
            assert!(woke >= deadline, "woke early");
            woke - deadline
        })
        .collect();
    late.sort();
    (late[late.len() / 2], late[late.len() * 99 / 100])
}

/// Lateness of reactor's timer composed with `blocking`.
fn reactor_lateness(blocking: impl EventSource + 'static) -> (Duration, Duration) {
    let timer = Timer::new();
    let source =
        Composite::new(blocking).unwrap().with(timer.clone()).unwrap_or_else(|_| unreachable!("passive"));
    let waker = Waker::from(Arc::new(Counter::default()));
    lateness(|deadline| {
        let mut sleep = timer.sleep_until(deadline);
        while poll(Pin::new(&mut sleep), &waker).is_pending() {
            source.wait(None).expect("wait");
        }
        Instant::now()
    })
}

fn report_lateness() {
    let parking = reactor_lateness(reactor::source::Parking::new());
    let epoll = reactor_lateness(Epoll::new());

    let runtime = tokio_runtime();
    let tokio = lateness(|deadline| {
        runtime.block_on(async {
            tokio::time::sleep_until(deadline.into()).await;
            Instant::now()
        })
    });

    let async_io = lateness(|deadline| {
        async_io::block_on(async_io::Timer::at(deadline));
        Instant::now()
    });

    println!("wake lateness of a 1-2 ms sleep over {LATENESS_SAMPLES} samples (p50 / p99):");
    let runs =
        [("reactor+parking", parking), ("reactor+epoll", epoll), ("tokio", tokio), ("async-io", async_io)];
    for (name, (p50, p99)) in runs {
        println!("  {name:<16} {:>8.1} us / {:>8.1} us", micros(p50), micros(p99));
    }
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

fn main() {
    report_lateness();
    let mut criterion = Criterion::default().configure_from_args();
    insert_cancel(&mut criterion);
    insert_cancel_contended(&mut criterion);
    fire(&mut criterion);
    criterion.final_summary();
}
