//! Rounds of a waiter racing with other threads: the notify-vs-wait and event-vs-wait hammers.
//!
//! One waiter thread and `racers` racer threads meet at a spinning barrier at the start of each
//! round. The waiter announces that it is about to wait, spins a random moment, and waits until
//! the round's condition holds (a notify or an event arrived); each racer spins until it sees the
//! announcement (a spin, not a sleep: a sleeping thread wakes tens of microseconds later, far
//! wider than the window in which a wake-up gets lost), spins a random moment of up to a few
//! microseconds, and does its part (notify, fire). So each racer's action lands shortly before,
//! during or after the start of the wait, where a lost wake-up hides. They meet again, and the
//! waiter settles the round (a zero-timeout wait consumes what is left pending, so that a
//! leftover notification cannot hide a lost one in the next round). The suite's thread watches
//! the waiter's progress: a round that does not end within the patience is a wait that missed
//! its wake-up.
//!
//! Real threads find a window of a few dozen nanoseconds only by luck, and less so on a loaded
//! machine, where the threads of a race share one core; the loom entry points explore those
//! exhaustively.

use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::bounded::{self, panic_message};

/// The most spin-loop iterations a racer waits, once the waiter announced its wait, before its
/// part of a round (about a microsecond), in three rounds of four; in the fourth, up to
/// [`MAX_LONG_SPIN`]. The waiter, after announcing, spins up to a quarter of it. Concentrated
/// there, the racers' actions land where the wait begins (a lost wake-up's window is within it).
const MAX_SPIN: u64 = 24;

/// The most spin-loop iterations of a racer in one round of four (several microseconds, for
/// sources whose wait takes that long to begin: a system call).
const MAX_LONG_SPIN: u64 = 128;

/// Spin-loop iterations at a barrier before each yield of the thread (two cores are shared by
/// more threads than that at times).
const SPINS_PER_YIELD: u32 = 256;

/// What a round's waiter was doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Waiting for the round's condition (in `wait(None)`).
    Waiting,
    /// Draining with a zero-timeout wait after the round.
    Settling,
}

const IDLE: u8 = 0;
const WAITING: u8 = 1;
const SETTLING: u8 = 2;

/// How a race failed.
pub(crate) enum RaceError {
    /// Round `round` (from 0) did not end within the patience.
    Stuck { round: usize, phase: Phase, rescued: bool },
    /// The waiter's part failed or panicked in round `round`.
    Failed { round: usize, detail: String },
}

/// The waiter's part of a round: `(round, abort)`.
pub(crate) type WaitRole = Box<dyn Fn(usize, &AtomicBool) -> io::Result<()> + Send>;

/// The parts of a race.
pub(crate) struct Roles {
    /// The waiter's part of a round: returns once the round's condition holds, or once the flag
    /// (set when the suite gives up on the round) is set.
    pub(crate) wait: WaitRole,
    /// A racer's part of a round: `(round, racer)`.
    pub(crate) race: Arc<dyn Fn(usize, usize) + Send + Sync>,
    /// The waiter's clean-up after a round, once every racer has done its part.
    pub(crate) settle: Box<dyn Fn() -> io::Result<()> + Send>,
    /// What the suite calls to free a stuck waiter (a notify of the driver).
    pub(crate) rescue: Arc<dyn Fn() + Send + Sync>,
}

/// How often the suite's thread looks at the progress of a race. It is not woken per round:
/// waking it is a system call and a context switch on a machine of two cores, which would blur
/// the very timing the race depends on.
const WATCH_EVERY: Duration = Duration::from_millis(5);

/// Runs `rounds` rounds of `roles` with `racers` racer threads, giving each round `patience`.
pub(crate) fn run(rounds: usize, racers: usize, patience: Duration, roles: Roles) -> Result<(), RaceError> {
    let Roles { wait, race, settle, rescue } = roles;
    let barrier = Arc::new(SpinBarrier { arrived: AtomicUsize::new(0), parties: racers + 1 });
    // The last round whose wait the waiter announced (from 1).
    let announced = Arc::new(AtomicUsize::new(0));
    let abort = Arc::new(AtomicBool::new(false));
    let phase = Arc::new(AtomicU8::new(IDLE));
    // Rounds completed, and the failure of the round after them, if it failed.
    let completed = Arc::new(AtomicUsize::new(0));
    let failure = Arc::new(Mutex::new(None::<String>));
    let (finished, finish) = mpsc::channel::<()>();

    let mut threads: Vec<JoinHandle<()>> = Vec::with_capacity(racers + 1);
    let waiter = {
        let (barrier, abort, phase) = (barrier.clone(), abort.clone(), phase.clone());
        let (completed, failure, announced) = (completed.clone(), failure.clone(), announced.clone());
        move || {
            let mut jitter = Jitter::new(racers as u64);
            for round in 0..rounds {
                if !barrier.meet(2 * round + 1, &abort) {
                    return;
                }
                phase.store(WAITING, Ordering::SeqCst);
                announced.store(round + 1, Ordering::SeqCst);
                jitter.spin(MAX_SPIN / 4);
                let waited = panic::catch_unwind(AssertUnwindSafe(|| wait(round, &abort)));
                // Met even when aborting: a racer may still be on its way to this meeting.
                barrier.meet(2 * round + 2, &abort);
                phase.store(SETTLING, Ordering::SeqCst);
                let outcome = match waited {
                    Ok(Ok(())) => settle().map_err(|error| format!("a zero-timeout wait failed: {error}")),
                    Ok(Err(error)) => Err(format!("wait failed: {error}")),
                    Err(payload) => Err(format!("wait {}", panic_message(&*payload))),
                };
                phase.store(IDLE, Ordering::SeqCst);
                if let Err(detail) = outcome {
                    *failure.lock().unwrap_or_else(PoisonError::into_inner) = Some(detail);
                    abort.store(true, Ordering::SeqCst);
                    let _ = finished.send(());
                    return;
                }
                completed.fetch_add(1, Ordering::SeqCst);
            }
            let _ = finished.send(());
        }
    };
    let spawned = thread::Builder::new().name("conformance: waiter".into()).spawn(waiter);
    match spawned {
        Ok(handle) => threads.push(handle),
        Err(error) => {
            return Err(RaceError::Failed { round: 0, detail: format!("could not spawn: {error}") })
        }
    }
    for racer in 0..racers {
        let (barrier, aborted, race) = (barrier.clone(), abort.clone(), race.clone());
        let announced = announced.clone();
        let spawned = thread::Builder::new().name(format!("conformance: racer {racer}")).spawn(move || {
            let mut jitter = Jitter::new(racer as u64);
            for round in 0..rounds {
                if !barrier.meet(2 * round + 1, &aborted) {
                    return;
                }
                if !spin_until(|| announced.load(Ordering::SeqCst) > round, &aborted) {
                    return;
                }
                jitter.racer_spin();
                race(round, racer);
                if !barrier.meet(2 * round + 2, &aborted) {
                    return;
                }
            }
        });
        match spawned {
            Ok(handle) => threads.push(handle),
            Err(error) => {
                let detail = format!("could not spawn: {error}");
                leave(threads, &abort, patience, &rescue);
                return Err(RaceError::Failed { round: 0, detail });
            }
        }
    }

    let mut seen = 0;
    let mut progressed = Instant::now();
    loop {
        let ended = !matches!(finish.recv_timeout(WATCH_EVERY), Err(RecvTimeoutError::Timeout));
        let done = completed.load(Ordering::SeqCst);
        if let Some(detail) = failure.lock().unwrap_or_else(PoisonError::into_inner).take() {
            leave(threads, &abort, patience, &rescue);
            return Err(RaceError::Failed { round: done, detail });
        }
        if done == rounds {
            leave(threads, &abort, patience, &rescue);
            return Ok(());
        }
        if ended {
            leave(threads, &abort, patience, &rescue);
            return Err(RaceError::Failed { round: done, detail: "the waiter thread died".into() });
        }
        if done != seen {
            (seen, progressed) = (done, Instant::now());
        } else if progressed.elapsed() >= patience {
            let phase = match phase.load(Ordering::SeqCst) {
                SETTLING => Phase::Settling,
                _ => Phase::Waiting,
            };
            let rescued = leave(threads, &abort, patience, &rescue);
            return Err(RaceError::Stuck { round: done, phase, rescued });
        }
    }
}

/// How long the threads of a race get to return by themselves before they are nudged.
const GRACE: Duration = Duration::from_millis(10);

/// Makes every thread of the race return, calling `rescue` while some are still running (a
/// waiter stuck in a wait), for at most `patience`; returns whether they all ended. Threads that
/// do not end are left behind.
fn leave(
    threads: Vec<JoinHandle<()>>,
    abort: &AtomicBool,
    patience: Duration,
    rescue: &Arc<dyn Fn() + Send + Sync>,
) -> bool {
    abort.store(true, Ordering::SeqCst);
    let started = Instant::now();
    let mut nudging = None;
    while threads.iter().any(|thread| !thread.is_finished()) {
        if started.elapsed() >= patience {
            return false;
        }
        // Threads that are only finishing their last round need no nudge.
        if nudging.is_none() && started.elapsed() >= GRACE {
            let rescue = rescue.clone();
            nudging = Some(bounded::nudging(move || rescue()));
        }
        thread::sleep(Duration::from_millis(1));
    }
    for thread in threads {
        let _ = thread.join();
    }
    true
}

/// A barrier that spins (yielding now and then) instead of sleeping, so that the threads leave
/// it at nearly the same instant; it gives up once `abort` is set.
struct SpinBarrier {
    arrived: AtomicUsize,
    parties: usize,
}

impl SpinBarrier {
    /// The `meeting`-th meeting (from 1) of every party; returns `false` if aborted instead.
    fn meet(&self, meeting: usize, abort: &AtomicBool) -> bool {
        self.arrived.fetch_add(1, Ordering::SeqCst);
        let everyone = meeting * self.parties;
        spin_until(|| self.arrived.load(Ordering::SeqCst) >= everyone, abort)
    }
}

/// Spins (yielding now and then) until `done` holds; returns `false` if aborted instead.
fn spin_until(done: impl Fn() -> bool, abort: &AtomicBool) -> bool {
    let mut spins = 0u32;
    while !done() {
        if abort.load(Ordering::SeqCst) {
            return false;
        }
        spins = spins.wrapping_add(1);
        if spins % SPINS_PER_YIELD == 0 {
            thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
    }
    true
}

/// Up to a few microseconds of busy waiting, different each round: xorshift over a per-thread
/// seed.
struct Jitter(u64);

impl Jitter {
    fn new(seed: u64) -> Self {
        Self(0x9E37_79B9_7F4A_7C15 ^ (seed.wrapping_add(1).wrapping_mul(0xBF58_476D_1CE4_E5B9)))
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A racer's spin: up to [`MAX_SPIN`], or one time in four up to [`MAX_LONG_SPIN`].
    fn racer_spin(&mut self) {
        let most = if self.next() % 4 == 0 { MAX_LONG_SPIN } else { MAX_SPIN };
        self.spin(most);
    }

    /// Spins for fewer than `most` iterations.
    fn spin(&mut self, most: u64) {
        for _ in 0..self.next() % most {
            std::hint::spin_loop();
        }
    }
}
