//! The report as markdown, written to `target/bench/report.md`.

use std::fmt::Write;

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
