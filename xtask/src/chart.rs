//! A horizontal bar chart as hand-written SVG (xtask stays dependency-free), and the same
//! chart as text for places that show no pictures (a terminal, a markdown page).

use std::fmt::Write as _;

use super::load::{Row, thousands};

/// Width of the whole picture.
const WIDTH: f64 = 760.0;
/// Left edge of the bars (labels sit to its left).
const BARS_X: f64 = 210.0;
/// Length of the longest bar.
const BARS_WIDTH: f64 = 400.0;
/// Height of the title band.
const TOP: f64 = 48.0;
/// Vertical space per row.
const ROW: f64 = 36.0;
/// Height of a bar.
const BAR: f64 = 22.0;
/// Extra space between the rows of two adapters.
const GROUP_GAP: f64 = 14.0;

/// Escapes text for SVG.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Requests per second per row, one bar each: grey for a ceiling (no target), green when the
/// row meets its target, orange when it falls short. A dashed mark on a bar shows its target
/// (that fraction of the same adapter's ceiling); a whisker spans the lowest to the highest round.
/// Rows of one adapter are grouped; a gap separates adapters.
pub(crate) fn bars(title: &str, rows: &[Row]) -> String {
    // The top of each row: rows in order, a gap wherever the adapter changes.
    let mut tops = Vec::with_capacity(rows.len());
    let mut y = TOP;
    for (i, row) in rows.iter().enumerate() {
        if i > 0 && rows[i - 1].adapter != row.adapter {
            y += GROUP_GAP;
        }
        tops.push(y);
        y += ROW;
    }
    let bottom = y;
    // The scale ends at the highest figure drawn: a median or the top of a whisker.
    let max = rows
        .iter()
        .flat_map(|r| [r.rps, r.rps_range.1])
        .filter(|v| v.is_finite())
        .fold(1.0_f64, f64::max);
    let x = |rps: f64| BARS_X + (rps / max).clamp(0.0, 1.0) * BARS_WIDTH;
    let height = bottom + 54.0;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="13">"#
    );
    let _ = writeln!(
        svg,
        r##"<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>"##
    );
    let _ = writeln!(
        svg,
        r##"<text x="12" y="26" font-size="15" font-weight="bold" fill="#222">{}</text>"##,
        escape(title)
    );
    for (row, &top) in rows.iter().zip(&tops) {
        let bar_y = top + (ROW - BAR) / 2.0;
        let text_y = bar_y + BAR / 2.0 + 4.5;
        let color = match row.target {
            None => "#8c8c8c",
            Some(t) if row.ratio >= t => "#2e7d32",
            Some(_) => "#e08a00",
        };
        let end = x(row.rps);
        let _ = writeln!(
            svg,
            r##"<text x="{:.1}" y="{text_y:.1}" text-anchor="end" fill="#222">{} · {}</text>"##,
            BARS_X - 8.0,
            escape(row.adapter),
            escape(row.label)
        );
        let _ = writeln!(
            svg,
            r#"<rect x="{BARS_X}" y="{bar_y:.1}" width="{:.1}" height="{BAR}" fill="{color}"><title>{} requests/s</title></rect>"#,
            end - BARS_X,
            thousands(row.rps)
        );
        let _ = writeln!(
            svg,
            r##"<text x="{:.1}" y="{text_y:.1}" fill="#222">{} /s ({:.1}%)</text>"##,
            BARS_X + BARS_WIDTH + 10.0,
            thousands(row.rps),
            row.ratio * 100.0
        );
        let (low, high) = row.rps_range;
        if low.is_finite() && high.is_finite() {
            let (x1, x2, mid) = (x(low), x(high), bar_y + BAR / 2.0);
            let _ = writeln!(
                svg,
                r##"<path d="M{x1:.1} {mid:.1}H{x2:.1}M{x1:.1} {:.1}V{:.1}M{x2:.1} {:.1}V{:.1}" stroke="#000" stroke-width="1" fill="none"><title>rounds: {}-{} requests/s</title></path>"##,
                mid - 4.0,
                mid + 4.0,
                mid - 4.0,
                mid + 4.0,
                thousands(low),
                thousands(high)
            );
        }
        if let Some(target) = row.target
            && row.ceiling_rps.is_finite()
        {
            let mark = x(row.ceiling_rps * target);
            let _ = writeln!(
                svg,
                r##"<line x1="{mark:.1}" y1="{:.1}" x2="{mark:.1}" y2="{:.1}" stroke="#222" stroke-width="1.5" stroke-dasharray="3,2"><title>target: {:.0}% of ceiling</title></line>"##,
                bar_y - 3.0,
                bar_y + BAR + 3.0,
                target * 100.0
            );
        }
    }
    let legend_y = bottom + 22.0;
    let _ = writeln!(
        svg,
        r##"<text x="12" y="{legend_y:.1}" font-size="11" fill="#555">grey: ceiling (no authentication); green: meets target; orange: short of target; percentages: share of the same adapter's ceiling</text>"##
    );
    let _ = writeln!(
        svg,
        r##"<text x="12" y="{:.1}" font-size="11" fill="#555">whisker: lowest to highest round; dashed mark: the target share of the same adapter's ceiling</text>"##,
        legend_y + 16.0
    );
    svg.push_str("</svg>\n");
    svg
}

/// Width of the longest bar of [`text_bars`], in characters.
const TEXT_WIDTH: usize = 40;

/// The chart of [`bars`] as monospace text: one bar per row, scaled to the highest median,
/// with the figures and the verdict beside it.
pub(crate) fn text_bars(rows: &[Row]) -> String {
    let max = rows
        .iter()
        .map(|r| r.rps)
        .filter(|v| v.is_finite())
        .fold(1.0_f64, f64::max);
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        if i > 0 && rows[i - 1].adapter != row.adapter {
            out.push('\n');
        }
        // A whole number of characters between 0 and TEXT_WIDTH: the cast cannot truncate.
        let len = ((row.rps / max).clamp(0.0, 1.0) * TEXT_WIDTH as f64).round() as usize;
        let verdict = match row.target {
            None => "ceiling".to_owned(),
            Some(t) if row.ratio >= t => format!("target {:.0}%: PASS", t * 100.0),
            Some(t) => format!("target {:.0}%: SHORT", t * 100.0),
        };
        let _ = writeln!(
            out,
            "{:<10} {:<17} {}{} {:>7}/s {:>6.1}%  {verdict}",
            row.adapter,
            row.label,
            "█".repeat(len),
            " ".repeat(TEXT_WIDTH - len),
            thousands(row.rps),
            row.ratio * 100.0
        );
    }
    out
}
