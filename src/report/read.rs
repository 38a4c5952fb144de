//! Reading a `wsrun-report/1` document back into results, for `wsrun merge`: every member the
//! JSON report writes (`json.rs`), so that merged results render like a run's own. A document
//! that is not one is an error naming the member that is wrong.

use std::time::Duration;

use serde_json::Value;

use super::json::{FORMAT, STAT_KEYS};
use super::load::{Arrivals, LoadModel, LoadReport, Point, StepCounts, ThresholdResult, Timeline};
use super::shard::{CollectionId, Shard, ShardOf};
use super::{
    CollectionReport, Direction, Failure, Frame, FrameData, Outcome, RateSeries, RequestReport,
    RunReport, Shown, StepReport, Stop, StreamViolation,
};
use crate::latency::{Bounds, Latency, Op, Unit};

/// A member of the document, with the path that names it in errors (`collections[0].name`).
#[derive(Clone, Copy)]
struct At<'a> {
    v: &'a Value,
    path: &'a str,
}

type Res<T> = Result<T, String>;

impl<'a> At<'a> {
    fn get(&self, key: &str) -> Res<(&'a Value, String)> {
        let path = if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        };
        match self.v.get(key) {
            Some(v) => Ok((v, path)),
            None => Err(format!("`{path}` is missing")),
        }
    }

    fn str(&self, key: &str) -> Res<String> {
        let (v, path) = self.get(key)?;
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("`{path}` is not a string"))
    }

    fn opt_str(&self, key: &str) -> Res<Option<String>> {
        match self.get(key)? {
            (Value::Null, _) => Ok(None),
            (Value::String(s), _) => Ok(Some(s.clone())),
            (_, path) => Err(format!("`{path}` is neither a string nor null")),
        }
    }

    fn u64(&self, key: &str) -> Res<u64> {
        let (v, path) = self.get(key)?;
        v.as_u64()
            .ok_or_else(|| format!("`{path}` is not a whole number"))
    }

    fn f64(&self, key: &str) -> Res<f64> {
        let (v, path) = self.get(key)?;
        v.as_f64()
            .ok_or_else(|| format!("`{path}` is not a number"))
    }

    fn opt_f64(&self, key: &str) -> Res<Option<f64>> {
        match self.get(key)? {
            (Value::Null, _) => Ok(None),
            (v, path) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| format!("`{path}` is neither a number nor null")),
        }
    }

    fn ms(&self, key: &str) -> Res<Duration> {
        millis(self.f64(key)?).ok_or_else(|| format!("`{}.{key}` is not a duration", self.path))
    }

    fn bool(&self, key: &str) -> Res<bool> {
        let (v, path) = self.get(key)?;
        v.as_bool()
            .ok_or_else(|| format!("`{path}` is not true or false"))
    }

    /// The items of an array member, each with its own path.
    fn each<T>(&self, key: &str, f: impl Fn(At<'_>) -> Res<T>) -> Res<Vec<T>> {
        let (v, path) = self.get(key)?;
        let items = v
            .as_array()
            .ok_or_else(|| format!("`{path}` is not a list"))?;
        items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let p = format!("{path}[{i}]");
                f(At { v: item, path: &p })
            })
            .collect()
    }

    /// A member that is an object or null.
    fn opt<T>(&self, key: &str, f: impl Fn(At<'_>) -> Res<T>) -> Res<Option<T>> {
        match self.get(key)? {
            (Value::Null, _) => Ok(None),
            (v, path) => f(At { v, path: &path }).map(Some),
        }
    }

    fn obj<T>(&self, key: &str, f: impl Fn(At<'_>) -> Res<T>) -> Res<T> {
        let (v, path) = self.get(key)?;
        f(At { v, path: &path })
    }
}

fn millis(ms: f64) -> Option<Duration> {
    Duration::try_from_secs_f64(ms / 1000.0).ok()
}

/// Whether `doc` says it is a `wsrun-report/1` document.
pub fn is_report(doc: &Value) -> bool {
    doc.get("format").and_then(Value::as_str) == Some(FORMAT)
}

/// The results a `wsrun-report/1` document holds.
pub fn read(doc: &Value) -> Result<RunReport, String> {
    if !is_report(doc) {
        return Err(format!("not a {FORMAT} document"));
    }
    let at = At { v: doc, path: "" };
    let stopped = stop(at)?;
    Ok(RunReport {
        collections: at.each("collections", collection)?,
        duration: at.ms("duration_ms")?,
        stopped,
        not_run: 0,
        shard: match doc.get("shard") {
            // A report of a wsrun from before reports said which shard they hold.
            None => ShardOf::Unknown,
            Some(_) => at
                .opt("shard", shard)?
                .map_or(ShardOf::Whole, ShardOf::Part),
        },
    })
}

/// `shard`: K of N, and the collections that run loaded.
fn shard(at: At<'_>) -> Res<Shard> {
    let number = |key: &str| -> Res<u32> {
        u32::try_from(at.u64(key)?)
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| format!("`{}.{key}` is not a shard number (1 to 2^32 - 1)", at.path))
    };
    let (index, count) = (number("index")?, number("count")?);
    if index > count {
        return Err(format!(
            "`{}` says shard {index} of {count}, past the last",
            at.path
        ));
    }
    Ok(Shard {
        index,
        count,
        collections: at.each("collections", |c| {
            Ok(CollectionId {
                path: c.str("path")?,
                env: c.opt_str("env")?,
                hash: c.str("content_hash")?,
            })
        })?,
    })
}

/// Why a run, or a load, stopped early: its `stopped` member.
fn stop(at: At<'_>) -> Res<Option<Stop>> {
    Ok(match at.opt_str("stopped")?.as_deref() {
        None => None,
        Some("interrupted") => Some(Stop::Interrupted),
        Some("timeout") => Some(Stop::TimedOut(None)),
        Some("fail_fast") => Some(Stop::FailFast),
        Some(other) => {
            let path = if at.path.is_empty() {
                "stopped".to_string()
            } else {
                format!("{}.stopped", at.path)
            };
            return Err(format!("`{path}` is `{other}`, which is not a reason"));
        }
    })
}

fn collection(at: At<'_>) -> Res<CollectionReport> {
    Ok(CollectionReport {
        path: at.str("path")?,
        name: at.str("name")?,
        env: at.opt_str("env")?,
        requests: at.each("requests", request)?,
        duration: at.ms("duration_ms")?,
    })
}

fn request(at: At<'_>) -> Res<RequestReport> {
    let mut transcript = super::Transcript::default();
    let frames = at.obj("transcript", |t| t.each("frames", frame))?;
    for f in frames {
        transcript.push(f);
    }
    transcript.elided = at.obj("transcript", |t| t.u64("elided"))?;
    Ok(RequestReport {
        // The document does not carry them.
        captures: Vec::new(),
        name: at.str("name")?,
        line: at.u64("line")? as usize,
        duration: at.ms("duration_ms")?,
        error: at.opt("error", failure)?,
        steps: at.each("steps", step)?,
        transcript,
        rates: at.each("rates", |r| {
            Ok(RateSeries {
                connection: r.str("connection")?.into(),
                bucket: r.ms("bucket_ms")?,
                counts: r.each("counts", |c| {
                    c.v.as_u64()
                        .and_then(|n| u32::try_from(n).ok())
                        .ok_or_else(|| format!("`{}` is not a count", c.path))
                })?,
            })
        })?,
        load: at.opt("load", load)?.map(Box::new),
    })
}

fn step(at: At<'_>) -> Res<StepReport> {
    let outcome = match at.str("status")?.as_str() {
        "passed" => Outcome::Passed,
        "skipped" => Outcome::Skipped,
        "failed" => Outcome::Failed(
            at.opt("failure", failure)?
                .ok_or_else(|| format!("`{}.failure` is null for a failed step", at.path))?,
        ),
        other => return Err(format!("`{}.status` is `{other}`", at.path)),
    };
    Ok(StepReport {
        index: at.u64("index")? as usize,
        keyword: keyword(&at.str("keyword")?),
        line: at.u64("line")? as usize,
        duration: at.ms("duration_ms")?,
        outcome,
        messages: at.u64("messages")?,
        latency: at.opt_f64("latency_ms")?.and_then(millis),
        latencies: at.opt("latency", distribution)?,
    })
}

/// A step keyword as the results keep it (a `&'static str`): a known one, else a leaked copy
/// (one per distinct unknown keyword, read from a newer wsrun's report).
fn keyword(text: &str) -> &'static str {
    crate::collection::step_keys()
        .iter()
        .copied()
        .find(|k| *k == text)
        .unwrap_or_else(|| Box::leak(text.to_string().into_boxed_str()))
}

fn distribution(at: At<'_>) -> Res<Latency> {
    let l = Latency::decode(&at.str("histogram")?).map_err(|e| format!("`{}`: {e}", at.path))?;
    if l.count() != at.u64("count")? {
        return Err(format!(
            "`{}`: the histogram holds {} values, `count` says {}",
            at.path,
            l.count(),
            at.u64("count")?
        ));
    }
    // The statistics are derived from the histogram; reading them checks they are there.
    for (key, _) in STAT_KEYS {
        at.opt_f64(key)?;
    }
    Ok(l)
}

fn failure(at: At<'_>) -> Res<Failure> {
    let shown = |key: &str| -> Res<Option<Shown>> {
        Ok(match at.get(key)?.0 {
            Value::Null => None,
            Value::String(s) => Some(Shown::Text(s.clone())),
            v => Some(Shown::Value(v.clone())),
        })
    };
    Ok(Failure {
        summary: at.str("summary")?,
        connection: at.opt_str("connection")?,
        line: None,
        path: at.opt_str("path")?,
        expected: shown("expected")?,
        actual: shown("actual")?,
        message: match at.get("message")?.0 {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            v => Some(v.to_string()),
        },
        detail: at.opt_str("detail")?,
        stream: match at.v.get("stream") {
            None | Some(Value::Null) => Vec::new(),
            Some(_) => at.each("stream", violation)?,
        },
    })
}

/// A stream property that did not hold, as `report/json.rs` writes it.
fn violation(at: At<'_>) -> Res<StreamViolation> {
    const PROPERTIES: [&str; 7] = [
        "increasing",
        "decreasing",
        "unique",
        "consecutive",
        "fresh",
        "rate",
        "selects",
    ];
    let property = at.str("property")?;
    let property = PROPERTIES
        .into_iter()
        .find(|p| *p == property)
        .ok_or_else(|| format!("`{}.property`: unknown property `{property}`", at.path))?;
    let value = |key: &str| -> Res<Option<Value>> {
        Ok(match at.get(key)?.0 {
            Value::Null => None,
            v => Some(v.clone()),
        })
    };
    let opt_u64 = |key: &str| -> Res<Option<u64>> {
        match at.get(key)? {
            (Value::Null, _) => Ok(None),
            (v, path) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| format!("`{path}` is neither a whole number nor null")),
        }
    };
    Ok(StreamViolation {
        property,
        path: at.opt_str("path")?,
        expected: at.str("expected")?,
        window: at.u64("window")?,
        index: opt_u64("index")?,
        value: value("value")?,
        previous: at.opt("previous", |p| {
            Ok((p.u64("index")?, p.get("value")?.0.clone()))
        })?,
        reason: at.str("reason")?,
        offenders: at.u64("offenders")?,
        gaps: at.each("gaps", |g| {
            Ok((g.get("from")?.0.clone(), g.get("to")?.0.clone()))
        })?,
        gaps_total: at.u64("gaps_total")?,
        missing_total: at.u64("missing_total")?,
        message: at.opt_str("message")?,
    })
}

fn frame(at: At<'_>) -> Res<Frame> {
    let payload = at.str("payload")?;
    let data = match at.str("kind")?.as_str() {
        "text" => FrameData::Text(payload.into()),
        "binary" => FrameData::BinaryLen(
            payload
                .strip_prefix('<')
                .and_then(|p| p.strip_suffix(" bytes>"))
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| format!("`{}.payload` is not `<N bytes>`", at.path))?,
        ),
        "ping" => FrameData::Ping(payload.into_bytes().into()),
        "pong" => FrameData::Pong(payload.into_bytes().into()),
        "close" => {
            let (code, reason) = match payload.split_once(' ') {
                Some((c, r)) => (c.parse().ok(), r.to_string()),
                None => (payload.parse().ok(), String::new()),
            };
            FrameData::Close(code, reason)
        }
        "lost" => FrameData::Lost(payload),
        other => return Err(format!("`{}.kind` is `{other}`", at.path)),
    };
    Ok(Frame {
        at: at.ms("at_ms")?,
        direction: match at.str("direction")?.as_str() {
            "sent" => Direction::Sent,
            "received" => Direction::Received,
            other => return Err(format!("`{}.direction` is `{other}`", at.path)),
        },
        connection: at.str("connection")?.into(),
        data,
    })
}

fn load(at: At<'_>) -> Res<LoadReport> {
    let bucket = at.obj("timeline", |t| t.ms("bucket_ms"))?;
    Ok(LoadReport {
        model: model(at)?,
        users: at.u64("users")?,
        ramp: at.ms("ramp_ms")?,
        duration: at.opt_f64("duration_ms")?.and_then(millis),
        elapsed: at.ms("elapsed_ms")?,
        shards: u32::try_from(at.u64("shards")?).unwrap_or(u32::MAX),
        opened: at.obj("connections", |c| c.u64("opened"))?,
        connect_failed: at.obj("connections", |c| c.u64("failed"))?,
        connect: at.opt("connect", distribution)?.unwrap_or_default(),
        iterations: at.u64("iterations")?,
        failed: at.u64("failed")?,
        received: at.obj("messages", |m| m.u64("received"))?,
        errors: at.each("errors", |e| Ok((e.str("kind")?, e.u64("count")?)))?,
        samples: at.each("samples", failure)?,
        steps: at.each("steps", |s| {
            Ok(StepCounts {
                runs: s.u64("runs")?,
                failed: s.u64("failed")?,
            })
        })?,
        timeline: Timeline {
            bucket,
            points: at.obj("timeline", |t| {
                t.each("points", |p| {
                    Ok(Point {
                        connections: p.u64("connections")?,
                        messages: p.u64("messages")?,
                        p50_ms: opt_point(&p, "p50_ms")?,
                        p95_ms: p.opt_f64("p95_ms")?,
                        p99_ms: opt_point(&p, "p99_ms")?,
                    })
                })
            })?,
        },
        thresholds: at.each("thresholds", threshold)?,
        // Reports from before loads kept their results when stopped have no `stopped`.
        stopped: match at.v.get("stopped") {
            None => None,
            Some(_) => stop(at)?,
        },
    })
}

/// A member reports from before it existed leave out: null when missing.
fn opt_point(at: &At<'_>, key: &str) -> Res<Option<f64>> {
    match at.v.get(key) {
        None => Ok(None),
        Some(_) => at.opt_f64(key),
    }
}

/// The load's `model` with its `stages` or `arrivals` (`users` in reports from before them).
fn model(at: At<'_>) -> Res<LoadModel> {
    if at.v.get("model").is_none() {
        return Ok(LoadModel::Users);
    }
    Ok(match at.str("model")?.as_str() {
        "users" => LoadModel::Users,
        "stages" => {
            LoadModel::Stages(at.each("stages", |s| Ok((s.ms("duration_ms")?, s.u64("users")?)))?)
        }
        "arrival_rate" => LoadModel::Arrivals(at.obj("arrivals", |a| {
            Ok(Arrivals {
                rate: a.opt_f64("rate_per_s")?.unwrap_or_default(),
                max_users: a.u64("max_users")?,
                started: a.u64("started")?,
                dropped: a.u64("dropped")?,
            })
        })?),
        other => return Err(format!("`{}.model` is `{other}`", at.path)),
    })
}

fn threshold(at: At<'_>) -> Res<ThresholdResult> {
    let unit = at.str("unit")?;
    let unit = Unit::parse(&unit).ok_or_else(|| format!("`{}.unit` is `{unit}`", at.path))?;
    let (limits, path) = at.get("limits")?;
    let limits = limits
        .as_object()
        .ok_or_else(|| format!("`{path}` is not a map"))?;
    let mut bounds = Vec::with_capacity(limits.len());
    for (key, v) in limits {
        let op = Op::parse(key).ok_or_else(|| format!("`{path}.{key}` is not a limit"))?;
        let v = v
            .as_f64()
            .ok_or_else(|| format!("`{path}.{key}` is not a number"))?;
        bounds.push((op, v));
    }
    Ok(ThresholdResult {
        name: at.str("name")?,
        unit,
        bounds: Bounds(bounds),
        measured: at.opt_f64("measured")?,
        passed: at.bool("passed")?,
        at_merge: match at.v.get("judged_at_merge") {
            None => false,
            Some(_) => at.bool("judged_at_merge")?,
        },
    })
}
