//! One accumulator per property, each O(1) per message: it sees a value (and the one before it)
//! and keeps only what the property needs — the first offence, counts, the first gaps, and for
//! `unique` a bounded set.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;

use super::Order;
use crate::matcher::{canonical_number, compare};

/// How many distinct values `unique` remembers. Values that keep a strict order need no memory
/// (a value past the last one cannot repeat an earlier one), so past this many the check goes on
/// for as long as the order holds, and says it cannot check exactly when it breaks.
pub const UNIQUE_LIMIT: usize = 100_000;

/// How many gaps a `consecutive` failure lists; the rest are counted.
pub const GAPS_LISTED: usize = 100;

/// The first message that broke a property.
#[derive(Debug, Clone, PartialEq)]
pub struct Offence {
    pub index: u64,
    pub value: Value,
    pub previous: Option<(u64, Value)>,
    pub reason: String,
}

/// A property's verdict on one value: `Err(reason, previous)` when the value breaks it.
type Verdict = Result<(), (String, Option<(u64, Value)>)>;

/// `increasing` / `decreasing`, loose or strict.
#[derive(Debug)]
pub struct Monotone {
    pub up: bool,
    pub order: Order,
}

impl Monotone {
    pub fn check(&self, value: &Value, prev: Option<&(u64, Value)>) -> Verdict {
        let Some((i, p)) = prev else { return Ok(()) };
        let holds = match compare(value, p) {
            None => {
                return Err((
                    format!("{} cannot be compared with {}", shown(value), shown(p)),
                    Some((*i, p.clone())),
                ))
            }
            Some(Ordering::Equal) => self.order == Order::Loose,
            Some(Ordering::Greater) => self.up,
            Some(Ordering::Less) => !self.up,
        };
        if holds {
            Ok(())
        } else {
            Err((
                format!("{} after {}", shown(value), shown(p)),
                Some((*i, p.clone())),
            ))
        }
    }

    pub fn describe(&self) -> String {
        let dir = if self.up { "increasing" } else { "decreasing" };
        match self.order {
            Order::Strict => format!("strictly {dir}"),
            Order::Loose => dir.to_string(),
        }
    }
}

/// `consecutive`: each value is the previous + 1; every gap is counted, the first ones listed.
#[derive(Debug, Default)]
pub struct Consecutive {
    prev: Option<(u64, i128)>,
    pub gaps: Vec<(i128, i128)>,
    pub gaps_total: u64,
    pub missing_total: u64,
}

impl Consecutive {
    pub fn check(&mut self, index: u64, value: &Value) -> Verdict {
        let Some(n) = integer(value) else {
            self.prev = None;
            return Err((format!("{} is not an integer", shown(value)), None));
        };
        let prev = self.prev.replace((index, n));
        let Some((i, p)) = prev else { return Ok(()) };
        let shown = Some((i, int_value(p)));
        if n == p + 1 {
            return Ok(());
        }
        if n <= p {
            return Err((format!("{n} after {p} (expected {})", p + 1), shown));
        }
        self.gaps_total += 1;
        let missing = u64::try_from(n - p - 1).unwrap_or(u64::MAX);
        self.missing_total = self.missing_total.saturating_add(missing);
        if self.gaps.len() < GAPS_LISTED {
            self.gaps.push((p + 1, n - 1));
        }
        Err((
            format!("{n} after {p}: missing {}", gap_text(p + 1, n - 1)),
            shown,
        ))
    }
}

/// `4221990501..4221990503`, or one value.
pub fn gap_text(from: i128, to: i128) -> String {
    if from == to {
        from.to_string()
    } else {
        format!("{from}..{to}")
    }
}

/// An integer value (a JSON integer, or a string of digits).
fn integer(v: &Value) -> Option<i128> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from)),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// An integer as a JSON value (a string past what JSON numbers hold here).
pub fn int_value(n: i128) -> Value {
    serde_json::Number::from_i128(n)
        .map(Value::Number)
        .unwrap_or_else(|| Value::String(n.to_string()))
}

/// `unique`: no value repeats. Exact: a set of the values seen, bounded by [`UNIQUE_LIMIT`].
#[derive(Debug, Default)]
pub struct Unique {
    /// Each value's keys, with the message that brought it and the value as it was sent (a
    /// repeat may be written differently: `1.0` after `1`).
    seen: HashMap<Key, (u64, Value)>,
    /// The values so far are in strict order, one way (`Some(true)` up): then the set may go.
    ordered: Option<bool>,
    broken: bool,
    /// The set was given up past the limit, the values being in order.
    dropped: bool,
}

/// A value as `unique` compares it, with the equality of `eq`: a number by its value (`1`,
/// `1.0` and `1e0` are one), a string by its text and, when it holds a number, by that number
/// too — `"1.0"` repeats an earlier `1`, but not an earlier `"1"`, as `eq` compares two strings
/// as text. Big integers and numeric strings keep every digit (`matcher::canonical_number`).
#[derive(Debug, Hash, PartialEq, Eq)]
enum Key {
    Number(Box<str>),
    /// A numeric string's number, which only a number can repeat.
    NumericText(Box<str>),
    Text(Box<str>),
    /// Anything else as JSON text, numbers inside written by value and object keys sorted.
    Json(Box<str>),
}

impl Key {
    /// The keys an earlier value that `eq` calls equal to `v` was remembered under.
    fn probes(v: &Value) -> Vec<Key> {
        match v {
            Value::Number(_) => match canonical_number(v) {
                Some(c) => vec![Key::NumericText(c.as_str().into()), Key::Number(c.into())],
                None => vec![Key::Json(v.to_string().into())],
            },
            Value::String(s) => {
                let mut keys = vec![Key::Text(s.as_str().into())];
                keys.extend(canonical_number(v).map(|c| Key::Number(c.into())));
                keys
            }
            other => vec![Key::Json(loose_json(other).into())],
        }
    }

    /// The keys `v` is remembered under.
    fn remembered(v: &Value) -> Vec<Key> {
        match v {
            Value::String(s) => {
                let mut keys = vec![Key::Text(s.as_str().into())];
                keys.extend(canonical_number(v).map(|c| Key::NumericText(c.into())));
                keys
            }
            Value::Number(_) => match canonical_number(v) {
                Some(c) => vec![Key::Number(c.into())],
                None => vec![Key::Json(v.to_string().into())],
            },
            other => vec![Key::Json(loose_json(other).into())],
        }
    }
}

/// JSON text in which equal numbers read the same (`[1.0]` as `[#1e1]`) and object keys are
/// sorted, as `eq` compares arrays and objects member by member.
fn loose_json(v: &Value) -> String {
    match v {
        Value::Number(_) => match canonical_number(v) {
            Some(c) => format!("#{c}"),
            None => v.to_string(),
        },
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(loose_json).collect();
            format!("[{}]", items.join(","))
        }
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by_key(|(k, _)| *k);
            let members: Vec<String> = members
                .into_iter()
                .map(|(k, v)| format!("{}:{}", Value::String(k.clone()), loose_json(v)))
                .collect();
            format!("{{{}}}", members.join(","))
        }
        other => other.to_string(),
    }
}

impl Unique {
    pub fn check(&mut self, index: u64, value: &Value, prev: Option<&(u64, Value)>) -> Verdict {
        if let Some((_, p)) = prev {
            let up = match compare(value, p) {
                Some(Ordering::Greater) => Some(true),
                Some(Ordering::Less) => Some(false),
                _ => None,
            };
            match (self.ordered, up) {
                (_, None) => self.broken = true,
                (None, Some(u)) if !self.broken => self.ordered = Some(u),
                (Some(o), Some(u)) if o != u => self.broken = true,
                _ => {}
            }
        }
        if self.dropped {
            return match prev {
                Some((i, p)) if compare(value, p) == Some(Ordering::Equal) => Err((
                    format!("{} repeats message {i}", shown(value)),
                    Some((*i, p.clone())),
                )),
                _ if self.broken => Err((
                    format!(
                        "out of order after more than {UNIQUE_LIMIT} values: uniqueness is checked exactly up to {UNIQUE_LIMIT} unordered values"
                    ),
                    prev.cloned(),
                )),
                _ => Ok(()),
            };
        }
        let first = Key::probes(value)
            .iter()
            .filter_map(|k| self.seen.get(k))
            .min_by_key(|(i, _)| *i);
        if let Some((first, earlier)) = first {
            return Err((
                format!("{} repeats message {first}", shown(value)),
                Some((*first, earlier.clone())),
            ));
        }
        if self.seen.len() < UNIQUE_LIMIT {
            for key in Key::remembered(value) {
                self.seen
                    .entry(key)
                    .or_insert_with(|| (index, value.clone()));
            }
        } else if self.ordered.is_some() && !self.broken {
            self.dropped = true;
            self.seen = HashMap::new();
        } else {
            self.dropped = true;
            self.seen = HashMap::new();
            return Err((
                format!(
                    "more than {UNIQUE_LIMIT} values, not in order: uniqueness is checked exactly up to {UNIQUE_LIMIT} unordered values"
                ),
                None,
            ));
        }
        Ok(())
    }

    /// How many values are remembered.
    #[cfg(test)]
    pub fn remembered(&self) -> usize {
        self.seen.len()
    }
}

/// `fresh: D`: an epoch time within D of the time the message was received.
#[derive(Debug)]
pub struct Fresh {
    pub max: Duration,
}

impl Fresh {
    pub fn check(&self, value: &Value, received_ms: f64) -> Verdict {
        let Some(ms) = epoch_ms(value) else {
            return Err((
                format!(
                    "{} is not an epoch time in seconds or milliseconds",
                    shown(value)
                ),
                None,
            ));
        };
        let age = received_ms - ms;
        if age.abs() <= self.max.as_secs_f64() * 1000.0 {
            return Ok(());
        }
        let words = human_age(Duration::from_secs_f64(age.abs() / 1000.0));
        let when = if age > 0.0 { "old" } else { "in the future" };
        Err((
            format!("{} is {words} {when} when received", shown(value)),
            None,
        ))
    }
}

/// Epoch seconds, milliseconds, microseconds or nanoseconds, told apart by magnitude, as
/// milliseconds: below 10^11 is seconds (10^11 s is the year 5138), below 10^14 milliseconds,
/// below 10^17 microseconds, else nanoseconds.
pub fn epoch_ms(v: &Value) -> Option<f64> {
    let n = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    let magnitude = n.abs();
    Some(if magnitude < 1e11 {
        n * 1000.0
    } else if magnitude < 1e14 {
        n
    } else if magnitude < 1e17 {
        n / 1000.0
    } else {
        n / 1e6
    })
}

/// A value in a reason: compact JSON, cut when long.
fn shown(v: &Value) -> String {
    crate::report::Shown::node(v).to_string()
}

/// A duration as a person writes it: `250ms`, `2s`, `1.5s`, `4m05s`.
pub fn short_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms.is_multiple_of(1000) && ms < 60_000 {
        format!("{}s", ms / 1000)
    } else if ms < 60_000 {
        format!("{}s", (ms as f64 / 1000.0))
    } else {
        crate::duration::format_duration(d)
    }
}

/// `350ms`, `2.50s`, `4m05s`, `3h12m`, `2 days`.
pub fn human_age(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 2 * 86_400 {
        format!("{} days", s / 86_400)
    } else if s >= 3_600 {
        format!("{}h{:02}m", s / 3_600, s % 3_600 / 60)
    } else {
        short_duration(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The message at which `unique` first fails over `values`, and the message it repeats.
    fn first_repeat(values: &[Value]) -> Option<(u64, u64)> {
        let mut u = Unique::default();
        let mut prev: Option<(u64, Value)> = None;
        for (i, v) in values.iter().enumerate() {
            let index = i as u64 + 1;
            if let Err((_, earlier)) = u.check(index, v, prev.as_ref()) {
                return Some((index, earlier.map_or(0, |(e, _)| e)));
            }
            prev = Some((index, v.clone()));
        }
        None
    }

    #[test]
    fn unique_repeats_are_what_eq_calls_equal() {
        assert_eq!(first_repeat(&[json!(1), json!(1.0)]), Some((2, 1)));
        assert_eq!(first_repeat(&[json!(1), json!("1.0")]), Some((2, 1)));
        assert_eq!(
            first_repeat(&[json!("1"), json!(2), json!(1.0)]),
            Some((3, 1))
        );
        // Two strings compare as text under `eq`.
        assert_eq!(first_repeat(&[json!("1"), json!("1.0")]), None);
        assert_eq!(
            first_repeat(&[json!("1"), json!("1.0"), json!("1")]),
            Some((3, 1))
        );
        assert_eq!(
            first_repeat(&[json!([1, {"a": 2}]), json!([1.0, {"a": 2e0}])]),
            Some((2, 1))
        );
        assert_eq!(
            first_repeat(&[json!("9007199254740993"), json!(9007199254740992u64)]),
            None
        );
        assert_eq!(
            first_repeat(&[json!("0.3"), json!("0.30000000000000000001"), json!(0.3)]),
            Some((3, 1))
        );
        assert_eq!(
            first_repeat(&[json!(true), json!("true"), json!(null)]),
            None
        );
    }

    #[test]
    fn consecutive_counts_every_gap_and_lists_the_first() {
        let mut c = Consecutive::default();
        let verdicts: Vec<bool> = [1, 2, 5, 6, 8, 9]
            .iter()
            .enumerate()
            .map(|(i, v)| c.check(i as u64 + 1, &json!(v)).is_ok())
            .collect();
        assert_eq!(verdicts, [true, true, false, true, false, true]);
        assert_eq!(c.gaps, [(3, 4), (7, 7)]);
        assert_eq!((c.gaps_total, c.missing_total), (2, 3));
    }

    #[test]
    fn unique_keeps_no_set_for_values_in_order_past_its_limit() {
        let mut u = Unique::default();
        let mut prev: Option<(u64, Value)> = None;
        for i in 0..(UNIQUE_LIMIT as u64 + 10) {
            let v = json!(i);
            assert!(u.check(i + 1, &v, prev.as_ref()).is_ok());
            prev = Some((i + 1, v));
        }
        assert_eq!(u.remembered(), 0);
        let again = json!(UNIQUE_LIMIT as u64 + 9);
        let (reason, _) = u.check(0, &again, prev.as_ref()).unwrap_err();
        assert!(reason.ends_with("repeats message 100010"), "{reason}");
    }

    #[test]
    fn unique_says_so_when_unordered_values_pass_its_limit() {
        let mut u = Unique::default();
        let mut prev: Option<(u64, Value)> = None;
        let mut last = Ok(());
        for i in 0..(UNIQUE_LIMIT as u64 + 1) {
            // 1, 0, 3, 2, 5, 4, …: unique, but not in order.
            let v = json!(i ^ 1);
            last = u.check(i + 1, &v, prev.as_ref());
            prev = Some((i + 1, v));
        }
        let (reason, _) = last.unwrap_err();
        assert!(reason.contains("checked exactly up to 100000"), "{reason}");
    }

    #[test]
    fn epoch_times_are_told_apart_by_magnitude() {
        assert_eq!(epoch_ms(&json!(1_732_460_000)), Some(1_732_460_000_000.0));
        assert_eq!(
            epoch_ms(&json!(1_732_460_000_123u64)),
            Some(1_732_460_000_123.0)
        );
        assert_eq!(
            epoch_ms(&json!(1_732_460_000_123_456u64)),
            Some(1_732_460_000_123.456)
        );
        assert_eq!(epoch_ms(&json!("1732460000.5")), Some(1_732_460_000_500.0));
    }

    #[test]
    fn strict_order_fails_on_an_equal_value_and_loose_order_does_not() {
        let strict = Monotone {
            up: true,
            order: Order::Strict,
        };
        let loose = Monotone {
            up: true,
            order: Order::Loose,
        };
        let prev = (1, json!(5));
        assert!(strict.check(&json!(5), Some(&prev)).is_err());
        assert!(loose.check(&json!(5), Some(&prev)).is_ok());
        assert!(loose.check(&json!("4.99"), Some(&prev)).is_err());
    }
}
