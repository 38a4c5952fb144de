//! The HTML report (`--report html=FILE`): one self-contained page (no external scripts, styles
//! or fonts) with the summary, every request and its steps, failures expanded with their diff,
//! the frame transcript as a timeline, and an inline SVG chart of message rate per connection;
//! round trips and loads in `html_load.rs`.

pub(super) use super::html_failure::failure;
use std::fmt::Write as _;

use super::junit::escape;
use super::{Direction, Outcome, RateSeries, RequestReport, RunReport};
use crate::duration::format_duration;

const STYLE: &str = r#"
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
header{background:#1d2330;color:#fff;padding:18px 28px}
header h1{margin:0;font-size:20px}
header .sum{margin-top:6px;font-size:15px}
.pass{color:#1a7f37}.fail{color:#cf222e}.skip{color:#6e7781}
header .pass{color:#7ee2a8}header .fail{color:#ff9b9b}
main{padding:18px 28px;max-width:1200px}
section.coll{margin-bottom:26px}
section.coll h2{font-size:16px;margin:0 0 8px}
details.req{background:#fff;border:1px solid #d8dee4;border-radius:6px;margin:8px 0;padding:0 14px}
details.req.failed{border-left:4px solid #cf222e}
details.req.passed{border-left:4px solid #1a7f37}
summary{cursor:pointer;padding:10px 0;font-weight:600}
summary .t{font-weight:400;color:#6e7781;margin-left:8px}
table{border-collapse:collapse;width:100%;margin:6px 0 12px}
td,th{text-align:left;padding:4px 8px;border-bottom:1px solid #eaeef2;vertical-align:top}
th{font-weight:600;color:#57606a;font-size:12px;text-transform:uppercase}
.failure{background:#fff5f5;border:1px solid #ffd7d5;border-radius:6px;padding:8px 12px;margin:8px 0}
.failure dt{font-weight:600;color:#57606a;float:left;width:80px}
.failure dd{margin:0 0 4px 90px;font-family:ui-monospace,Menlo,Consolas,monospace;white-space:pre-wrap;word-break:break-all}
pre.diff{background:#f6f8fa;padding:8px;border-radius:4px;overflow:auto}
pre.diff .del{color:#cf222e}pre.diff .ins{color:#1a7f37}
.timeline td{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;word-break:break-all}
.timeline .dir{width:18px}.timeline .at{width:80px;color:#6e7781}.timeline .conn{width:90px;color:#57606a}
.chart{margin:8px 0}
.muted{color:#6e7781}
table.latency td,table.thresholds td{font-variant-numeric:tabular-nums}
"#;

const COLORS: [&str; 6] = [
    "#0969da", "#bf3989", "#1a7f37", "#9a6700", "#8250df", "#cf222e",
];

pub fn report(r: &RunReport) -> String {
    let total = r.total();
    let failed = r.failed();
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>wsrun report</title><style>{STYLE}</style></head><body>\n"
    );
    let verdict = if failed == 0 {
        format!("<span class=\"pass\">{total} passed</span>")
    } else {
        format!(
            "<span class=\"pass\">{} passed</span>, <span class=\"fail\">{failed} failed</span>",
            total - failed
        )
    };
    let _ = writeln!(
        out,
        "<header><h1>wsrun report</h1><div class=\"sum\">{total} request{}: {verdict} <span class=\"muted\">in {}</span></div></header><main>",
        if total == 1 { "" } else { "s" },
        format_duration(r.duration)
    );
    for c in &r.collections {
        let env = c
            .env
            .as_deref()
            .map(|e| format!(" <span class=\"muted\">(env: {})</span>", escape(e)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "<section class=\"coll\"><h2>{}{env}</h2>",
            escape(&c.path)
        );
        for q in &c.requests {
            request(&mut out, &c.path, q);
        }
        out.push_str("</section>\n");
    }
    out.push_str("</main></body></html>\n");
    out
}

fn request(out: &mut String, path: &str, q: &RequestReport) {
    let passed = q.passed();
    let _ = writeln!(
        out,
        "<details class=\"req {}\"{}><summary><span class=\"{}\">{}</span> {} <span class=\"t\">{} · line {}</span></summary>",
        if passed { "passed" } else { "failed" },
        // A load opens on its numbers and charts, passed or not: they are what it is read for.
        if passed && q.load.is_none() { "" } else { " open" },
        if passed { "pass" } else { "fail" },
        if passed { "✓" } else { "✗" },
        escape(&q.name),
        format_duration(q.duration),
        q.line
    );
    if let Some(f) = &q.error {
        failure(out, f);
    }
    if q.load.is_some() {
        super::html_load::request_latency(out, q);
    }
    if !q.steps.is_empty() {
        out.push_str("<table><tr><th>#</th><th>step</th><th>line</th><th>result</th><th>messages</th><th>time</th></tr>\n");
        for s in &q.steps {
            let (class, label) = match &s.outcome {
                Outcome::Passed => ("pass", "passed"),
                Outcome::Failed(_) => ("fail", "failed"),
                Outcome::Skipped => ("skip", "skipped"),
            };
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{path}:{}</td><td class=\"{class}\">{label}</td><td>{}</td><td>{}</td></tr>",
                s.index,
                s.keyword,
                s.line,
                s.messages,
                format_duration(s.duration),
                path = escape(path)
            );
            if let Outcome::Failed(f) = &s.outcome {
                out.push_str("<tr><td></td><td colspan=\"5\">");
                failure(out, f);
                out.push_str("</td></tr>\n");
            }
        }
        out.push_str("</table>\n");
    }
    if q.load.is_none() {
        super::html_load::request_latency(out, q);
    }
    // A chart needs a stream to show: a handful of messages is better read in the timeline.
    let received: u64 = q
        .rates
        .iter()
        .flat_map(|s| &s.counts)
        .map(|&c| u64::from(c))
        .sum();
    if received >= 20 {
        out.push_str(&rate_chart(&q.rates));
    }
    timeline(out, q);
    out.push_str("</details>\n");
}

fn timeline(out: &mut String, q: &RequestReport) {
    let t = &q.transcript;
    if t.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "<details><summary class=\"muted\">Frame transcript ({} frames)</summary><table class=\"timeline\">",
        t.len()
    );
    for (i, f) in t.frames().enumerate() {
        if i == t.head.len() && t.elided > 0 {
            let _ = writeln!(
                out,
                "<tr><td colspan=\"4\" class=\"muted\">… {} frames not kept …</td></tr>",
                t.elided
            );
        }
        let (arrow, class) = match f.direction {
            Direction::Sent => ("→", "pass"),
            Direction::Received => ("←", "muted"),
        };
        let payload = match f.data.kind() {
            "text" => f.data.preview(500),
            kind => format!("[{kind}] {}", f.data.preview(500)),
        };
        let _ = writeln!(
            out,
            "<tr><td class=\"at\">{:.3}s</td><td class=\"conn\">{}</td><td class=\"dir {class}\">{arrow}</td><td>{}</td></tr>",
            f.at.as_secs_f64(),
            escape(&f.connection),
            escape(&payload)
        );
    }
    out.push_str("</table></details>\n");
}

/// An inline SVG line chart: messages per second over time, one line per connection.
pub fn rate_chart(series: &[RateSeries]) -> String {
    let (w, h, left, bottom) = (640.0_f64, 180.0_f64, 48.0_f64, 24.0_f64);
    let buckets = series
        .iter()
        .map(|s| s.counts.len())
        .max()
        .unwrap_or(0)
        .max(2);
    let rate = |s: &RateSeries, c: u32| f64::from(c) / s.bucket.as_secs_f64().max(1e-9);
    let peak = series
        .iter()
        .flat_map(|s| s.counts.iter().map(move |&c| rate(s, c)))
        .fold(1.0_f64, f64::max);
    let bucket_s = series
        .first()
        .map(|s| s.bucket.as_secs_f64())
        .unwrap_or(0.1);
    let span = bucket_s * buckets as f64;
    let x = |i: usize| left + (i as f64) / ((buckets - 1) as f64) * (w - left - 8.0);
    let y = |v: f64| (h - bottom) - v / peak * (h - bottom - 10.0);
    let mut svg = format!(
        "<div class=\"chart\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"messages per second\">"
    );
    let _ = write!(
        svg,
        "<rect x=\"0\" y=\"0\" width=\"{w}\" height=\"{h}\" fill=\"#fff\"/><line x1=\"{left}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"#8c959f\"/><line x1=\"{left}\" y1=\"10\" x2=\"{left}\" y2=\"{b}\" stroke=\"#8c959f\"/>",
        b = h - bottom,
        r = w - 8.0
    );
    let _ = write!(
        svg,
        "<text x=\"{tx}\" y=\"16\" font-size=\"11\" text-anchor=\"end\" fill=\"#57606a\">{peak:.0}/s</text><text x=\"{tx}\" y=\"{b}\" font-size=\"11\" text-anchor=\"end\" fill=\"#57606a\">0</text><text x=\"{r}\" y=\"{ly}\" font-size=\"11\" text-anchor=\"end\" fill=\"#57606a\">{span:.1}s</text>",
        tx = left - 4.0,
        b = h - bottom,
        ly = h - 6.0,
        r = w - 8.0
    );
    for (n, s) in series.iter().enumerate() {
        let color = COLORS[n % COLORS.len()];
        let points: Vec<String> = (0..buckets)
            .map(|i| {
                let c = s.counts.get(i).copied().unwrap_or(0);
                format!("{:.1},{:.1}", x(i), y(rate(s, c)))
            })
            .collect();
        let _ = write!(
            svg,
            "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{}\"/><text x=\"{:.1}\" y=\"{}\" font-size=\"11\" fill=\"{color}\">{} ({} msgs)</text>",
            points.join(" "),
            left + 12.0 + 170.0 * n as f64,
            h - bottom + 18.0,
            escape(&s.connection),
            s.counts.iter().map(|&c| u64::from(c)).sum::<u64>()
        );
    }
    svg.push_str("</svg></div>\n");
    svg
}
