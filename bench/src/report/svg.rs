//! A horizontal bar chart of each peer's ratio to reactor, rendered as SVG text.

use std::fmt::Write;

use crate::report::{metric_heading, number, Results};

/// Bars longer than this ratio are clipped (and say so).
const MAX_RATIO: f64 = 4.0;
const BAR_WIDTH: f64 = 420.0;
/// Room for the longest peer name (`reactor-polling-oneshot-1t`).
const LABEL_WIDTH: f64 = 160.0;
const LINE: f64 = 16.0;

/// One group per workload metric, one bar per peer that has a value, labelled with the ratio,
/// the median and min–max; a vertical line marks 1.0 (reactor).
pub(crate) fn svg(results: &Results) -> String {
    let mut body = String::new();
    let mut y = 20.0;
    let mut heading = String::new();
    for row in results.rows() {
        let (Ok((median, min, max)), Some(ratio)) = (row.values, row.ratio) else { continue };
        let this = format!("{}: {}", row.workload, metric_heading(&row.metric));
        if this != heading {
            y += LINE * 1.25;
            let _ = writeln!(body, r#"<text x="4" y="{y}" font-weight="bold">{}</text>"#, escape(&this));
            y += LINE * 0.25;
            heading = this;
        }
        let width = BAR_WIDTH * ratio.min(MAX_RATIO) / MAX_RATIO;
        let fill = if row.peer.name().starts_with("reactor") { "#d95f02" } else { "#7570b3" };
        let clipped = if ratio > MAX_RATIO { " (clipped)" } else { "" };
        let _ = writeln!(
            body,
            r#"<text x="4" y="{text_y}">{peer}</text><rect x="{LABEL_WIDTH}" y="{bar_y}" width="{width:.1}" height="{height}" fill="{fill}"/><text x="{label_x:.1}" y="{text_y}">{ratio:.2}x ({median} {unit}, {min}–{max}){clipped}</text>"#,
            text_y = y + LINE - 4.0,
            peer = row.peer.name(),
            bar_y = y + 3.0,
            height = LINE - 4.0,
            label_x = LABEL_WIDTH + width + 4.0,
            median = number(median),
            min = number(min),
            max = number(max),
            unit = escape(row.metric.unit),
        );
        y += LINE;
    }
    let one = LABEL_WIDTH + BAR_WIDTH / MAX_RATIO;
    let height = y + LINE;
    let width = LABEL_WIDTH + BAR_WIDTH + 300.0;
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="white"/>
<text x="4" y="16" font-size="13">reactor-bench: median of each peer / median of reactor in the same mode (1.0 = reactor)</text>
{body}<line x1="{one}" y1="24" x2="{one}" y2="{y}" stroke="black" stroke-dasharray="3,3"/>
</svg>
"#
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
