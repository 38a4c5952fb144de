//! RFC 9535 JSONPath: compiled once at load time, evaluated per message.
//!
//! Backed by `serde_json_path` (703/703 on the RFC 9535 compliance suite, see README), with a
//! fast path for the plain `$.a.b[0]` chains that make up most assertions: those are walked
//! directly with no allocation.

use std::fmt;

use serde_json::Value;

/// A compiled JSONPath query.
#[derive(Clone)]
pub struct JsonPath {
    source: String,
    compiled: serde_json_path::JsonPath,
    /// `Some` when the query is a chain of names and non-negative indices.
    simple: Option<Vec<Segment>>,
}

#[derive(Clone, Debug, PartialEq)]
enum Segment {
    Name(String),
    Index(usize),
}

/// A query that is not valid RFC 9535 JSONPath.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathError {
    pub path: String,
    pub position: usize,
    pub message: String,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid JSONPath `{}` at character {}: {}",
            self.path, self.position, self.message
        )?;
        if !self.path.trim_start().starts_with('$') {
            write!(
                f,
                " (JSONPath queries start with `$`, e.g. `$.{}`)",
                self.path.trim()
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for PathError {}

impl JsonPath {
    /// Parses and compiles `path`; `JsonPath::parse("$.p")`.
    pub fn parse(path: &str) -> Result<Self, PathError> {
        let compiled = serde_json_path::JsonPath::parse(path).map_err(|e| PathError {
            path: path.to_string(),
            position: e.position(),
            message: e.message().to_string(),
        })?;
        Ok(Self {
            source: path.to_string(),
            compiled,
            simple: parse_simple(path),
        })
    }

    /// The query as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the query can select at most one node (a chain of names and indices).
    pub fn is_singular(&self) -> bool {
        self.simple.is_some()
    }

    /// Every node the query selects, in document order.
    pub fn query<'v>(&self, value: &'v Value) -> Vec<&'v Value> {
        match &self.simple {
            Some(segments) => walk(segments, value).into_iter().collect(),
            None => self.compiled.query(value).all(),
        }
    }

    /// Calls `f` on every selected node; stops early when `f` returns false. Returns the number
    /// of nodes visited. Allocation-free for simple paths.
    pub fn for_each<'v>(&self, value: &'v Value, mut f: impl FnMut(&'v Value) -> bool) -> usize {
        match &self.simple {
            Some(segments) => match walk(segments, value) {
                Some(node) => {
                    f(node);
                    1
                }
                None => 0,
            },
            None => {
                let mut n = 0;
                for node in self.compiled.query(value).all() {
                    n += 1;
                    if !f(node) {
                        break;
                    }
                }
                n
            }
        }
    }

    /// Every selected node with its normalized location (`$['a'][0]`).
    pub fn query_located<'v>(&self, value: &'v Value) -> Vec<(String, &'v Value)> {
        self.compiled
            .query_located(value)
            .iter()
            .map(|n| (normalized(n.location()), n.node()))
            .collect()
    }
}

impl JsonPath {
    /// The JSON Pointers (`/a/0`) of every selected node, for rewriting them in place.
    pub fn pointers(&self, value: &Value) -> Vec<String> {
        self.compiled
            .query_located(value)
            .iter()
            .map(|n| n.location().to_json_pointer())
            .collect()
    }
}

impl fmt::Debug for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JsonPath({})", self.source)
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl PartialEq for JsonPath {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

/// The RFC 9535 §2.7 normalized path (`$['a'][0]`), with names escaped as the RFC requires.
fn normalized(path: &serde_json_path::NormalizedPath<'_>) -> String {
    use serde_json_path::PathElement;
    let mut out = String::from("$");
    for element in path.iter() {
        match element {
            PathElement::Index(i) => {
                out.push('[');
                out.push_str(&i.to_string());
                out.push(']');
            }
            PathElement::Name(name) => {
                out.push_str("['");
                for c in name.chars() {
                    match c {
                        '\\' => out.push_str("\\\\"),
                        '\'' => out.push_str("\\'"),
                        '\u{8}' => out.push_str("\\b"),
                        '\u{c}' => out.push_str("\\f"),
                        '\n' => out.push_str("\\n"),
                        '\r' => out.push_str("\\r"),
                        '\t' => out.push_str("\\t"),
                        c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                        c => out.push(c),
                    }
                }
                out.push_str("']");
            }
        }
    }
    out
}

fn walk<'v>(segments: &[Segment], mut value: &'v Value) -> Option<&'v Value> {
    for segment in segments {
        value = match (segment, value) {
            (Segment::Name(name), Value::Object(map)) => map.get(name)?,
            (Segment::Index(i), Value::Array(items)) => items.get(*i)?,
            _ => return None,
        };
    }
    Some(value)
}

/// Recognises `$`, `.name`, `['name']` and `[N]` chains; anything else takes the general path.
/// Only called on queries `serde_json_path` already accepted, so this need not validate.
fn parse_simple(path: &str) -> Option<Vec<Segment>> {
    let rest = path.strip_prefix('$')?;
    let bytes = rest.as_bytes();
    let mut segments = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'.' => {
                let start = i + 1;
                let mut end = start;
                while end < bytes.len()
                    && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_')
                {
                    end += 1;
                }
                if end == start || end < bytes.len() && !matches!(bytes[end], b'.' | b'[') {
                    return None;
                }
                segments.push(Segment::Name(rest[start..end].to_string()));
                i = end;
            }
            b'[' => {
                let close = rest[i..].find(']')? + i;
                let inner = &rest[i + 1..close];
                if let Some(name) = inner
                    .strip_prefix('\'')
                    .and_then(|s| s.strip_suffix('\''))
                    .filter(|s| !s.contains(['\\', '\'']))
                {
                    segments.push(Segment::Name(name.to_string()));
                } else if !inner.is_empty() && inner.bytes().all(|b| b.is_ascii_digit()) {
                    segments.push(Segment::Index(inner.parse().ok()?));
                } else {
                    return None;
                }
                i = close + 1;
            }
            _ => return None,
        }
    }
    Some(segments)
}

impl<'de> serde::Deserialize<'de> for JsonPath {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        JsonPath::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn simple_paths_take_the_fast_path() {
        assert!(JsonPath::parse("$.a.b[0]['c d']").unwrap().is_singular());
        assert!(!JsonPath::parse("$..a").unwrap().is_singular());
        assert!(!JsonPath::parse("$.a[*]").unwrap().is_singular());
        assert!(!JsonPath::parse("$['a','b']").unwrap().is_singular());
    }

    #[test]
    fn fast_path_agrees_with_the_general_one() {
        let doc = json!({"a": {"b": [{"c d": 1}, 2]}, "x": null});
        for path in [
            "$.a.b[0]['c d']",
            "$.a.b[1]",
            "$.x",
            "$.missing",
            "$.a.b[5]",
            "$",
        ] {
            let p = JsonPath::parse(path).unwrap();
            let general: Vec<&Value> = p.compiled.query(&doc).all();
            assert_eq!(p.query(&doc), general, "{path}");
        }
    }

    #[test]
    fn invalid_queries_are_rejected_with_a_position() {
        let err = JsonPath::parse("$.a[?").unwrap_err();
        assert!(
            err.to_string().starts_with("invalid JSONPath `$.a[?`"),
            "{err}"
        );
    }
}
