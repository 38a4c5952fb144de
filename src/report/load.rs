//! What a load (`load:` on a request) measured: users, connections and their connect times,
//! iterations, messages, errors by kind with a sample of the failures, a timeline, and the
//! thresholds that judged it. Each step's round trips are in the step's own report
//! ([`super::StepReport::latencies`]). `wsrun merge` adds shards' loads together and judges the
//! sum again ([`LoadReport::add`], [`LoadReport::judge`]).

use std::time::Duration;

use super::{Failure, StepReport, Stop};
use crate::duration::format_duration;
use crate::latency::{Bounds, Latency, Stat, Unit};
use crate::threshold::{Metric, Threshold};

/// Distinct error kinds kept; the rest are counted under [`OTHER_ERRORS`].
pub const MAX_ERROR_KINDS: usize = 20;
/// The kind the errors past [`MAX_ERROR_KINDS`] are counted under.
pub const OTHER_ERRORS: &str = "other errors";
/// Failures kept whole, as a sample: a load keeps no transcript.
pub const MAX_SAMPLES: usize = 5;

#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    /// How users came and went: `users` with `ramp` and `duration`, stages, or arrivals.
    pub model: LoadModel,
    /// Users started (this shard's share of `load.users`; after a merge, the sum); with stages,
    /// the most at once; with arrivals, `max_users`.
    pub users: u64,
    pub ramp: Duration,
    pub duration: Option<Duration>,
    /// How long the load ran, first connect to last close (after a merge, the longest shard).
    pub elapsed: Duration,
    /// How many reports were merged into this one (1 for a run).
    pub shards: u32,
    pub opened: u64,
    pub connect_failed: u64,
    /// Connect times: TCP, TLS and the WebSocket handshake.
    pub connect: Latency,
    /// Iterations finished (passed or failed), and those that failed.
    pub iterations: u64,
    pub failed: u64,
    /// Data messages received.
    pub received: u64,
    /// Failures by kind (`connect: …`, `step 3 expect: …`), most frequent first.
    pub errors: Vec<(String, u64)>,
    pub samples: Vec<Failure>,
    /// Per step: how often it ran and failed.
    pub steps: Vec<StepCounts>,
    pub timeline: Timeline,
    pub thresholds: Vec<ThresholdResult>,
    /// Why the load ended before its users did (Ctrl-C, the run's `--timeout`): what it
    /// measured until then is all there is.
    pub stopped: Option<Stop>,
}

/// The model of a load, as it ran (with `--shard`, this shard's share).
#[derive(Debug, Clone, Default, PartialEq)]
pub enum LoadModel {
    /// `users` at once (the report's `users`, `ramp`, `duration`).
    #[default]
    Users,
    /// (how long, users at its end) per stage, ramping linearly from the previous one.
    Stages(Vec<(Duration, u64)>),
    Arrivals(Arrivals),
}

/// An open model's arrivals: the rate asked for, the bound, and what became of them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Arrivals {
    /// Arrivals per second.
    pub rate: f64,
    pub max_users: u64,
    /// Arrivals that started a user, and those dropped because `max_users` were busy.
    pub started: u64,
    pub dropped: u64,
}

impl LoadModel {
    /// `users`, `stages`, `arrival_rate`: the report's `model`.
    pub fn key(&self) -> &'static str {
        match self {
            LoadModel::Users => "users",
            LoadModel::Stages(_) => "stages",
            LoadModel::Arrivals(_) => "arrival_rate",
        }
    }

    /// Adds another shard's share: stage targets and arrivals summed.
    fn add(&mut self, other: &LoadModel) {
        match (self, other) {
            (LoadModel::Stages(mine), LoadModel::Stages(theirs)) => {
                for (m, t) in mine.iter_mut().zip(theirs) {
                    m.1 += t.1;
                }
            }
            (LoadModel::Arrivals(m), LoadModel::Arrivals(t)) => {
                m.rate += t.rate;
                m.max_users += t.max_users;
                m.started += t.started;
                m.dropped += t.dropped;
            }
            _ => {}
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StepCounts {
    pub runs: u64,
    pub failed: u64,
}

/// The load over time, one point per `bucket` from the load's start.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    pub bucket: Duration,
    pub points: Vec<Point>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Point {
    /// Connections open at the end of the bucket.
    pub connections: u64,
    /// Data messages received during the bucket.
    pub messages: u64,
    /// The 50th, 95th and 99th percentiles of the round trips that ended in the bucket, all
    /// steps together.
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

/// A threshold and what the load measured for it.
#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdResult {
    pub name: String,
    pub unit: Unit,
    pub bounds: Bounds,
    pub measured: Option<f64>,
    pub passed: bool,
    /// A threshold on a total or a rate in one shard's report: its share says little about the
    /// total, so it passes here and `wsrun merge` judges it on the sum.
    pub at_merge: bool,
}

impl ThresholdResult {
    pub fn new(t: &Threshold) -> Self {
        Self {
            name: t.name.clone(),
            unit: t.metric.unit(),
            bounds: t.bounds.clone(),
            measured: None,
            passed: false,
            at_merge: false,
        }
    }

    /// `connect_p95 < 100ms`.
    pub fn condition(&self) -> String {
        format!("{} {}", self.name, self.bounds.describe(self.unit))
    }

    /// The measured value for people, or `no data`; `judged at merge` after a shard's.
    pub fn shown(&self) -> String {
        let value = self
            .measured
            .map(|v| self.unit.format(v))
            .unwrap_or_else(|| "no data".into());
        if self.at_merge {
            format!("{value} in this shard, judged at merge")
        } else {
            value
        }
    }
}

impl LoadReport {
    /// Messages received per second of the load.
    pub fn rate(&self) -> f64 {
        match self.elapsed.as_secs_f64() {
            s if s > 0.0 => self.received as f64 / s,
            _ => 0.0,
        }
    }

    /// What `metric` measured, or `None` when nothing was (no connection, no round trip).
    pub fn measure(&self, metric: Metric, steps: &[StepReport]) -> Option<f64> {
        let count = |n: u64| Some(n as f64);
        match metric {
            Metric::Failed => count(self.failed),
            Metric::Iterations => count(self.iterations),
            Metric::Connections => count(self.opened),
            Metric::ConnectionsFailed => count(self.connect_failed),
            Metric::MessagesPerSecond => Some(self.rate()),
            Metric::DroppedArrivals => count(match &self.model {
                LoadModel::Arrivals(a) => a.dropped,
                _ => 0,
            }),
            Metric::Connect(stat) => self.connect.stat_ms(stat),
            Metric::Step(n, stat) => steps
                .iter()
                .find(|s| s.index == n)
                .and_then(|s| s.latencies.as_ref())
                .and_then(|l| l.stat_ms(stat)),
        }
    }

    /// Measures every threshold again and decides it. A threshold with nothing to measure
    /// fails, unless the load had no users at all (a shard whose share was none). In one shard
    /// of several (`shard`), thresholds on totals and rates are left to `wsrun merge`, except
    /// an upper limit on a count that the shard's share already breaks (the total can only be
    /// more); statistics of round trips and connect times are judged on the shard's sample.
    pub fn judge(&mut self, steps: &[StepReport], shard: bool) {
        let idle = self.users == 0;
        let mut results = std::mem::take(&mut self.thresholds);
        for t in &mut results {
            let metric = Metric::parse(&t.name).ok();
            t.measured = metric.and_then(|m| self.measure(m, steps));
            t.passed = match t.measured {
                Some(v) => t.bounds.holds(v),
                None => idle,
            };
            let total = metric.is_some_and(|m| m.is_total());
            let proven = !t.passed
                && t.unit == Unit::Count
                && t.bounds.0.iter().all(|(op, _)| op.is_upper());
            t.at_merge = shard && total && !proven;
            if t.at_merge {
                t.passed = true;
            }
        }
        self.thresholds = results;
    }

    /// The request's failure when a threshold failed: each failing one named with its
    /// measured value; the errors by kind as the detail.
    pub fn verdict(&self) -> Option<Failure> {
        let failing: Vec<&ThresholdResult> = self.thresholds.iter().filter(|t| !t.passed).collect();
        let summary = match failing.as_slice() {
            [] => return None,
            [t] => format!(
                "threshold `{}` failed: measured {}, wanted {}",
                t.name,
                t.shown(),
                t.bounds.describe(t.unit)
            ),
            many => format!(
                "{} thresholds failed: {}",
                many.len(),
                many.iter()
                    .map(|t| format!(
                        "`{}` (measured {}, wanted {})",
                        t.name,
                        t.shown(),
                        t.bounds.describe(t.unit)
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let detail = (!self.errors.is_empty()).then(|| {
            self.errors
                .iter()
                .map(|(kind, n)| format!("{n} × {kind}"))
                .collect::<Vec<_>>()
                .join("\n")
        });
        Some(Failure {
            summary,
            detail,
            ..Failure::default()
        })
    }

    /// How the users came: `4 users, ramp 1s, for 20s`; `stages 10 users over 5s, 10 over
    /// 10s, 0 over 5s`; `arrival rate 10/s for 2s, at most 3 users`.
    pub fn model_text(&self) -> String {
        let plural = |n: u64| if n == 1 { "" } else { "s" };
        let mut head = match &self.model {
            LoadModel::Users => {
                let mut head = format!("{} user{}", self.users, plural(self.users));
                if !self.ramp.is_zero() {
                    head.push_str(&format!(", ramp {}", format_duration(self.ramp)));
                }
                if let Some(d) = self.duration {
                    head.push_str(&format!(", for {}", format_duration(d)));
                }
                head
            }
            LoadModel::Stages(stages) => {
                let each: Vec<String> = stages
                    .iter()
                    .enumerate()
                    .map(|(i, (d, n))| {
                        let users = if i == 0 { " users" } else { "" };
                        format!("{n}{users} over {}", format_duration(*d))
                    })
                    .collect();
                format!("stages {}", each.join(", "))
            }
            LoadModel::Arrivals(a) => format!(
                "arrival rate {} for {}, at most {} user{}",
                Unit::PerSecond.format_limit((a.rate * 1000.0).round() / 1000.0),
                format_duration(self.duration.unwrap_or_default()),
                a.max_users,
                plural(a.max_users)
            ),
        };
        if self.shards > 1 {
            head.push_str(&format!(", {} shards", self.shards));
        }
        head
    }

    /// `4 users, ramp 1s, for 20s, 2 shards · 4 connected, 0 failed · 96 iterations, 0 failed ·
    /// 96 messages received`; an open model's arrivals after its model.
    pub fn counts(&self) -> String {
        let plural = |n: u64| if n == 1 { "" } else { "s" };
        let mut head = self.model_text();
        if let LoadModel::Arrivals(a) = &self.model {
            head.push_str(&format!(
                " · {} arrival{}: {} started, {} dropped",
                a.started + a.dropped,
                plural(a.started + a.dropped),
                a.started,
                a.dropped
            ));
        }
        format!(
            "{head} · {} connected, {} failed · {} iteration{}, {} failed · {} message{} received",
            self.opened,
            self.connect_failed,
            self.iterations,
            plural(self.iterations),
            self.failed,
            self.received,
            plural(self.received),
        )
    }

    /// `stopped by the run's timeout`, when the load was cut short.
    pub fn stopped_text(&self) -> Option<&'static str> {
        self.stopped.map(|s| match s {
            Stop::Interrupted => "stopped by Ctrl-C",
            Stop::TimedOut(_) => "stopped by the run's timeout",
            Stop::FailFast => "stopped by --fail-fast",
        })
    }

    /// The request's failure when the run stopped the load (`why`: "the run timed out after
    /// 1s (--timeout)"): how long it ran and its iterations; the errors by kind as the detail.
    pub fn stopped_failure(&self, why: &str) -> Failure {
        let detail = (!self.errors.is_empty()).then(|| {
            self.errors
                .iter()
                .map(|(kind, n)| format!("{n} × {kind}"))
                .collect::<Vec<_>>()
                .join("\n")
        });
        Failure {
            summary: format!(
                "{why}: the load was stopped after {} ({} iterations, {} failed)",
                format_duration(self.elapsed),
                self.iterations,
                self.failed
            ),
            detail,
            ..Failure::default()
        }
    }

    /// Adds another shard's load of the same request: counts summed, histograms merged
    /// exactly, timelines added point by point; the thresholds are this one's (judge again).
    pub fn add(&mut self, other: &LoadReport) {
        self.model.add(&other.model);
        self.users += other.users;
        self.elapsed = self.elapsed.max(other.elapsed);
        self.shards += other.shards;
        self.opened += other.opened;
        self.connect_failed += other.connect_failed;
        self.connect.add(&other.connect);
        self.iterations += other.iterations;
        self.failed += other.failed;
        self.received += other.received;
        for (kind, n) in &other.errors {
            count_error(&mut self.errors, kind, *n);
        }
        self.errors
            .sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let room = MAX_SAMPLES.saturating_sub(self.samples.len());
        self.samples
            .extend(other.samples.iter().take(room).cloned());
        if self.steps.len() < other.steps.len() {
            self.steps.resize(other.steps.len(), StepCounts::default());
        }
        for (mine, theirs) in self.steps.iter_mut().zip(&other.steps) {
            mine.runs += theirs.runs;
            mine.failed += theirs.failed;
        }
        self.timeline.add(&other.timeline);
        self.stopped = self.stopped.or(other.stopped);
        for t in &other.thresholds {
            if !self.thresholds.iter().any(|mine| mine.name == t.name) {
                self.thresholds.push(t.clone());
            }
        }
    }
}

/// Counts `n` errors of `kind`, keeping at most [`MAX_ERROR_KINDS`] kinds.
pub fn count_error(errors: &mut Vec<(String, u64)>, kind: &str, n: u64) {
    if let Some((_, count)) = errors.iter_mut().find(|(k, _)| k == kind) {
        *count += n;
        return;
    }
    if errors.len() < MAX_ERROR_KINDS {
        errors.push((kind.to_string(), n));
        return;
    }
    match errors.iter_mut().find(|(k, _)| k == OTHER_ERRORS) {
        Some((_, count)) => *count += n,
        None => {
            // Make room: the least frequent kind joins the other errors.
            if let Some(i) = (0..errors.len()).min_by_key(|&i| errors[i].1) {
                let (_, least) = errors.remove(i);
                errors.push((OTHER_ERRORS.to_string(), least + n));
            }
        }
    }
}

impl Timeline {
    /// Adds another shard's timeline: users and messages summed per point; a percentile of a
    /// point is the higher of the two (an upper bound: percentiles of parts do not add).
    pub fn add(&mut self, other: &Timeline) {
        if self.points.is_empty() {
            self.bucket = other.bucket;
        }
        if other.bucket != self.bucket && !other.points.is_empty() {
            // Shards of one load share the bucket width; another width cannot be aligned.
            return;
        }
        if self.points.len() < other.points.len() {
            self.points.resize(other.points.len(), Point::default());
        }
        for (mine, theirs) in self.points.iter_mut().zip(&other.points) {
            mine.connections += theirs.connections;
            mine.messages += theirs.messages;
            let higher = |a: Option<f64>, b: Option<f64>| match (a, b) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
            mine.p50_ms = higher(mine.p50_ms, theirs.p50_ms);
            mine.p95_ms = higher(mine.p95_ms, theirs.p95_ms);
            mine.p99_ms = higher(mine.p99_ms, theirs.p99_ms);
        }
    }
}

/// The distribution statistics reports show, with their values in milliseconds.
pub fn stats_ms(l: &Latency) -> Vec<(Stat, Option<f64>)> {
    Stat::REPORTED.iter().map(|&s| (s, l.stat_ms(s))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_with(failed: u64, t: &str, limits: serde_json::Value) -> LoadReport {
        LoadReport {
            users: 10,
            failed,
            iterations: 10,
            elapsed: Duration::from_secs(1),
            shards: 1,
            thresholds: vec![ThresholdResult::new(&Threshold::parse(t, &limits).unwrap())],
            ..LoadReport::default()
        }
    }

    #[test]
    fn a_failing_threshold_is_named_with_its_measured_value() {
        let mut load = load_with(3, "failed", serde_json::json!({"lte": 0}));
        load.judge(&[], false);
        let f = load.verdict().unwrap();
        assert_eq!(
            f.summary,
            "threshold `failed` failed: measured 3, wanted ≤ 0"
        );
        let mut ok = load_with(0, "failed", serde_json::json!({"lte": 0}));
        ok.judge(&[], false);
        assert!(ok.verdict().is_none());
    }

    #[test]
    fn a_threshold_with_nothing_measured_fails_unless_the_load_had_no_users() {
        let mut load = load_with(0, "connect_p95", serde_json::json!({"lt": "100ms"}));
        load.judge(&[], false);
        assert!(load.verdict().unwrap().summary.contains("measured no data"));
        load.users = 0;
        load.judge(&[], false);
        assert!(load.verdict().is_none());
    }

    #[test]
    fn shards_add_up_and_are_judged_again() {
        let mut a = load_with(0, "failed", serde_json::json!({"lte": 1}));
        let b = load_with(2, "failed", serde_json::json!({"lte": 1}));
        a.connect.record(Duration::from_millis(1));
        a.add(&b);
        a.judge(&[], false);
        assert_eq!((a.users, a.failed, a.shards), (20, 2, 2));
        assert!(!a.thresholds[0].passed);
    }

    #[test]
    fn shards_leave_a_rate_to_the_merge_which_judges_the_sum() {
        // Both shards fall short at 431 messages/s; together they make 862.
        let shard = || {
            let mut l = load_with(0, "msgs_per_s", serde_json::json!({"gte": 800}));
            l.received = 431;
            l
        };
        let (mut a, mut b) = (shard(), shard());
        a.judge(&[], true);
        b.judge(&[], true);
        for s in [&a, &b] {
            let t = &s.thresholds[0];
            assert!(t.passed && t.at_merge);
            assert_eq!(t.shown(), "431/s in this shard, judged at merge");
            assert!(s.verdict().is_none());
        }
        a.add(&b);
        a.judge(&[], false);
        let t = &a.thresholds[0];
        assert!(t.passed && !t.at_merge);
        assert_eq!((t.shown(), a.rate()), ("862/s".to_string(), 862.0));
        // Judged alone, a shard's share fails.
        let mut alone = shard();
        alone.judge(&[], false);
        assert!(!alone.thresholds[0].passed);
    }

    #[test]
    fn a_shard_judges_round_trip_statistics_on_its_own_sample() {
        let mut l = load_with(0, "connect_p95", serde_json::json!({"lt": "1ms"}));
        l.connect.record(Duration::from_millis(5));
        l.judge(&[], true);
        let t = &l.thresholds[0];
        assert!(!t.passed && !t.at_merge);
    }

    #[test]
    fn error_kinds_stay_bounded() {
        let mut errors = Vec::new();
        for i in 0..(MAX_ERROR_KINDS + 5) {
            count_error(&mut errors, &format!("kind {i}"), 1);
        }
        count_error(&mut errors, "kind 0", 4);
        assert!(errors.len() <= MAX_ERROR_KINDS);
        let total: u64 = errors.iter().map(|(_, n)| n).sum();
        assert_eq!(total, MAX_ERROR_KINDS as u64 + 5 + 4);
    }
}
