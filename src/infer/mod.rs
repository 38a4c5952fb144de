//! What a recording shows about a stream: for every path of its messages, whether it is always
//! there, its types and values, and what held from one message to the next — the facts behind
//! `wsrun new`'s starter collection ([`starter`]).
//!
//! Paths are normalized JSONPaths: `$.a.b`, `$['a b']`, and `[*]` for the items of arrays, so
//! `$.bids[*][0]` is the first element of every bid.

pub mod checks;
pub mod from_asyncapi;
pub mod from_bruno;
pub mod from_har;
pub mod from_insomnia;
pub mod from_postman;
pub mod import;
mod node;
mod sequence;
pub mod starter;
mod yaml;

use std::collections::{BTreeSet, HashSet};
use std::hash::{Hash, Hasher};
use std::time::Duration;

use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use crate::mock::Recording;
pub use node::Node;
pub use sequence::Sequence;

/// How many distinct values a path remembers (with their counts) to call it an enumeration.
pub const ENUM_MAX: usize = 5;
/// Past this many distinct values a path stops counting them (its memory stays bounded).
const DISTINCT_LIMIT: usize = 200_000;

/// What a whole recording showed.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// Messages in the recording.
    pub messages: u64,
    /// Of those, the text messages that are JSON.
    pub json: u64,
    /// Of those, binary messages.
    pub binary: u64,
    /// The recorded time of each message, from the connection opening.
    pub times: Vec<Duration>,
    /// Every path seen; `slots[0]` is the root `$` (when any message is JSON).
    pub slots: Vec<Slot>,
}

/// One path and what it held over the recording.
#[derive(Debug, Clone)]
pub struct Slot {
    pub path: String,
    /// Fields and items, in the order first seen.
    pub children: Vec<usize>,
    /// Whether the path selects at most one node (it has no `[*]`).
    pub singular: bool,
    /// Messages in which the path selected at least one node.
    pub present: u64,
    pub values: Values,
    /// One value per message, for singular paths: how it moved from message to message.
    pub sequence: Sequence,
    last_message: Option<u64>,
}

/// The values a path selected, summed up.
#[derive(Debug, Clone, Default)]
pub struct Values {
    /// How many nodes (over all messages).
    pub count: u64,
    /// Type names (`crate::value::type_name`).
    pub types: BTreeSet<&'static str>,
    /// The first few distinct scalar values with how often each was seen; `None` once there
    /// were more than [`ENUM_MAX`].
    pub few: Option<Vec<(Value, u64)>>,
    /// Hashes of the distinct scalar values (bounded by `DISTINCT_LIMIT`).
    distinct: HashSet<u64>,
    distinct_overflow: bool,
    /// How the strings looked, when every one was a number written as text.
    pub numeric: Option<NumericText>,
    strings: u64,
}

/// Strings that all hold decimal numbers (`"97012.34000000"`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NumericText {
    /// The numbers of decimals seen (`None`: no decimal point).
    pub decimals: BTreeSet<Option<usize>>,
    pub negative: bool,
    pub zero: bool,
}

impl Values {
    fn add(&mut self, node: &Node) {
        self.count += 1;
        let Node::Scalar(v) = node else {
            self.types.insert(match node {
                Node::Object(_) => "object",
                _ => "array",
            });
            return;
        };
        self.types.insert(crate::value::type_name(v));
        if let Some(few) = &mut self.few {
            match few.iter().position(|(seen, _)| seen == v) {
                Some(i) => few[i].1 += 1,
                None if few.len() < ENUM_MAX => few.push((v.clone(), 1)),
                None => self.few = None,
            }
        }
        if !self.distinct_overflow {
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            v.to_string().hash(&mut hasher);
            self.distinct.insert(hasher.finish());
            self.distinct_overflow = self.distinct.len() > DISTINCT_LIMIT;
        }
        if let Value::String(s) = v {
            self.strings += 1;
            let first = self.strings == 1;
            match (numeric_text(s), &mut self.numeric) {
                (Some((decimals, negative, zero)), Some(n)) => {
                    n.decimals.insert(decimals);
                    n.negative |= negative;
                    n.zero |= zero;
                }
                (Some((decimals, negative, zero)), None) if first => {
                    self.numeric = Some(NumericText {
                        decimals: BTreeSet::from([decimals]),
                        negative,
                        zero,
                    });
                }
                _ => self.numeric = None,
            }
        }
    }

    /// The number of distinct scalar values, unless there were too many to count.
    pub fn distinct(&self) -> Option<usize> {
        (!self.distinct_overflow).then_some(self.distinct.len())
    }

    /// The one value seen, when every node held the same scalar.
    pub fn constant(&self) -> Option<&Value> {
        match self.few.as_deref() {
            Some([(v, n)]) if *n == self.count => Some(v),
            _ => None,
        }
    }

    /// Whether every string was numeric (and there were only strings).
    pub fn numeric_strings(&self) -> Option<&NumericText> {
        self.numeric
            .as_ref()
            .filter(|_| self.strings == self.count && self.count > 0)
    }
}

/// `-12.50` → (decimals 2, negative, not zero); `None` for anything but `-?\d+(\.\d+)?`.
fn numeric_text(s: &str) -> Option<(Option<usize>, bool, bool)> {
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let all_digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int) || frac.is_some_and(|f| !all_digits(f)) {
        return None;
    }
    let zero = int
        .bytes()
        .chain(frac.unwrap_or("").bytes())
        .all(|b| b == b'0');
    Some((frac.map(str::len), negative && !zero, zero))
}

impl Facts {
    /// Reads every message of `recording`.
    pub fn of(recording: &Recording) -> Facts {
        let mut facts = Facts {
            times: recording.times().collect(),
            ..Facts::default()
        };
        for message in recording.messages() {
            facts.add(message);
        }
        facts
    }

    /// Takes one more message.
    pub fn add(&mut self, message: &Message) {
        let index = self.messages;
        self.messages += 1;
        let text = match message {
            Message::Text(t) => t.as_str(),
            Message::Binary(_) => {
                self.binary += 1;
                return;
            }
            _ => return,
        };
        let Some(node) = Node::parse(text) else {
            return;
        };
        self.json += 1;
        if self.slots.is_empty() {
            self.slots.push(Slot::new("$".into(), true));
        }
        self.visit(0, &node, index);
    }

    fn visit(&mut self, slot: usize, node: &Node, message: u64) {
        let s = &mut self.slots[slot];
        if s.last_message != Some(message) {
            s.last_message = Some(message);
            s.present += 1;
        }
        s.values.add(node);
        if s.singular {
            if let Node::Scalar(v) = node {
                s.sequence.add(v);
            } else {
                s.sequence.spoil();
            }
        }
        match node {
            Node::Object(fields) => {
                for (key, child) in fields {
                    let c = self.child(slot, &member(key));
                    self.visit(c, child, message);
                }
            }
            Node::Array(items) => {
                if !items.is_empty() {
                    let c = self.child(slot, "[*]");
                    for item in items {
                        self.visit(c, item, message);
                    }
                }
            }
            Node::Scalar(_) => {}
        }
    }

    /// The slot `parent` + `segment`, made on first sight.
    fn child(&mut self, parent: usize, segment: &str) -> usize {
        let path = format!("{}{segment}", self.slots[parent].path);
        if let Some(&c) = self.slots[parent]
            .children
            .iter()
            .find(|&&c| self.slots[c].path == path)
        {
            return c;
        }
        let singular = self.slots[parent].singular && segment != "[*]";
        self.slots.push(Slot::new(path, singular));
        let c = self.slots.len() - 1;
        self.slots[parent].children.push(c);
        c
    }

    /// Whether a slot was there in every message.
    pub fn always(&self, slot: &Slot) -> bool {
        slot.present == self.messages
    }
}

impl Slot {
    fn new(path: String, singular: bool) -> Self {
        Slot {
            path,
            children: Vec::new(),
            singular,
            present: 0,
            values: Values {
                few: Some(Vec::new()),
                ..Values::default()
            },
            sequence: Sequence::default(),
            last_message: None,
        }
    }
}

/// `.name` for a plain member name, `['odd name']` otherwise (RFC 9535 normalized form).
fn member(key: &str) -> String {
    let plain = key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        return format!(".{key}");
    }
    let mut out = String::from("['");
    for c in key.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push_str("']");
    out
}

#[cfg(test)]
mod tests;
