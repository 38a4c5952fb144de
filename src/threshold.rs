//! A load's `thresholds:` (which measure each names — `failed`, `connect_p95`, `step 2 p99` — and
//! the limits it must keep) and a step's `latency:` limits. The collection reads them; the
//! runner and the load report judge them.

use serde_json::Value;

use crate::latency::{Bounds, Op, Stat, Unit};

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
    /// Arrivals of an open model (`arrival_rate`) dropped because `max_users` were busy.
    DroppedArrivals,
    /// A statistic of the connect time (TCP, TLS and the WebSocket handshake).
    Connect(Stat),
    /// A statistic of step N's round trips (1-based).
    Step(usize, Stat),
}

/// The plain measures, for error messages.
const PLAIN_METRICS: [&str; 6] = [
    "failed",
    "iterations",
    "connections",
    "connections_failed",
    "msgs_per_s",
    "dropped_arrivals",
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
            "dropped_arrivals" => Metric::DroppedArrivals,
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

    /// Whether it adds up over shards (a count, a rate), rather than being a statistic of
    /// a distribution that each shard samples: a shard's share of a total says little about
    /// the total, so `--shard` leaves these to `wsrun merge`.
    pub fn is_total(&self) -> bool {
        !matches!(self, Metric::Connect(_) | Metric::Step(..))
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

/// `latency:` on a step that waits for an answer: limits on each round trip (`{lt: 50ms}`), and
/// limits on statistics of all of them (`{p95: {lt: 20ms}, max: {lt: 200ms}}`), checked when the
/// request's `repeat` (or its load) is done.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LatencyCheck {
    pub each: Bounds,
    pub stats: Vec<(Stat, Bounds)>,
}

impl<'de> serde::Deserialize<'de> for LatencyCheck {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = serde_json::Map::<String, Value>::deserialize(d)?;
        LatencyCheck::from_pairs(map.into_iter().collect()).map_err(serde::de::Error::custom)
    }
}

impl LatencyCheck {
    pub(crate) fn from_pairs(pairs: Vec<(String, Value)>) -> Result<Self, String> {
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
