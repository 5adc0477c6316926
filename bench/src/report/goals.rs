//! Reactor against the best other runtime of the same mode, metric by metric, with the goal each
//! ratio is held to.
//!
//! A ratio here is reactor's cost over the best peer's cost: reactor's median over the lowest
//! peer median for a lower-is-better metric, the highest peer median over reactor's for a
//! higher-is-better one. Below 1 reactor is ahead; 0.8 is "at least 1.25x faster".

use crate::peers::{Mode, Peer};
use crate::report::Results;
use crate::workloads::{Metric, Workload};

/// The ratio every throughput and latency row is held to: at least 1.25x ahead of the best peer.
const AHEAD: f64 = 0.8;
/// TCP echo's server CPU per round trip, the 512-connection latency tail and hyper's server CPU
/// per request: at or below the best peer.
const LEVEL: f64 = 1.0;
/// Single-threaded TCP echo server CPU against the raw epoll loop.
const NEAR_RAW: f64 = 1.05;

/// One workload metric, reactor against the best peer of each mode.
#[derive(Debug)]
pub(crate) struct GoalRow {
    /// The workload with its sizes.
    pub(crate) workload: String,
    /// The metric.
    pub(crate) metric: Metric,
    /// `reactor` against the best of `tokio-mt` and `smol`.
    pub(crate) multi: Option<Comparison>,
    /// `reactor-1t` against the best of `tokio-ct` and `smol-local`.
    pub(crate) single: Option<Comparison>,
    /// `reactor-1t` against the raw epoll loop, where it ran.
    pub(crate) raw: Option<Comparison>,
}

/// Reactor's cost over the best peer's, and whether that meets the goal.
#[derive(Debug)]
pub(crate) struct Comparison {
    /// Reactor's cost over the best peer's (below 1: reactor ahead).
    pub(crate) ratio: f64,
    /// The best peer.
    pub(crate) best: Peer,
    /// The ratio to stay at or under; `None` where no goal is set (memory rows are reported).
    pub(crate) goal: Option<f64>,
}

impl Comparison {
    /// "met", "not met", or "–" without a goal.
    pub(crate) fn verdict(&self) -> &'static str {
        match self.goal {
            Some(goal) if self.ratio <= goal => "met",
            Some(_) => "not met",
            None => "–",
        }
    }

    /// The cell: ratio, best peer, verdict against the goal.
    pub(crate) fn cell(&self) -> String {
        match self.goal {
            Some(goal) => {
                format!("{:.2} vs {} (goal ≤ {goal:.2}: {})", self.ratio, self.best.name(), self.verdict())
            }
            None => format!("{:.2} vs {}", self.ratio, self.best.name()),
        }
    }
}

/// The cell of an optional comparison: "–" where either side has no value.
pub(crate) fn cell(comparison: &Option<Comparison>) -> String {
    comparison.as_ref().map_or_else(|| "–".to_string(), Comparison::cell)
}

/// Every metric of every workload that reactor and at least one peer measured.
pub(crate) fn goal_rows(results: &Results) -> Vec<GoalRow> {
    let mut rows = Vec::new();
    for workload in Workload::ALL {
        for (index, &metric) in workload.metrics().iter().enumerate() {
            let median = |peer: Peer| results.stats(workload, peer, index).ok().map(|(median, ..)| median);
            let compare = |reactor: Peer, peers: &[Peer], goal: Option<f64>| {
                let reactor = median(reactor)?;
                let better = |a: f64, b: f64| if metric.higher_is_better { a > b } else { a < b };
                let (best, value) = peers
                    .iter()
                    .filter_map(|&peer| Some((peer, median(peer)?)))
                    .reduce(|best, next| if better(next.1, best.1) { next } else { best })?;
                let ratio = if metric.higher_is_better { value / reactor } else { reactor / value };
                Some(Comparison { ratio, best, goal })
            };
            let goal = goal(workload, &metric);
            let raw_goal = is_echo_cpu(workload, &metric).then_some(NEAR_RAW);
            let row = GoalRow {
                workload: workload.title(&results.sizes),
                metric,
                multi: compare(Peer::ReactorMulti, &peers(Mode::Multi), goal),
                single: compare(Peer::ReactorSingle, &peers(Mode::Single), goal),
                raw: compare(Peer::ReactorSingle, &[Peer::RawEpoll], raw_goal),
            };
            if row.multi.is_some() || row.single.is_some() {
                rows.push(row);
            }
        }
    }
    rows
}

/// The other runtimes of `mode`: every peer that is neither a reactor flavour nor the raw loop.
fn peers(mode: Mode) -> Vec<Peer> {
    Peer::ALL
        .into_iter()
        .filter(|peer| peer.mode() == mode && !peer.name().starts_with("reactor") && *peer != Peer::RawEpoll)
        .collect()
}

/// The ratio a metric is held to; memory rows and `http` requests/s have none (reported only).
fn goal(workload: Workload, metric: &Metric) -> Option<f64> {
    match workload {
        Workload::IdleTasks | Workload::IdleConnections | Workload::TimerMemory => None,
        _ if is_echo_cpu(workload, metric) => Some(LEVEL),
        // Issue 16's target is the server's CPU per request; requests/s, with the load generator
        // on the same two cores, is reported only.
        Workload::Http if metric.name == "server CPU per request" => Some(LEVEL),
        Workload::Http => None,
        Workload::TcpEchoMany if metric.name == "latency p99" => Some(LEVEL),
        _ => Some(AHEAD),
    }
}

/// Whether `metric` is a TCP echo workload's server CPU per round trip.
fn is_echo_cpu(workload: Workload, metric: &Metric) -> bool {
    matches!(workload, Workload::TcpEcho | Workload::TcpEchoMany)
        && metric.name == "server CPU per round trip"
}
