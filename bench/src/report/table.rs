//! The plain-text table printed at the end of a run.

use std::fmt::Write;

use crate::report::goals::{cell, goal_rows};
use crate::report::{cells, metric_heading, Results};

/// The table: one block per workload and metric, one line per peer.
pub(crate) fn text(results: &Results) -> String {
    let mut out = String::new();
    let mut heading = String::new();
    for row in results.rows() {
        let this = format!("{}: {}", row.workload, metric_heading(&row.metric));
        if this != heading {
            let _ = writeln!(out, "\n{this}");
            let _ = writeln!(out, "  {:<26} {:>12} {:>25} {:>8}", "peer", "median", "min–max", "/reactor");
            heading = this;
        }
        let [median, range, ratio] = cells(&row);
        let _ = writeln!(out, "  {:<26} {median:>12} {range:>25} {ratio:>8}", row.peer.name());
    }
    let _ = writeln!(
        out,
        "\nAgainst the best other runtime of the same mode (reactor's cost / the best peer's):"
    );
    for row in goal_rows(results) {
        let _ = writeln!(out, "\n{}: {}", row.workload, metric_heading(&row.metric));
        let _ = writeln!(out, "  multi-thread   {}", cell(&row.multi));
        let _ = writeln!(out, "  single-thread  {}", cell(&row.single));
        if row.raw.is_some() {
            let _ = writeln!(out, "  vs raw epoll   {}", cell(&row.raw));
        }
    }
    out
}
