//! Latency and load in the collection format (docs/format.md, "Latency and load"): a step's
//! `latency:` limits, a request's `load:` and its `thresholds:`, and the measures thresholds
//! name (`failed`, `connect_p95`, `step 2 p99`…).

use serde::Deserialize;
use serde_json::Value;

use super::de::{Dur, OrderedMap};
use super::step::{Step, StepKind};
use crate::latency::{Bounds, Op, Stat, Unit};

/// `latency:` on a step that waits for an answer: limits on each round trip (`{lt: 50ms}`), and
/// limits on statistics of all of them (`{p95: {lt: 20ms}, max: {lt: 200ms}}`), checked when the
/// request's `repeat` (or its load) is done.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LatencyCheck {
    pub each: Bounds,
    pub stats: Vec<(Stat, Bounds)>,
}

impl<'de> Deserialize<'de> for LatencyCheck {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = OrderedMap::<String, Value>::deserialize(d)?;
        LatencyCheck::from_pairs(map.0).map_err(serde::de::Error::custom)
    }
}

impl LatencyCheck {
    fn from_pairs(pairs: Vec<(String, Value)>) -> Result<Self, String> {
        if pairs.is_empty() {
            return Err(
                "`latency` needs a limit such as `{lt: 50ms}` or `{p95: {lt: 20ms}}`".into(),
            );
        }
        let mut check = LatencyCheck::default();
        for (key, value) in pairs {
            if let Some(op) = Op::parse(&key) {
                let one = serde_json::json!({ key.as_str(): value });
                let bounds = Bounds::from_json(&one, Unit::Ms)?;
                check
                    .each
                    .0
                    .extend(bounds.0.into_iter().map(|(_, v)| (op, v)));
            } else if let Some(stat) = Stat::parse(&key) {
                let bounds =
                    Bounds::from_json(&value, Unit::Ms).map_err(|e| format!("`{key}`: {e}"))?;
                check.stats.push((stat, bounds));
            } else {
                return Err(format!(
                    "unknown `latency` key `{key}`: use a limit on each round trip (lt, lte, gt, gte, eq) or a statistic of them (min, mean, max, p50, p90, p95, p99, any pNN)"
                ));
            }
        }
        Ok(check)
    }
}

/// `load: {users, ramp, duration}`: `users` concurrent copies of the request, each with its own
/// connections, opened evenly over `ramp`, repeating the steps until `duration` (counted from
/// the start, ramp included) ends, or running them once without it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Load {
    pub users: u64,
    pub ramp: Option<Dur>,
    pub duration: Option<Dur>,
}

/// The most users one request may ask for: past the file-descriptor limits of any machine
/// (spread more over shards, `--shard K/N`).
pub const MAX_USERS: u64 = 1_000_000;

impl Load {
    pub fn check(&self) -> Result<(), String> {
        if self.users == 0 {
            return Err("`load.users` must be at least 1".into());
        }
        if self.users > MAX_USERS {
            return Err(format!(
                "`load.users` is at most {MAX_USERS} in one run: spread a bigger load over shards (`--shard K/N`)"
            ));
        }
        if let (Some(ramp), Some(duration)) = (self.ramp, self.duration) {
            if ramp.0 > duration.0 {
                return Err(format!(
                    "`load.ramp` ({}) is longer than `load.duration` ({}), which counts from the start, ramp included",
                    crate::duration::format_duration(ramp.0),
                    crate::duration::format_duration(duration.0)
                ));
            }
        }
        Ok(())
    }
}

/// One of a load's `thresholds:`: a measure and the limits it must keep.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    pub name: String,
    pub metric: Metric,
    pub bounds: Bounds,
}

/// What a threshold measures over a whole load.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Metric {
    /// Iterations that failed, a user that could not connect counting as one.
    Failed,
    Iterations,
    /// Connections opened, and those that could not be.
    Connections,
    ConnectionsFailed,
    /// Messages received per second of the load.
    MessagesPerSecond,
    /// A statistic of the connect time (TCP, TLS and the WebSocket handshake).
    Connect(Stat),
    /// A statistic of step N's round trips (1-based).
    Step(usize, Stat),
}

/// The plain measures, for error messages.
const PLAIN_METRICS: [&str; 5] = [
    "failed",
    "iterations",
    "connections",
    "connections_failed",
    "msgs_per_s",
];

impl Metric {
    /// `failed`, `connect_p95`, `step 2 p99`.
    pub fn parse(name: &str) -> Result<Metric, String> {
        let unknown = || {
            format!(
                "unknown threshold `{name}`: use {}, connect_STAT or \"step N STAT\" (STAT: min, mean, max, p50, p95, p99, any pNN)",
                PLAIN_METRICS.join(", ")
            )
        };
        let metric = match name {
            "failed" => Metric::Failed,
            "iterations" => Metric::Iterations,
            "connections" => Metric::Connections,
            "connections_failed" => Metric::ConnectionsFailed,
            "msgs_per_s" => Metric::MessagesPerSecond,
            _ => {
                if let Some(stat) = name.strip_prefix("connect_") {
                    Metric::Connect(Stat::parse(stat).ok_or_else(unknown)?)
                } else if let Some(rest) = name.strip_prefix("step ") {
                    let (n, stat) = rest.trim().split_once(' ').ok_or_else(unknown)?;
                    let n: usize = n.parse().map_err(|_| unknown())?;
                    Metric::Step(n, Stat::parse(stat.trim()).ok_or_else(unknown)?)
                } else {
                    return Err(unknown());
                }
            }
        };
        Ok(metric)
    }

    pub fn unit(&self) -> Unit {
        match self {
            Metric::Connect(_) | Metric::Step(..) => Unit::Ms,
            Metric::MessagesPerSecond => Unit::PerSecond,
            _ => Unit::Count,
        }
    }
}

impl Threshold {
    /// A threshold from its name and its limits map.
    pub fn parse(name: &str, limits: &Value) -> Result<Threshold, String> {
        let metric = Metric::parse(name)?;
        let bounds = Bounds::from_json(limits, metric.unit())
            .map_err(|e| format!("threshold `{name}`: {e}"))?;
        Ok(Threshold {
            name: name.to_string(),
            metric,
            bounds,
        })
    }

    /// `failed: {lte: 0}`, the threshold of a load that names none.
    pub fn no_failures() -> Threshold {
        Threshold {
            name: "failed".into(),
            metric: Metric::Failed,
            bounds: Bounds(vec![(Op::Lte, 0.0)]),
        }
    }
}

/// Whether step `index` (0-based) measures a round trip: an `expect` or `wait_for` directly
/// after a `send` on the same connection.
pub fn measures_round_trip(steps: &[Step], index: usize) -> bool {
    let Some(step) = steps.get(index) else {
        return false;
    };
    match (&step.kind, index.checked_sub(1).map(|i| &steps[i].kind)) {
        (StepKind::Expect(_) | StepKind::WaitFor(_), Some(prev @ StepKind::Send(_))) => {
            prev.conn() == step.kind.conn()
        }
        _ => false,
    }
}

/// The step's `latency:`, if it has one.
pub fn latency_check(kind: &StepKind) -> Option<&LatencyCheck> {
    match kind {
        StepKind::Expect(e) | StepKind::WaitFor(e) => e.latency.as_ref(),
        _ => None,
    }
}

/// The checks of a request's latency and load keys, against its steps: `latency:` only where a
/// round trip is measured, thresholds on steps that measure one. Returns the line and message
/// of the first problem.
pub fn check_request(
    steps: &[Step],
    load: Option<&Load>,
    thresholds: &[(usize, Threshold)],
    line: usize,
) -> Result<(), (usize, String)> {
    for (i, step) in steps.iter().enumerate() {
        if latency_check(&step.kind).is_some() && !measures_round_trip(steps, i) {
            return Err((
                step.line,
                format!(
                    "`latency` needs a round trip to measure: put it on an `{}` directly after a `send` on the same connection",
                    step.kind.keyword()
                ),
            ));
        }
    }
    if let Some(load) = load {
        load.check().map_err(|m| (line, m))?;
    } else if let Some((at, _)) = thresholds.first() {
        return Err((
            *at,
            "`thresholds` judge a load: add `load: {users: N}` to the request".into(),
        ));
    }
    for (at, t) in thresholds {
        if let Metric::Step(n, _) = t.metric {
            if n == 0 || n > steps.len() {
                return Err((
                    *at,
                    format!(
                        "threshold `{}`: the request has no step {n} (it has {})",
                        t.name,
                        steps.len()
                    ),
                ));
            }
            if !measures_round_trip(steps, n - 1) {
                return Err((
                    *at,
                    format!(
                        "threshold `{}`: step {n} (`{}`) measures no round trip; only an `expect` or `wait_for` directly after a `send` does",
                        t.name,
                        steps[n - 1].kind.keyword()
                    ),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_parse_by_name() {
        assert_eq!(Metric::parse("failed"), Ok(Metric::Failed));
        assert_eq!(
            Metric::parse("connect_p95"),
            Ok(Metric::Connect(Stat::Percentile(95.0)))
        );
        assert_eq!(
            Metric::parse("step 2 p99"),
            Ok(Metric::Step(2, Stat::Percentile(99.0)))
        );
        assert_eq!(Metric::parse("step 3 max"), Ok(Metric::Step(3, Stat::Max)));
        for bad in ["fail", "connect_p", "step x p95", "step 2", "step 2 p200"] {
            let e = Metric::parse(bad).unwrap_err();
            assert!(e.contains("unknown threshold"), "{bad}: {e}");
        }
    }

    #[test]
    fn latency_takes_limits_and_statistics() {
        let check = LatencyCheck::from_pairs(vec![
            ("lt".into(), Value::from("50ms")),
            ("p95".into(), serde_json::json!({"lt": "20ms"})),
        ])
        .unwrap();
        assert_eq!(check.each, Bounds(vec![(Op::Lt, 50.0)]));
        assert_eq!(
            check.stats,
            vec![(Stat::Percentile(95.0), Bounds(vec![(Op::Lt, 20.0)]))]
        );
        let e = LatencyCheck::from_pairs(vec![("fast".into(), Value::from(1))]).unwrap_err();
        assert!(e.contains("unknown `latency` key `fast`"), "{e}");
    }
}
