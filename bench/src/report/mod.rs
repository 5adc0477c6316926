//! Collects the outcomes of every run and renders them: a text table on stdout, the same table
//! as markdown, and a bar chart of the ratios to reactor as SVG; the text and markdown open
//! with reactor's ratio to the best other runtime of each mode and the goal it is held to.

mod goals;
mod markdown;
mod svg;
mod table;

pub(crate) use markdown::markdown;
pub(crate) use svg::svg;
pub(crate) use table::text;

use crate::peers::{Mode, Peer};
use crate::sizes::Sizes;
use crate::stats::median_min_max;
use crate::workloads::{Metric, Outcome, Workload};

/// Every outcome of one benchmark run.
#[derive(Debug)]
pub(crate) struct Results {
    /// The sizes the workloads ran with.
    pub(crate) sizes: Sizes,
    /// A line saying what was measured where: commit, machine load, cores.
    pub(crate) context: String,
    outcomes: Vec<(Workload, Peer, Outcome)>,
}

/// One line of the report: a metric of a workload on a peer, over the repetitions.
#[derive(Debug)]
pub(crate) struct Row {
    /// The workload with its sizes.
    pub(crate) workload: String,
    /// The metric.
    pub(crate) metric: Metric,
    /// The peer.
    pub(crate) peer: Peer,
    /// Median, min and max over the repetitions; `Err` says why the peer has no value.
    pub(crate) values: Result<(f64, f64, f64), &'static str>,
    /// Median of the peer over median of reactor in the same mode.
    pub(crate) ratio: Option<f64>,
}

impl Results {
    /// No outcomes yet.
    pub(crate) fn new(sizes: Sizes, context: String) -> Self {
        Self { sizes, context, outcomes: Vec::new() }
    }

    /// Records one run.
    pub(crate) fn record(&mut self, workload: Workload, peer: Peer, outcome: Outcome) {
        self.outcomes.push((workload, peer, outcome));
    }

    /// The report's rows, workload by workload, metric by metric, peer by peer.
    pub(crate) fn rows(&self) -> Vec<Row> {
        let mut rows = Vec::new();
        for workload in Workload::ALL.into_iter().filter(|&workload| self.ran(workload)) {
            for (index, &metric) in workload.metrics().iter().enumerate() {
                let stats = |peer: Peer| self.stats(workload, peer, index);
                for peer in Peer::ALL.into_iter().filter(|peer| peer.takes_part(workload)) {
                    let values = stats(peer);
                    let baseline = stats(reactor_of(peer)).ok();
                    let ratio =
                        values.ok().zip(baseline).map(|((median, ..), (reactor, ..))| median / reactor);
                    rows.push(Row { workload: workload.title(&self.sizes), metric, peer, values, ratio });
                }
            }
        }
        rows
    }

    /// Whether `workload` was run at all (a `--workload` run has one).
    fn ran(&self, workload: Workload) -> bool {
        self.outcomes.iter().any(|(ran, ..)| *ran == workload)
    }

    fn stats(&self, workload: Workload, peer: Peer, metric: usize) -> Result<(f64, f64, f64), &'static str> {
        let mut values = Vec::new();
        for (_, _, outcome) in self.outcomes.iter().filter(|(w, p, _)| *w == workload && *p == peer) {
            match outcome {
                Outcome::Measured(measured) => values.push(measured[metric]),
                Outcome::NotAvailable(why) => return Err(why),
            }
        }
        if values.is_empty() {
            return Err("not run");
        }
        Ok(median_min_max(&values))
    }
}

/// The reactor peer that `peer` is compared with: the one of the same mode.
fn reactor_of(peer: Peer) -> Peer {
    match peer.mode() {
        Mode::Multi => Peer::ReactorMulti,
        Mode::Single => Peer::ReactorSingle,
    }
}

/// A number with as many decimals as its size deserves.
pub(crate) fn number(value: f64) -> String {
    match value.abs() {
        v if v >= 100.0 => format!("{value:.0}"),
        v if v >= 10.0 => format!("{value:.1}"),
        _ => format!("{value:.2}"),
    }
}

/// The metric's heading: name, unit and which way is better.
pub(crate) fn metric_heading(metric: &Metric) -> String {
    let better = if metric.higher_is_better { "higher is better" } else { "lower is better" };
    format!("{} ({}, {better})", metric.name, metric.unit)
}

/// The cells of one row: median, min–max and ratio, or the reason for no value.
pub(crate) fn cells(row: &Row) -> [String; 3] {
    match row.values {
        Ok((median, min, max)) => [
            number(median),
            format!("{}–{}", number(min), number(max)),
            row.ratio.map_or_else(|| "–".to_string(), |ratio| format!("{ratio:.2}")),
        ],
        Err(why) => [format!("n/a ({why})"), String::new(), String::new()],
    }
}
