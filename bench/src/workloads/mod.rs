//! The workloads, each written once over [`Runtime`] and checking its own result.

pub(crate) mod channels;
mod gate;
pub(crate) mod http;
pub(crate) mod memory;
pub(crate) mod spawning;
pub(crate) mod tcp_echo;
pub(crate) mod timer_burst;
pub(crate) mod timers;
pub(crate) mod wake_latency;

use std::future::Future;

use crate::runtime::{Runtime, Spawner};
use crate::sizes::Sizes;

/// One benchmark workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Workload {
    /// Spawn tiny tasks from inside a task and await them all.
    SpawnInside,
    /// Spawn tiny tasks from a plain thread and await them all.
    SpawnRemote,
    /// Tasks that only yield.
    Yields,
    /// Pairs of tasks bouncing a message over capacity-1 channels.
    PingPong,
    /// Chains of tasks, each spawning the next.
    SpawnChains,
    /// Several producers into one consumer over one bounded channel.
    ManyToOne,
    /// Many timers armed at once from one common start.
    TimersUnderLoad,
    /// A few timers on an otherwise idle runtime.
    TimerPrecision,
    /// Many timers registered long before any is due, then fired (issue 14).
    TimerBurst,
    /// From a plain thread's send to the receiving task running.
    WakeLatency,
    /// TCP echo over loopback with one message in flight per connection.
    TcpEcho,
    /// The same with many connections, for the latency tail (issue 14).
    TcpEchoMany,
    /// HTTP/1.1 keep-alive on hyper's server, against a load generator process (issue 16).
    Http,
    /// Peak memory of idle tasks.
    IdleTasks,
    /// Peak memory of idle connections.
    IdleConnections,
    /// Peak memory of armed timers, and what stays resident once they are all cancelled.
    TimerMemory,
}

/// One number a workload reports.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Metric {
    /// What is measured.
    pub(crate) name: &'static str,
    /// Its unit.
    pub(crate) unit: &'static str,
    /// Whether a bigger number is the better one.
    pub(crate) higher_is_better: bool,
}

const fn lower(name: &'static str, unit: &'static str) -> Metric {
    Metric { name, unit, higher_is_better: false }
}

const WALL: &[Metric] = &[lower("wall time", "ms")];

/// What one run of a workload on one peer gave.
#[derive(Clone, Debug)]
pub(crate) enum Outcome {
    /// One value per metric of the workload, in order.
    Measured(Vec<f64>),
    /// The peer cannot run this workload; says why.
    NotAvailable(&'static str),
}

/// A workload's failure: its result was wrong or it could not run.
pub(crate) type Failure = String;

impl Workload {
    /// Every workload, in report order.
    pub(crate) const ALL: [Workload; 16] = [
        Workload::SpawnInside,
        Workload::SpawnRemote,
        Workload::Yields,
        Workload::PingPong,
        Workload::SpawnChains,
        Workload::ManyToOne,
        Workload::TimersUnderLoad,
        Workload::TimerPrecision,
        Workload::TimerBurst,
        Workload::WakeLatency,
        Workload::TcpEcho,
        Workload::TcpEchoMany,
        Workload::Http,
        Workload::IdleTasks,
        Workload::IdleConnections,
        Workload::TimerMemory,
    ];

    /// The workload's name on the `--only` command line.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Workload::SpawnInside => "spawn-inside",
            Workload::SpawnRemote => "spawn-remote",
            Workload::Yields => "yields",
            Workload::PingPong => "ping-pong",
            Workload::SpawnChains => "chains",
            Workload::ManyToOne => "many-to-one",
            Workload::TimersUnderLoad => "timers",
            Workload::TimerPrecision => "timer-precision",
            Workload::TimerBurst => "timer-burst",
            Workload::WakeLatency => "wake-latency",
            Workload::TcpEcho => "tcp-echo",
            Workload::TcpEchoMany => "tcp-echo-512",
            Workload::Http => "http",
            Workload::IdleTasks => "idle-tasks",
            Workload::IdleConnections => "idle-connections",
            Workload::TimerMemory => "timer-memory",
        }
    }

    /// The workload called `name`.
    pub(crate) fn from_name(name: &str) -> Option<Workload> {
        Workload::ALL.into_iter().find(|workload| workload.name() == name)
    }

    /// The workload's name, with its sizes.
    pub(crate) fn title(self, sizes: &Sizes) -> String {
        match self {
            Workload::SpawnInside => format!("spawn {} tasks inside the runtime", sizes.spawned_tasks),
            Workload::SpawnRemote => format!("spawn {} tasks from a plain thread", sizes.spawned_tasks),
            Workload::Yields => format!("{} tasks x {} yields", sizes.yield_tasks, sizes.yields_per_task),
            Workload::PingPong => {
                format!(
                    "{} ping-pong pairs x {} round trips",
                    sizes.ping_pong_pairs, sizes.ping_pong_round_trips
                )
            }
            Workload::SpawnChains => format!("{} chains of {} spawns", sizes.chains, sizes.chain_length),
            Workload::ManyToOne => {
                format!(
                    "{} producers x {} messages, 1 consumer",
                    sizes.producers, sizes.messages_per_producer
                )
            }
            Workload::TimersUnderLoad => {
                format!("{} timers of 1-{} ms at once", sizes.timers, sizes.longest_timer_ms)
            }
            Workload::TimerPrecision => {
                format!("{} timers of 1-{} ms, idle runtime", sizes.idle_timers, sizes.longest_timer_ms)
            }
            Workload::TimerBurst => format!(
                "{} timers of 1-{} ms registered {} ms before the start",
                sizes.burst_timers, sizes.longest_timer_ms, sizes.burst_lead_ms
            ),
            Workload::WakeLatency => {
                format!(
                    "wake from a plain thread, every {} us x {}",
                    sizes.wake_interval_us, sizes.wake_samples
                )
            }
            Workload::TcpEcho => format!(
                "TCP echo, {} connections x {} round trips of 64 B",
                sizes.echo_connections, sizes.echo_round_trips
            ),
            Workload::TcpEchoMany => format!(
                "TCP echo, {} connections x {} round trips of 64 B",
                sizes.many_echo_connections, sizes.many_echo_round_trips
            ),
            Workload::Http => format!(
                "HTTP/1.1 keep-alive (hyper), {} connections x {} GETs of 12 B",
                sizes.http_connections, sizes.http_requests
            ),
            Workload::IdleTasks => format!("memory: {} idle tasks", sizes.idle_tasks),
            Workload::IdleConnections => format!("memory: {} idle connections", sizes.idle_connections),
            Workload::TimerMemory => format!("memory: {} timers armed, then cancelled", sizes.armed_timers),
        }
    }

    /// The numbers the workload reports, in order.
    pub(crate) fn metrics(self) -> &'static [Metric] {
        const LATE_P50: Metric = lower("lateness p50", "us");
        const LATE_P99: Metric = lower("lateness p99", "us");
        const TIMERS: &[Metric] = &[lower("wall time", "ms"), LATE_P50, LATE_P99];
        const PRECISION: &[Metric] = &[LATE_P50, LATE_P99];
        const BURST: &[Metric] = &[LATE_P50, LATE_P99, lower("lateness max", "us")];
        const WAKE: &[Metric] = &[lower("latency p50", "us"), lower("latency p99", "us")];
        const ECHO: &[Metric] = &[
            Metric { name: "throughput", unit: "round trips/s", higher_is_better: true },
            lower("latency p50", "us"),
            lower("latency p99", "us"),
            lower("server CPU per round trip", "us"),
        ];
        const ECHO_TAIL: &[Metric] = &[
            Metric { name: "throughput", unit: "round trips/s", higher_is_better: true },
            lower("latency p50", "us"),
            lower("latency p99", "us"),
            lower("latency max", "us"),
            lower("server CPU per round trip", "us"),
        ];
        const HTTP: &[Metric] = &[
            Metric { name: "throughput", unit: "requests/s", higher_is_better: true },
            lower("server CPU per request", "us"),
        ];
        const TASK_MEMORY: &[Metric] = &[lower("peak RSS per task", "bytes")];
        const CONNECTION_MEMORY: &[Metric] = &[lower("peak RSS per connection", "bytes")];
        const TIMER_MEMORY: &[Metric] =
            &[lower("peak RSS per timer", "bytes"), lower("RSS left after cancelling all", "MiB")];
        match self {
            Workload::TimersUnderLoad => TIMERS,
            Workload::TimerPrecision => PRECISION,
            Workload::TimerBurst => BURST,
            Workload::WakeLatency => WAKE,
            Workload::TcpEcho => ECHO,
            Workload::TcpEchoMany => ECHO_TAIL,
            Workload::Http => HTTP,
            Workload::IdleTasks => TASK_MEMORY,
            Workload::IdleConnections => CONNECTION_MEMORY,
            Workload::TimerMemory => TIMER_MEMORY,
            _ => WALL,
        }
    }

    /// Runs the workload once on `runtime`. Memory workloads run in a child process instead
    /// (see [`memory`]), and the `http` workload on each runtime's hyper glue (see [`http`]):
    /// neither is handled here.
    pub(crate) fn run_on<R: Runtime>(self, runtime: &R, sizes: &Sizes) -> Result<Outcome, Failure> {
        match self {
            Workload::SpawnInside => spawning::spawn_inside(runtime, sizes),
            Workload::SpawnRemote => spawning::spawn_remote(runtime, sizes),
            Workload::Yields => spawning::yields(runtime, sizes),
            Workload::SpawnChains => spawning::chains(runtime, sizes),
            Workload::PingPong => channels::ping_pong(runtime, sizes),
            Workload::ManyToOne => channels::many_to_one(runtime, sizes),
            Workload::TimersUnderLoad => timers::under_load(runtime, sizes),
            Workload::TimerPrecision => timers::precision(runtime, sizes),
            Workload::TimerBurst => timer_burst::run(runtime, sizes),
            Workload::WakeLatency => wake_latency::run(runtime, sizes),
            Workload::TcpEcho | Workload::TcpEchoMany => echo(
                self,
                |listener, connections| runtime.block_on(runtime.echo_server(listener, connections)),
                sizes,
            ),
            Workload::IdleTasks | Workload::IdleConnections | Workload::TimerMemory => {
                unreachable!("memory workloads run in a child process")
            }
            Workload::Http => unreachable!("the http workload runs hyper's server (peers::http_server)"),
        }
    }
}

/// Runs one of the TCP echo workloads with `serve` as the server, at that workload's sizes.
pub(crate) fn echo(
    workload: Workload,
    serve: impl FnOnce(std::net::TcpListener, usize) -> std::io::Result<u64>,
    sizes: &Sizes,
) -> Result<Outcome, Failure> {
    Ok(Outcome::Measured(match workload {
        Workload::TcpEchoMany => {
            let echo = tcp_echo::run(serve, sizes.many_echo_connections, sizes.many_echo_round_trips)?;
            vec![echo.per_second, echo.p50_us, echo.p99_us, echo.max_us, echo.cpu_per_trip_us]
        }
        _ => {
            let echo = tcp_echo::run(serve, sizes.echo_connections, sizes.echo_round_trips)?;
            vec![echo.per_second, echo.p50_us, echo.p99_us, echo.cpu_per_trip_us]
        }
    }))
}

/// Whether `workload` is one of the TCP echo workloads, the only ones the raw loop runs.
pub(crate) fn is_echo(workload: Workload) -> bool {
    matches!(workload, Workload::TcpEcho | Workload::TcpEchoMany)
}

/// Runs `future` as a task of `runtime` (not as the `block_on` future, which some runtimes
/// poll outside their worker threads) and returns its output.
fn on_worker<R, F>(runtime: &R, future: F) -> F::Output
where
    R: Runtime,
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    runtime.block_on(runtime.spawner().spawn(future))
}

/// Fails with `message` unless `condition` holds.
fn ensure(condition: bool, message: impl FnOnce() -> String) -> Result<(), Failure> {
    if condition {
        Ok(())
    } else {
        Err(message())
    }
}
