//! The HTML report's latency and load sections: the round-trip statistics of measured steps, and
//! for a load its counts, charts over time (round-trip percentiles and messages per second, open
//! connections), thresholds, errors and a sample of failures.

use std::fmt::Write as _;

use super::html_chart::{chart, Axis, Series};
use super::junit::escape;
use super::load::{stats_ms, LoadModel, LoadReport, Point, Timeline};
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
        if load.timeline.points.len() >= 2 {
            out.push_str(&load_charts(&load.timeline));
        }
        thresholds_and_errors(out, load);
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

/// The load over time: round-trip percentiles (ms, left) with messages per second (right),
/// then open connections.
pub fn load_charts(t: &Timeline) -> String {
    let span = t.bucket.as_secs_f64() * t.points.len() as f64;
    let per_s = t.bucket.as_secs_f64().max(1e-3);
    let ms = |f: fn(&Point) -> Option<f64>| t.points.iter().map(f).collect::<Vec<_>>();
    let latency = [
        Series {
            label: "p50",
            color: "#1a7f37",
            values: ms(|p| p.p50_ms),
            right: false,
        },
        Series {
            label: "p95",
            color: "#bf3989",
            values: ms(|p| p.p95_ms),
            right: false,
        },
        Series {
            label: "p99",
            color: "#cf222e",
            values: ms(|p| p.p99_ms),
            right: false,
        },
        Series {
            label: "messages/s",
            color: "#0969da",
            values: t
                .points
                .iter()
                .map(|p| Some(p.messages as f64 / per_s))
                .collect(),
            right: true,
        },
    ];
    let mut out = chart(
        "Round trips and messages over time",
        span,
        &Axis {
            label: "round trip (ms)",
            format: format_ms,
        },
        Some(&Axis {
            label: "messages/s",
            format: |v| format!("{v:.0}"),
        }),
        &latency,
    );
    let users = [Series {
        label: "open connections",
        color: "#8250df",
        values: t
            .points
            .iter()
            .map(|p| Some(p.connections as f64))
            .collect(),
        right: false,
    }];
    out.push_str(&chart(
        "Open connections over time",
        span,
        &Axis {
            label: "connections",
            format: |v| format!("{v:.0}"),
        },
        None,
        &users,
    ));
    out
}
