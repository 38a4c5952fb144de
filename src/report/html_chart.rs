//! Inline SVG line charts for the HTML report's loads: time on the x axis (seconds), one or two
//! value axes each with its label and unit, a legend naming every line. No script, no external
//! file: the report stays one page that opens anywhere.

use std::fmt::Write as _;

use super::junit::escape;

/// One line of a chart: its name in the legend, its colour, its value per point (a gap where
/// `None`), and whether it reads against the right axis.
pub struct Series<'a> {
    pub label: &'a str,
    pub color: &'a str,
    pub values: Vec<Option<f64>>,
    pub right: bool,
}

/// A value axis: its label with the unit (`round trip (ms)`) and how its top value is shown.
pub struct Axis<'a> {
    pub label: &'a str,
    pub format: fn(f64) -> String,
}

const W: f64 = 680.0;
const H: f64 = 240.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 72.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 40.0;

/// A chart of `series` over `span_s` seconds (points evenly spread), titled `title`.
pub fn chart(
    title: &str,
    span_s: f64,
    left: &Axis<'_>,
    right: Option<&Axis<'_>>,
    series: &[Series<'_>],
) -> String {
    let n = series.iter().map(|s| s.values.len()).max().unwrap_or(0);
    let peak = |on_right: bool| {
        series
            .iter()
            .filter(|s| s.right == on_right)
            .flat_map(|s| s.values.iter().flatten())
            .fold(0.0_f64, |a, &b| a.max(b))
    };
    let (peak_left, peak_right) = (peak(false), peak(true));
    let (b, r) = (H - BOTTOM, W - RIGHT);
    let x = |i: usize| LEFT + (i as f64) / ((n.max(2) - 1) as f64) * (r - LEFT);
    let y = |v: f64, top: f64| b - if top > 0.0 { v / top } else { 0.0 } * (b - TOP);
    let mut svg = format!(
        "<div class=\"chart\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{}\">",
        escape(title)
    );
    let _ = write!(
        svg,
        "<rect x=\"0\" y=\"0\" width=\"{W}\" height=\"{H}\" fill=\"#fff\"/><text class=\"title\" x=\"{LEFT}\" y=\"14\" font-size=\"12\" font-weight=\"600\" fill=\"#24292f\">{}</text>",
        escape(title)
    );
    // The x axis: time since the load started.
    let _ = write!(
        svg,
        "<g class=\"axis x\"><line x1=\"{LEFT}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"#8c959f\"/><text x=\"{LEFT}\" y=\"{t}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#57606a\">0</text><text x=\"{r}\" y=\"{t}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#57606a\">{span_s:.0}</text><text class=\"axis-label\" x=\"{mid}\" y=\"{l}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#57606a\">time (s)</text></g>",
        t = b + 14.0,
        l = H - 6.0,
        mid = (LEFT + r) / 2.0,
    );
    axis(&mut svg, "left", LEFT, left, peak_left);
    if let Some(right) = right {
        axis(&mut svg, "right", r, right, peak_right);
    }
    for s in series {
        let top = if s.right { peak_right } else { peak_left };
        let points: Vec<String> = s
            .values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| Some(format!("{:.1},{:.1}", x(i), y((*v)?, top))))
            .collect();
        let _ = write!(
            svg,
            "<polyline class=\"series\" data-series=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>",
            escape(s.label),
            s.color,
            points.join(" ")
        );
    }
    // The legend, in the top margin after the title: a swatch and the name of each line.
    svg.push_str("<g class=\"legend\">");
    let mut lx = LEFT + 16.0 + 7.0 * title.chars().count() as f64;
    for s in series {
        let _ = write!(
            svg,
            "<line x1=\"{lx}\" y1=\"10\" x2=\"{x2}\" y2=\"10\" stroke=\"{}\" stroke-width=\"3\"/><text x=\"{tx}\" y=\"14\" font-size=\"11\" fill=\"#24292f\">{}</text>",
            s.color,
            escape(s.label),
            x2 = lx + 14.0,
            tx = lx + 18.0,
        );
        lx += 26.0 + 6.5 * s.label.chars().count() as f64;
    }
    svg.push_str("</g></svg></div>\n");
    svg
}

/// A value axis at `at` (left or right edge): its line, 0 and the top value, its label turned
/// along it.
fn axis(svg: &mut String, side: &str, at: f64, a: &Axis<'_>, peak: f64) {
    let b = H - BOTTOM;
    let (anchor, tx, lx, rot) = if side == "left" {
        ("end", at - 4.0, 14.0, -90)
    } else {
        ("start", at + 4.0, W - 8.0, 90)
    };
    let mid = (TOP + b) / 2.0;
    let _ = write!(
        svg,
        "<g class=\"axis {side}\"><line x1=\"{at}\" y1=\"{TOP}\" x2=\"{at}\" y2=\"{b}\" stroke=\"#8c959f\"/><text x=\"{tx}\" y=\"{ty}\" font-size=\"11\" text-anchor=\"{anchor}\" fill=\"#57606a\">{}</text><text x=\"{tx}\" y=\"{b}\" font-size=\"11\" text-anchor=\"{anchor}\" fill=\"#57606a\">0</text><text class=\"axis-label\" x=\"{lx}\" y=\"{mid}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#57606a\" transform=\"rotate({rot} {lx} {mid})\">{}</text></g>",
        escape(&(a.format)(peak)),
        escape(a.label),
        ty = TOP + 4.0,
    );
}
