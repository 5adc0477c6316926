//! Runs a workload over a chaotic executor in every configuration of a matrix, each run on its
//! own thread under a watchdog, and turns a hang or a wrong result into a failure that names the
//! run and the seed to reproduce it.
//!
//! Environment variables:
//! - `REACTOR_CHAOS_SEED`: the base seed (decimal or `0x` hex); random when unset. Every run's
//!   seed is derived from it and the run's name, so a failure is reproduced (as far as thread
//!   timing allows) with the printed seed and `REACTOR_CHAOS_FILTER`.
//! - `REACTOR_CHAOS_FILTER`: run only the runs whose name contains this (e.g. `timers/epoll/2w`).
//! - `REACTOR_CHAOS_WATCHDOG_SECS`: how long a run may take before it counts as hung (30).
//! - `REACTOR_CHAOS_REPEAT`: run the matrix this many times, with fresh seeds (1).
//! - `REACTOR_CHAOS_SCALE`: multiply the size of every workload (rounds, messages, tasks) by
//!   this (1), for a soak run.
//! - `REACTOR_CHAOS_KEEP_GOING`: `1` to finish the matrix after a failure and report every
//!   failed run, instead of stopping at the first (a hung run's threads are leaked).

use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use reactor::source::{Composite, Parking};
use reactor::{Builder, EventSource, Executor, OnSourceError};
use reactor_channel::{oneshot, ChannelSource, Receiver};
use reactor_epoll::Epoll;
use reactor_timer::Timer;

use crate::source::{mix, Chaos, Rates, Rng, Stats, INJECTED, KINDS};

/// The blocking source under the chaos wrapper; the timer and the channel source are composed
/// with it as the default runtime composes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Variant {
    Parking,
    Epoll,
}

pub(crate) const BOTH: &[Variant] = &[Variant::Parking, Variant::Epoll];
pub(crate) const EPOLL_ONLY: &[Variant] = &[Variant::Epoll];
pub(crate) const WORKERS: &[usize] = &[0, 1, 2, 4];

/// How much chaos a run gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Profile {
    /// No chaos at all: the wrapper only forwards. Must pass, and fast.
    Calm,
    /// Failures and delays, but nothing that wakes a waiter for free (no spurious notifies, few
    /// early returns): a lost wake-up stays lost.
    Faulty,
    /// Everything at once, spurious notifies from a background thread included.
    Noisy,
    /// Frequent failures, long delays and early returns, and no spurious notify: the widest
    /// windows for a race, and nothing to rescue a lost wake-up.
    Hostile,
    /// Every wait fails: the executor must keep running tasks that need no source, and not spin.
    Failing,
}

pub(crate) const PROFILES: &[Profile] = &[Profile::Calm, Profile::Faulty, Profile::Noisy, Profile::Hostile];

impl Profile {
    pub(crate) fn rates(self) -> Rates {
        let ms = Duration::from_millis;
        match self {
            Profile::Calm => Rates::default(),
            Profile::Faulty => Rates {
                spurious: 0.02,
                zero_time: 0.05,
                early: 0.02,
                error_before: 0.05,
                error_after: 0.05,
                delay_before: 0.25,
                delay_after: 0.25,
                max_delay: ms(1),
                ..Rates::default()
            },
            Profile::Noisy => Rates {
                spurious: 0.1,
                zero_time: 0.1,
                early: 0.1,
                error_before: 0.05,
                error_after: 0.05,
                delay_before: 0.2,
                delay_after: 0.2,
                notify_inline: 0.1,
                max_delay: ms(2),
                background_notify: Some(ms(1)),
            },
            Profile::Hostile => Rates {
                spurious: 0.15,
                zero_time: 0.15,
                early: 0.2,
                error_before: 0.15,
                error_after: 0.15,
                delay_before: 0.5,
                delay_after: 0.5,
                max_delay: ms(3),
                ..Rates::default()
            },
            Profile::Failing => Rates { error_before: 1.0, ..Rates::default() },
        }
    }

    fn name(self) -> &'static str {
        match self {
            Profile::Calm => "calm",
            Profile::Faulty => "faulty",
            Profile::Noisy => "noisy",
            Profile::Hostile => "hostile",
            Profile::Failing => "failing",
        }
    }
}

/// One run of a workload: the configuration and its seed.
#[derive(Clone, Debug)]
pub(crate) struct Scenario {
    pub(crate) workload: &'static str,
    pub(crate) variant: Variant,
    pub(crate) workers: usize,
    pub(crate) profile: Profile,
    /// The base seed of the matrix, for `REACTOR_CHAOS_SEED`.
    base_seed: u64,
    pub(crate) seed: u64,
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let variant = if self.variant == Variant::Epoll { "epoll" } else { "parking" };
        write!(f, "{}/{variant}/{}w/{}", self.workload, self.workers, self.profile.name())
    }
}

impl Scenario {
    fn reproduce(&self) -> String {
        format!(
            "seed {:#x}; reproduce with REACTOR_CHAOS_SEED={:#x} REACTOR_CHAOS_FILTER='{self}'",
            self.seed, self.base_seed
        )
    }
}

/// Errors the executor handed to `on_source_error`.
#[derive(Default)]
struct ErrorLog {
    count: AtomicU64,
    /// Errors that the chaos wrapper did not inject (at most a few kept).
    unexpected: Mutex<Vec<String>>,
}

/// An executor of a run with what its source and its error hook saw.
struct Built {
    executor: Option<Executor<Composite>>,
    stats: Arc<Stats>,
    log: Arc<ErrorLog>,
}

impl Built {
    fn new(scenario: &Scenario, seed: u64) -> Self {
        let log = Arc::new(ErrorLog::default());
        let (executor, stats) = build(scenario, seed, log.clone());
        Self { executor: Some(executor), stats, log }
    }

    /// Shuts the executor down (if the workload did not) and checks what its hook saw.
    fn finish(&mut self) -> (u64, u64) {
        self.stats.stop_background();
        drop(self.executor.take());
        let injected = Stats::get(&self.stats.errors);
        let reported = self.log.count.load(Ordering::SeqCst);
        let unexpected = self.log.unexpected.lock().unwrap().clone();
        assert!(unexpected.is_empty(), "the source reported errors that were not injected: {unexpected:?}");
        assert_eq!(reported, injected, "every injected error reaches on_source_error exactly once");
        assert_eq!(
            Stats::get(&self.stats.overlapping),
            0,
            "the executor called wait from two threads at once"
        );
        (injected, reported)
    }
}

/// What a workload gets: the executor over the chaotic source, and the run's random choices.
pub(crate) struct Env {
    executor: Option<Executor<Composite>>,
    /// More executors of the same kind, for workloads that span executors.
    peers: Vec<Built>,
    pub(crate) scenario: Scenario,
    /// The workload's own random stream (independent of the wrapper's).
    pub(crate) rng: Rng,
    pub(crate) stats: Arc<Stats>,
    /// What the workload is doing, for the report of a hang.
    phase: Arc<Mutex<String>>,
}

impl Env {
    /// Records what the workload does next (reported if the run hangs).
    pub(crate) fn phase(&self, phase: impl Into<String>) {
        *self.phase.lock().unwrap() = phase.into();
    }

    pub(crate) fn executor(&self) -> &Executor<Composite> {
        self.executor.as_ref().expect("the executor was already shut down")
    }

    /// Takes the executor, to drop it mid-workload.
    pub(crate) fn take_executor(&mut self) -> Executor<Composite> {
        self.executor.take().expect("the executor was already shut down")
    }

    pub(crate) fn workers(&self) -> usize {
        self.scenario.workers
    }

    /// Starts another executor configured like the first (with its own chaos seed); see
    /// [`peer`](Self::peer).
    pub(crate) fn add_peer(&mut self) {
        let seed = mix(self.scenario.seed ^ (0x9EE2 + self.peers.len() as u64));
        self.peers.push(Built::new(&self.scenario, seed));
    }

    /// The `index`th executor started by [`add_peer`](Self::add_peer).
    pub(crate) fn peer(&self, index: usize) -> &Executor<Composite> {
        self.peers[index].executor.as_ref().expect("peers are shut down after the workload")
    }

    /// `size` times `REACTOR_CHAOS_SCALE`.
    pub(crate) fn scaled<T: TryFrom<u64> + Into<u64>>(&self, size: T) -> T {
        static SCALE: OnceLock<u64> = OnceLock::new();
        let scale = *SCALE.get_or_init(|| env_u64("REACTOR_CHAOS_SCALE").unwrap_or(1).max(1));
        T::try_from(size.into() * scale).unwrap_or_else(|_| panic!("REACTOR_CHAOS_SCALE is too large"))
    }

    /// Whether the pool has threads of its own, so that results may be awaited from outside.
    fn may_wait_outside(&self) -> bool {
        self.workers() > 0 && self.rng.chance(0.5)
    }

    /// Waits for a result sent by a task: from outside the executor (a plain blocking receive,
    /// so nothing but the pool runs the tasks) or inside `block_on`, chosen at random; always
    /// inside `block_on` without workers.
    pub(crate) fn finish<T>(&self, reply: oneshot::Receiver<T>, what: &str) -> T {
        let result = if self.may_wait_outside() {
            self.phase(format!("waiting outside the executor for {what}"));
            reply.recv_blocking()
        } else {
            self.phase(format!("waiting in block_on for {what}"));
            self.executor().block_on(reply)
        };
        result.unwrap_or_else(|_| panic!("{what}: the task dropped its reply without sending it"))
    }

    /// Receives `count` messages sent by tasks, from outside or inside `block_on` as
    /// [`finish`](Self::finish) does.
    pub(crate) fn collect<T>(&self, mut messages: Receiver<T>, count: usize, what: &str) -> Vec<T> {
        let lost =
            |got: usize| -> String { format!("{what}: the channel closed after {got} of {count} messages") };
        if self.may_wait_outside() {
            self.phase(format!("waiting outside the executor for {count} {what}"));
            (0..count)
                .map(|got| messages.recv_blocking().unwrap_or_else(|_| panic!("{}", lost(got))))
                .collect()
        } else {
            self.phase(format!("waiting in block_on for {count} {what}"));
            self.executor().block_on(async {
                let mut received = Vec::with_capacity(count);
                while received.len() < count {
                    match messages.recv().await {
                        Ok(message) => received.push(message),
                        Err(_) => panic!("{}", lost(received.len())),
                    }
                }
                received
            })
        }
    }
}

/// Builds the executor of `scenario`: `Chaos<blocking>` + timer + channel source, in a composite.
fn build(scenario: &Scenario, seed: u64, log: Arc<ErrorLog>) -> (Executor<Composite>, Arc<Stats>) {
    let rates = scenario.profile.rates();
    let (blocking, stats): (Box<dyn EventSource>, _) = match scenario.variant {
        Variant::Parking => {
            let (chaos, stats) = Chaos::new(Parking::new(), rates, seed);
            (Box::new(chaos), stats)
        }
        Variant::Epoll => {
            let (chaos, stats) = Chaos::new(Epoll::new().expect("create an epoll instance"), rates, seed);
            (Box::new(chaos), stats)
        }
    };
    let source = Composite::new(blocking)
        .ok()
        .and_then(|source| source.with(Timer::new()).ok())
        .and_then(|source| source.with(ChannelSource::new()).ok())
        .expect("a fresh blocking source, and the timer and the channel source are passive");
    let executor = Builder::new()
        .worker_threads(scenario.workers)
        .thread_name(|index| format!("chaos-worker-{index}"))
        .on_source_error(move |failure| {
            log.count.fetch_add(1, Ordering::SeqCst);
            let message = failure.error().to_string();
            if !message.starts_with(INJECTED) {
                let mut unexpected = log.unexpected.lock().unwrap();
                if unexpected.len() < 8 {
                    unexpected.push(message);
                }
            }
            OnSourceError::Continue
        })
        .build(source)
        .expect("start the executor");
    (executor, stats)
}

/// What a successful run reports.
struct Outcome {
    injected: u64,
    reported: u64,
    /// How often each kind of chaos happened in the main executor's source, and over how many
    /// waits in how much time.
    kinds: [u64; 7],
    waits: u64,
    elapsed: Duration,
    summary: String,
}

/// Runs `workload` once in `scenario`, on this thread; panics on a wrong result.
fn run_here(scenario: Scenario, workload: fn(&mut Env), stats_slot: &StatsSlot) -> Outcome {
    let started = Instant::now();
    let mut main = Built::new(&scenario, mix(scenario.seed ^ 0xC4A0_5000));
    let phase = Arc::new(Mutex::new(String::from("starting")));
    *stats_slot.lock().unwrap() = Some((main.stats.clone(), phase.clone()));
    let rng = Rng::new(mix(scenario.seed ^ 0x3011_0AD5));
    let stats = main.stats.clone();
    let mut env = Env { executor: main.executor.take(), peers: Vec::new(), scenario, rng, stats, phase };
    workload(&mut env);
    env.phase("dropping the executors");
    main.executor = env.executor.take();
    let (mut injected, mut reported) = main.finish();
    for peer in &mut env.peers {
        let (peer_injected, peer_reported) = peer.finish();
        injected += peer_injected;
        reported += peer_reported;
    }
    let (kinds, waits, summary) = (main.stats.kinds(), Stats::get(&main.stats.waits), main.stats.summary());
    Outcome { injected, reported, kinds, waits, elapsed: started.elapsed(), summary }
}

/// Where a run publishes its wrapper's stats and its phase, for the report of a hang.
type StatsSlot = Arc<Mutex<Option<(Arc<Stats>, Arc<Mutex<String>>)>>>;

/// How a run ended.
enum Verdict {
    Passed(Outcome),
    Failed(String),
    /// With what the wrapper had seen when the watchdog fired.
    Hung(String),
}

fn watchdog() -> Duration {
    Duration::from_secs(env_u64("REACTOR_CHAOS_WATCHDOG_SECS").unwrap_or(30))
}

/// Runs `scenario` on its own thread, giving up after the watchdog period (leaking the thread).
fn run_guarded(scenario: &Scenario, workload: fn(&mut Env)) -> Verdict {
    let (done_tx, done) = mpsc::channel();
    let run = scenario.clone();
    let stats_slot = StatsSlot::default();
    let slot = stats_slot.clone();
    thread::Builder::new()
        .name(format!("chaos-run {scenario}"))
        .spawn(move || {
            let outcome = panic::catch_unwind(AssertUnwindSafe(|| run_here(run, workload, &slot)));
            let _ = done_tx.send(outcome.map_err(|payload| {
                payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|message| message.to_string()))
                    .unwrap_or_else(|| "a panic without a message".into())
            }));
        })
        .expect("spawn a run thread");
    match done.recv_timeout(watchdog()) {
        Ok(Ok(outcome)) => Verdict::Passed(outcome),
        Ok(Err(message)) => Verdict::Failed(message),
        Err(_) => {
            let slot = stats_slot.lock().unwrap().clone();
            Verdict::Hung(slot.map_or_else(
                || "the executor was not built".into(),
                |(stats, phase)| format!("while {}; source: {}", phase.lock().unwrap(), stats.summary()),
            ))
        }
    }
}

fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    let value = value.trim();
    let parsed = match value.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => value.parse(),
    };
    Some(parsed.unwrap_or_else(|_| panic!("{name}={value} is not a number")))
}

/// The base seed of this process: `REACTOR_CHAOS_SEED`, or random.
fn base_seed() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(|| {
        env_u64("REACTOR_CHAOS_SEED").unwrap_or_else(|| {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.as_nanos() as u64);
            mix(nanos ^ (u64::from(std::process::id()) << 32))
        })
    })
}

/// FNV-1a, to derive a run's seed from its name.
fn hash(text: &str) -> u64 {
    text.bytes()
        .fold(0xCBF2_9CE4_8422_2325, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x100_0000_01B3))
}

/// Runs `workload` under every variant in `variants`, every worker count and every profile in
/// `profiles`; panics with every failure (or the first, see the module docs).
pub(crate) fn run_matrix(
    workload_name: &'static str,
    variants: &[Variant],
    profiles: &[Profile],
    workload: fn(&mut Env),
) {
    let filter = std::env::var("REACTOR_CHAOS_FILTER").unwrap_or_default();
    let keep_going = std::env::var("REACTOR_CHAOS_KEEP_GOING").is_ok_and(|value| value == "1");
    let repeat = env_u64("REACTOR_CHAOS_REPEAT").unwrap_or(1);
    let mut failures = Vec::new();
    let mut totals = Totals::default();
    let started = Instant::now();
    let scenarios = (0..repeat).flat_map(|round| {
        let base_seed = if round == 0 { base_seed() } else { mix(base_seed().wrapping_add(round)) };
        variants.iter().flat_map(move |&variant| {
            WORKERS.iter().flat_map(move |&workers| {
                profiles.iter().map(move |&profile| {
                    let mut scenario =
                        Scenario { workload: workload_name, variant, workers, profile, base_seed, seed: 0 };
                    scenario.seed = mix(base_seed ^ hash(&scenario.to_string()));
                    scenario
                })
            })
        })
    });
    for scenario in scenarios.filter(|scenario| scenario.to_string().contains(&filter)) {
        let run_started = Instant::now();
        let failure = match run_guarded(&scenario, workload) {
            Verdict::Passed(outcome) => {
                println!("ok   {scenario} in {:?}: {}", run_started.elapsed(), outcome.summary);
                totals.add(scenario.profile, &outcome);
                continue;
            }
            Verdict::Failed(message) => format!("FAILED {scenario}: {message}\n    {}", scenario.reproduce()),
            Verdict::Hung(stats) => format!(
                "HUNG {scenario}: not finished after {:?} (a lost wake-up, or a deadlock)\n    \
                 {stats}\n    {}",
                watchdog(),
                scenario.reproduce()
            ),
        };
        println!("{failure}");
        failures.push(failure);
        if !keep_going {
            break;
        }
    }
    println!("{workload_name}: {} runs passed in {:?}", totals.runs, started.elapsed());
    for (profile, total) in &totals.per_profile {
        let kinds: Vec<String> =
            KINDS.iter().zip(total.kinds).map(|(kind, count)| format!("{kind} {count}")).collect();
        println!("  {profile:?}: {} waits, {}", total.waits, kinds.join(", "));
    }
    assert!(failures.is_empty(), "{} chaos run(s) failed:\n{}", failures.len(), failures.join("\n"));
    if filter.is_empty() {
        totals.assert_chaos_happened();
    }
}

/// What the passed runs of a matrix saw, per profile.
#[derive(Default)]
struct Totals {
    runs: usize,
    per_profile: Vec<(Profile, Outcome)>,
}

impl Totals {
    fn add(&mut self, profile: Profile, outcome: &Outcome) {
        self.runs += 1;
        let index = match self.per_profile.iter().position(|(seen, _)| *seen == profile) {
            Some(index) => index,
            None => {
                let zero = Outcome {
                    injected: 0,
                    reported: 0,
                    kinds: [0; 7],
                    waits: 0,
                    elapsed: Duration::ZERO,
                    summary: String::new(),
                };
                self.per_profile.push((profile, zero));
                self.per_profile.len() - 1
            }
        };
        let total = &mut self.per_profile[index].1;
        total.injected += outcome.injected;
        total.reported += outcome.reported;
        total.waits += outcome.waits;
        total.elapsed += outcome.elapsed;
        for (sum, count) in total.kinds.iter_mut().zip(outcome.kinds) {
            *sum += count;
        }
    }

    /// The suite is not passing trivially: a calm run saw no chaos at all, and every kind of
    /// chaos a profile's rates ask for happened in its runs (when at least 20 were expected,
    /// so that none happening is a one in hundreds of millions chance), errors reaching the hook.
    fn assert_chaos_happened(&self) {
        for (profile, total) in &self.per_profile {
            let expected = profile.rates().expected(total.waits, total.elapsed);
            for ((kind, expected), happened) in KINDS.iter().zip(expected).zip(total.kinds) {
                if expected == 0.0 {
                    assert_eq!(happened, 0, "{profile:?} runs asked for no {kind}, yet some happened");
                } else if expected >= 20.0 {
                    assert!(
                        happened > 0,
                        "{profile:?} runs expected about {expected:.0} {kind} over {} waits, and none happened: \
                         is the wrapper in the path?",
                        total.waits
                    );
                }
            }
            assert_eq!(total.reported, total.injected, "{profile:?} runs: the hook saw every injected error");
        }
    }
}
