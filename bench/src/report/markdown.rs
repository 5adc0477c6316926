//! The report as markdown, written to `target/bench/report.md`.

use std::fmt::Write;

use crate::report::goals::{cell, goal_rows};
use crate::report::{cells, metric_heading, Results};

/// The report: context, then one table per workload with a column per statistic.
pub(crate) fn markdown(results: &Results) -> String {
    let mut out = String::from("# reactor-bench report\n\n");
    let _ = writeln!(out, "{}\n", results.context);
    let _ = writeln!(
        out,
        "Median over {} repetitions, min–max, and the ratio of each peer's median to reactor's \
         in the same mode (`reactor` for multi-thread peers, `reactor-1t` for single-thread \
         ones and the raw epoll loop). `bench/README.md` says what each number measures.",
        results.sizes.repetitions
    );
    out.push_str(&against_best(results));
    let mut workload = String::new();
    let mut metric = String::new();
    for row in results.rows() {
        if row.workload != workload {
            let _ = writeln!(out, "\n## {}\n", row.workload);
            let _ = writeln!(out, "| metric | peer | median | min–max | ratio to reactor |");
            let _ = writeln!(out, "|---|---|---:|---:|---:|");
            workload.clone_from(&row.workload);
            metric.clear();
        }
        let [median, range, ratio] = cells(&row);
        let heading = metric_heading(&row.metric);
        let shown = if heading == metric { "" } else { heading.as_str() };
        let _ = writeln!(out, "| {shown} | {} | {median} | {range} | {ratio} |", row.peer.name());
        metric = heading;
    }
    out
}

/// The summary table: reactor's cost over the best other runtime's, per mode, with the goal.
fn against_best(results: &Results) -> String {
    let mut out = String::from(
        "\n## Against the best other runtime\n\nReactor's cost over the best peer's in the same \
         mode (below 1: reactor ahead; 0.80 = 1.25x faster): `reactor` against the best of \
         `tokio-mt` and `smol`, `reactor-1t` against the best of `tokio-ct` and `smol-local`, \
         and `reactor-1t` against the raw epoll loop.\n\n\
         | workload | metric | multi-thread | single-thread | single-thread vs raw epoll |\n\
         |---|---|---|---|---|\n",
    );
    for row in goal_rows(results) {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            row.workload,
            metric_heading(&row.metric),
            cell(&row.multi),
            cell(&row.single),
            cell(&row.raw)
        );
    }
    out
}
