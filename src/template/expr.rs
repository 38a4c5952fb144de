//! What is inside one `{{ … }}`: a source (a name, or `random_int(A, B)`) and the filters it
//! goes through, left to right (`{{ payload | json | base64 }}`).

use std::fmt;

use serde_json::Value;

use super::filters::Filter;
use super::{sources, Lookup, SyntaxError, TemplateError, VarRef};

/// One `{{ source | filter … }}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    source: Source,
    filters: Vec<Filter>,
    /// The source's variable and the keys filters read, as name checks see them.
    refs: Vec<VarRef>,
}

#[derive(Debug, Clone, PartialEq)]
enum Source {
    Var(VarRef),
    RandomInt(i64, i64),
}

impl Expr {
    pub fn parse(text: &str) -> Result<Self, SyntaxError> {
        let mut pieces = split_top(text, '|').into_iter();
        let (name, args) = call(pieces.next().unwrap_or_default())?;
        let source = match (name, args) {
            ("random_int", Some(args)) => random_int(&args)?,
            ("random_int", None) => {
                return Err(SyntaxError::Arity {
                    name: "random_int".into(),
                    want: 2,
                    got: 0,
                })
            }
            (name, None) => Source::Var(VarRef::parse(name)?),
            (name, Some(_)) => return Err(SyntaxError::UnknownFunction(name.to_string())),
        };
        let filters = pieces
            .map(|piece| {
                let (name, args) = call(piece)?;
                Filter::parse(name, args)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut refs = Vec::new();
        let guarded = filters.iter().any(|f| matches!(f, Filter::Default(_)));
        if let (Source::Var(v), false) = (&source, guarded) {
            let mut v = v.clone();
            v.needs_text = filters.first().filter(|f| f.needs_text()).map(Filter::name);
            refs.push(v);
        }
        for f in &filters {
            if let Filter::Hmac { key, .. } = f {
                let mut key = key.clone();
                key.needs_text = Some(f.name());
                refs.push(key);
            }
        }
        Ok(Self {
            source,
            filters,
            refs,
        })
    }

    /// The variables it names: its source (unless a `default` stands in for it) and the keys.
    pub fn vars(&self) -> impl Iterator<Item = &VarRef> {
        self.refs.iter()
    }

    /// The value: the source's, through each filter. A source that is not defined (or null)
    /// takes the value of the first `default` and goes through the filters after it.
    pub fn eval(&self, scope: &dyn Lookup) -> Result<Value, TemplateError> {
        let found = match &self.source {
            Source::Var(v) => scope.lookup(v),
            Source::RandomInt(a, b) => Ok(sources::random_int(*a, *b)),
        };
        if self.filters.is_empty() {
            // The common case, expanded per message sent: nothing more to allocate.
            return found;
        }
        let subject = match &self.source {
            Source::Var(v) => v.to_string(),
            Source::RandomInt(..) => "random_int".to_string(),
        };
        let mut rest = self.filters.as_slice();
        let default = rest.iter().enumerate().find_map(|(i, f)| match f {
            Filter::Default(v) => Some((i, v)),
            _ => None,
        });
        let missing = match &found {
            Ok(v) => v.is_null(),
            Err(e) => matches!(
                e,
                TemplateError::Unknown { .. }
                    | TemplateError::NoField { .. }
                    | TemplateError::MissingEnv(_)
            ),
        };
        let mut value = match (default, missing) {
            (Some((i, v)), true) => {
                rest = &rest[i + 1..];
                v.clone()
            }
            _ => found?,
        };
        for f in rest {
            value = f.apply(value, &subject, scope)?;
        }
        Ok(value)
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Source::Var(v) => write!(f, "{v}")?,
            Source::RandomInt(a, b) => write!(f, "random_int({a}, {b})")?,
        }
        for filter in &self.filters {
            write!(f, " | {filter}")?;
        }
        Ok(())
    }
}

/// `random_int(A, B)`: integers, `A <= B`.
fn random_int(args: &[&str]) -> Result<Source, SyntaxError> {
    let [a, b] = args else {
        return Err(SyntaxError::Arity {
            name: "random_int".into(),
            want: 2,
            got: args.len(),
        });
    };
    let int = |s: &str| {
        s.parse::<i64>()
            .map_err(|_| SyntaxError::BadArgument(format!("random_int: `{s}` is not an integer")))
    };
    let (a, b) = (int(a)?, int(b)?);
    if a > b {
        return Err(SyntaxError::BadArgument(format!(
            "random_int({a}, {b}): the lower bound comes first"
        )));
    }
    Ok(Source::RandomInt(a, b))
}

/// `name` or `name(a, b)`, trimmed; the arguments split at top-level commas.
fn call(piece: &str) -> Result<(&str, Option<Vec<&str>>), SyntaxError> {
    let piece = piece.trim();
    if piece.is_empty() {
        return Err(SyntaxError::Empty);
    }
    let Some(open) = piece.find('(') else {
        return Ok((piece, None));
    };
    let Some(inner) = piece[open + 1..].strip_suffix(')') else {
        return Err(SyntaxError::BadArgument(format!(
            "`{piece}`: arguments end with `)`"
        )));
    };
    let args: Vec<&str> = split_top(inner, ',').into_iter().map(str::trim).collect();
    let args = if args == [""] { Vec::new() } else { args };
    Ok((piece[..open].trim(), Some(args)))
}

/// `text` split at each `sep` outside quotes and parentheses, so `default("a|b")` stays whole.
fn split_top(text: &str, sep: char) -> Vec<&str> {
    let (mut out, mut start, mut depth, mut quote) = (Vec::new(), 0, 0usize, None);
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match quote {
            Some(_) if escaped => escaped = false,
            Some(_) if c == '\\' => escaped = true,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '"' | '\'' => quote = Some(c),
                '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                c if c == sep && depth == 0 => {
                    out.push(&text[start..i]);
                    start = i + c.len_utf8();
                }
                _ => {}
            },
        }
    }
    out.push(&text[start..]);
    out
}
