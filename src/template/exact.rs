//! Numbers a collection writes with more digits than a double holds (integers past 64 bits,
//! decimals of more than 17 significant digits), kept as written so that a `json` message sends
//! them as written.
//!
//! Why not serde_json's `arbitrary_precision`? It would not be enough: the YAML loader hands
//! such a number over as a double, its digits already gone. And it makes every received number
//! a heap string (see `matcher::number`). So the loader reads each scalar with its place in the
//! file ([`Spanned`]), and a number the double would change keeps the file's own text.

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use serde_saphyr::Spanned;

use super::{SyntaxError, TValue};

thread_local! {
    /// The YAML text being loaded, for the spans of its scalars.
    static SOURCE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Runs `load` (a YAML deserialisation of `text`) so that the numbers it reads into templated
/// values keep their digits.
pub fn reading<T>(text: &str, load: impl FnOnce() -> T) -> T {
    let before = SOURCE.with(|s| s.replace(Some(text.to_owned())));
    let out = load();
    SOURCE.with(|s| *s.borrow_mut() = before);
    out
}

/// A number as the collection wrote it, and the double that stands for it in comparisons.
#[derive(Debug, Clone, PartialEq)]
pub struct ExactNumber {
    pub text: Box<str>,
    pub approx: f64,
}

/// A value read from YAML with its long numbers written out.
enum Node {
    Leaf(Value),
    Exact(ExactNumber),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

impl Node {
    fn has_exact(&self) -> bool {
        match self {
            Node::Leaf(_) => false,
            Node::Exact(_) => true,
            Node::Seq(items) => items.iter().any(Node::has_exact),
            Node::Map(fields) => fields.iter().any(|(_, v)| v.has_exact()),
        }
    }

    fn into_value(self) -> Value {
        match self {
            Node::Leaf(v) => v,
            Node::Exact(n) => Value::from(n.approx),
            Node::Seq(items) => Value::Array(items.into_iter().map(Node::into_value).collect()),
            Node::Map(fields) => {
                let mut map = Map::with_capacity(fields.len());
                for (k, v) in fields {
                    map.insert(k, v.into_value());
                }
                Value::Object(map)
            }
        }
    }

    /// The node read; for a double that the file wrote with more digits than it keeps, that
    /// text from the file (at the node's span).
    fn from_spanned(spanned: Spanned<Node>) -> Node {
        let Node::Leaf(Value::Number(n)) = &spanned.value else {
            return spanned.value;
        };
        let Some(approx) = n.as_f64().filter(|_| n.is_f64()) else {
            return spanned.value;
        };
        let span = spanned.defined.span();
        let (Some(at), Some(len)) = (span.byte_offset(), span.byte_len()) else {
            return spanned.value;
        };
        let written = SOURCE.with(|s| {
            let s = s.borrow();
            let text = s.as_deref()?;
            let from = usize::try_from(at).ok()?;
            let to = from.checked_add(usize::try_from(len).ok()?)?;
            text.get(from..to).map(str::to_owned)
        });
        match written {
            Some(text) if is_long_json_number(&text) => Node::Exact(ExactNumber {
                text: text.into(),
                approx,
            }),
            _ => spanned.value,
        }
    }
}

/// JSON number syntax with more significant digits than a double's 17, or an integer (a number
/// that reached us as a double because it is past 64 bits).
fn is_long_json_number(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let int_start = i;
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    let int = &b[int_start..i];
    if int.is_empty() || (int.len() > 1 && int[0] == b'0') {
        return false;
    }
    let mut frac: &[u8] = &[];
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        frac = &b[start..i];
        if frac.is_empty() {
            return false;
        }
    }
    let mut exponent = false;
    if matches!(b.get(i), Some(b'e' | b'E')) {
        exponent = true;
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    if i != b.len() {
        return false;
    }
    let significant = int.iter().chain(frac).skip_while(|&&d| d == b'0').count();
    significant > 17 || (frac.is_empty() && !exponent)
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Leaf(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Leaf(Value::from(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Leaf(Value::from(v)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        // As serde_json's `Value` reads it: a non-finite double is null.
        Ok(Node::Leaf(Value::from(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Leaf(Value::String(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::Leaf(Value::String(v)))
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Leaf(Value::Null))
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Leaf(Value::Null))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element::<Spanned<Node>>()? {
            items.push(Node::from_spanned(item));
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut fields: Vec<(String, Node)> = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, Spanned<Node>>()? {
            let v = Node::from_spanned(v);
            // A repeated key: the last one wins, in the first one's place, as in `Value`.
            match fields.iter_mut().find(|(have, _)| *have == k) {
                Some(slot) => slot.1 = v,
                None => fields.push((k, v)),
            }
        }
        Ok(Node::Map(fields))
    }
}

impl TValue {
    /// Whether a number inside is kept as written ([`TValue::expand_json`] sends it so).
    pub fn has_exact(&self) -> bool {
        match self {
            TValue::Exact(_) => true,
            TValue::Array(items) => items.iter().any(TValue::has_exact),
            TValue::Object(fields) => fields.iter().any(|(_, v)| v.has_exact()),
            TValue::Literal(_) | TValue::Template(_) => false,
        }
    }

    /// The value expanded, as compact JSON text with its long numbers as written (what
    /// `expand(..).to_string()` is for a value without them).
    pub fn expand_json(&self, scope: &dyn super::Lookup) -> Result<String, super::TemplateError> {
        if !self.has_exact() {
            return Ok(self.expand(scope)?.to_string());
        }
        let mut out = String::new();
        self.write_json(scope, &mut out)?;
        Ok(out)
    }

    fn write_json(
        &self,
        scope: &dyn super::Lookup,
        out: &mut String,
    ) -> Result<(), super::TemplateError> {
        match self {
            TValue::Exact(n) => out.push_str(&n.text),
            TValue::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write_json(scope, out)?;
                }
                out.push(']');
            }
            TValue::Object(fields) => {
                out.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push(':');
                    v.write_json(scope, out)?;
                }
                out.push('}');
            }
            TValue::Literal(_) | TValue::Template(_) => {
                out.push_str(&self.expand(scope)?.to_string())
            }
        }
        Ok(())
    }
}

/// Reads a templated value, its long numbers kept as written.
pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<TValue, D::Error> {
    let node = Node::from_spanned(Spanned::<Node>::deserialize(d)?);
    compile(node).map_err(de::Error::custom)
}

fn compile(node: Node) -> Result<TValue, SyntaxError> {
    if !node.has_exact() {
        return TValue::compile(node.into_value());
    }
    Ok(match node {
        Node::Exact(n) => TValue::Exact(n),
        Node::Seq(items) => {
            TValue::Array(items.into_iter().map(compile).collect::<Result<_, _>>()?)
        }
        Node::Map(fields) => TValue::Object(
            fields
                .into_iter()
                .map(|(k, v)| Ok((k, compile(v)?)))
                .collect::<Result<_, SyntaxError>>()?,
        ),
        Node::Leaf(v) => TValue::compile(v)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_numbers_are_the_ones_a_double_would_change() {
        for long in [
            "12345678901234567890123",
            "-18446744073709551616",
            "0.123456789012345678901234567890",
            "1234567890.12345678901e-3",
        ] {
            assert!(is_long_json_number(long), "{long}");
        }
        // Doubles as written, or not JSON's syntax (YAML's own spellings go out as doubles).
        for short in [
            "1.5",
            "1.5e3",
            "0.1",
            "-0.0",
            "1e400",
            "0.12345678901234567",
            ".5",
            "+1",
            "1.",
            "01",
            "1_000",
            "0x10",
            ".inf",
            "",
        ] {
            assert!(!is_long_json_number(short), "{short}");
        }
    }
}
