//! The HTML report's latency and load sections: the round-trip statistics of measured steps, and
//! for a load its counts, thresholds, errors, a sample of failures, and an inline SVG chart of
//! open connections and the p95 round trip over time.

use std::fmt::Write as _;

use super::junit::escape;
use super::load::{stats_ms, LoadModel, LoadReport, Timeline};
use super::RequestReport;
use crate::duration::format_duration;
use crate::latency::{format_ms, Latency, Stat};

/// The latency table of a request with measured steps, and its load section if it has one.
pub fn request_latency(out: &mut String, q: &RequestReport) {
    let mut rows: Vec<(String, &Latency)> = Vec::new();
    if let Some(load) = &q.load {
        summary(out, load);
        if !load.connect.is_empty() {
            rows.push(("connect".into(), &load.connect));
        }
    }
    for s in &q.steps {
        if let Some(l) = &s.latencies {
            rows.push((format!("step {} {}", s.index, s.keyword), l));
        }
    }
    table(out, &rows);
    if let Some(load) = &q.load {
        thresholds_and_errors(out, load);
        if load.timeline.points.len() >= 2 {
            out.push_str(&load_chart(&load.timeline));
        }
    }
}

fn summary(out: &mut String, load: &LoadReport) {
    let mut what = load.model_text();
    if let LoadModel::Arrivals(a) = &load.model {
        let _ = write!(
            what,
            " · {} arrivals: {} started, {} dropped",
            a.started + a.dropped,
            a.started,
            a.dropped
        );
    }
    let stopped = load
        .stopped_text()
        .map(|s| format!(" ({s})"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "<p class=\"load\"><b>Load</b>{stopped}: {what} · {} connected, {} failed · {} iterations, {} failed · {} messages received ({:.0}/s) in {}</p>",
        load.opened,
        load.connect_failed,
        load.iterations,
        load.failed,
        load.received,
        load.rate(),
        format_duration(load.elapsed)
    );
}

fn table(out: &mut String, rows: &[(String, &Latency)]) {
    if rows.is_empty() {
        return;
    }
    out.push_str("<table class=\"latency\"><tr><th>round trips</th><th>count</th>");
    for s in Stat::REPORTED {
        let _ = write!(out, "<th>{s}</th>");
    }
    out.push_str("</tr>\n");
    for (what, l) in rows {
        let _ = write!(out, "<tr><td>{}</td><td>{}</td>", escape(what), l.count());
        for (_, v) in stats_ms(l) {
            let _ = write!(out, "<td>{}</td>", v.map(format_ms).unwrap_or_default());
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}

fn thresholds_and_errors(out: &mut String, load: &LoadReport) {
    if !load.thresholds.is_empty() {
        out.push_str("<table class=\"thresholds\"><tr><th>threshold</th><th>measured</th><th>result</th></tr>\n");
        for t in &load.thresholds {
            let (class, label) = if t.at_merge {
                ("muted", "judged at merge")
            } else if t.passed {
                ("pass", "passed")
            } else {
                ("fail", "failed")
            };
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td class=\"{class}\">{label}</td></tr>",
                escape(&t.condition()),
                escape(&t.shown())
            );
        }
        out.push_str("</table>\n");
    }
    if !load.errors.is_empty() {
        out.push_str("<table class=\"errors\"><tr><th>errors</th><th>count</th></tr>\n");
        for (kind, n) in &load.errors {
            let _ = writeln!(out, "<tr><td>{}</td><td>{n}</td></tr>", escape(kind));
        }
        out.push_str("</table>\n");
    }
    if !load.samples.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary class=\"muted\">First failures ({})</summary>",
            load.samples.len()
        );
        for f in &load.samples {
            super::html_failure::failure(out, f);
        }
        out.push_str("</details>\n");
    }
}

/// Open connections (left axis) and the p95 round trip (right axis) over the load.
pub fn load_chart(t: &Timeline) -> String {
    let (w, h, left, right, bottom) = (640.0_f64, 200.0_f64, 52.0_f64, 60.0_f64, 24.0_f64);
    let n = t.points.len();
    let peak_conns = t
        .points
        .iter()
        .map(|p| p.connections)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let peak_p95 = t
        .points
        .iter()
        .filter_map(|p| p.p95_ms)
        .fold(0.0_f64, f64::max)
        .max(1e-3);
    let x = |i: usize| left + (i as f64) / ((n - 1).max(1) as f64) * (w - left - right);
    let y = |v: f64, peak: f64| (h - bottom) - v / peak * (h - bottom - 12.0);
    let span = t.bucket.as_secs_f64() * n as f64;
    let mut svg = format!(
        "<div class=\"chart\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"open connections and p95 round trip over time\">"
    );
    let (b, r) = (h - bottom, w - right);
    let _ = write!(
        svg,
        "<rect x=\"0\" y=\"0\" width=\"{w}\" height=\"{h}\" fill=\"#fff\"/><line x1=\"{left}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"#8c959f\"/><line x1=\"{left}\" y1=\"10\" x2=\"{left}\" y2=\"{b}\" stroke=\"#8c959f\"/><line x1=\"{r}\" y1=\"10\" x2=\"{r}\" y2=\"{b}\" stroke=\"#8c959f\"/>"
    );
    let _ = write!(
        svg,
        "<text x=\"{tx}\" y=\"16\" font-size=\"11\" text-anchor=\"end\" fill=\"#0969da\">{peak_conns:.0}</text><text x=\"{tx}\" y=\"{b}\" font-size=\"11\" text-anchor=\"end\" fill=\"#57606a\">0</text><text x=\"{rx}\" y=\"16\" font-size=\"11\" fill=\"#bf3989\">{}</text><text x=\"{r}\" y=\"{ly}\" font-size=\"11\" text-anchor=\"end\" fill=\"#57606a\">{span:.0}s</text>",
        format_ms(peak_p95),
        tx = left - 4.0,
        rx = r + 4.0,
        ly = h - 6.0,
    );
    let conns: Vec<String> = t
        .points
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{:.1},{:.1}", x(i), y(p.connections as f64, peak_conns)))
        .collect();
    let p95: Vec<String> = t
        .points
        .iter()
        .enumerate()
        .filter_map(|(i, p)| Some(format!("{:.1},{:.1}", x(i), y(p.p95_ms?, peak_p95))))
        .collect();
    let _ = write!(
        svg,
        "<polyline fill=\"none\" stroke=\"#0969da\" stroke-width=\"2\" points=\"{}\"/><polyline fill=\"none\" stroke=\"#bf3989\" stroke-width=\"2\" points=\"{}\"/>",
        conns.join(" "),
        p95.join(" ")
    );
    let _ = write!(
        svg,
        "<text x=\"{:.1}\" y=\"{}\" font-size=\"11\" fill=\"#0969da\">open connections</text><text x=\"{:.1}\" y=\"{}\" font-size=\"11\" fill=\"#bf3989\">p95 round trip</text>",
        left + 12.0,
        h - bottom + 18.0,
        left + 160.0,
        h - bottom + 18.0
    );
    svg.push_str("</svg></div>\n");
    svg
}
