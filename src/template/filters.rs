//! Template filters (`{{ token | urlencode }}`): what each one does to a value, and its parsing.

use std::fmt;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use ring::{digest, hmac};
use serde_json::Value;

use super::{closest, Lookup, SyntaxError, TemplateError, VarRef};

/// Every filter's name, for "did you mean" and the docs.
pub const FILTERS: [&str; 10] = [
    "urlencode",
    "base64",
    "base64url",
    "json",
    "upper",
    "lower",
    "sha256",
    "hmac_sha256",
    "hmac_sha256_base64",
    "default",
];

/// One `| filter` of a template expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// Percent-encodes all but RFC 3986's unreserved characters (`A-Z a-z 0-9 - . _ ~`).
    Urlencode,
    Base64,
    /// The URL-safe alphabet, without padding (as JWTs write it).
    Base64Url,
    /// The value as JSON text.
    Json,
    Upper,
    Lower,
    /// The SHA-256 digest of the text, in lowercase hex.
    Sha256,
    /// The HMAC-SHA256 of the text under the key the variable `key` holds, in hex or base64.
    Hmac {
        key: VarRef,
        base64: bool,
    },
    /// The value when the name is not defined (or is null).
    Default(Value),
}

impl Filter {
    /// Parses `name` with its arguments (`None` when written without parentheses).
    pub fn parse(name: &str, args: Option<Vec<&str>>) -> Result<Self, SyntaxError> {
        let arity = |want: usize| -> Result<Vec<&str>, SyntaxError> {
            let got = args.clone().unwrap_or_default();
            if got.len() == want {
                Ok(got)
            } else {
                Err(SyntaxError::Arity {
                    name: name.to_string(),
                    want,
                    got: got.len(),
                })
            }
        };
        Ok(match name {
            "urlencode" | "base64" | "base64url" | "json" | "upper" | "lower" | "sha256" => {
                arity(0)?;
                match name {
                    "urlencode" => Filter::Urlencode,
                    "base64" => Filter::Base64,
                    "base64url" => Filter::Base64Url,
                    "json" => Filter::Json,
                    "upper" => Filter::Upper,
                    "lower" => Filter::Lower,
                    _ => Filter::Sha256,
                }
            }
            "hmac_sha256" | "hmac_sha256_base64" => {
                let key = arity(1)?[0];
                Filter::Hmac {
                    key: VarRef::parse(key)?,
                    base64: name == "hmac_sha256_base64",
                }
            }
            "default" => Filter::Default(literal(arity(1)?[0])),
            _ => {
                return Err(SyntaxError::UnknownFilter {
                    name: name.to_string(),
                    hint: closest(name, FILTERS)
                        .map(|s| format!(" (did you mean `{s}`?)"))
                        .unwrap_or_else(|| format!(" (filters: {})", FILTERS.join(", "))),
                })
            }
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Filter::Urlencode => "urlencode",
            Filter::Base64 => "base64",
            Filter::Base64Url => "base64url",
            Filter::Json => "json",
            Filter::Upper => "upper",
            Filter::Lower => "lower",
            Filter::Sha256 => "sha256",
            Filter::Hmac { base64: false, .. } => "hmac_sha256",
            Filter::Hmac { base64: true, .. } => "hmac_sha256_base64",
            Filter::Default(_) => "default",
        }
    }

    /// Whether the filter reads its input as text (and so fails on a list, a map or null).
    pub fn needs_text(&self) -> bool {
        !matches!(self, Filter::Json | Filter::Default(_))
    }

    /// Applies the filter; `subject` names the value in errors (`token`, `now_ms`).
    pub fn apply(
        &self,
        value: Value,
        subject: &str,
        scope: &dyn Lookup,
    ) -> Result<Value, TemplateError> {
        if let Filter::Default(_) = self {
            return Ok(value);
        }
        let text = || as_text(&value, self.name(), subject);
        let out = match self {
            Filter::Json => value.to_string(),
            Filter::Urlencode => urlencode(&text()?),
            Filter::Base64 => STANDARD.encode(text()?),
            Filter::Base64Url => URL_SAFE_NO_PAD.encode(text()?),
            Filter::Upper => text()?.to_uppercase(),
            Filter::Lower => text()?.to_lowercase(),
            Filter::Sha256 => hex(digest::digest(&digest::SHA256, text()?.as_bytes()).as_ref()),
            Filter::Hmac { key, base64 } => {
                let secret = as_text(&scope.lookup(key)?, self.name(), &key.to_string())?;
                let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
                let tag = hmac::sign(&key, text()?.as_bytes());
                match base64 {
                    true => STANDARD.encode(tag.as_ref()),
                    false => hex(tag.as_ref()),
                }
            }
            Filter::Default(_) => return Ok(value),
        };
        Ok(Value::String(out))
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::Hmac { key, .. } => write!(f, "{}({key})", self.name()),
            Filter::Default(v) => write!(f, "default({v})"),
            other => f.write_str(other.name()),
        }
    }
}

/// A value as the text a filter reads: strings as they are, numbers and booleans as written.
fn as_text(value: &Value, filter: &'static str, subject: &str) -> Result<String, TemplateError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(TemplateError::NotText {
            filter,
            subject: subject.to_string(),
            found: a_type(other),
        }),
    }
}

/// The kinds of value a text filter refuses, as a sentence names them.
pub fn a_type(value: &Value) -> &'static str {
    match value {
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
        Value::Null => "null",
        _ => "text",
    }
}

/// A variable a text filter reads holds text (or a number or boolean), checked when its value
/// is known before the run: `{{ cfg | urlencode }}` on a map fails at load, at its line.
pub fn check_text(value: &Value, var: &VarRef) -> Result<(), TemplateError> {
    let Some(filter) = var.needs_text else {
        return Ok(());
    };
    match super::descend(value.clone(), var) {
        Ok(v @ (Value::Array(_) | Value::Object(_) | Value::Null)) => Err(TemplateError::NotText {
            filter,
            subject: var.to_string(),
            found: a_type(&v),
        }),
        // A missing field is the run's to report, as it is without a filter.
        _ => Ok(()),
    }
}

/// `default(V)`'s argument: JSON when it reads as JSON (`0`, `"a b"`, `null`), else the text.
fn literal(arg: &str) -> Value {
    serde_json::from_str(arg).unwrap_or_else(|_| Value::String(arg.to_string()))
}

/// Percent-encoding of every byte outside RFC 3986's unreserved set, so the text is safe in a
/// query string and in a path segment alike (`+`, `/` and `=` of a base64 token included).
pub fn urlencode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Lowercase hex, as signed APIs expect a signature.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::super::{Scope, Template};
    use serde_json::{json, Value};
    use std::collections::HashMap;

    fn render(text: &str, vars: &[(&str, Value)]) -> Result<String, String> {
        let vars: HashMap<String, Value> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let scope = Scope {
            vars: Some(&vars),
            ..Scope::default()
        };
        let t = Template::parse(text)?;
        t.expand(&scope).map_err(|e| e.to_string())
    }

    #[test]
    fn hmac_sha256_matches_rfc_4231_test_case_2() {
        let got = render(
            "{{ data | hmac_sha256(key) }}",
            &[
                ("key", json!("Jefe")),
                ("data", json!("what do ya want for nothing?")),
            ],
        );
        assert_eq!(
            got.as_deref(),
            Ok("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        );
    }

    #[test]
    fn hmac_sha256_matches_binances_signed_endpoint_example() {
        let query = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559";
        let secret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
        let got = render(
            "{{ q | hmac_sha256(secret) }}",
            &[("q", json!(query)), ("secret", json!(secret))],
        );
        assert_eq!(
            got.as_deref(),
            Ok("c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71")
        );
        // The same tag in base64 (Coinbase and Kraken sign that way).
        let got = render(
            "{{ q | hmac_sha256_base64(secret) }}",
            &[("q", json!(query)), ("secret", json!(secret))],
        );
        assert_eq!(
            got.as_deref(),
            Ok("yNtWglrnHW15RHhJ5hcRX0qSD6Ks3KsrBTxLKDi9a3E=")
        );
    }

    #[test]
    fn sha256_matches_fips_180_examples() {
        let got = render("{{ m | sha256 }}", &[("m", json!("abc"))]);
        assert_eq!(
            got.as_deref(),
            Ok("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        let got = render("{{ m | sha256 }}", &[("m", json!(""))]);
        assert_eq!(
            got.as_deref(),
            Ok("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
    }

    #[test]
    fn encodings_and_case_filters_chain_left_to_right() {
        let v = [("t", json!("a+b/c=d é")), ("o", json!({"k": [1, "x"]}))];
        assert_eq!(
            render("{{ t | urlencode }}", &v).as_deref(),
            Ok("a%2Bb%2Fc%3Dd%20%C3%A9")
        );
        assert_eq!(
            render("{{ t | base64 }}", &v).as_deref(),
            Ok("YStiL2M9ZCDDqQ==")
        );
        assert_eq!(
            render("{{ t | base64url }}", &v).as_deref(),
            Ok("YStiL2M9ZCDDqQ")
        );
        assert_eq!(render("{{ t | upper }}", &v).as_deref(), Ok("A+B/C=D É"));
        assert_eq!(
            render("{{ o | json }}", &v).as_deref(),
            Ok(r#"{"k":[1,"x"]}"#)
        );
        assert_eq!(
            render("{{ o | json | base64 | lower }}", &v).as_deref(),
            Ok("eyjrijpbmswiecjdfq==")
        );
        assert_eq!(render("{{ o.k.0 | urlencode }}", &v).as_deref(), Ok("1"));
    }

    #[test]
    fn default_stands_in_for_a_missing_or_null_value_only() {
        let v = [("n", Value::Null), ("s", json!("set"))];
        assert_eq!(
            render("{{ nope | default(x y) }}", &v).as_deref(),
            Ok("x y")
        );
        assert_eq!(
            render("{{ n | default(\"a|b\") | upper }}", &v).as_deref(),
            Ok("A|B")
        );
        assert_eq!(render("{{ s | default(0) }}", &v).as_deref(), Ok("set"));
        assert_eq!(render("{{ s.x | default(7) }}", &v).as_deref(), Ok("7"));
        let t = Template::parse("{{ nope | default(7) }}").unwrap_or_default();
        assert_eq!(
            t.expand_value(&Scope::default()).map_err(|e| e.to_string()),
            Ok(json!(7))
        );
    }

    #[test]
    fn a_text_filter_on_a_map_names_the_filter_and_the_type() {
        let v = [("cfg", json!({"a": 1})), ("k", json!([1]))];
        assert_eq!(
            render("{{ cfg | urlencode }}", &v),
            Err("the filter `urlencode` needs text, but `cfg` is a map".into())
        );
        assert_eq!(
            render("{{ cfg | json | hmac_sha256(k) }}", &v),
            Err("the filter `hmac_sha256` needs text, but `k` is a list".into())
        );
    }

    #[test]
    fn unknown_filters_and_wrong_arity_are_syntax_errors() {
        assert_eq!(
            Template::parse("{{ t | urlencod }}"),
            Err("unknown template filter `urlencod` (did you mean `urlencode`?)".into())
        );
        assert_eq!(
            Template::parse("{{ t | hmac_sha256 }}"),
            Err("`hmac_sha256` takes 1 argument, got 0".into())
        );
        assert_eq!(
            Template::parse("{{ t | upper(1) }}"),
            Err("`upper` takes 0 arguments, got 1".into())
        );
        assert_eq!(
            Template::parse("{{ random_int(5, 1) }}"),
            Err("random_int(5, 1): the lower bound comes first".into())
        );
        assert_eq!(
            Template::parse("{{ random_int(1) }}"),
            Err("`random_int` takes 2 arguments, got 1".into())
        );
        assert_eq!(
            Template::parse("{{ t | }}"),
            Err("empty template `{{ }}`".into())
        );
    }

    #[test]
    fn templates_with_filters_print_as_written() {
        let t = Template::parse("a{{ x|json |hmac_sha256( k ) }}").unwrap_or_default();
        assert_eq!(t.to_string(), "a{{ x | json | hmac_sha256(k) }}");
        let names: Vec<String> = t.vars().map(|v| v.to_string()).collect();
        assert_eq!(names, ["x", "k"]);
    }
}
