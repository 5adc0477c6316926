//! The peers compared: reactor (on epoll and on the portable `polling` backend; on io_uring for
//! the TCP echo), tokio and smol each in a multi-thread and a single-thread setup, and the raw
//! epoll loop (TCP echo only).

mod futures_io;
mod http_server;
mod raw_epoll;
mod reactor;
mod serve;
mod smol;
mod tokio;

use std::num::NonZeroUsize;

use reactor_epoll::Backend;

use crate::runtime::Runtime;
use crate::sizes::Sizes;
use crate::workloads::{self, memory, Failure, Outcome, Workload};

/// The read buffer of every echo server, raw loop and runtimes alike: the same server program for
/// every peer (a buffer larger than a message, as real servers read).
pub(crate) const ECHO_BUFFER: usize = 4096;

/// Which threads run the tasks; peers are compared within a mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// One worker per core.
    Multi,
    /// Everything on the thread that calls `block_on`.
    Single,
}

/// One peer under comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Peer {
    /// reactor's executor over epoll, one worker thread per core.
    ReactorMulti,
    /// The same on the portable backend (`reactor-polling`, edge-triggered on Linux).
    ReactorPollingMulti,
    /// The same on io_uring (`reactor-uring`; TCP echo only).
    ReactorUringMulti,
    /// tokio's multi-thread runtime, one worker per core.
    TokioMulti,
    /// smol's `Executor` run by one thread per core plus the `block_on` thread.
    SmolMulti,
    /// reactor's executor with no worker threads: tasks run on the `block_on` thread.
    ReactorSingle,
    /// The same on the portable backend, edge-triggered.
    ReactorPollingSingle,
    /// The same on io_uring (TCP echo only).
    ReactorUringSingle,
    /// The same on the portable backend with one-shot registrations re-armed after each report
    /// (the path of event ports and `poll`).
    ReactorPollingOneshotSingle,
    /// tokio's current-thread runtime.
    TokioCurrent,
    /// smol's `LocalExecutor`.
    SmolLocal,
    /// A single-threaded echo loop on raw epoll: the floor, for TCP echo only.
    RawEpoll,
}

/// Something to do with a runtime, whatever its type.
pub(crate) trait WithRuntime {
    /// What it returns.
    type Output;

    /// Does it with `runtime`.
    fn call<R: Runtime>(self, runtime: &R) -> Self::Output;
}

impl Peer {
    /// Every peer, in report order.
    pub(crate) const ALL: [Peer; 12] = [
        Peer::ReactorMulti,
        Peer::ReactorPollingMulti,
        Peer::ReactorUringMulti,
        Peer::TokioMulti,
        Peer::SmolMulti,
        Peer::ReactorSingle,
        Peer::ReactorPollingSingle,
        Peer::ReactorUringSingle,
        Peer::ReactorPollingOneshotSingle,
        Peer::TokioCurrent,
        Peer::SmolLocal,
        Peer::RawEpoll,
    ];

    /// The peer's name in the report and on the `--probe` command line.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Peer::ReactorMulti => "reactor",
            Peer::ReactorPollingMulti => "reactor-polling",
            Peer::ReactorUringMulti => "reactor-uring",
            Peer::TokioMulti => "tokio-mt",
            Peer::SmolMulti => "smol",
            Peer::ReactorSingle => "reactor-1t",
            Peer::ReactorPollingSingle => "reactor-polling-1t",
            Peer::ReactorUringSingle => "reactor-uring-1t",
            Peer::ReactorPollingOneshotSingle => "reactor-polling-oneshot-1t",
            Peer::TokioCurrent => "tokio-ct",
            Peer::SmolLocal => "smol-local",
            Peer::RawEpoll => "raw-epoll",
        }
    }

    /// The peer called `name`.
    pub(crate) fn from_name(name: &str) -> Option<Peer> {
        Peer::ALL.into_iter().find(|peer| peer.name() == name)
    }

    /// The peer's threading mode.
    pub(crate) fn mode(self) -> Mode {
        match self {
            Peer::ReactorMulti
            | Peer::ReactorPollingMulti
            | Peer::ReactorUringMulti
            | Peer::TokioMulti
            | Peer::SmolMulti => Mode::Multi,
            _ => Mode::Single,
        }
    }

    /// Whether this peer takes part in `workload`: the raw epoll loop and reactor on io_uring
    /// only echo TCP, and the `http` workload (hyper's server) runs on reactor and tokio on epoll
    /// only.
    pub(crate) fn takes_part(self, workload: Workload) -> bool {
        match workload {
            Workload::Http => {
                matches!(
                    self,
                    Peer::ReactorMulti | Peer::ReactorSingle | Peer::TokioMulti | Peer::TokioCurrent
                )
            }
            _ if matches!(self, Peer::RawEpoll | Peer::ReactorUringMulti | Peer::ReactorUringSingle) => {
                workloads::is_echo(workload)
            }
            _ => true,
        }
    }

    /// Runs `workload` once on a fresh instance of this peer.
    pub(crate) fn run(self, workload: Workload, sizes: &Sizes) -> Result<Outcome, Failure> {
        match (self, workload) {
            (Peer::RawEpoll, _) if workloads::is_echo(workload) => {
                workloads::echo(workload, raw_epoll::serve_echo, sizes)
            }
            (_, Workload::Http) => http_server::run(self, sizes),
            (Peer::RawEpoll, _) => Ok(Outcome::NotAvailable("TCP echo only")),
            (_, Workload::IdleTasks) => memory::measure(self.name(), workload, sizes.idle_tasks),
            (_, Workload::IdleConnections) => memory::measure(self.name(), workload, sizes.idle_connections),
            (_, Workload::TimerMemory) => memory::measure(self.name(), workload, sizes.armed_timers),
            _ => {
                self.with_runtime(RunWorkload { workload, sizes })?.expect("only the raw loop has no runtime")
            }
        }
    }

    /// Builds this peer's runtime and hands it to `visitor`; `None` for the raw epoll loop,
    /// which has no runtime.
    pub(crate) fn with_runtime<V: WithRuntime>(self, visitor: V) -> Result<Option<V::Output>, Failure> {
        let workers = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
        let built = |error: std::io::Error| format!("building {}: {error}", self.name());
        Ok(Some(match self {
            Peer::ReactorMulti => {
                visitor.call(&reactor::Reactor::new(workers, Backend::Epoll).map_err(built)?)
            }
            Peer::ReactorPollingMulti => {
                visitor.call(&reactor::Reactor::new(workers, Backend::Polling).map_err(built)?)
            }
            Peer::ReactorUringMulti => {
                visitor.call(&reactor::Reactor::new(workers, Backend::IoUring).map_err(built)?)
            }
            Peer::TokioMulti => visitor.call(&tokio::Tokio::multi_thread(workers).map_err(built)?),
            Peer::SmolMulti => visitor.call(&smol::multi::SmolMulti::new(workers).map_err(built)?),
            Peer::ReactorSingle => visitor.call(&reactor::Reactor::new(0, Backend::Epoll).map_err(built)?),
            Peer::ReactorPollingSingle => {
                visitor.call(&reactor::Reactor::new(0, Backend::Polling).map_err(built)?)
            }
            Peer::ReactorUringSingle => {
                visitor.call(&reactor::Reactor::new(0, Backend::IoUring).map_err(built)?)
            }
            Peer::ReactorPollingOneshotSingle => {
                visitor.call(&reactor::Reactor::new(0, Backend::PollingOneshot).map_err(built)?)
            }
            Peer::TokioCurrent => visitor.call(&tokio::Tokio::current_thread().map_err(built)?),
            Peer::SmolLocal => visitor.call(&smol::local::SmolLocal),
            Peer::RawEpoll => return Ok(None),
        }))
    }
}

/// Runs one workload on whatever runtime it is given.
struct RunWorkload<'a> {
    workload: Workload,
    sizes: &'a Sizes,
}

impl WithRuntime for RunWorkload<'_> {
    type Output = Result<Outcome, Failure>;

    fn call<R: Runtime>(self, runtime: &R) -> Self::Output {
        self.workload.run_on(runtime, self.sizes)
    }
}
