//! Parsing a message only as far as a step's paths read it: the top-level members they start
//! with, the rest validated and skipped (the per-message hot path of `expect`/`wait_for`).
//!
//! Measured in bench/ (`parsecost`): building a whole `serde_json::Value` per message was ~80%
//! of the CLI's time on a firehose, and most of it went to members no path reads.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::jsonpath::JsonPath;

mod scan;

/// Parses messages for a set of paths. When every path reads one top-level member
/// ([`JsonPath::member`]), it keeps just those members of the message (the ones present), and
/// every such path selects the same nodes from them as from the whole message; otherwise it
/// keeps the whole message. Either way a text is accepted or refused exactly as
/// `serde_json::from_str::<Value>` would (same checks, same errors): skipped members go through
/// the same parser, into nothing.
///
/// The members live in one slot each, kept between messages and overwritten in place, so a
/// stream of messages of one shape allocates nothing per message for its members' strings and
/// numbers, and a path of names and indices ([`Partial::select`]) reaches its member without a
/// map lookup. [`Partial::doc`] makes the object of the members when something needs a
/// document (another kind of path, a failure to show).
pub struct Partial {
    /// The members to keep, or `None` for the whole message.
    names: Option<Names>,
    /// The member of each path given to [`Partial::for_paths`], in their order.
    order: Vec<usize>,
    /// The value of `names[i]` in the last message, if bit `i` of `present` is set.
    slots: Vec<Value>,
    present: u64,
    /// Where the scan found each member's value in the text.
    found: Vec<scan::Found>,
    /// The whole message (when keeping it whole, or when the last one was not an object), or
    /// the object of the members, made by [`Partial::doc`].
    doc: Value,
    /// What `doc` holds.
    state: DocState,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum DocState {
    /// Nothing of the last message (none parsed, or the last text was refused).
    Stale,
    /// The last message whole.
    Whole,
    /// The last message's members are in the slots; `doc` is an older object of members.
    InSlots,
    /// The last message's members are in the slots and in `doc`.
    Both,
}

/// Past this many distinct members a step parses whole messages (the presence bits are a `u64`).
const MAX_MEMBERS: usize = 64;

impl Partial {
    /// A parser for `paths`: members only if each of them reads one member.
    pub fn for_paths<'p>(paths: impl IntoIterator<Item = &'p JsonPath>) -> Self {
        let mut names: Vec<Box<str>> = Vec::new();
        let mut order = Vec::new();
        for path in paths {
            match path.member() {
                Some(name) if names.iter().any(|n| &**n == name) => {
                    order.push(names.iter().position(|n| &**n == name).unwrap_or_default())
                }
                Some(name) if names.len() < MAX_MEMBERS && name != RAW_VALUE_KEY => {
                    order.push(names.len());
                    names.push(name.into())
                }
                _ => return Self::whole(),
            }
        }
        Self {
            order,
            slots: vec![Value::Null; names.len()],
            found: vec![scan::Found::default(); names.len()],
            names: Some(Names::new(names)),
            present: 0,
            doc: Value::Null,
            state: DocState::Stale,
        }
    }

    /// A parser of whole messages.
    pub fn whole() -> Self {
        Self {
            order: Vec::new(),
            names: None,
            slots: Vec::new(),
            found: Vec::new(),
            present: 0,
            doc: Value::Null,
            state: DocState::Stale,
        }
    }

    /// Whether it parses whole messages.
    pub fn is_whole(&self) -> bool {
        self.names.is_none()
    }

    /// Parses `text`, keeping the members the paths read, or all of it.
    pub fn parse(&mut self, text: &str) -> Result<(), serde_json::Error> {
        self.state = DocState::Stale;
        let Some(names) = &self.names else {
            return self.parse_whole(text);
        };
        // The quick scan, when it is sure; serde_json for everything else, and for every error.
        if let Some(seen) = scan::members(text, names, &mut self.found) {
            if read_members(text, seen, &self.found, &mut self.slots).is_some() {
                self.present = seen;
                self.state = DocState::InSlots;
                return Ok(());
            }
        }
        let mut de = serde_json::Deserializer::from_str(text);
        let picked = Members {
            names,
            slots: &mut self.slots,
        }
        .deserialize(&mut de);
        match picked.and_then(|seen| de.end().map(|()| seen)) {
            Ok(Some(seen)) => {
                self.present = seen;
                self.state = DocState::InSlots;
                Ok(())
            }
            // Not an object (an array, a scalar: rare), or serde_json's raw-value key: the whole
            // message, parsed by `Value` itself.
            Ok(None) => self.parse_whole(text),
            Err(e) if e.to_string().starts_with(RAW_VALUE_KEY) => self.parse_whole(text),
            Err(e) => Err(e),
        }
    }

    fn parse_whole(&mut self, text: &str) -> Result<(), serde_json::Error> {
        self.doc = serde_json::from_str(text)?;
        self.state = DocState::Whole;
        Ok(())
    }

    /// The node a path of names and indices selects in the last message, found without making
    /// the document; `None` for other paths (ask [`Partial::doc`]).
    pub fn select(&self, path: &JsonPath) -> Option<Option<&Value>> {
        match self.state {
            DocState::Stale => None,
            DocState::Whole => path.walk(&self.doc),
            DocState::InSlots | DocState::Both => {
                let i = self.names.as_ref()?.find(path.member()?)?;
                match self.present & (1 << i) {
                    0 => path.walk_member(None),
                    _ => path.walk_member(Some(&self.slots[i])),
                }
            }
        }
    }

    /// As [`Partial::select`], for the `k`th of the paths given to [`Partial::for_paths`]: its
    /// member known already, not looked up by name.
    pub fn select_nth(&self, k: usize, path: &JsonPath) -> Option<Option<&Value>> {
        match (self.state, self.order.get(k)) {
            (DocState::InSlots | DocState::Both, Some(&i)) => {
                debug_assert_eq!(
                    self.names.as_ref().map(|n| &*n.list[i]),
                    path.member(),
                    "the paths are not the ones given to for_paths"
                );
                path.walk_member((self.present & (1 << i) != 0).then(|| &self.slots[i]))
            }
            _ => self.select(path),
        }
    }

    /// The last message parsed, as a document: whole, or an object of the members the paths
    /// read. (`Null` before the first message and after a refused one.)
    pub fn doc(&mut self) -> &Value {
        static NOTHING: Value = Value::Null;
        match self.state {
            DocState::Stale => &NOTHING,
            DocState::InSlots => {
                self.members_to_doc();
                self.state = DocState::Both;
                &self.doc
            }
            DocState::Whole | DocState::Both => &self.doc,
        }
    }

    /// Makes `doc` the object of the members in the slots, reusing its map and strings.
    fn members_to_doc(&mut self) {
        let Some(names) = &self.names else { return };
        if !self.doc.is_object() {
            self.doc = Value::Object(Map::new());
        }
        let Value::Object(map) = &mut self.doc else {
            unreachable!("made an object just above")
        };
        for (i, name) in names.list.iter().enumerate() {
            let name = &**name;
            if self.present & (1 << i) == 0 {
                map.remove(name);
                continue;
            }
            match map.get_mut(name) {
                Some(kept) => assign(kept, &self.slots[i]),
                None => {
                    map.insert(name.to_string(), self.slots[i].clone());
                }
            }
        }
    }
}

/// Reads the values the scan found into their slots: strings without escapes, literals and
/// integers of up to 18 digits directly (as serde_json would read them), anything else by
/// serde_json itself. `None` if serde_json refuses one (the scan should have been unsure).
fn read_members(text: &str, seen: u64, found: &[scan::Found], slots: &mut [Value]) -> Option<()> {
    let mut bits = seen;
    while bits != 0 {
        let i = bits.trailing_zeros() as usize;
        bits &= bits - 1;
        let f = found[i];
        read_value(&text[f.start..f.end], f.plain, &mut slots[i])?;
    }
    Some(())
}

/// One value the scan found, into `slot`; `plain`: a string without escapes.
fn read_value(text: &str, plain: bool, slot: &mut Value) -> Option<()> {
    let b = text.as_bytes();
    // Up to 18 digits: no overflow, in one pass.
    let digits = |d: &[u8]| -> Option<u64> {
        if d.is_empty() || d.len() > 18 {
            return None;
        }
        d.iter().try_fold(0u64, |n, &c| {
            let digit = c.wrapping_sub(b'0');
            (digit < 10).then(|| n * 10 + u64::from(digit))
        })
    };
    match b.first()? {
        b'"' if plain => {
            let s = &text[1..text.len() - 1];
            match slot {
                Value::String(kept) => {
                    kept.clear();
                    kept.push_str(s);
                }
                other => *other = Value::String(s.to_string()),
            }
        }
        b't' => *slot = Value::Bool(true),
        b'f' => *slot = Value::Bool(false),
        b'n' => *slot = Value::Null,
        // serde_json: a non-negative integer that fits is a u64; a negative one an i64 (but
        // `-0` a float).
        b'0'..=b'9' => match digits(b) {
            Some(n) => *slot = Value::from(n),
            None => *slot = serde_json::from_str(text).ok()?,
        },
        b'-' => match digits(&b[1..]) {
            Some(n) if n != 0 => *slot = Value::from(-(n as i64)),
            _ => *slot = serde_json::from_str(text).ok()?,
        },
        _ => *slot = serde_json::from_str(text).ok()?,
    }
    Some(())
}

/// `*to = from.clone()`, reusing `to`'s buffer when both are strings.
fn assign(to: &mut Value, from: &Value) {
    match (to, from) {
        (Value::String(to), Value::String(from)) => to.clone_from(from),
        (to, from) => *to = from.clone(),
    }
}

/// serde_json's `Value` reads an object whose first key is this one (its private raw-value
/// marker, with the `raw_value` feature) as the JSON text held in its value. Where it appears,
/// parsing stops with an error starting with this text and the whole message is parsed by
/// `Value`, so that even this behaves alike.
const RAW_VALUE_KEY: &str = "$serde_json::private::RawValue";

/// The root of a message: for an object, puts the wanted members in their slots and returns
/// which were seen; for anything else, validates it and returns `None`.
struct Members<'a> {
    names: &'a Names,
    slots: &'a mut [Value],
}

impl<'de> DeserializeSeed<'de> for Members<'_> {
    type Value = Option<u64>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Members<'_> {
    type Value = Option<u64>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("JSON")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Option<u64>, A::Error> {
        let mut seen = 0u64;
        let mut first = true;
        while let Some(key) = access.next_key_seed(Wanted(self.names))? {
            match key {
                // Duplicate keys: the last one wins, as in `Value`.
                Key::Wanted(i) => {
                    access.next_value_seed(Overwrite(&mut self.slots[i]))?;
                    seen |= 1 << i;
                }
                Key::RawValue if first => return Err(raw_value_key()),
                Key::Other | Key::RawValue => access.next_value_seed(Skip)?,
            }
            first = false;
        }
        Ok(Some(seen))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<Option<u64>, A::Error> {
        while access.next_element_seed(Skip)?.is_some() {}
        Ok(None)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Option<u64>, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Option<u64>, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Option<u64>, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Option<u64>, E> {
        Ok(None)
    }
    fn visit_str<E>(self, _: &str) -> Result<Option<u64>, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Option<u64>, E> {
        Ok(None)
    }
}

fn raw_value_key<E: serde::de::Error>() -> E {
    E::custom(RAW_VALUE_KEY)
}

/// What a key is to [`Members`].
enum Key {
    Wanted(usize),
    Other,
    RawValue,
}

/// The names of the members to keep, and which of them a key is.
struct Names {
    list: Vec<Box<str>>,
    /// Which name a one-byte key is (`index + 1`, 0 for none), and the lengths of the other
    /// names (bit `n`: a name of `n` bytes, 63 for longer): most keys are told apart with a
    /// load or two. Measured: comparing every key with every name through `memcmp` took 16% of
    /// the CLI's time on a firehose of one-letter keys.
    one_byte: [u8; 128],
    lengths: u64,
}

impl Names {
    const NONE: Names = Names {
        list: Vec::new(),
        one_byte: [0; 128],
        lengths: 0,
    };

    fn new(list: Vec<Box<str>>) -> Self {
        let mut one_byte = [0; 128];
        let mut lengths = 0;
        for (i, name) in list.iter().enumerate() {
            match name.as_bytes() {
                // At most 64 names (MAX_MEMBERS), so `i + 1` fits a byte.
                [b] if b.is_ascii() => one_byte[usize::from(*b)] = i as u8 + 1,
                _ => lengths |= 1 << name.len().min(63),
            }
        }
        Self {
            list,
            one_byte,
            lengths,
        }
    }

    #[inline]
    fn find(&self, key: &str) -> Option<usize> {
        self.find_bytes(key.as_bytes())
    }

    /// As [`Names::find`], for a key's UTF-8 bytes.
    #[inline]
    fn find_bytes(&self, key: &[u8]) -> Option<usize> {
        match key {
            [b] if b.is_ascii() => self.one_byte[usize::from(*b)]
                .checked_sub(1)
                .map(usize::from),
            _ if self.lengths & 1 << key.len().min(63) == 0 => None,
            _ => self.list.iter().position(|n| n.as_bytes() == key),
        }
    }
}

/// A key: which wanted name it is, if one, without allocating it.
struct Wanted<'a>(&'a Names);

impl<'de> DeserializeSeed<'de> for Wanted<'_> {
    type Value = Key;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Key, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Wanted<'_> {
    type Value = Key;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E>(self, key: &str) -> Result<Key, E> {
        Ok(match self.0.find(key) {
            Some(i) => Key::Wanted(i),
            None if key == RAW_VALUE_KEY => Key::RawValue,
            None => Key::Other,
        })
    }
}

/// A value nobody reads: parsed as `Value` would parse it — the same checks (escapes, nesting
/// depth, numbers), so the same texts fail with the same errors — but kept nowhere.
/// (`serde::de::IgnoredAny` is faster but lets through what `Value` refuses: a lone surrogate
/// `"\ud800"`, nesting past serde_json's 128 levels.)
#[derive(Clone, Copy)]
struct Skip;

impl<'de> DeserializeSeed<'de> for Skip {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<(), A::Error> {
        while access.next_element_seed(Skip)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<(), A::Error> {
        let mut first = true;
        while let Some(key) = access.next_key_seed(Wanted(&Names::NONE))? {
            if first && matches!(key, Key::RawValue) {
                return Err(raw_value_key());
            }
            first = false;
            access.next_value_seed(Skip)?;
        }
        Ok(())
    }
}

/// Parses a value into `slot`, reusing a string's buffer when both are strings; anything else
/// is built as `Value` builds it.
struct Overwrite<'a>(&'a mut Value);

impl<'de> DeserializeSeed<'de> for Overwrite<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Overwrite<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        *self.0 = Value::Bool(v);
        Ok(())
    }
    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        *self.0 = Value::from(v);
        Ok(())
    }
    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        *self.0 = Value::from(v);
        Ok(())
    }
    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        // As serde_json's own visitor: a float that is not finite cannot come from JSON text.
        *self.0 = serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number);
        Ok(())
    }
    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        match self.0 {
            Value::String(s) => {
                s.clear();
                s.push_str(v);
            }
            other => *other = Value::String(v.to_string()),
        }
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        *self.0 = Value::Null;
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<(), A::Error> {
        let mut items = Vec::new();
        while let Some(item) = access.next_element::<Value>()? {
            items.push(item);
        }
        *self.0 = Value::Array(items);
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<(), A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if map.is_empty() && key == RAW_VALUE_KEY {
                return Err(raw_value_key());
            }
            map.insert(key, access.next_value::<Value>()?);
        }
        *self.0 = Value::Object(map);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
