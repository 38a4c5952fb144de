//! Matchers: `eq ne exists type matches gt gte lt lte contains len in not schema` (and `any`),
//! compiled at load time, resolved against the scope once per step, then evaluated per message.

pub mod path;
mod schema;

use std::fmt;

use base64::Engine as _;
use regex::Regex;
use serde::de::{self, Deserialize, Deserializer};
use serde_json::Value;

use crate::template::{closest, Lookup, TValue, TemplateError};

mod number;

pub(crate) use number::canonical as canonical_number;

/// Matcher keys, for validation and "did you mean" hints.
pub const MATCHER_KEYS: [&str; 15] = [
    "eq", "ne", "exists", "type", "matches", "gt", "gte", "lt", "lte", "contains", "len", "in",
    "any", "not", "schema",
];

/// One matcher as written: every check must hold.
#[derive(Debug, Clone)]
pub struct Matcher {
    checks: Vec<Check<TValue, Pattern>>,
    /// With several nodes selected, one matching node is enough.
    pub any: bool,
}

/// A matcher with its templates expanded, ready for the hot path.
#[derive(Debug, Clone)]
pub struct Resolved {
    checks: Vec<Check<Value, Regex>>,
    pub any: bool,
}

#[derive(Debug, Clone)]
enum Check<V, R> {
    Eq(V),
    Ne(V),
    Exists(bool),
    Type(JsonType),
    Matches(R),
    Cmp(Cmp, V),
    Contains(V),
    Len(Box<MatcherOf<V, R>>),
    In(Vec<V>),
    Not(Box<MatcherOf<V, R>>),
    /// A JSON Schema, compiled at load time.
    Schema(std::sync::Arc<crate::contract::Schema>),
}

#[derive(Debug, Clone)]
struct MatcherOf<V, R> {
    checks: Vec<Check<V, R>>,
}

/// A regex known at load time, or one built from a template at run time.
#[derive(Debug, Clone)]
enum Pattern {
    Fixed(Regex),
    Template(TValue),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Gt,
    Gte,
    Lt,
    Lte,
}

impl Cmp {
    fn name(self) -> &'static str {
        match self {
            Cmp::Gt => "gt",
            Cmp::Gte => "gte",
            Cmp::Lt => "lt",
            Cmp::Lte => "lte",
        }
    }
    fn holds(self, ord: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            Cmp::Gt => ord == Greater,
            Cmp::Gte => ord != Less,
            Cmp::Lt => ord == Less,
            Cmp::Lte => ord != Greater,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonType {
    String,
    Number,
    Integer,
    Boolean,
    Null,
    Array,
    Object,
}

const TYPE_NAMES: [&str; 7] = [
    "string", "number", "integer", "boolean", "null", "array", "object",
];

impl JsonType {
    fn parse(s: &str) -> Result<Self, String> {
        Ok(match s {
            "string" => Self::String,
            "number" => Self::Number,
            "integer" => Self::Integer,
            "boolean" | "bool" => Self::Boolean,
            "null" => Self::Null,
            "array" => Self::Array,
            "object" => Self::Object,
            other => {
                let hint = closest(other, TYPE_NAMES)
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                return Err(format!(
                    "unknown type `{other}`{hint}: use one of {}",
                    TYPE_NAMES.join(", ")
                ));
            }
        })
    }

    fn holds(self, v: &Value) -> bool {
        match self {
            Self::String => v.is_string(),
            Self::Number => v.is_number(),
            Self::Integer => {
                v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0)
            }
            Self::Boolean => v.is_boolean(),
            Self::Null => v.is_null(),
            Self::Array => v.is_array(),
            Self::Object => v.is_object(),
        }
    }

    fn name(self) -> &'static str {
        TYPE_NAMES[self as usize]
    }
}

impl Matcher {
    /// Equality with a plain value.
    pub fn equals(value: TValue) -> Self {
        Self {
            checks: vec![Check::Eq(value)],
            any: false,
        }
    }

    /// Builds a matcher from its YAML form: a plain value means equality; a map is a set of
    /// matcher keys.
    pub fn from_value(value: Value) -> Result<Self, String> {
        match value {
            Value::Object(map) => Self::from_entries(map.into_iter().collect()),
            plain => Ok(Self::equals(TValue::from_value(plain)?)),
        }
    }

    /// Builds a matcher from its keys in the order written (checks run, and fail, in that order).
    pub fn from_entries(entries: Vec<(String, Value)>) -> Result<Self, String> {
        let (checks, any) = compile_map(entries)?;
        Ok(Self { checks, any })
    }

    /// Whether the matcher checks that a path selects nothing (`exists: false`).
    pub fn expects_absent(&self) -> bool {
        self.checks
            .iter()
            .any(|c| matches!(c, Check::Exists(false)))
    }

    /// Every variable the matcher's templates name.
    pub fn vars(&self, out: &mut Vec<crate::template::VarRef>) {
        fn walk(checks: &[Check<TValue, Pattern>], out: &mut Vec<crate::template::VarRef>) {
            for c in checks {
                match c {
                    Check::Eq(v) | Check::Ne(v) | Check::Cmp(_, v) | Check::Contains(v) => {
                        v.vars(out)
                    }
                    Check::Matches(Pattern::Template(t)) => t.vars(out),
                    Check::In(vs) => vs.iter().for_each(|v| v.vars(out)),
                    Check::Len(m) | Check::Not(m) => walk(&m.checks, out),
                    _ => {}
                }
            }
        }
        walk(&self.checks, out);
    }

    /// Expands templates (and compiles templated regexes) once, before messages are read.
    pub fn resolve(&self, scope: &dyn Lookup) -> Result<Resolved, ResolveError> {
        Ok(Resolved {
            checks: resolve_checks(&self.checks, scope)?,
            any: self.any,
        })
    }
}

impl<'de> Deserialize<'de> for Matcher {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // A map keeps its YAML order; anything else is a plain value (equality).
        struct Vis;
        impl<'de> de::Visitor<'de> for Vis {
            type Value = Result<Matcher, String>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a value (equality) or a map of matchers")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    entries.push((k, v));
                }
                Ok(Matcher::from_entries(entries))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some(v) = seq.next_element::<Value>()? {
                    items.push(v);
                }
                Ok(Matcher::from_value(Value::Array(items)))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Matcher::from_value(Value::Bool(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Matcher::from_value(Value::from(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Matcher::from_value(Value::from(v)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Matcher::from_value(Value::from(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Matcher::from_value(Value::String(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Matcher::from_value(Value::String(v)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Matcher::from_value(Value::Null))
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Matcher::from_value(Value::Null))
            }
        }
        d.deserialize_any(Vis)?.map_err(de::Error::custom)
    }
}

/// A matcher that could not be made ready: a template failed, or a templated regex is invalid.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("invalid regex `{0}`: {1}")]
    Regex(String, String),
}

fn compile_map(map: Vec<(String, Value)>) -> Result<(Vec<Check<TValue, Pattern>>, bool), String> {
    if map.is_empty() {
        return Err(
            "empty matcher: write a value for equality or keys such as `eq`, `gt`, `type`".into(),
        );
    }
    let mut checks = Vec::new();
    let mut any = false;
    for (key, value) in map {
        let tv = || TValue::from_value(value.clone());
        checks.push(match key.as_str() {
            "eq" => Check::Eq(tv()?),
            "ne" => Check::Ne(tv()?),
            "exists" => Check::Exists(
                value
                    .as_bool()
                    .ok_or_else(|| "`exists` takes true or false".to_string())?,
            ),
            "type" => Check::Type(match &value {
                // `type: null` in YAML is the null value: it can only mean the null type.
                Value::Null => JsonType::Null,
                Value::String(name) => JsonType::parse(name)?,
                _ => return Err("`type` takes a type name such as `integer`".to_string()),
            }),
            "matches" => {
                let text = value
                    .as_str()
                    .ok_or_else(|| "`matches` takes a regular expression string".to_string())?;
                if text.contains("{{") {
                    Check::Matches(Pattern::Template(tv()?))
                } else {
                    Check::Matches(Pattern::Fixed(
                        Regex::new(text).map_err(|e| regex_error(text, &e))?,
                    ))
                }
            }
            "gt" => Check::Cmp(Cmp::Gt, tv()?),
            "gte" => Check::Cmp(Cmp::Gte, tv()?),
            "lt" => Check::Cmp(Cmp::Lt, tv()?),
            "lte" => Check::Cmp(Cmp::Lte, tv()?),
            "contains" => Check::Contains(tv()?),
            "len" => {
                let inner = Matcher::from_value(value)?;
                Check::Len(Box::new(MatcherOf {
                    checks: inner.checks,
                }))
            }
            "in" => match value {
                Value::Array(items) => Check::In(
                    items
                        .into_iter()
                        .map(TValue::from_value)
                        .collect::<Result<_, _>>()?,
                ),
                _ => return Err("`in` takes a list of values".into()),
            },
            "not" => {
                let inner = Matcher::from_value(value)?;
                Check::Not(Box::new(MatcherOf {
                    checks: inner.checks,
                }))
            }
            "schema" => Check::Schema(schema::compile(&value)?),
            "any" => {
                any = value
                    .as_bool()
                    .ok_or_else(|| "`any` takes true or false".to_string())?;
                continue;
            }
            other => {
                let hint = closest(other, MATCHER_KEYS)
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                return Err(format!(
                    "unknown matcher `{other}`{hint}; matchers are {}. To compare with an object, write `eq: {{…}}`",
                    MATCHER_KEYS.join(", ")
                ));
            }
        });
    }
    if checks.is_empty() {
        return Err("`any` needs a check beside it, such as `eq` or `gt`".into());
    }
    Ok((checks, any))
}

/// The regex crate's multi-line error, as one line: "invalid regex `(x`: unclosed group".
fn regex_error(text: &str, e: &regex::Error) -> String {
    format!("invalid regex `{text}`: {}", regex_reason(e))
}

fn regex_reason(e: &regex::Error) -> String {
    let full = e.to_string();
    full.lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("error: "))
        .unwrap_or(full.lines().last().unwrap_or_default())
        .to_string()
}

fn resolve_checks(
    checks: &[Check<TValue, Pattern>],
    scope: &dyn Lookup,
) -> Result<Vec<Check<Value, Regex>>, ResolveError> {
    checks
        .iter()
        .map(|c| {
            Ok(match c {
                Check::Eq(v) => Check::Eq(v.expand(scope)?),
                Check::Ne(v) => Check::Ne(v.expand(scope)?),
                Check::Exists(b) => Check::Exists(*b),
                Check::Type(t) => Check::Type(*t),
                Check::Matches(Pattern::Fixed(r)) => Check::Matches(r.clone()),
                Check::Matches(Pattern::Template(t)) => {
                    let text = match t.expand(scope)? {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    let re = Regex::new(&text)
                        .map_err(|e| ResolveError::Regex(text.clone(), regex_reason(&e)))?;
                    Check::Matches(re)
                }
                Check::Cmp(op, v) => Check::Cmp(*op, v.expand(scope)?),
                Check::Contains(v) => Check::Contains(v.expand(scope)?),
                Check::Len(m) => Check::Len(Box::new(MatcherOf {
                    checks: resolve_checks(&m.checks, scope)?,
                })),
                Check::In(vs) => Check::In(
                    vs.iter()
                        .map(|v| v.expand(scope))
                        .collect::<Result<_, _>>()?,
                ),
                Check::Not(m) => Check::Not(Box::new(MatcherOf {
                    checks: resolve_checks(&m.checks, scope)?,
                })),
                Check::Schema(s) => Check::Schema(s.clone()),
            })
        })
        .collect()
}

/// What a matcher is applied to.
#[derive(Clone, Copy)]
pub enum Subject<'a> {
    Json(&'a Value),
    Bytes(&'a [u8]),
}

impl Resolved {
    /// The first check that fails on `subject`, described as what was expected.
    pub fn mismatch(&self, subject: Subject<'_>) -> Option<String> {
        first_failure(&self.checks, subject)
    }

    /// Whether the matcher is only `exists: true|false`.
    pub fn exists(&self) -> Option<bool> {
        self.checks.iter().find_map(|c| match c {
            Check::Exists(b) => Some(*b),
            _ => None,
        })
    }

    /// A description of everything the matcher expects, for failure messages.
    pub fn describe(&self) -> String {
        describe_checks(&self.checks)
    }
}

fn first_failure(checks: &[Check<Value, Regex>], subject: Subject<'_>) -> Option<String> {
    checks
        .iter()
        .find(|c| !check_holds(c, subject))
        .map(describe_check)
}

fn check_holds(check: &Check<Value, Regex>, subject: Subject<'_>) -> bool {
    match subject {
        Subject::Json(v) => json_check(check, v),
        Subject::Bytes(b) => bytes_check(check, b),
    }
}

fn json_check(check: &Check<Value, Regex>, v: &Value) -> bool {
    match check {
        Check::Eq(e) => loosely_equal(v, e),
        Check::Ne(e) => !loosely_equal(v, e),
        Check::Exists(_) => true, // decided by the caller, which sees the whole node set
        Check::Type(t) => t.holds(v),
        Check::Matches(re) => match v {
            Value::String(s) => re.is_match(s),
            other => re.is_match(&other.to_string()),
        },
        Check::Cmp(op, e) => compare(v, e).is_some_and(|o| op.holds(o)),
        Check::Contains(e) => match (v, e) {
            (Value::String(s), Value::String(sub)) => s.contains(sub.as_str()),
            (Value::Array(items), e) => items.iter().any(|i| loosely_equal(i, e)),
            (Value::Object(map), Value::String(key)) => map.contains_key(key),
            _ => false,
        },
        Check::Len(m) => length(v)
            .is_some_and(|n| first_failure(&m.checks, Subject::Json(&Value::from(n))).is_none()),
        Check::In(options) => options.iter().any(|o| loosely_equal(v, o)),
        Check::Not(m) => first_failure(&m.checks, Subject::Json(v)).is_some(),
        Check::Schema(s) => s.is_valid(v),
    }
}

fn bytes_check(check: &Check<Value, Regex>, bytes: &[u8]) -> bool {
    let decoded = |e: &Value| {
        e.as_str()
            .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
    };
    match check {
        Check::Eq(e) => decoded(e).is_some_and(|d| d == bytes),
        Check::Ne(e) => decoded(e).is_none_or(|d| d != bytes),
        Check::Len(m) => {
            first_failure(&m.checks, Subject::Json(&Value::from(bytes.len()))).is_none()
        }
        Check::Not(m) => first_failure(&m.checks, Subject::Bytes(bytes)).is_some(),
        Check::Contains(e) => decoded(e)
            .is_some_and(|d| d.is_empty() || bytes.windows(d.len()).any(|w| w == d.as_slice())),
        Check::Exists(_) => true,
        Check::Type(_) | Check::Matches(_) | Check::Cmp(..) | Check::In(_) | Check::Schema(_) => {
            let as_text = Value::String(base64::engine::general_purpose::STANDARD.encode(bytes));
            json_check(check, &as_text)
        }
    }
}

fn length(v: &Value) -> Option<usize> {
    match v {
        Value::String(s) => Some(s.chars().count()),
        Value::Array(a) => Some(a.len()),
        Value::Object(o) => Some(o.len()),
        _ => None,
    }
}

/// Orders two values: numbers (and numeric strings) numerically, integers and numeric strings
/// exactly, other strings lexically; `None` when they cannot be ordered.
pub fn compare(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    if let (Value::Number(x), Value::Number(y)) = (a, b) {
        if let (Some(x), Some(y)) = (x.as_i64(), y.as_i64()) {
            return Some(x.cmp(&y));
        }
    }
    if let Some(order) = number::compare(a, b) {
        return Some(order);
    }
    match (a, b) {
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// Equality where numbers compare by value (`1 == 1.0`) and a number equals a string that
/// holds the same number; everything else compares as JSON.
pub fn loosely_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(_), Value::Number(_))
        | (Value::Number(_), Value::String(_))
        | (Value::String(_), Value::Number(_)) => {
            a == b || compare(a, b) == Some(std::cmp::Ordering::Equal)
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| loosely_equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, p)| y.get(k).is_some_and(|q| loosely_equal(p, q)))
        }
        _ => a == b,
    }
}

fn describe_checks(checks: &[Check<Value, Regex>]) -> String {
    checks
        .iter()
        .map(describe_check)
        .collect::<Vec<_>>()
        .join(", ")
}

fn describe_check(check: &Check<Value, Regex>) -> String {
    match check {
        Check::Eq(v) => v.to_string(),
        Check::Ne(v) => format!("not {v}"),
        Check::Exists(true) => "to exist".into(),
        Check::Exists(false) => "not to exist".into(),
        Check::Type(t) => format!("type {}", t.name()),
        Check::Matches(re) => format!("matches /{}/", re.as_str()),
        Check::Cmp(op, v) => format!("{} {v}", op.name()),
        Check::Contains(v) => format!("contains {v}"),
        Check::Len(m) => format!("len {}", describe_checks(&m.checks)),
        Check::In(vs) => format!(
            "one of [{}]",
            vs.iter()
                .map(Value::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Check::Not(m) => format!("not ({})", describe_checks(&m.checks)),
        Check::Schema(s) => format!("valid against {}", s.name),
    }
}

impl fmt::Display for Resolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

#[cfg(test)]
mod tests;
