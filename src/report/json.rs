//! The JSON report (`--report json=FILE`), format `wsrun-report/1`: every result the run has.
//! Its schema is `schema/wsrun-report.schema.json`; docs/format.md ("The JSON report") explains it.
//!
//! ```text
//! { "format": "wsrun-report/1", "passed": bool, "duration_ms": f64,
//!   "stopped": null | "interrupted" | "timeout" | "fail_fast",
//!   "summary": { "requests": n, "passed": n, "failed": n },
//!   "collections": [ { "path", "name", "env", "passed", "duration_ms",
//!     "requests": [ { "name", "line", "passed", "duration_ms", "error": FAILURE | null,
//!       "steps": [ { "index", "keyword", "line", "status": "passed" | "failed" | "skipped",
//!                    "duration_ms", "messages", "latency_ms": f64 | null,
//!                    "failure": FAILURE | null } ],
//!       "transcript": { "frames": [ { "at_ms", "direction": "sent" | "received",
//!                                     "connection", "kind", "payload" } ], "elided": n },
//!       "rates": [ { "connection", "bucket_ms", "counts": [n…] } ] } ] } ] }
//! FAILURE = { "summary", "connection", "path", "expected", "actual", "message", "detail",
//!             "stream": [ VIOLATION… ] | null }
//! VIOLATION = { "property", "path", "expected", "window", "index", "value",
//!               "previous": { "index", "value" } | null, "reason", "offenders",
//!               "gaps": [ { "from", "to" } ], "gaps_total", "missing_total", "message" }
//! `expected` and `actual` are JSON values where the failure has one (the node a path selected,
//! the value an equality wanted), else text; `message` is the received message as JSON when it
//! is a whole JSON document, else its text.
//! ```
//! Absent optional fields are `null`. `payload` is text, or for binary frames a byte count.

use serde_json::{json, Value};

use super::{
    CollectionReport, Direction, Failure, Outcome, RequestReport, RunReport, StepReport, Stop,
};

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
        "stopped": r.stopped.map(|s| match s {
            Stop::Interrupted => "interrupted",
            Stop::TimedOut(_) => "timeout",
            Stop::FailFast => "fail_fast",
        }),
        "summary": { "requests": total, "passed": total - failed, "failed": failed },
        "collections": r.collections.iter().map(collection).collect::<Vec<_>>(),
    })
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
        "failure": f,
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
