//! `{{ name }}` templates: compiled at load time, expanded against a scope at run time.
//!
//! A template that is a whole YAML value (`"{{ first_id }}"`) keeps the type of what it names;
//! one mixed with text (`"{{ base }}/ws"`) renders to a string. Inside the braces, a name may go
//! through filters (`filters.rs`, `{{ token | urlencode }}`) and built-ins stand for the clock,
//! random values and the load's user (`sources.rs`).

mod expr;
mod filters;
mod resolve;
mod sources;

pub use expr::Expr;
pub use filters::check_text;
pub use resolve::resolve_vars;
pub use sources::BUILTINS;

use std::collections::HashMap;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer};
use serde_json::{Map, Value};

mod exact;
pub(crate) use exact::reading as keeping_long_numbers;
pub use exact::ExactNumber;

/// A reference to a variable: `symbol`, `env.HOME`, `mocks.binance.url`, `message.params.0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarRef {
    pub root: String,
    pub path: Vec<String>,
    /// The filter that reads this value as text, when one does (`{{ cfg | urlencode }}`): the
    /// load-time check fails a variable whose value is a list or a map.
    pub needs_text: Option<&'static str>,
}

impl VarRef {
    fn parse(text: &str) -> Result<Self, SyntaxError> {
        let name = text.trim();
        if name.is_empty() {
            return Err(SyntaxError::Empty);
        }
        let valid = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        };
        let mut parts = name.split('.');
        let root = parts.next().unwrap_or_default();
        let path: Vec<String> = parts.map(str::to_string).collect();
        if !valid(root) || !path.iter().all(|p| valid(p)) {
            return Err(SyntaxError::BadName(name.to_string()));
        }
        Ok(Self {
            root: root.to_string(),
            path,
            needs_text: None,
        })
    }
}

/// Why a text is not a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyntaxError {
    /// A `{{` without its `}}`, in this text.
    Unclosed(String),
    /// `{{ }}`.
    Empty,
    /// A name with other characters than letters, digits, `_`, `-` and `.`.
    BadName(String),
    /// `{{ x | nope }}`, with a "did you mean".
    UnknownFilter { name: String, hint: String },
    /// `{{ nope(1) }}`: only `random_int` takes arguments.
    UnknownFunction(String),
    /// A filter or function given the wrong number of arguments.
    Arity {
        name: String,
        want: usize,
        got: usize,
    },
    /// An argument that is not what the filter or function takes.
    BadArgument(String),
}

impl SyntaxError {
    /// What is wrong, without quoting the text: for files whose content must not be echoed.
    pub fn problem(&self) -> &'static str {
        match self {
            SyntaxError::Unclosed(_) => "unclosed `{{` in its template",
            SyntaxError::Empty => "empty template `{{ }}`",
            SyntaxError::BadName(_) => {
                "invalid template name: use letters, digits, `_`, `-` and `.`"
            }
            SyntaxError::UnknownFilter { .. } => "unknown template filter",
            SyntaxError::UnknownFunction(_) => "unknown template function",
            SyntaxError::Arity { .. } => "wrong number of arguments in a template",
            SyntaxError::BadArgument(_) => "invalid argument in a template",
        }
    }
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyntaxError::Unclosed(text) => write!(f, "unclosed `{{{{` in template `{text}`"),
            SyntaxError::Empty => f.write_str("empty template `{{ }}`"),
            SyntaxError::BadName(name) => write!(
                f,
                "invalid template name `{name}`: use letters, digits, `_`, `-` and `.` (e.g. `{{{{ symbol }}}}`)"
            ),
            SyntaxError::UnknownFilter { name, hint } => {
                write!(f, "unknown template filter `{name}`{hint}")
            }
            SyntaxError::UnknownFunction(name) => write!(
                f,
                "unknown template function `{name}(…)`: the one function is `random_int(A, B)`"
            ),
            SyntaxError::Arity { name, want, got } => write!(
                f,
                "`{name}` takes {want} argument{}, got {got}",
                if *want == 1 { "" } else { "s" }
            ),
            SyntaxError::BadArgument(why) => f.write_str(why),
        }
    }
}

impl fmt::Display for VarRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.root)?;
        for p in &self.path {
            write!(f, ".{p}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Lit(String),
    Expr(Expr),
}

/// A string with `{{ … }}` placeholders (the default is the empty text).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Template {
    parts: Vec<Part>,
}

/// Why a template could not be expanded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TemplateError {
    #[error("unknown variable `{name}`{hint}")]
    Unknown { name: String, hint: String },
    #[error("`{name}` has no field `{field}`")]
    NoField { name: String, field: String },
    #[error("environment variable `{0}` is not set")]
    MissingEnv(String),
    #[error("variables refer to each other in a cycle: {0}")]
    Cycle(String),
    #[error("the filter `{filter}` needs text, but `{subject}` is {found}")]
    NotText {
        filter: &'static str,
        subject: String,
        found: &'static str,
    },
}

impl Template {
    /// Compiles `text`; `Template::parse("{{ base }}/ws")`.
    pub fn parse(text: &str) -> Result<Self, String> {
        Self::compile(text).map_err(|e| e.to_string())
    }

    /// [`Template::parse`] with the error as data.
    pub fn compile(text: &str) -> Result<Self, SyntaxError> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Lit(rest[..open].to_string()));
            }
            let after = &rest[open + 2..];
            let close = after
                .find("}}")
                .ok_or_else(|| SyntaxError::Unclosed(text.to_string()))?;
            parts.push(Part::Expr(Expr::parse(&after[..close])?));
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Lit(rest.to_string()));
        }
        Ok(Self { parts })
    }

    /// A template with no placeholders.
    pub fn literal(text: impl Into<String>) -> Self {
        Self {
            parts: vec![Part::Lit(text.into())],
        }
    }

    pub fn has_vars(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Expr(_)))
    }

    /// The variables this template names.
    pub fn vars(&self) -> impl Iterator<Item = &VarRef> {
        self.parts
            .iter()
            .flat_map(|p| match p {
                Part::Expr(e) => Some(e.vars()),
                Part::Lit(_) => None,
            })
            .flatten()
    }

    /// Expands to a value: a whole-value template keeps the type of what it names.
    pub fn expand_value(&self, scope: &dyn Lookup) -> Result<Value, TemplateError> {
        match self.parts.as_slice() {
            [Part::Expr(e)] => e.eval(scope),
            _ => self.expand(scope).map(Value::String),
        }
    }

    /// Expands to a string; non-string values render as JSON text.
    pub fn expand(&self, scope: &dyn Lookup) -> Result<String, TemplateError> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Lit(s) => out.push_str(s),
                Part::Expr(e) => match e.eval(scope)? {
                    Value::String(s) => out.push_str(&s),
                    other => out.push_str(&other.to_string()),
                },
            }
        }
        Ok(out)
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in &self.parts {
            match part {
                Part::Lit(s) => f.write_str(s)?,
                Part::Expr(e) => write!(f, "{{{{ {e} }}}}")?,
            }
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for Template {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = ScalarString::deserialize(d)?.0;
        Template::parse(&text).map_err(de::Error::custom)
    }
}

/// A YAML scalar read as text (`5`, `true` and `x` all become strings).
pub struct ScalarString(pub String);

impl<'de> Deserialize<'de> for ScalarString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) => Ok(Self(s)),
            Value::Number(n) => Ok(Self(n.to_string())),
            Value::Bool(b) => Ok(Self(b.to_string())),
            other => Err(de::Error::custom(format!(
                "expected a string, found {}",
                crate::value::type_name(&other)
            ))),
        }
    }
}

/// A JSON-like value whose strings may hold templates; literal subtrees stay plain `Value`s.
#[derive(Debug, Clone, PartialEq)]
pub enum TValue {
    Literal(Value),
    Template(Template),
    Array(Vec<TValue>),
    Object(Vec<(String, TValue)>),
    /// A number written with more digits than a double holds (`exact.rs`).
    Exact(ExactNumber),
}

impl TValue {
    /// Compiles the templates inside a plain value.
    pub fn from_value(value: Value) -> Result<Self, String> {
        Self::compile(value).map_err(|e| e.to_string())
    }

    /// [`TValue::from_value`] with the error as data.
    pub fn compile(value: Value) -> Result<Self, SyntaxError> {
        if !contains_template(&value) {
            return Ok(TValue::Literal(value));
        }
        Ok(match value {
            Value::String(s) => TValue::Template(Template::compile(&s)?),
            Value::Array(items) => TValue::Array(
                items
                    .into_iter()
                    .map(TValue::compile)
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => TValue::Object(
                map.into_iter()
                    .map(|(k, v)| Ok((k, TValue::compile(v)?)))
                    .collect::<Result<_, SyntaxError>>()?,
            ),
            other => TValue::Literal(other),
        })
    }

    /// The value when it holds no template.
    pub fn as_literal(&self) -> Option<&Value> {
        match self {
            TValue::Literal(v) => Some(v),
            _ => None,
        }
    }

    pub fn expand(&self, scope: &dyn Lookup) -> Result<Value, TemplateError> {
        Ok(match self {
            TValue::Literal(v) => v.clone(),
            TValue::Template(t) => t.expand_value(scope)?,
            TValue::Exact(n) => Value::from(n.approx),
            TValue::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|i| i.expand(scope))
                    .collect::<Result<_, _>>()?,
            ),
            TValue::Object(fields) => {
                let mut map = Map::new();
                for (k, v) in fields {
                    map.insert(k.clone(), v.expand(scope)?);
                }
                Value::Object(map)
            }
        })
    }

    /// Every variable named anywhere inside.
    pub fn vars(&self, out: &mut Vec<VarRef>) {
        match self {
            TValue::Literal(_) | TValue::Exact(_) => {}
            TValue::Template(t) => out.extend(t.vars().cloned()),
            TValue::Array(items) => items.iter().for_each(|i| i.vars(out)),
            TValue::Object(fields) => fields.iter().for_each(|(_, v)| v.vars(out)),
        }
    }
}

impl<'de> Deserialize<'de> for TValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        exact::deserialize(d)
    }
}

fn contains_template(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains("{{"),
        Value::Array(items) => items.iter().any(contains_template),
        Value::Object(map) => map.values().any(contains_template),
        _ => false,
    }
}

/// Where template names are looked up.
pub trait Lookup {
    fn lookup(&self, var: &VarRef) -> Result<Value, TemplateError>;
}

/// Variables, captures and built-ins, in the precedence docs/templates.md ("Templates") gives: captures, then the
/// resolved variables (`--var` over the environment over `vars`), then built-ins.
#[derive(Debug, Default, Clone)]
pub struct Scope<'a> {
    pub vars: Option<&'a HashMap<String, Value>>,
    pub captures: HashMap<String, Value>,
    /// The incoming message, for mock replies (`{{ message.id }}`).
    pub message: Option<&'a Value>,
    /// `{{ user.index }}` and `{{ user.count }}` of a load's user (without: user 0 of 1).
    pub user: Option<(u64, u64)>,
    /// The request's `data:` row for this user or iteration (`{{ row.COLUMN }}`).
    pub row: Option<Value>,
}

impl Lookup for Scope<'_> {
    fn lookup(&self, var: &VarRef) -> Result<Value, TemplateError> {
        let root = if let Some(v) = self.captures.get(&var.root) {
            v.clone()
        } else if let Some(v) = self.vars.and_then(|vars| vars.get(&var.root)) {
            v.clone()
        } else if var.root == "message" && self.message.is_some() {
            self.message.cloned().unwrap_or(Value::Null)
        } else if let (Some(row), "row") = (&self.row, var.root.as_str()) {
            row.clone()
        } else if let Some(v) = sources::builtin(&var.root, self.user) {
            v
        } else {
            match var.root.as_str() {
                "env" => return lookup_env(var),
                _ => {
                    let mut known: Vec<&str> = self.captures.keys().map(String::as_str).collect();
                    if let Some(vars) = self.vars {
                        known.extend(vars.keys().map(String::as_str));
                    }
                    return Err(unknown(&var.root, known));
                }
            }
        };
        descend(root, var)
    }
}

/// `{{ env.NAME }}`: the process environment.
pub fn lookup_env(var: &VarRef) -> Result<Value, TemplateError> {
    let [name] = var.path.as_slice() else {
        return Err(TemplateError::NoField {
            name: "env".into(),
            field: var.path.join("."),
        });
    };
    std::env::var(name)
        .map(Value::String)
        .map_err(|_| TemplateError::MissingEnv(name.clone()))
}

/// Follows `a.b.0` into a value.
pub fn descend(mut value: Value, var: &VarRef) -> Result<Value, TemplateError> {
    for field in &var.path {
        let next = match &mut value {
            Value::Object(map) => map.remove(field),
            Value::Array(items) => field
                .parse::<usize>()
                .ok()
                .filter(|i| *i < items.len())
                .map(|i| items.swap_remove(i)),
            _ => None,
        };
        value = next.ok_or_else(|| TemplateError::NoField {
            name: var.to_string(),
            field: field.clone(),
        })?;
    }
    Ok(value)
}

/// An unknown-name error with a "did you mean" hint.
pub fn unknown<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> TemplateError {
    let hint = closest(name, known.into_iter().chain(BUILTINS))
        .map(|s| format!(" (did you mean `{s}`?)"))
        .unwrap_or_default();
    TemplateError::Unknown {
        name: name.to_string(),
        hint,
    }
}

/// The candidate closest to `word` by edit distance, if it is close enough to be a typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars(pairs: &[(&str, Value)]) -> HashMap<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn whole_value_templates_keep_their_type() {
        let v = vars(&[("id", json!(42)), ("base", json!("ws://x"))]);
        let scope = Scope {
            vars: Some(&v),
            ..Default::default()
        };
        let t = TValue::from_value(json!({"n": "{{ id }}", "url": "{{ base }}/ws"})).unwrap();
        assert_eq!(
            t.expand(&scope).unwrap(),
            json!({"n": 42, "url": "ws://x/ws"})
        );
    }

    #[test]
    fn unknown_names_suggest_the_closest() {
        let v = vars(&[("symbol", json!("btcusdt"))]);
        let scope = Scope {
            vars: Some(&v),
            ..Default::default()
        };
        let err = Template::parse("{{ symbl }}")
            .unwrap()
            .expand(&scope)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown variable `symbl` (did you mean `symbol`?)"
        );
    }

    #[test]
    fn unclosed_braces_are_rejected() {
        assert!(Template::parse("{{ a").unwrap_err().contains("unclosed"));
        assert!(Template::parse("{{ }}").unwrap_err().contains("empty"));
    }

    #[test]
    fn variables_resolve_through_each_other_and_cycles_are_named() {
        let layer = vec![
            (
                "a".to_string(),
                TValue::from_value(json!("{{ b }}/x")).unwrap(),
            ),
            ("b".to_string(), TValue::from_value(json!("ws")).unwrap()),
        ];
        let got = resolve_vars(&[&layer], &Scope::default()).unwrap();
        assert_eq!(got["a"], json!("ws/x"));

        let cyclic = vec![
            (
                "a".to_string(),
                TValue::from_value(json!("{{ b }}")).unwrap(),
            ),
            (
                "b".to_string(),
                TValue::from_value(json!("{{ a }}")).unwrap(),
            ),
        ];
        let (name, err) = resolve_vars(&[&cyclic], &Scope::default()).unwrap_err();
        assert_eq!(name, "a");
        assert_eq!(
            err.to_string(),
            "variables refer to each other in a cycle: a → b → a"
        );
    }

    #[test]
    fn dotted_names_descend_into_values() {
        let v = vars(&[("user", json!({"ids": [7, 8]}))]);
        let scope = Scope {
            vars: Some(&v),
            ..Default::default()
        };
        let t = Template::parse("{{ user.ids.1 }}").unwrap();
        assert_eq!(t.expand_value(&scope).unwrap(), json!(8));
    }
}
