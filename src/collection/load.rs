//! Latency and load in the collection format (docs/load.md, "Latency and load"): a step's
//! `latency:` limits, a request's `load:` (users, stages or an arrival rate) and its
//! `thresholds:`, and the measures thresholds name (`failed`, `connect_p95`, `step 2 p99`…).

use std::time::Duration;

use serde::Deserialize;

use super::de::Dur;
use super::step::{Step, StepKind};
use crate::duration::format_duration;
use crate::threshold::LatencyCheck;
pub use crate::threshold::{Metric, Threshold};

/// `load:` as written: `{users, ramp, duration}`, `{stages: […]}` or `{arrival_rate, duration,
/// max_users}`. [`Load::check`] turns it into the one [`Model`] it describes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Load {
    pub users: Option<i64>,
    pub ramp: Option<Dur>,
    pub duration: Option<Dur>,
    pub stages: Option<Vec<Stage>>,
    pub arrival_rate: Option<Rate>,
    pub max_users: Option<i64>,
}

/// One of `load.stages`: the users to reach by its end, linearly from the previous stage's
/// (from 0 for the first).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    pub duration: Dur,
    pub users: i64,
}

/// An arrival rate, in arrivals per second: `10/s`, `600/m`, `36000/h`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate(pub f64);

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Rate::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl Rate {
    pub fn parse(text: &str) -> Result<Rate, String> {
        let bad = || {
            format!("`load.arrival_rate` `{text}` is not a rate: write e.g. `10/s`, `600/m` or `36000/h`")
        };
        let (n, per) = text.trim().split_once('/').ok_or_else(bad)?;
        let n: f64 = n.trim().parse().map_err(|_| bad())?;
        let per = match per.trim() {
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        if !n.is_finite() || n <= 0.0 {
            return Err(format!(
                "`load.arrival_rate` must be more than 0, got `{text}`"
            ));
        }
        Ok(Rate(n / per))
    }
}

/// How a load's users come and go.
#[derive(Debug, Clone, PartialEq)]
pub enum Model {
    /// `users` at once, started evenly over `ramp`, until `duration` (or once).
    Users {
        users: u64,
        ramp: Duration,
        duration: Option<Duration>,
    },
    /// Users ramping linearly from one stage's target to the next (k6's ramping VUs): (how
    /// long, users at its end) each.
    Stages(Vec<(Duration, u64)>),
    /// An open model: a new user every 1/`rate` s for `duration`, each running the steps once;
    /// at most `max_users` at once, the arrivals past them dropped.
    Arrivals {
        rate: f64,
        duration: Duration,
        max_users: u64,
    },
}

/// The most users one request may ask for: past the file-descriptor limits of any machine
/// (spread more over shards, `--shard K/N`).
pub const MAX_USERS: u64 = 1_000_000;
/// The highest arrival rate one run keeps up with (one timer a tenth of a millisecond apart);
/// spread a higher one over shards.
pub const MAX_RATE: f64 = 10_000.0;

/// `n` as a count of users, or why it cannot be one.
fn users(key: &str, n: i64, zero_ok: bool) -> Result<u64, String> {
    let min = i64::from(!zero_ok);
    let n = u64::try_from(n)
        .ok()
        .filter(|&u| u >= min as u64)
        .ok_or_else(|| format!("`{key}` must be at least {min}, got {n}"))?;
    if n > MAX_USERS {
        return Err(format!(
            "`{key}` is at most {MAX_USERS} in one run: spread a bigger load over shards (`--shard K/N`)"
        ));
    }
    Ok(n)
}

impl Load {
    /// The model this `load:` describes, or what is wrong with it.
    pub fn check(&self) -> Result<Model, String> {
        if let Some(stages) = &self.stages {
            return self.stages_model(stages);
        }
        if let Some(rate) = self.arrival_rate {
            return self.arrivals_model(rate);
        }
        if self.max_users.is_some() {
            return Err("`load.max_users` bounds an open model: it goes with `arrival_rate` (`load: {arrival_rate: 10/s, duration: 1m, max_users: 50}`)".into());
        }
        let Some(n) = self.users else {
            return Err("`load` needs `users` (`{users: 10}`), `stages` (`{stages: [{duration: 10s, users: 10}]}`) or `arrival_rate` (`{arrival_rate: 10/s, duration: 1m, max_users: 50}`)".into());
        };
        let users = users("load.users", n, false)?;
        if let (Some(ramp), Some(duration)) = (self.ramp, self.duration) {
            if ramp.0 > duration.0 {
                return Err(format!(
                    "`load.ramp` ({}) is longer than `load.duration` ({}), which counts from the start, ramp included",
                    format_duration(ramp.0),
                    format_duration(duration.0)
                ));
            }
        }
        Ok(Model::Users {
            users,
            ramp: self.ramp.map(|d| d.0).unwrap_or_default(),
            duration: self.duration.map(|d| d.0),
        })
    }

    fn stages_model(&self, stages: &[Stage]) -> Result<Model, String> {
        let others = [
            ("users", self.users.is_some()),
            ("ramp", self.ramp.is_some()),
            ("duration", self.duration.is_some()),
            ("arrival_rate", self.arrival_rate.is_some()),
            ("max_users", self.max_users.is_some()),
        ];
        if let Some((key, _)) = others.iter().find(|(_, set)| *set) {
            return Err(format!(
                "`load.stages` sets the users over time on its own: leave out `load.{key}` (each stage has its `duration` and `users`)"
            ));
        }
        if stages.is_empty() {
            return Err(
                "`load.stages` needs at least one stage: `[{duration: 10s, users: 10}]`".into(),
            );
        }
        let mut model = Vec::with_capacity(stages.len());
        for (i, s) in stages.iter().enumerate() {
            let n = users(&format!("load.stages[{}].users", i + 1), s.users, true)?;
            model.push((s.duration.0, n));
        }
        if model.iter().all(|(_, n)| *n == 0) {
            return Err("`load.stages` never has a user: give a stage `users` of 1 or more".into());
        }
        if model.iter().all(|(d, _)| d.is_zero()) {
            return Err(
                "`load.stages` last no time: give a stage a `duration` of more than 0".into(),
            );
        }
        Ok(Model::Stages(model))
    }

    fn arrivals_model(&self, rate: Rate) -> Result<Model, String> {
        for (key, set) in [
            ("users", self.users.is_some()),
            ("ramp", self.ramp.is_some()),
        ] {
            if set {
                return Err(format!(
                    "`load.arrival_rate` starts users at a rate (an open model): leave out `load.{key}`, and bound the users at once with `max_users`"
                ));
            }
        }
        let Some(max) = self.max_users else {
            return Err("`load.arrival_rate` needs `max_users`: the most users running at once (arrivals past them are dropped and counted)".into());
        };
        let max_users = users("load.max_users", max, false)?;
        let Some(duration) = self.duration.map(|d| d.0).filter(|d| !d.is_zero()) else {
            return Err("`load.arrival_rate` needs a `duration` of more than 0: how long users keep arriving".into());
        };
        if rate.0 > MAX_RATE {
            return Err(format!(
                "`load.arrival_rate` is at most {MAX_RATE}/s in one run: spread a higher rate over shards (`--shard K/N`)"
            ));
        }
        Ok(Model::Arrivals {
            rate: rate.0,
            duration,
            max_users,
        })
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
/// round trip is measured, thresholds on steps that measure one. Returns the load's model (`load`
/// comes with the line of its key), or the line and message of the first problem.
pub fn check_request(
    steps: &[Step],
    load: Option<(usize, &Load)>,
    thresholds: &[(usize, Threshold)],
) -> Result<Option<Model>, (usize, String)> {
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
    let model = match load {
        Some((line, load)) => Some(load.check().map_err(|m| (line, m))?),
        None => None,
    };
    if let (None, Some((at, _))) = (&model, thresholds.first()) {
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
    Ok(model)
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
