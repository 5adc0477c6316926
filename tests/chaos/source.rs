//! `Chaos<S>`: an event source that wraps another and uses every freedom the `EventSource`
//! contract gives a source, at seeded random: its `wait` returns early, ignores its timeout, fails
//! (before or after the inner wait), is slow to start or to return, and the inner source is
//! notified spuriously, from the waiting thread or from a background thread.
//!
//! Everything else is forwarded faithfully, in one place (`impl EventSource for Chaos`), so a
//! composite built on a `Chaos<Epoll>` still finds its epoll with `current_source::<Epoll>()`.

use std::any::{Any, TypeId};
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::thread;
use std::time::{Duration, Instant};

use reactor::source::Notifier;
use reactor::EventSource;

/// A splitmix64 generator behind an atomic counter: shared by threads without a lock, and the
/// sequence of values drawn is fixed by the seed (which thread draws which value is not).
#[derive(Debug)]
pub(crate) struct Rng {
    state: AtomicU64,
}

const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// The splitmix64 output function: a bijection that scrambles every input bit into every output
/// bit; also used to derive independent seeds from one.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self { state: AtomicU64::new(seed) }
    }

    pub(crate) fn next_u64(&self) -> u64 {
        mix(self.state.fetch_add(GOLDEN_GAMMA, Ordering::SeqCst).wrapping_add(GOLDEN_GAMMA))
    }

    /// Uniform in `0..n` (`n > 0`; the modulo bias is irrelevant here).
    pub(crate) fn below(&self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// `true` with probability `p`; never draws when `p` is zero, so a calm run consumes nothing.
    pub(crate) fn chance(&self, p: f64) -> bool {
        p > 0.0 && ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    /// Uniform in `0..=max`, to the microsecond.
    pub(crate) fn duration(&self, max: Duration) -> Duration {
        Duration::from_micros(self.below(max.as_micros() as u64 + 1))
    }
}

/// How often `Chaos` does each thing, as probabilities per `wait` call.
#[derive(Clone, Debug, Default)]
pub(crate) struct Rates {
    /// Return `Ok(0)` at once without calling the inner wait.
    pub(crate) spurious: f64,
    /// Call the inner wait with a zero timeout, whatever the caller asked.
    pub(crate) zero_time: f64,
    /// Call the inner wait with a timeout cut to at most `max_delay`: an early return after a
    /// short wait.
    pub(crate) early: f64,
    /// Fail without calling the inner wait.
    pub(crate) error_before: f64,
    /// Call the inner wait (so its callbacks run), then fail anyway.
    pub(crate) error_after: f64,
    /// Sleep up to `max_delay` before the inner wait.
    pub(crate) delay_before: f64,
    /// Sleep up to `max_delay` after the inner wait.
    pub(crate) delay_after: f64,
    /// Notify the inner source on the waiting thread just before waiting (so the wait returns at
    /// once).
    pub(crate) notify_inline: f64,
    /// The bound of every injected sleep and shortened timeout.
    pub(crate) max_delay: Duration,
    /// Notify the inner source from a background thread at random intervals averaging this.
    pub(crate) background_notify: Option<Duration>,
}

/// The kinds of chaos, in the order of [`Rates::kinds`] and [`Stats::kinds`].
pub(crate) const KINDS: [&str; 7] = [
    "spurious returns",
    "zero-time waits",
    "early returns",
    "errors",
    "delays",
    "inline notifies",
    "background notifies",
];

impl Rates {
    /// About how many times each kind of chaos (see [`KINDS`]) should happen over `waits`
    /// calls to `wait` and `elapsed` of running time.
    pub(crate) fn expected(&self, waits: u64, elapsed: Duration) -> [f64; 7] {
        let waits = waits as f64;
        // The order of the draws in `wait`: inline notify, delay, error, spurious, zero-time or
        // early, the inner wait, delay, error.
        let (ok_before, not_spurious) = (1.0 - self.error_before, 1.0 - self.spurious);
        let reaches_inner = ok_before * not_spurious;
        let background =
            self.background_notify.map_or(0.0, |mean| elapsed.as_secs_f64() / mean.as_secs_f64());
        [
            waits * ok_before * self.spurious,
            waits * reaches_inner * self.zero_time,
            waits * reaches_inner * (1.0 - self.zero_time) * self.early,
            waits * (self.error_before + reaches_inner * self.error_after),
            waits * (self.delay_before + reaches_inner * self.delay_after),
            waits * self.notify_inline,
            background,
        ]
    }
}

/// What a `Chaos` did, for the checks of a run and for the report of a failed one.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) waits: AtomicU64,
    /// Waits in progress (0 or 1, or the executor broke the serialisation of `wait`).
    pub(crate) in_wait: AtomicU64,
    /// Waits that started while another one was in progress: a contract violation by the caller.
    pub(crate) overlapping: AtomicU64,
    pub(crate) spurious: AtomicU64,
    pub(crate) zero_time: AtomicU64,
    pub(crate) early: AtomicU64,
    pub(crate) errors: AtomicU64,
    pub(crate) delays: AtomicU64,
    pub(crate) inline_notifies: AtomicU64,
    pub(crate) background_notifies: AtomicU64,
    /// Notifies from outside (the executor, the passive sources' notifiers), forwarded.
    pub(crate) notifies: AtomicU64,
    /// Set to stop the background notifier.
    pub(crate) stop: AtomicBool,
}

impl Stats {
    pub(crate) fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::SeqCst)
    }

    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::SeqCst);
    }

    /// Stops the background notifier thread (it exits within one interval).
    pub(crate) fn stop_background(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    /// How many times each kind of chaos happened (see [`KINDS`]).
    pub(crate) fn kinds(&self) -> [u64; 7] {
        [
            &self.spurious,
            &self.zero_time,
            &self.early,
            &self.errors,
            &self.delays,
            &self.inline_notifies,
            &self.background_notifies,
        ]
        .map(Self::get)
    }

    pub(crate) fn summary(&self) -> String {
        let get = Self::get;
        format!(
            "waits {} (in progress {}, overlapping {}), spurious {}, zero-time {}, early {}, errors {}, \
             delays {}, notifies: forwarded {}, inline {}, background {}",
            get(&self.waits),
            get(&self.in_wait),
            get(&self.overlapping),
            get(&self.spurious),
            get(&self.zero_time),
            get(&self.early),
            get(&self.errors),
            get(&self.delays),
            get(&self.notifies),
            get(&self.inline_notifies),
            get(&self.background_notifies),
        )
    }
}

/// The message of every injected error; the harness tells injected errors from real ones by it.
pub(crate) const INJECTED: &str = "chaos: injected wait failure";

struct Shared<S> {
    inner: S,
    rates: Rates,
    rng: Rng,
    stats: Arc<Stats>,
}

/// The chaos wrapper; see the module docs.
pub(crate) struct Chaos<S> {
    shared: Arc<Shared<S>>,
}

impl<S: EventSource + 'static> Chaos<S> {
    /// Wraps `inner`; the returned stats are shared with the wrapper (and its background thread).
    pub(crate) fn new(inner: S, rates: Rates, seed: u64) -> (Self, Arc<Stats>) {
        let stats = Arc::new(Stats::default());
        let background = rates.background_notify;
        let shared = Arc::new(Shared { inner, rates, rng: Rng::new(seed), stats: stats.clone() });
        if let Some(mean) = background {
            let weak = Arc::downgrade(&shared);
            let rng = Rng::new(mix(seed ^ 0xB4C6_0000_0000_0001));
            thread::Builder::new()
                .name("chaos-notifier".into())
                .spawn(move || background_notifier(weak, rng, mean))
                .expect("spawn the chaos notifier thread");
        }
        (Self { shared }, stats)
    }
}

/// Notifies the inner source at random intervals (uniform in `0..=2 * mean`) until the wrapper
/// is gone or its stats say stop.
fn background_notifier<S: EventSource>(weak: Weak<Shared<S>>, rng: Rng, mean: Duration) {
    loop {
        thread::sleep(rng.duration(mean * 2));
        let Some(shared) = weak.upgrade() else { return };
        if shared.stats.stop.load(Ordering::SeqCst) {
            return;
        }
        shared.inner.notify();
        Stats::bump(&shared.stats.background_notifies);
    }
}

impl<S: EventSource> Shared<S> {
    fn wait(&self, timeout: Option<Duration>) -> io::Result<usize> {
        let (rates, rng, stats) = (&self.rates, &self.rng, &*self.stats);
        Stats::bump(&stats.waits);
        if stats.in_wait.fetch_add(1, Ordering::SeqCst) != 0 {
            Stats::bump(&stats.overlapping);
        }
        let _leave = InWait(&stats.in_wait);
        if rng.chance(rates.notify_inline) {
            self.inner.notify();
            Stats::bump(&stats.inline_notifies);
        }
        self.maybe_delay(rates.delay_before);
        if rng.chance(rates.error_before) {
            Stats::bump(&stats.errors);
            return Err(io::Error::other(format!("{INJECTED} (before the inner wait)")));
        }
        if rng.chance(rates.spurious) {
            Stats::bump(&stats.spurious);
            return Ok(0);
        }
        let timeout = if rng.chance(rates.zero_time) {
            Stats::bump(&stats.zero_time);
            Some(Duration::ZERO)
        } else if rng.chance(rates.early) {
            Stats::bump(&stats.early);
            let cut = rng.duration(rates.max_delay);
            Some(timeout.map_or(cut, |timeout| timeout.min(cut)))
        } else {
            timeout
        };
        let result = self.inner.wait(timeout);
        self.maybe_delay(rates.delay_after);
        if result.is_ok() && rng.chance(rates.error_after) {
            Stats::bump(&stats.errors);
            return Err(io::Error::other(format!("{INJECTED} (after the inner wait)")));
        }
        result
    }

    fn maybe_delay(&self, rate: f64) {
        if self.rng.chance(rate) {
            Stats::bump(&self.stats.delays);
            thread::sleep(self.rng.duration(self.rates.max_delay));
        }
    }
}

/// Leaves the wait on drop (also if a callback of the inner wait panics).
struct InWait<'a>(&'a AtomicU64);

impl Drop for InWait<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl<S: EventSource + 'static> EventSource for Chaos<S> {
    fn wait(&self, timeout: Option<Duration>) -> io::Result<usize> {
        self.shared.wait(timeout)
    }

    fn notify(&self) {
        Stats::bump(&self.shared.stats.notifies);
        self.shared.inner.notify();
    }

    fn deadline(&self) -> Option<Instant> {
        self.shared.inner.deadline()
    }

    fn can_block(&self) -> bool {
        self.shared.inner.can_block()
    }

    // The one place `attach` is forwarded: the inner source decides whether it accepts a driver.
    fn attach(&self, notifier: Notifier) -> io::Result<()> {
        self.shared.inner.attach(notifier)
    }

    fn component(&self, type_id: TypeId) -> Option<&dyn Any> {
        self.shared.inner.component(type_id)
    }
}
