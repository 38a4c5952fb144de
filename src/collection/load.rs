//! Latency and load in the collection format (docs/load.md, "Latency and load"): a step's
//! `latency:` limits, a request's `load:` and its `thresholds:`, and the measures thresholds
//! name (`failed`, `connect_p95`, `step 2 p99`…).

use serde::Deserialize;

use super::de::Dur;
use super::step::{Step, StepKind};
use crate::threshold::LatencyCheck;
pub use crate::threshold::{Metric, Threshold};

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
    use crate::latency::{Bounds, Op, Stat};
    use serde_json::Value;

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
