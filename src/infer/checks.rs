//! From facts to checks: the matcher each always-present path gets, the paths left unchecked
//! (and why), and the stream properties that held.

use serde_json::Value;

use super::sequence::Property;
use super::{Facts, Slot, ENUM_MAX};

/// A matcher for one path of every message, as YAML flow text, with what it was inferred from.
#[derive(Debug, Clone, PartialEq)]
pub struct PathCheck {
    pub path: String,
    pub matcher: String,
    pub why: String,
}

/// A path that gets no matcher, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Unchecked {
    pub path: String,
    pub why: String,
}

/// A property of a path's values across messages.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamNote {
    pub path: String,
    pub property: Property,
}

/// Everything a starter collection says about the messages.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Checks {
    pub json: Vec<PathCheck>,
    pub unchecked: Vec<Unchecked>,
    pub stream: Vec<StreamNote>,
}

/// Fewer values than this tell nothing about how a value moves.
const MIN_FOR_ORDER: u64 = 3;
/// Fewer values than this tell nothing about whether a value repeats.
const MIN_FOR_UNIQUE: u64 = 10;

impl Checks {
    /// The checks that held over every message of `facts`; none when some message is not JSON.
    pub fn of(facts: &Facts) -> Checks {
        let mut checks = Checks::default();
        if facts.json == facts.messages && !facts.slots.is_empty() {
            checks.walk(facts, 0);
        }
        checks
    }

    /// Checks `slot` and what is below it; returns whether anything at or below got a matcher.
    fn walk(&mut self, facts: &Facts, index: usize) -> bool {
        let slot = &facts.slots[index];
        if !facts.always(slot) {
            self.unchecked.push(Unchecked {
                path: slot.path.clone(),
                why: format!(
                    "not in every message (in {} of {})",
                    slot.present, facts.messages
                ),
            });
            return false;
        }
        let mut types = slot.values.types.clone();
        if types.contains("number") {
            types.remove("integer");
        }
        let kind = match types.iter().collect::<Vec<_>>().as_slice() {
            [one] => **one,
            several => {
                let names: Vec<&str> = several.iter().map(|t| **t).collect();
                self.unchecked.push(Unchecked {
                    path: slot.path.clone(),
                    why: format!("several types: {}", names.join(" | ")),
                });
                return false;
            }
        };
        if kind == "object" || kind == "array" {
            let mut below = false;
            for &child in &slot.children {
                below |= self.walk(facts, child);
            }
            if !below {
                self.json.push(PathCheck {
                    path: slot.path.clone(),
                    matcher: format!("{{ type: {kind} }}"),
                    why: String::new(),
                });
            }
            return true;
        }
        self.json.push(scalar_check(facts, slot, kind));
        let property = slot
            .sequence
            .property(MIN_FOR_ORDER)
            .filter(|p| *p != Property::Unique || slot.sequence.values >= MIN_FOR_UNIQUE);
        if let (true, Some(property)) = (slot.singular, property) {
            self.stream.push(StreamNote {
                path: slot.path.clone(),
                property,
            });
        }
        true
    }
}

/// The matcher of a path whose values are all scalars of one type.
fn scalar_check(facts: &Facts, slot: &Slot, kind: &str) -> PathCheck {
    let values = &slot.values;
    let check = |matcher: String, why: String| PathCheck {
        path: slot.path.clone(),
        matcher,
        why,
    };
    let distinct = match values.distinct() {
        Some(n) => format!("{n} distinct values"),
        None => "many distinct values".into(),
    };
    if let Some(c) = values
        .constant()
        .filter(|c| values.count >= 2 && !templated(c))
    {
        let why = if slot.singular {
            format!("the same in all {} messages", facts.messages)
        } else {
            format!("the same in all {} values", values.count)
        };
        return check(super::yaml::yaml_value(c), why);
    }
    if let Some(numeric) = values.numeric_strings() {
        let (regex, comparison) = numeric_matcher(numeric);
        let sign = match comparison {
            ", gt: 0" => ", all positive",
            ", gte: 0" => ", none negative",
            _ => "",
        };
        return check(
            format!(
                "{{ matches: {}{comparison} }}",
                super::yaml::yaml_single(&regex)
            ),
            format!("a number as text; {distinct}{sign}"),
        );
    }
    let few = values.few.as_deref().unwrap_or_default();
    let seen = few
        .iter()
        .map(|(v, n)| format!("{} ×{n}", short(v)))
        .collect::<Vec<_>>()
        .join(", ");
    let enumerable = matches!(kind, "string" | "integer")
        && (2..=ENUM_MAX).contains(&few.len())
        && values.count >= 3 * few.len() as u64
        && !few.iter().any(|(v, _)| templated(v));
    if enumerable {
        let items: Vec<String> = few
            .iter()
            .map(|(v, _)| super::yaml::yaml_value(v))
            .collect();
        return check(
            format!("{{ in: [{}] }}", items.join(", ")),
            format!("only these values: {seen}"),
        );
    }
    let why = if kind == "boolean" && !few.is_empty() {
        seen
    } else {
        distinct
    };
    check(format!("{{ type: {kind} }}"), why)
}

/// The regex and comparison for strings that all hold numbers: `'^\d+\.\d{8}$'`, `, gt: 0`.
fn numeric_matcher(numeric: &super::NumericText) -> (String, &'static str) {
    let sign = if numeric.negative { "-?" } else { "" };
    let decimals: Vec<Option<usize>> = numeric.decimals.iter().copied().collect();
    let fraction = match decimals.as_slice() {
        [None] => String::new(),
        [Some(d)] => format!(r"\.\d{{{d}}}"),
        several if several.contains(&None) => r"(\.\d+)?".into(),
        _ => r"\.\d+".into(),
    };
    let comparison = match (numeric.negative, numeric.zero) {
        (false, false) => ", gt: 0",
        (false, true) => ", gte: 0",
        (true, _) => "",
    };
    (format!(r"^{sign}\d+{fraction}$"), comparison)
}

/// A value written into a collection must not start a template.
fn templated(v: &Value) -> bool {
    v.as_str().is_some_and(|s| s.contains("{{"))
}

/// A value in a comment: its JSON text, cut.
fn short(v: &Value) -> String {
    let text = v.to_string();
    match text.char_indices().nth(24) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}
