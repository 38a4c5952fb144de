//! When a load's users run: the spans of time each user of a closed model (`users`, `stages`)
//! is active, and the arrival times of an open one (`arrival_rate`); with `--shard`, this
//! shard's share of them.

use std::time::Duration;

use crate::collection::Model;
use crate::report::load::{Arrivals, LoadModel};

/// A load's model, as this shard runs it. Times count from the load's start.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Schedule {
    Users {
        users: u64,
        ramp: Duration,
        duration: Option<Duration>,
    },
    /// (how long, this shard's users at its end) per stage.
    Stages(Vec<(Duration, u64)>),
    Arrivals {
        /// This shard's arrivals, spread evenly over `duration`.
        count: u64,
        duration: Duration,
        max_users: u64,
        /// The rate asked for, in this shard's share.
        rate: f64,
    },
}

/// This shard's users: the K-th of N shares of `users` (all of them without `--shard`).
pub(super) fn share(users: u64, shard: Option<(u32, u32)>) -> u64 {
    match shard {
        Some((k, n)) if n > 1 => {
            let (k, n) = (u64::from(k), u64::from(n));
            users / n + u64::from(k - 1 < users % n)
        }
        _ => users,
    }
}

/// Every arrival of an open model over all shards: one each 1/`rate` s from the start, while
/// the duration lasts (at least one).
fn all_arrivals(rate: f64, duration: Duration) -> u64 {
    // A hair under the product, so that 10/s over 2s is 20 arrivals and not 21 for a
    // rounding error.
    ((rate * duration.as_secs_f64() - 1e-9).ceil() as u64).max(1)
}

impl Schedule {
    pub fn new(model: &Model, shard: Option<(u32, u32)>) -> Self {
        match model {
            Model::Users {
                users,
                ramp,
                duration,
            } => Schedule::Users {
                users: share(*users, shard),
                ramp: *ramp,
                duration: *duration,
            },
            Model::Stages(stages) => {
                Schedule::Stages(stages.iter().map(|&(d, n)| (d, share(n, shard))).collect())
            }
            Model::Arrivals {
                rate,
                duration,
                max_users,
            } => {
                let all = all_arrivals(*rate, *duration);
                let count = share(all, shard);
                Schedule::Arrivals {
                    count,
                    duration: *duration,
                    max_users: share(*max_users, shard),
                    rate: rate * count as f64 / all as f64,
                }
            }
        }
    }

    /// Users over every shard, for `{{ user.count }}` and each user's index: the users, the
    /// most users of any stage, the arrivals.
    pub fn everyone(model: &Model) -> u64 {
        match model {
            Model::Users { users, .. } => *users,
            Model::Stages(stages) => stages.iter().map(|s| s.1).max().unwrap_or(0),
            Model::Arrivals { rate, duration, .. } => all_arrivals(*rate, *duration),
        }
    }

    /// The users of a closed model, started with the load; none for an open one.
    pub fn closed_users(&self) -> u64 {
        match self {
            Schedule::Users { .. } | Schedule::Stages(_) => self.most_at_once(),
            Schedule::Arrivals { .. } => 0,
        }
    }

    /// The most users running at once.
    pub fn most_at_once(&self) -> u64 {
        match self {
            Schedule::Users { users, .. } => *users,
            Schedule::Stages(stages) => stages.iter().map(|s| s.1).max().unwrap_or(0),
            Schedule::Arrivals { max_users, .. } => *max_users,
        }
    }

    /// This shard's arrivals (none for a closed model).
    pub fn arrivals(&self) -> u64 {
        match self {
            Schedule::Arrivals { count, .. } => *count,
            _ => 0,
        }
    }

    /// When arrival `i` (from 0) comes.
    pub fn arrival_at(&self, i: u64) -> Duration {
        match self {
            Schedule::Arrivals {
                count, duration, ..
            } if *count > 0 => duration.mul_f64(i as f64 / *count as f64),
            _ => Duration::ZERO,
        }
    }

    /// When user `u` (or arrival `u`) runs: (from, until) spans; until `None` runs the steps
    /// once (`repeat` times).
    pub fn spans(&self, u: u64) -> Vec<(Duration, Option<Duration>)> {
        match self {
            Schedule::Users {
                users,
                ramp,
                duration,
            } => vec![(ramp.mul_f64(u as f64 / (*users).max(1) as f64), *duration)],
            Schedule::Stages(stages) => stage_spans(stages, u),
            Schedule::Arrivals { .. } => vec![(self.arrival_at(u), None)],
        }
    }

    /// How long the load lasts, as planned (`None`: until the users are done).
    pub fn duration(&self) -> Option<Duration> {
        match self {
            Schedule::Users { duration, .. } => *duration,
            Schedule::Stages(stages) => Some(stages.iter().map(|s| s.0).sum()),
            Schedule::Arrivals { duration, .. } => Some(*duration),
        }
    }

    /// The model for the report, before its arrivals are counted.
    pub fn report_model(&self) -> LoadModel {
        match self {
            Schedule::Users { .. } => LoadModel::Users,
            Schedule::Stages(stages) => LoadModel::Stages(stages.clone()),
            Schedule::Arrivals {
                max_users, rate, ..
            } => LoadModel::Arrivals(Arrivals {
                rate: *rate,
                max_users: *max_users,
                ..Arrivals::default()
            }),
        }
    }
}

/// When user `u` (from 0) of ramping stages runs: while the target, linear within each stage
/// from the previous stage's (0 before the first), is above `u`. It starts when a ramp up
/// passes `u` and stops (after the iteration it is in) when a ramp down reaches it; it may come
/// back on a later ramp up.
fn stage_spans(stages: &[(Duration, u64)], u: u64) -> Vec<(Duration, Option<Duration>)> {
    let level = u as f64;
    let mut spans = Vec::new();
    let (mut t0, mut from) = (Duration::ZERO, 0u64);
    let mut start: Option<Duration> = None;
    for &(d, to) in stages {
        let (a, b) = (from as f64, to as f64);
        // Where the line from a to b crosses `level`; a crossing means a ≠ b.
        let crossing = || t0 + d.mul_f64(((level - a) / (b - a)).clamp(0.0, 1.0));
        match start {
            None if b > level => start = Some(crossing()),
            Some(s) if b <= level => {
                let end = crossing();
                if end > s {
                    spans.push((s, Some(end)));
                }
                start = None;
            }
            _ => {}
        }
        t0 += d;
        from = to;
    }
    if let Some(s) = start.filter(|s| *s < t0) {
        spans.push((s, Some(t0)));
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn shards_share_the_users_and_every_user_has_one_shard() {
        assert_eq!(share(10, None), 10);
        let shares: Vec<u64> = (1..=3).map(|k| share(10, Some((k, 3)))).collect();
        assert_eq!(shares, vec![4, 3, 3]);
        assert_eq!(share(2, Some((3, 3))), 0);
    }

    #[test]
    fn users_ramp_up_hold_and_ramp_down_like_k6() {
        // 0 → 10 over 10s, 10 for 10s, 10 → 0 over 10s.
        let stages = [(secs(10.0), 10), (secs(10.0), 10), (secs(10.0), 0)];
        assert_eq!(stage_spans(&stages, 0), vec![(secs(0.0), Some(secs(30.0)))]);
        assert_eq!(stage_spans(&stages, 4), vec![(secs(4.0), Some(secs(26.0)))]);
        assert_eq!(stage_spans(&stages, 9), vec![(secs(9.0), Some(secs(21.0)))]);
        assert_eq!(stage_spans(&stages, 10), vec![]);
    }

    #[test]
    fn a_user_comes_back_on_a_later_ramp_up() {
        let stages = [
            (secs(2.0), 2),
            (secs(2.0), 0),
            (Duration::ZERO, 2),
            (secs(1.0), 2),
        ];
        assert_eq!(
            stage_spans(&stages, 1),
            vec![(secs(1.0), Some(secs(3.0))), (secs(4.0), Some(secs(5.0)))]
        );
    }

    #[test]
    fn arrivals_are_spread_over_the_duration_and_shared_by_shards() {
        let model = Model::Arrivals {
            rate: 10.0,
            duration: secs(2.0),
            max_users: 3,
        };
        let whole = Schedule::new(&model, None);
        assert_eq!(whole.arrivals(), 20);
        assert_eq!(whole.arrival_at(5), secs(0.5));
        assert_eq!(whole.closed_users(), 0);
        assert_eq!(whole.most_at_once(), 3);
        let halves: Vec<u64> = (1..=2)
            .map(|k| Schedule::new(&model, Some((k, 2))).arrivals())
            .collect();
        assert_eq!(halves, vec![10, 10]);
        assert_eq!(Schedule::everyone(&model), 20);
    }
}
