//! RFC 9535 JSONPath: compiled once at load time, evaluated per message.
//!
//! Backed by `serde_json_path` (703/703 on the RFC 9535 compliance suite, see docs/design.md), with a
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
    /// The one top-level member the query reads, if it reads only one (see [`JsonPath::member`]).
    member: Option<Box<str>>,
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
            member: top_member(path).map(Into::into),
        })
    }

    /// The top-level member of the document that holds everything the query reads: `data` for
    /// `$.data.s` or `$['data'][*].id`. `None` when the query reads more of the document: it
    /// starts at the root with anything but one name (`$`, `$..id`, `$[*]`, `$['a','b']`), or
    /// names the root again inside (a filter's `$.limit`). A query with a member selects the
    /// same nodes from an object that holds just that member as from the whole document, which
    /// is what lets a message be parsed only as far as its paths read.
    pub fn member(&self) -> Option<&str> {
        self.member.as_deref()
    }

    /// The query as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the query can select at most one node (a chain of names and indices).
    pub fn is_singular(&self) -> bool {
        self.simple.is_some()
    }

    /// For a chain of names and indices: the node it selects in `value`, if any. `None` for
    /// other queries.
    pub fn walk<'v>(&self, value: &'v Value) -> Option<Option<&'v Value>> {
        Some(walk(self.simple.as_deref()?, value))
    }

    /// For a chain of names and indices: the node it selects below its top-level member, given
    /// that member's value (`None`: the document has no such member). `None` for other queries.
    pub fn walk_member<'v>(&self, member: Option<&'v Value>) -> Option<Option<&'v Value>> {
        match self.simple.as_deref()? {
            [Segment::Name(_), rest @ ..] => Some(member.and_then(|m| walk(rest, m))),
            _ => None,
        }
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

/// The member name a query starts with (`$.name`, `$['name']`, `$["name"]`, names without
/// escapes), if the rest of it never names the root `$` again. Conservative: a `$` anywhere later,
/// even inside a string literal, means no member. Only called on queries `serde_json_path`
/// already accepted, so the rest is known to be valid segments.
fn top_member(path: &str) -> Option<String> {
    let rest = path.strip_prefix('$')?;
    let (name, after) = if let Some(shorthand) = rest.strip_prefix('.') {
        // RFC 9535 member-name-shorthand: ALPHA / DIGIT / "_" / non-ASCII; `..` and `.*` stop here.
        let end = shorthand
            .bytes()
            .position(|b| !(b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80))
            .unwrap_or(shorthand.len());
        if end == 0 {
            return None;
        }
        shorthand.split_at(end)
    } else {
        let inner = rest.strip_prefix('[')?;
        let quote = inner.chars().next().filter(|c| matches!(c, '\'' | '"'))?;
        let body = &inner[1..];
        let close = body.find(quote)?;
        let (name, tail) = body.split_at(close);
        if name.contains('\\') {
            return None;
        }
        (name, tail[1..].strip_prefix(']')?)
    };
    if after.contains('$') {
        return None;
    }
    Some(name.to_string())
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
    fn a_query_names_the_one_top_level_member_it_reads() {
        let member = |p: &str| JsonPath::parse(p).unwrap().member().map(str::to_string);
        for (path, expected) in [
            ("$.e", Some("e")),
            ("$.data.s", Some("data")),
            ("$['a b'][0]", Some("a b")),
            ("$[\"it's\"]", Some("it's")),
            ("$.items[*].id", Some("items")),
            ("$.items[?@.price < 10].title", Some("items")),
            ("$.a..b", Some("a")),
            ("$.prix€.x", Some("prix€")),
            ("$.a [0]", Some("a")),
            ("$", None),
            ("$..id", None),
            ("$.*", None),
            ("$[*].a", None),
            ("$[0]", None),
            ("$['a','b']", None),
            ("$['a\\'b']", None),
            ("$[?@.a]", None),
            // The root named again inside a filter: the query reads other members too.
            ("$.items[?@.price < $.max]", None),
            ("$.a[?@ == '$']", None),
        ] {
            assert_eq!(member(path).as_deref(), expected, "{path}");
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
