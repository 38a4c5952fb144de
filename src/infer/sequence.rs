//! How one value per message moved over a recording: up, down, by one, never repeating — the
//! stream properties a starter collection suggests.

use std::collections::HashSet;

use serde_json::Value;

/// Past this many values, uniqueness is no longer tracked (memory stays bounded).
const UNIQUE_LIMIT: usize = 200_000;

/// The values of a singular path, one per message, in order.
#[derive(Debug, Clone)]
pub struct Sequence {
    /// False once a value was not a number (or the path held an object or array).
    numeric: bool,
    previous: Option<f64>,
    previous_int: Option<i128>,
    changes: u64,
    pub values: u64,
    up: bool,
    up_strict: bool,
    down: bool,
    down_strict: bool,
    by_one: bool,
    /// Integers and non-numeric strings seen, for `unique`; `None` once one repeated or the
    /// values were of another kind.
    seen: Option<HashSet<String>>,
    unique_kind: Option<u8>,
}

impl Default for Sequence {
    fn default() -> Self {
        Self {
            numeric: true,
            previous: None,
            previous_int: None,
            changes: 0,
            values: 0,
            up: true,
            up_strict: true,
            down: true,
            down_strict: true,
            by_one: true,
            seen: Some(HashSet::new()),
            unique_kind: None,
        }
    }
}

/// A property that held over every message of a recording, in the terms of `stream:` checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Property {
    /// Each value is the previous one plus 1.
    Consecutive,
    /// Each value is greater than the previous one.
    IncreasingStrict,
    /// No value is less than the previous one (and some are greater).
    Increasing,
    DecreasingStrict,
    Decreasing,
    /// No value appears twice.
    Unique,
}

impl Property {
    /// The `stream:` check that would hold, as YAML flow text.
    pub fn check(self) -> &'static str {
        match self {
            Self::Consecutive => "{ increasing: strict, consecutive: true }",
            Self::IncreasingStrict => "{ increasing: strict }",
            Self::Increasing => "{ increasing: true }",
            Self::DecreasingStrict => "{ decreasing: strict }",
            Self::Decreasing => "{ decreasing: true }",
            Self::Unique => "{ unique: true }",
        }
    }

    /// What was seen, in words (`$.t increases by 1 each message (consecutive)`).
    pub fn describe(self) -> &'static str {
        match self {
            Self::Consecutive => "increases by 1 each message (consecutive)",
            Self::IncreasingStrict => "increases with every message (increasing: strict)",
            Self::Increasing => "never decreases (increasing)",
            Self::DecreasingStrict => "decreases with every message (decreasing: strict)",
            Self::Decreasing => "never increases (decreasing)",
            Self::Unique => "never repeats a value (unique)",
        }
    }
}

impl Sequence {
    pub(super) fn add(&mut self, v: &Value) {
        self.values += 1;
        self.track_unique(v);
        let Some(x) = v.as_f64().filter(|_| self.numeric) else {
            self.numeric = false;
            return;
        };
        let int = v
            .as_i64()
            .map(i128::from)
            .or_else(|| v.as_u64().map(i128::from));
        if let Some(prev) = self.previous {
            if x != prev {
                self.changes += 1;
            }
            self.up &= x >= prev;
            self.up_strict &= x > prev;
            self.down &= x <= prev;
            self.down_strict &= x < prev;
            self.by_one &= matches!((int, self.previous_int), (Some(i), Some(p)) if i == p + 1);
        }
        self.previous = Some(x);
        self.previous_int = int;
    }

    fn track_unique(&mut self, v: &Value) {
        // Integers, or strings that are not numbers (ids), all of one kind.
        let (kind, key) = match v {
            Value::Number(n) if n.is_i64() || n.is_u64() => (1, n.to_string()),
            Value::String(s) if s.parse::<f64>().is_err() => (2, s.clone()),
            _ => (0, String::new()),
        };
        if kind == 0 || self.unique_kind.is_some_and(|k| k != kind) {
            self.seen = None;
            return;
        }
        self.unique_kind = Some(kind);
        if let Some(seen) = &mut self.seen {
            if !seen.insert(key) || seen.len() > UNIQUE_LIMIT {
                self.seen = None;
            }
        }
    }

    /// The path held something other than a scalar: no property holds.
    pub(super) fn spoil(&mut self) {
        self.values += 1;
        self.numeric = false;
        self.seen = None;
    }

    /// The strongest property that held over at least `min` values, if any.
    pub fn property(&self, min: u64) -> Option<Property> {
        if self.values < min {
            return None;
        }
        if self.numeric && self.changes > 0 {
            let ordered = [
                (self.by_one && self.up_strict, Property::Consecutive),
                (self.up_strict, Property::IncreasingStrict),
                (self.up, Property::Increasing),
                (self.down_strict, Property::DecreasingStrict),
                (self.down, Property::Decreasing),
            ];
            if let Some((_, p)) = ordered.into_iter().find(|(held, _)| *held) {
                return Some(p);
            }
        }
        self.seen.as_ref().map(|_| Property::Unique)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn of(values: &[Value]) -> Option<Property> {
        let mut s = Sequence::default();
        values.iter().for_each(|v| s.add(v));
        s.property(3)
    }

    #[test]
    fn the_strongest_property_is_named() {
        assert_eq!(
            of(&[json!(7), json!(8), json!(9)]),
            Some(Property::Consecutive)
        );
        assert_eq!(
            of(&[json!(7), json!(9), json!(12)]),
            Some(Property::IncreasingStrict)
        );
        assert_eq!(
            of(&[json!(7), json!(7), json!(12)]),
            Some(Property::Increasing)
        );
        assert_eq!(
            of(&[json!(3.5), json!(2.5), json!(1)]),
            Some(Property::DecreasingStrict)
        );
        assert_eq!(of(&[json!(3), json!(1), json!(2)]), Some(Property::Unique));
        assert_eq!(
            of(&[json!("a1"), json!("b2"), json!("c3")]),
            Some(Property::Unique)
        );
    }

    #[test]
    fn nothing_holds_for_repeats_constants_few_values_or_numeric_text() {
        assert_eq!(of(&[json!(3), json!(1), json!(3)]), None);
        assert_eq!(of(&[json!(5), json!(5), json!(5)]), None);
        assert_eq!(of(&[json!(1), json!(2)]), None);
        assert_eq!(of(&[json!("1.5"), json!("2.5"), json!("0.5")]), None);
        assert_eq!(
            of(&[json!(1), json!("x"), json!(3)]),
            None,
            "mixed kinds are not a sequence"
        );
    }
}
