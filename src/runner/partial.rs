//! Parsing a message only as far as a step's paths read it: the top-level members they start
//! with, the rest validated and skipped (the per-message hot path of `expect`/`wait_for`).
//!
//! Measured in bench/ (`parsecost`): building a whole `serde_json::Value` per message was ~80%
//! of the CLI's time on a firehose, and most of it went to members no path reads.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::jsonpath::JsonPath;

/// Parses messages for a set of paths. When every path reads one top-level member
/// ([`JsonPath::member`]), the document it gives is an object with just those members of the
/// message (the ones present), and every such path selects the same nodes from it as from the
/// whole message; otherwise it is the whole message. Either way a text is accepted or refused
/// exactly as `serde_json::from_str::<Value>` would (same checks, same errors): skipped members
/// go through the same parser, into nothing.
///
/// The document is kept between messages and overwritten in place, so a stream of messages of
/// one shape allocates nothing per message for its members' strings and numbers.
pub struct Partial {
    /// The members to keep, or `None` for the whole message.
    names: Option<Vec<Box<str>>>,
    doc: Value,
    /// Bit `i`: `names[i]` is in `doc`; `None` when `doc` is not an object of picked members
    /// (before the first message, after an error, after a whole parse).
    present: Option<u64>,
}

/// Past this many distinct members a step parses whole messages (the presence bits are a `u64`).
const MAX_MEMBERS: usize = 64;

impl Partial {
    /// A parser for `paths`: members only if each of them reads one member.
    pub fn for_paths<'p>(paths: impl IntoIterator<Item = &'p JsonPath>) -> Self {
        let mut names: Vec<Box<str>> = Vec::new();
        for path in paths {
            match path.member() {
                Some(name) if names.iter().any(|n| &**n == name) => {}
                Some(name) if names.len() < MAX_MEMBERS && name != RAW_VALUE_KEY => {
                    names.push(name.into())
                }
                _ => return Self::whole(),
            }
        }
        Self {
            names: Some(names),
            doc: Value::Null,
            present: None,
        }
    }

    /// A parser of whole messages.
    pub fn whole() -> Self {
        Self {
            names: None,
            doc: Value::Null,
            present: None,
        }
    }

    /// Whether it parses whole messages.
    pub fn is_whole(&self) -> bool {
        self.names.is_none()
    }

    /// The document of the last text parsed successfully.
    pub fn doc(&self) -> &Value {
        &self.doc
    }

    /// Parses `text`: the document holds the members the paths read, or all of it.
    pub fn parse(&mut self, text: &str) -> Result<&Value, serde_json::Error> {
        let Some(names) = &self.names else {
            self.doc = serde_json::from_str(text)?;
            return Ok(&self.doc);
        };
        let present = match self.present {
            Some(bits) => bits,
            None => {
                self.doc = Value::Object(Map::new());
                0
            }
        };
        // Until this message is read through, the document is neither the last one nor this one.
        self.present = None;
        let Value::Object(map) = &mut self.doc else {
            unreachable!("an object whenever `present` is set, and made one above otherwise")
        };
        let mut de = serde_json::Deserializer::from_str(text);
        let picked = Members { names, map }.deserialize(&mut de);
        let picked = picked.and_then(|seen| de.end().map(|()| seen));
        match picked {
            Ok(Some(seen)) => {
                // Members the previous message had and this one lacks.
                let mut gone = present & !seen;
                while gone != 0 {
                    let i = gone.trailing_zeros() as usize;
                    map.remove(&*names[i]);
                    gone &= gone - 1;
                }
                self.present = Some(seen);
                Ok(&self.doc)
            }
            // Not an object (an array, a scalar: rare), or serde_json's raw-value key: the whole
            // message, parsed by `Value` itself.
            Ok(None) => self.parse_whole(text),
            Err(e) if e.to_string().starts_with(RAW_VALUE_KEY) => self.parse_whole(text),
            Err(e) => Err(e),
        }
    }

    fn parse_whole(&mut self, text: &str) -> Result<&Value, serde_json::Error> {
        self.doc = serde_json::from_str(text)?;
        Ok(&self.doc)
    }
}

/// serde_json's `Value` reads an object whose first key is this one (its private raw-value
/// marker, with the `raw_value` feature) as the JSON text held in its value. Where it appears,
/// parsing stops with an error starting with this text and the whole message is parsed by
/// `Value`, so that even this behaves alike.
const RAW_VALUE_KEY: &str = "$serde_json::private::RawValue";

/// The root of a message: for an object, keeps the wanted members (returns which were seen); for
/// anything else, validates it and returns `None`.
struct Members<'a> {
    names: &'a [Box<str>],
    map: &'a mut Map<String, Value>,
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
                Key::Wanted(i) => {
                    let name = &*self.names[i];
                    // Duplicate keys: the last one wins, as in `Value`.
                    match self.map.get_mut(name) {
                        Some(slot) => access.next_value_seed(Overwrite(slot))?,
                        None => {
                            let value = access.next_value::<Value>()?;
                            self.map.insert(name.to_string(), value);
                        }
                    }
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

/// A key: which wanted name it is, if one, without allocating it.
struct Wanted<'a>(&'a [Box<str>]);

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
        Ok(match self.0.iter().position(|n| **n == *key) {
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
        while let Some(key) = access.next_key_seed(Wanted(&[]))? {
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
