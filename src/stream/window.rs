//! A window being read: the accumulators of a step's `stream:` properties, fed one message at a
//! time, then asked for what did not hold.

use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::props::{int_value, Consecutive, Fresh, Monotone, Offence, Unique};
use super::StreamSpec;
use crate::jsonpath::JsonPath;
use crate::matcher::{ResolveError, Resolved, Subject};
use crate::report::StreamViolation;
use crate::template::Lookup;

/// The running state of a `stream:` over one window.
pub struct Window {
    paths: Vec<PathState>,
    rate: Option<Resolved>,
    /// Whether some property needs the receive time.
    clock: bool,
    seen: u64,
}

/// One property of one path: its accumulator, its first offence, how many messages broke it.
pub(super) struct Tracked<P> {
    pub prop: P,
    pub first: Option<(Offence, String)>,
    pub offenders: u64,
}

impl<P> Tracked<P> {
    fn new(prop: P) -> Self {
        Self {
            prop,
            first: None,
            offenders: 0,
        }
    }

    /// Records a verdict; the message preview is made for the first offence only.
    fn record(
        &mut self,
        index: u64,
        value: &Value,
        verdict: Result<(), (String, Option<(u64, Value)>)>,
        preview: &dyn Fn() -> String,
    ) {
        let Err((reason, previous)) = verdict else {
            return;
        };
        self.offenders += 1;
        if self.first.is_none() {
            let offence = Offence {
                index,
                value: value.clone(),
                previous,
                reason,
            };
            self.first = Some((offence, preview()));
        }
    }
}

pub(super) struct PathState {
    pub path: JsonPath,
    /// The previous message's value: its position and value.
    prev: Option<(u64, Value)>,
    pub order: Option<Tracked<Monotone>>,
    pub consecutive: Option<Tracked<Consecutive>>,
    pub unique: Option<Tracked<Unique>>,
    pub fresh: Option<Tracked<Fresh>>,
    /// Messages in which the path selected nothing.
    pub absent: Tracked<()>,
}

impl Window {
    /// The accumulators for `spec`, its `rate` matcher expanded against `scope`.
    pub fn new(spec: &StreamSpec, scope: &dyn Lookup) -> Result<Self, ResolveError> {
        let paths = spec
            .paths
            .iter()
            .map(|(path, p)| PathState {
                path: path.clone(),
                prev: None,
                order: p
                    .increasing
                    .map(|order| Monotone { up: true, order })
                    .or(p.decreasing.map(|order| Monotone { up: false, order }))
                    .map(Tracked::new),
                consecutive: p.consecutive.then(|| Tracked::new(Consecutive::default())),
                unique: p.unique.then(|| Tracked::new(Unique::default())),
                fresh: p.fresh.map(|max| Tracked::new(Fresh { max })),
                absent: Tracked::new(()),
            })
            .collect::<Vec<_>>();
        Ok(Self {
            clock: paths.iter().any(|p| p.fresh.is_some()),
            paths,
            rate: spec.rate.as_ref().map(|m| m.resolve(scope)).transpose()?,
            seen: 0,
        })
    }

    /// Whether the window's `rate` is asserted (and so its length must be known).
    pub fn has_rate(&self) -> bool {
        self.rate.is_some()
    }

    /// Whether feeding a message needs its JSON.
    pub fn needs_json(&self) -> bool {
        !self.paths.is_empty()
    }

    /// Feeds the next message of the window: `select` gives the node a path (one of the
    /// window's, which select at most one node) selects in it, `None` when it selects nothing or
    /// the message is not JSON; `preview` renders the message, for the first offence of each
    /// property only.
    pub fn observe<'v>(
        &mut self,
        select: &dyn Fn(&JsonPath) -> Option<&'v Value>,
        preview: &dyn Fn() -> String,
    ) {
        self.seen += 1;
        let index = self.seen;
        let received_ms = if self.clock {
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_secs_f64() * 1000.0)
                .unwrap_or(0.0)
        } else {
            0.0
        };
        for p in &mut self.paths {
            let Some(value) = select(&p.path) else {
                p.absent
                    .record(index, &Value::Null, Err((String::new(), None)), preview);
                p.prev = None;
                continue;
            };
            let prev = p.prev.as_ref();
            if let Some(t) = &mut p.order {
                let verdict = t.prop.check(value, prev);
                t.record(index, value, verdict, preview);
            }
            if let Some(t) = &mut p.consecutive {
                let verdict = t.prop.check(index, value);
                t.record(index, value, verdict, preview);
            }
            if let Some(t) = &mut p.unique {
                let verdict = t.prop.check(index, value, prev);
                t.record(index, value, verdict, preview);
            }
            if let Some(t) = &mut p.fresh {
                let verdict = t.prop.check(value, received_ms);
                t.record(index, value, verdict, preview);
            }
            remember(&mut p.prev, index, value);
        }
    }

    /// What did not hold over the window, which lasted `elapsed`, in the order written.
    pub fn violations(&self, elapsed: Duration) -> Vec<StreamViolation> {
        let mut out = Vec::new();
        for p in &self.paths {
            path_violations(p, self.seen, &mut out);
        }
        if let Some(rate) = &self.rate {
            let secs = elapsed.as_secs_f64().max(1e-3);
            let measured = (self.seen as f64 / secs * 100.0).round() / 100.0;
            let value = serde_json::Number::from_f64(measured)
                .map(Value::Number)
                .unwrap_or(Value::Null);
            if let Some(expected) = rate.mismatch(Subject::Json(&value)) {
                out.push(StreamViolation {
                    property: "rate",
                    expected,
                    window: self.seen,
                    value: Some(value),
                    reason: format!(
                        "{} messages in {}",
                        self.seen,
                        super::props::short_duration(elapsed)
                    ),
                    ..StreamViolation::default()
                });
            }
        }
        out
    }
}

/// Keeps `value` as the previous one, reusing a string's buffer.
fn remember(slot: &mut Option<(u64, Value)>, index: u64, value: &Value) {
    match (slot.as_mut(), value) {
        (Some((i, Value::String(kept))), Value::String(new)) => {
            *i = index;
            kept.clear();
            kept.push_str(new);
        }
        _ => *slot = Some((index, value.clone())),
    }
}

/// The violations of one path's properties, in a fixed order: selection, order, consecutive,
/// unique, fresh.
pub(super) fn path_violations(p: &PathState, window: u64, out: &mut Vec<StreamViolation>) {
    let path = p.path.to_string();
    let base = |property: &'static str, expected: String| StreamViolation {
        property,
        path: Some(path.clone()),
        expected,
        window,
        ..StreamViolation::default()
    };
    if let Some(v) = from_tracked(&p.absent, base("selects", "to select a value".into())) {
        let mut v = v;
        v.value = None;
        v.reason = "the path selected nothing".into();
        out.push(v);
    }
    if let Some(t) = &p.order {
        let property = if t.prop.up {
            "increasing"
        } else {
            "decreasing"
        };
        out.extend(from_tracked(t, base(property, t.prop.describe())));
    }
    if let Some(t) = &p.consecutive {
        if let Some(mut v) = from_tracked(t, base("consecutive", "consecutive".into())) {
            let c = &t.prop;
            v.gaps = c
                .gaps
                .iter()
                .map(|(a, b)| (int_value(*a), int_value(*b)))
                .collect();
            v.gaps_total = c.gaps_total;
            v.missing_total = c.missing_total;
            out.push(v);
        }
    }
    if let Some(t) = &p.unique {
        out.extend(from_tracked(t, base("unique", "unique".into())));
    }
    if let Some(t) = &p.fresh {
        let within = super::props::short_duration(t.prop.max);
        out.extend(from_tracked(
            t,
            base("fresh", format!("within {within} of the receive time")),
        ));
    }
}

fn from_tracked<P>(t: &Tracked<P>, base: StreamViolation) -> Option<StreamViolation> {
    let (offence, message) = t.first.as_ref()?;
    Some(StreamViolation {
        index: Some(offence.index),
        value: Some(offence.value.clone()),
        previous: offence.previous.clone(),
        reason: offence.reason.clone(),
        offenders: t.offenders,
        message: Some(message.clone()),
        ..base
    })
}
