//! The JSON report (`--report json=FILE`), format `wsrun-report/1`: every result the run has.
//! Its schema is `schema/wsrun-report.schema.json`; docs/cli.md ("The JSON report") explains it.
//!
//! ```text
//! { "format": "wsrun-report/1", "passed": bool, "duration_ms": f64,
//!   "stopped": null | "interrupted" | "timeout" | "fail_fast",
//!   "shard": null | { "index", "count", "collections": [ { "path", "env", "content_hash" } ] },
//!   "summary": { "requests": n, "passed": n, "failed": n },
//!   "collections": [ { "path", "name", "env", "passed", "duration_ms",
//!     "requests": [ { "name", "line", "passed", "duration_ms", "error": FAILURE | null,
//!       "steps": [ { "index", "keyword", "line", "status": "passed" | "failed" | "skipped",
//!                    "duration_ms", "messages", "latency_ms": f64 | null,
//!                    "latency": DISTRIBUTION | null, "failure": FAILURE | null } ],
//!       "transcript": { "frames": [ { "at_ms", "direction": "sent" | "received",
//!                                     "connection", "kind", "payload" } ], "elided": n },
//!       "rates": [ { "connection", "bucket_ms", "counts": [n…] } ],
//!       "load": LOAD | null } ] } ] }
//! FAILURE = { "summary", "connection", "path", "expected", "actual", "message", "detail",
//!             "stream": [ VIOLATION… ] | null }
//! VIOLATION = { "property", "path", "expected", "window", "index", "value",
//!               "previous": { "index", "value" } | null, "reason", "offenders",
//!               "gaps": [ { "from", "to" } ], "gaps_total", "missing_total", "message" }
//! DISTRIBUTION = { "count", "min_ms", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms",
//!                  "mean_ms", "histogram": base64 of HdrHistogram's V2 serialisation (µs) }
//! LOAD = { "users", "ramp_ms", "duration_ms", "elapsed_ms", "shards",
//!          "stopped": null | "interrupted" | "timeout" (the run stopped it: results until then),
//!          "connections": { "opened", "failed" }, "connect": DISTRIBUTION | null,
//!          "iterations", "failed", "messages": { "received", "per_s" },
//!          "errors": [ { "kind", "count" } ], "samples": [ FAILURE ],
//!          "steps": [ { "index", "runs", "failed" } ],
//!          "timeline": { "bucket_ms", "points": [ { "at_ms", "connections", "messages",
//!                                                    "p95_ms" } ] },
//!          "thresholds": [ { "name", "condition", "unit", "limits": { "lt": f64, … },
//!                            "measured": f64 | null, "passed" } ] }
//! `expected` and `actual` are JSON values where the failure has one (the node a path selected,
//! the value an equality wanted), else text; `message` is the received message as JSON when it
//! is a whole JSON document, else its text.
//! ```
//! Absent optional fields are `null`. `payload` is text, or for binary frames a byte count.

use serde_json::{json, Value};

use super::load::{LoadModel, LoadReport};
use super::shard::ShardOf;
use super::{
    CollectionReport, Direction, Failure, Outcome, RequestReport, RunReport, StepReport, Stop,
};
use crate::latency::{Latency, Stat};

pub const FORMAT: &str = "wsrun-report/1";

/// How much of each frame's payload the report keeps.
const PAYLOAD_LIMIT: usize = 2_000;

fn ms(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

pub fn report(r: &RunReport) -> Value {
    let total = r.total();
    let failed = r.failed();
    json!({
        "format": FORMAT,
        "passed": r.passed(),
        "duration_ms": ms(r.duration),
        "stopped": r.stopped.map(stop_name),
        "shard": shard(&r.shard),
        "summary": { "requests": total, "passed": total - failed, "failed": failed },
        "collections": r.collections.iter().map(collection).collect::<Vec<_>>(),
    })
}

/// Which shard of a run the report holds, with the collections it loaded; null for a whole run.
fn shard(s: &ShardOf) -> Value {
    match s {
        ShardOf::Part(s) => json!({
            "index": s.index,
            "count": s.count,
            "collections": s.collections.iter().map(|c| json!({
                "path": c.path, "env": c.env, "content_hash": c.hash,
            })).collect::<Vec<_>>(),
        }),
        ShardOf::Whole | ShardOf::Unknown => Value::Null,
    }
}

/// `interrupted`, `timeout`, `fail_fast`: why a run (or a load) stopped early.
pub fn stop_name(s: Stop) -> &'static str {
    match s {
        Stop::Interrupted => "interrupted",
        Stop::TimedOut(_) => "timeout",
        Stop::FailFast => "fail_fast",
    }
}

pub fn collection(c: &CollectionReport) -> Value {
    json!({
        "path": c.path,
        "name": c.name,
        "env": c.env,
        "passed": c.passed(),
        "duration_ms": ms(c.duration),
        "requests": c.requests.iter().map(request).collect::<Vec<_>>(),
    })
}

pub fn request(r: &RequestReport) -> Value {
    json!({
        "name": r.name,
        "line": r.line,
        "passed": r.passed(),
        "duration_ms": ms(r.duration),
        "error": r.error.as_ref().map(failure),
        "steps": r.steps.iter().map(step).collect::<Vec<_>>(),
        "transcript": {
            "frames": r.transcript.frames().map(|f| json!({
                "at_ms": ms(f.at),
                "direction": match f.direction { Direction::Sent => "sent", Direction::Received => "received" },
                "connection": &*f.connection,
                "kind": f.data.kind(),
                "payload": f.data.preview(PAYLOAD_LIMIT),
            })).collect::<Vec<_>>(),
            "elided": r.transcript.elided,
        },
        "rates": r.rates.iter().map(|s| json!({
            "connection": &*s.connection,
            "bucket_ms": ms(s.bucket),
            "counts": s.counts,
        })).collect::<Vec<_>>(),
        "load": r.load.as_deref().map(load),
    })
}

pub fn step(s: &StepReport) -> Value {
    let (status, f) = match &s.outcome {
        Outcome::Passed => ("passed", None),
        Outcome::Failed(f) => ("failed", Some(failure(f))),
        Outcome::Skipped => ("skipped", None),
    };
    json!({
        "index": s.index,
        "keyword": s.keyword,
        "line": s.line,
        "status": status,
        "duration_ms": ms(s.duration),
        "messages": s.messages,
        "latency_ms": s.latency.map(ms),
        "latency": s.latencies.as_ref().map(distribution),
        "failure": f,
    })
}

/// The member names of the statistics a distribution shows.
pub const STAT_KEYS: [(&str, Stat); 7] = [
    ("min_ms", Stat::Min),
    ("p50_ms", Stat::Percentile(50.0)),
    ("p90_ms", Stat::Percentile(90.0)),
    ("p95_ms", Stat::Percentile(95.0)),
    ("p99_ms", Stat::Percentile(99.0)),
    ("max_ms", Stat::Max),
    ("mean_ms", Stat::Mean),
];

/// Milliseconds to the microsecond, as every time in the report.
fn round_ms(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

pub fn distribution(l: &Latency) -> Value {
    let mut out = serde_json::Map::new();
    out.insert("count".into(), json!(l.count()));
    for (key, stat) in STAT_KEYS {
        out.insert(key.into(), json!(l.stat_ms(stat).map(round_ms)));
    }
    out.insert("histogram".into(), json!(l.encode()));
    Value::Object(out)
}

pub fn load(l: &LoadReport) -> Value {
    let bucket = l.timeline.bucket;
    json!({
        "model": l.model.key(),
        "stages": match &l.model {
            LoadModel::Stages(stages) => json!(stages.iter().map(|(d, n)| json!({ "duration_ms": ms(*d), "users": n })).collect::<Vec<_>>()),
            _ => Value::Null,
        },
        "arrivals": match &l.model {
            LoadModel::Arrivals(a) => json!({
                "rate_per_s": a.rate, "max_users": a.max_users, "started": a.started, "dropped": a.dropped,
            }),
            _ => Value::Null,
        },
        "users": l.users,
        "ramp_ms": ms(l.ramp),
        "duration_ms": l.duration.map(ms),
        "elapsed_ms": ms(l.elapsed),
        "shards": l.shards,
        "stopped": l.stopped.map(stop_name),
        "connections": { "opened": l.opened, "failed": l.connect_failed },
        "connect": (!l.connect.is_empty()).then(|| distribution(&l.connect)),
        "iterations": l.iterations,
        "failed": l.failed,
        "messages": { "received": l.received, "per_s": round_ms(l.rate()) },
        "errors": l.errors.iter().map(|(kind, n)| json!({ "kind": kind, "count": n })).collect::<Vec<_>>(),
        "samples": l.samples.iter().map(failure).collect::<Vec<_>>(),
        "steps": l.steps.iter().enumerate().map(|(i, s)| json!({
            "index": i + 1, "runs": s.runs, "failed": s.failed,
        })).collect::<Vec<_>>(),
        "timeline": {
            "bucket_ms": ms(bucket),
            "points": l.timeline.points.iter().enumerate().map(|(i, p)| json!({
                "at_ms": ms(bucket * (i as u32 + 1)),
                "connections": p.connections,
                "messages": p.messages,
                "p50_ms": p.p50_ms.map(round_ms),
                "p95_ms": p.p95_ms.map(round_ms),
                "p99_ms": p.p99_ms.map(round_ms),
            })).collect::<Vec<_>>(),
        },
        "thresholds": l.thresholds.iter().map(|t| json!({
            "name": t.name,
            "condition": t.condition(),
            "unit": t.unit.key(),
            "limits": t.bounds.0.iter().map(|(op, v)| (op.key().to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
            "measured": t.measured.map(round_ms),
            "passed": t.passed,
            "judged_at_merge": t.at_merge,
        })).collect::<Vec<_>>(),
    })
}

/// The message of a failure: its JSON value when the text is a whole JSON document (a message
/// cut for length is not), else the text.
fn message(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

pub fn failure(f: &Failure) -> Value {
    json!({
        "summary": f.summary,
        "connection": f.connection,
        "path": f.path,
        "expected": f.expected.as_ref().map(super::Shown::to_json),
        "actual": f.actual.as_ref().map(super::Shown::to_json),
        "message": f.message.as_deref().map(message),
        "detail": f.detail,
        "stream": (!f.stream.is_empty()).then(|| f.stream.iter().map(violation).collect::<Vec<_>>()),
    })
}

/// A stream property that did not hold.
fn violation(v: &super::StreamViolation) -> Value {
    json!({
        "property": v.property,
        "path": v.path,
        "expected": v.expected,
        "window": v.window,
        "index": v.index,
        "value": v.value,
        "previous": v.previous.as_ref().map(|(i, value)| json!({ "index": i, "value": value })),
        "reason": v.reason,
        "offenders": v.offenders,
        "gaps": v.gaps.iter().map(|(from, to)| json!({ "from": from, "to": to })).collect::<Vec<_>>(),
        "gaps_total": v.gaps_total,
        "missing_total": v.missing_total,
        "message": v.message,
    })
}
