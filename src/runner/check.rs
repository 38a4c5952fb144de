//! Checking one received message against an `expect`/`wait_for`: the per-message hot path.

use serde_json::Value;

use super::conn::Incoming;
use super::partial::Partial;
use crate::collection::{Expect, MatcherMap};
use crate::jsonpath::JsonPath;
use crate::matcher::path::{self, PathOutcome};
use crate::matcher::{ResolveError, Resolved, Subject};
use crate::report::{truncate, Failure, Shown};
use crate::template::Lookup;

pub use crate::report::PREVIEW;

/// An expectation with its templates expanded, ready to test messages.
pub enum Ready {
    Any,
    Json(Vec<(JsonPath, Resolved)>),
    Text(Resolved),
    Binary(Resolved),
}

/// Why a message did not match.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mismatch {
    pub summary: String,
    pub path: Option<String>,
    pub expected: Option<Shown>,
    pub actual: Option<Shown>,
    /// The long explanation some matchers give (a schema's errors).
    pub detail: Option<String>,
}

impl Mismatch {
    fn new(summary: impl Into<String>) -> Self {
        Self {
            summary: summary.into(),
            ..Self::default()
        }
    }

    /// The failure report for this mismatch on `message`.
    pub fn into_failure(self, message: &Incoming) -> Failure {
        Failure {
            summary: self.summary,
            path: self.path,
            expected: self.expected,
            actual: self.actual,
            message: Some(preview(message)),
            detail: self.detail,
            ..Failure::default()
        }
    }
}

/// The message as JSON, if it is a JSON text.
pub fn parse(message: &Incoming) -> Option<Value> {
    match message {
        Incoming::Text(t) => serde_json::from_str(t.as_str()).ok(),
        Incoming::Binary(_) => None,
        Incoming::Envelope(v) => Some(v.clone()),
    }
}

/// Why a text is not JSON, in words: serde_json's own, except for its nesting limit, which it
/// words as "recursion limit exceeded".
fn not_json(e: &serde_json::Error) -> String {
    if e.to_string().starts_with("recursion limit exceeded") {
        return "the message is JSON nested deeper than 128 levels, more than wsrun reads".into();
    }
    format!("the message is not JSON ({e})")
}

pub fn preview(message: &Incoming) -> String {
    match message {
        Incoming::Text(t) => truncate(t.as_str(), PREVIEW),
        Incoming::Envelope(v) => truncate(&v.to_string(), PREVIEW),
        Incoming::Binary(b) => {
            use base64::Engine as _;
            let shown = &b[..b.len().min(PREVIEW)];
            format!(
                "<{} bytes> {}",
                b.len(),
                base64::engine::general_purpose::STANDARD.encode(shown)
            )
        }
    }
}

impl Ready {
    pub fn resolve(expect: &Expect, scope: &dyn Lookup) -> Result<Self, ResolveError> {
        if let Some(json) = &expect.json {
            return Self::json(json, scope);
        }
        if let Some(m) = &expect.text {
            return Ok(Ready::Text(m.resolve(scope)?));
        }
        if let Some(m) = &expect.binary {
            return Ok(Ready::Binary(m.resolve(scope)?));
        }
        Ok(Ready::Any)
    }

    /// JSONPath checks (`json:`, a `call`'s `result:`, a `reply`'s `json:`).
    pub fn json(map: &MatcherMap, scope: &dyn Lookup) -> Result<Self, ResolveError> {
        let checks = map
            .0
            .iter()
            .map(|(p, m)| Ok((p.clone(), m.resolve(scope)?)))
            .collect::<Result<_, ResolveError>>()?;
        Ok(Ready::Json(checks))
    }

    /// Tests a JSON document already parsed (an envelope, a response's `result`).
    pub fn check_doc(&self, doc: &Value) -> Result<(), Mismatch> {
        match self {
            Ready::Json(checks) => {
                for (path, matcher) in checks {
                    check_path(None, doc, path, matcher)?;
                }
                Ok(())
            }
            Ready::Text(m) => {
                let value = Value::String(doc.to_string());
                match m.mismatch(Subject::Json(&value)) {
                    None => Ok(()),
                    Some(expected) => Err(Mismatch {
                        summary: "the text does not match".into(),
                        path: None,
                        expected: Some(Shown::described(expected)),
                        actual: Some(Shown::node(&value)),
                        detail: m.explain(&value, "$"),
                    }),
                }
            }
            Ready::Binary(_) => Err(Mismatch::new(
                "expected a binary message, got a JSON message (the protocol's envelope)",
            )),
            Ready::Any => Ok(()),
        }
    }

    /// The paths a `json:` check reads.
    pub fn paths(&self) -> impl Iterator<Item = &JsonPath> {
        let checks = match self {
            Ready::Json(checks) => checks.as_slice(),
            _ => &[],
        };
        checks.iter().map(|(path, _)| path)
    }

    /// Whether checking a text message parses it (`json:`).
    pub fn parses(&self) -> bool {
        matches!(self, Ready::Json(_))
    }

    /// Tests one message. A `json:` check parses a text with `json`, only as far as its paths
    /// read (see [`Partial`]); what it parsed stays in `json` for the step's other readers.
    /// `json` is made by `Partial::for_paths` with [`Ready::paths`] first, in their order.
    pub fn check(&self, message: &Incoming, json: &mut Partial) -> Result<(), Mismatch> {
        match (self, message) {
            (Ready::Any, _) => Ok(()),
            (Ready::Json(checks), Incoming::Text(t)) => {
                json.parse(t.as_str()).map_err(|e| Mismatch {
                    summary: not_json(&e),
                    path: None,
                    expected: Some("a JSON message".into()),
                    actual: Some(truncate(t.as_str(), 80).into()),
                    detail: None,
                })?;
                for (k, (path, matcher)) in checks.iter().enumerate() {
                    // A path to one node is answered from the parsed members; anything else, and
                    // the details of a failure, from the document. (`json` was made for these
                    // paths first: see `Partial::for_paths`.)
                    if let Some(node) = json.select_nth(k, path) {
                        if path::holds_one(node, matcher) {
                            continue;
                        }
                    }
                    check_path(Some(t.as_str()), json.doc(), path, matcher)?;
                }
                Ok(())
            }
            (_, Incoming::Envelope(doc)) => self.check_doc(doc),
            (Ready::Json(_), Incoming::Binary(b)) => Err(Mismatch {
                summary: "expected a JSON text message, got a binary one".into(),
                path: None,
                expected: Some("a JSON text message".into()),
                actual: Some(format!("binary message of {} bytes", b.len()).into()),
                detail: None,
            }),
            (Ready::Text(m), Incoming::Text(t)) => {
                let value = Value::String(t.as_str().to_string());
                match m.mismatch(Subject::Json(&value)) {
                    None => Ok(()),
                    Some(expected) => Err(Mismatch {
                        summary: "the text does not match".into(),
                        path: None,
                        expected: Some(Shown::described(expected)),
                        actual: Some(Shown::node(&value)),
                        detail: m.explain(&value, "$"),
                    }),
                }
            }
            (Ready::Text(_), Incoming::Binary(b)) => Err(Mismatch {
                summary: "expected a text message, got a binary one".into(),
                path: None,
                expected: Some("a text message".into()),
                actual: Some(format!("binary message of {} bytes", b.len()).into()),
                detail: None,
            }),
            (Ready::Binary(m), Incoming::Binary(b)) => match m.mismatch(Subject::Bytes(b)) {
                None => Ok(()),
                Some(expected) => Err(Mismatch {
                    summary: "the binary message does not match".into(),
                    path: None,
                    expected: Some(Shown::described(expected)),
                    actual: Some(format!("{} bytes", b.len()).into()),
                    detail: None,
                }),
            },
            (Ready::Binary(_), Incoming::Text(_)) => {
                Err(Mismatch::new("expected a binary message, got a text one"))
            }
        }
    }
}

/// Every node the path selects in `doc` (parsed from `text`, maybe only the members the paths
/// read) must match (one is enough with
/// `any: true`).
fn check_path(
    text: Option<&str>,
    doc: &Value,
    path: &JsonPath,
    matcher: &Resolved,
) -> Result<(), Mismatch> {
    let (node, expected) = match path::apply(doc, path, matcher) {
        PathOutcome::Holds => return Ok(()),
        PathOutcome::Exists(node) => {
            return Err(Mismatch {
                summary: format!("{path} should not exist"),
                path: Some(path.to_string()),
                expected: Some("not to exist".into()),
                actual: Some(shown(text, doc, node)),
                detail: None,
            })
        }
        PathOutcome::Nothing => {
            return Err(Mismatch {
                summary: format!("{path} selected nothing"),
                path: Some(path.to_string()),
                expected: Some(Shown::described(matcher.describe())),
                actual: Some("(nothing)".into()),
                detail: None,
            })
        }
        PathOutcome::NoMatch { node, expected } => (node, expected),
    };
    let shown_path = if path.is_singular() || matcher.any {
        path.to_string()
    } else {
        // Name the exact node that failed: `$.items[*].id` → `$['items'][2]['id']`.
        path.query_located(doc)
            .into_iter()
            .find(|(_, n)| std::ptr::eq(*n, node))
            .map(|(loc, _)| format!("{path} → {loc}"))
            .unwrap_or_else(|| path.to_string())
    };
    let summary = if matcher.any {
        format!("no node of {path} matches")
    } else {
        format!("{shown_path} does not match")
    };
    let detail = matcher.explain(node, located(&shown_path));
    Err(Mismatch {
        summary,
        path: Some(shown_path),
        expected: Some(Shown::described(expected)),
        actual: Some(shown(text, doc, node)),
        detail,
    })
}

/// The node a shown path names: `$.a` as it is, `$.items[*].id → $['items'][2]['id']` the
/// part after the arrow.
fn located(shown_path: &str) -> &str {
    shown_path.rsplit(" → ").next().unwrap_or(shown_path)
}

/// A node of `doc` for a failure: the value, unless it holds a float that the parse rounded (a
/// number past 64-bit integers: `12345678901234567890123` would print as
/// `1.2345678901234568e22`); then its text as the server wrote it.
fn shown(text: Option<&str>, doc: &Value, node: &Value) -> Shown {
    if let Some(text) = text.filter(|_| has_float(node)) {
        let parsed = node.to_string();
        if let Some(sent) = as_sent(text, doc, node).filter(|t| *t != parsed) {
            return Shown::Text(truncate(&sent, Shown::LIMIT));
        }
    }
    Shown::node(node)
}

fn has_float(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.is_f64(),
        Value::Array(items) => items.iter().any(has_float),
        Value::Object(map) => map.values().any(has_float),
        _ => false,
    }
}

/// The text of `node` in the message `text` that `doc` was parsed from, without the whitespace
/// between tokens. Re-reads the message along the way to the node: a failure's cost only.
fn as_sent(text: &str, doc: &Value, node: &Value) -> Option<String> {
    use serde_json::value::RawValue;
    use std::collections::HashMap;

    enum Step<'v> {
        Key(&'v str),
        Index(usize),
    }
    /// The keys and indices from `at` down to `node`, found by address.
    fn route<'v>(at: &'v Value, node: &Value, out: &mut Vec<Step<'v>>) -> bool {
        if std::ptr::eq(at, node) {
            return true;
        }
        let mut enter = |step: Step<'v>, child: &'v Value| {
            out.push(step);
            let found = route(child, node, out);
            if !found {
                out.pop();
            }
            found
        };
        match at {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .any(|(i, v)| enter(Step::Index(i), v)),
            Value::Object(map) => map.iter().any(|(k, v)| enter(Step::Key(k), v)),
            _ => false,
        }
    }

    let mut steps = Vec::new();
    if !route(doc, node, &mut steps) {
        return None;
    }
    let mut raw: &RawValue = serde_json::from_str(text).ok()?;
    for step in steps {
        raw = match step {
            // Duplicate keys: the last one wins, as it does in `doc`.
            Step::Key(k) => *serde_json::from_str::<HashMap<String, &RawValue>>(raw.get())
                .ok()?
                .get(k)?,
            Step::Index(i) => *serde_json::from_str::<Vec<&RawValue>>(raw.get())
                .ok()?
                .get(i)?,
        };
    }
    Some(crate::value::compact_json(raw.get()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matcher::Matcher;
    use crate::template::Scope;
    use serde_json::json;

    fn ready(pairs: &[(&str, Value)]) -> Ready {
        Ready::Json(
            pairs
                .iter()
                .map(|(p, m)| {
                    (
                        JsonPath::parse(p).unwrap(),
                        Matcher::from_value(m.clone())
                            .unwrap()
                            .resolve(&Scope::default())
                            .unwrap(),
                    )
                })
                .collect(),
        )
    }

    /// Checks one message as a step does: parsed as far as the paths read.
    fn check(r: &Ready, message: &Incoming) -> Result<(), Mismatch> {
        r.check(message, &mut Partial::for_paths(r.paths()))
    }

    fn text(s: &str) -> Incoming {
        Incoming::Text(s.to_string().into())
    }

    #[test]
    fn a_wrong_value_names_path_expected_and_actual() {
        let r = ready(&[("$.s", json!("ETHUSDT"))]);
        let m = check(&r, &text(r#"{"s":"BTCUSDT"}"#)).unwrap_err();
        assert_eq!(m.path.as_deref(), Some("$.s"));
        assert_eq!(m.expected, Some(Shown::Value(json!("ETHUSDT"))));
        assert_eq!(m.actual, Some(Shown::Value(json!("BTCUSDT"))));
        assert_eq!(m.expected.unwrap().to_string(), "\"ETHUSDT\"");
    }

    #[test]
    fn every_selected_node_must_match_unless_any() {
        let doc = r#"{"items":[{"id":1},{"id":5},{"id":2}]}"#;
        let all = ready(&[("$.items[*].id", json!({"lt": 3}))]);
        let m = check(&all, &text(doc)).unwrap_err();
        assert_eq!(
            m.path.as_deref(),
            Some("$.items[*].id → $['items'][1]['id']")
        );
        let any = ready(&[("$.items[*].id", json!({"gt": 4, "any": true}))]);
        assert!(check(&any, &text(doc)).is_ok());
    }

    #[test]
    fn missing_paths_fail_unless_exists_false() {
        let r = ready(&[("$.nope", json!(1))]);
        assert_eq!(
            check(&r, &text("{}")).unwrap_err().summary,
            "$.nope selected nothing"
        );
        let r = ready(&[("$.nope", json!({"exists": false}))]);
        assert!(check(&r, &text("{}")).is_ok());
        let r = ready(&[("$.a", json!({"exists": false}))]);
        assert!(check(&r, &text(r#"{"a":1}"#)).is_err());
    }

    #[test]
    fn non_json_text_is_a_failure_that_says_so() {
        let r = ready(&[("$.a", json!(1))]);
        let m = check(&r, &text("hello")).unwrap_err();
        assert!(
            m.summary.starts_with("the message is not JSON"),
            "{}",
            m.summary
        );
    }

    #[test]
    fn a_float_in_a_failure_is_shown_with_the_digits_the_server_sent() {
        let r = ready(&[("$.a[1]", json!({"eq": {"b": 1}}))]);
        let sent = r#"{"a": [1, {"b" : 1.50, "s": "x y\"}"}], "a": [0, {"b": 1.0E2}]}"#;
        let m = check(&r, &text(sent)).unwrap_err();
        // Duplicate keys: the last one is the one that was checked, and the one shown.
        assert_eq!(m.actual, Some(Shown::Text(r#"{"b":1.0E2}"#.into())));
        let m = check(&r, &text(r#"{"a": [1, {"b" : 1.50, "s": "x y\"}"}]}"#)).unwrap_err();
        assert_eq!(
            m.actual,
            Some(Shown::Text(r#"{"b":1.50,"s":"x y\"}"}"#.into()))
        );
    }
}
