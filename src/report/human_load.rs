//! The terminal's latency and load text under a request line: the table of round-trip
//! statistics (connect time, each measured step), a load's counts, its thresholds and errors.
//! Times are left out when timings are (`WSRUN_NO_TIMINGS`, the snapshot tests).

use std::fmt::Write as _;

use super::load::{stats_ms, LoadReport};
use super::style::Style;
use super::RequestReport;
use crate::latency::{format_ms, Latency, Stat};

/// The lines under a request: its load, or the round trips of its repeated steps.
pub fn request_latency(style: &Style, r: &RequestReport) -> String {
    let mut out = String::new();
    if let Some(load) = &r.load {
        load_lines(style, r, load, &mut out);
        return out;
    }
    if style.timings {
        let rows: Vec<(String, &Latency)> = r
            .steps
            .iter()
            .filter_map(|s| {
                let l = s.latencies.as_ref()?;
                Some((format!("step {} {}", s.index, s.keyword), l))
            })
            .collect();
        table(style, &rows, &mut out);
    }
    out
}

fn load_lines(style: &Style, r: &RequestReport, load: &LoadReport, out: &mut String) {
    let rate = if style.timings {
        format!(" ({:.0}/s)", load.rate())
    } else {
        String::new()
    };
    let stopped = load
        .stopped_text()
        .map(|s| format!("{s}: "))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "      {}",
        style.dim(&format!("{stopped}{}{rate}", load.counts()))
    );
    if style.timings {
        let mut rows: Vec<(String, &Latency)> = Vec::new();
        if !load.connect.is_empty() {
            rows.push(("connect".into(), &load.connect));
        }
        for s in &r.steps {
            if let Some(l) = &s.latencies {
                rows.push((format!("step {} {}", s.index, s.keyword), l));
            }
        }
        table(style, &rows, out);
    }
    for t in &load.thresholds {
        let mark = if t.at_merge {
            style.dim("○")
        } else if t.passed {
            style.green("✓")
        } else {
            style.red("✗")
        };
        let measured = if style.timings || t.unit != crate::latency::Unit::Ms {
            format!("  {}", style.dim(&format!("({})", t.shown())))
        } else {
            String::new()
        };
        let _ = writeln!(out, "      {mark} {}{measured}", t.condition());
    }
    if r.error.is_none() {
        for (kind, n) in &load.errors {
            let _ = writeln!(out, "      {}", style.dim(&format!("{n} × {kind}")));
        }
    }
}

/// `what  count  min  p50  p90  p95  p99  max`, one row per distribution.
fn table(style: &Style, rows: &[(String, &Latency)], out: &mut String) {
    if rows.is_empty() {
        return;
    }
    let width = rows
        .iter()
        .map(|(w, _)| w.chars().count())
        .max()
        .unwrap_or(0);
    let stats: Vec<Stat> = Stat::REPORTED
        .into_iter()
        .filter(|s| *s != Stat::Mean)
        .collect();
    let mut header = format!("{:width$}  {:>7}", "", "count");
    for s in &stats {
        let _ = write!(header, "  {:>7}", s.to_string());
    }
    let _ = writeln!(out, "      {}", style.dim(header.trim_end()));
    for (what, l) in rows {
        let mut line = format!("{what:width$}  {:>7}", l.count());
        let values = stats_ms(l);
        for s in &stats {
            let v = values
                .iter()
                .find(|(stat, _)| stat == s)
                .and_then(|(_, v)| *v);
            let _ = write!(line, "  {:>7}", v.map(format_ms).unwrap_or_default());
        }
        let _ = writeln!(out, "      {line}");
    }
}
