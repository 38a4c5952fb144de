//! A window being read: the accumulators of a step's `stream:` properties, fed one message at a
//! time, then asked for what did not hold.

use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::props::{Consecutive, Fresh, Monotone, Offence, Unique};
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

    /// Feeds the next message of the window (`doc` is its JSON, when it is JSON); `preview`
    /// renders it, for the first offence of each property only.
    pub fn observe(&mut self, doc: Option<&Value>, preview: &dyn Fn() -> String) {
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
            let mut node = None;
            if let Some(doc) = doc {
                p.path.for_each(doc, |n| {
                    node = Some(n);
                    false
                });
            }
            let Some(value) = node else {
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
            super::report::path_violations(p, self.seen, &mut out);
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
