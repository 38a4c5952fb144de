//! Values written back as YAML text for the collections `wsrun new` writes.

use serde_json::Value;

/// A JSON value as YAML: strings plain when that reads back the same, else quoted.
pub fn yaml_value(v: &Value) -> String {
    match v {
        Value::String(s) => yaml_string(s),
        other => other.to_string(),
    }
}

/// A string in YAML single quotes (backslashes kept as they are: for regexes).
pub fn yaml_single(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A string as YAML that reads back as that string, in block and flow context alike.
pub fn yaml_string(s: &str) -> String {
    const WORDS: [&str; 12] = [
        "true", "false", "null", "yes", "no", "on", "off", "y", "n", "nan", "inf", "infinity",
    ];
    let plain = s.starts_with(|c: char| c.is_ascii_alphabetic())
        && !s.ends_with(' ')
        && !s.contains("  ")
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '@' | '/' | '-' | ' '))
        && !WORDS.contains(&s.to_ascii_lowercase().as_str());
    if plain {
        s.to_string()
    } else {
        json_string(s)
    }
}

pub fn json_string(s: &str) -> String {
    // Serialising a `str` cannot fail: it has no map keys or custom Serialize impl to reject.
    yaml_safe(serde_json::to_string(s).unwrap_or_default())
}

/// A value as JSON text, which YAML reads back as the same value.
pub fn json_text(v: &Value) -> String {
    yaml_safe(v.to_string())
}

/// JSON text with the characters YAML does not take as they are written `\uXXXX`: serde leaves
/// DEL, the C1 controls, U+2028/U+2029 and U+FFFE/U+FFFF raw, and they only occur inside
/// strings, where JSON's escape means the same.
fn yaml_safe(json: String) -> String {
    let unsafe_char = |c: char| {
        matches!(
            c,
            '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{fffe}' | '\u{ffff}'
        )
    };
    if !json.contains(unsafe_char) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 12);
    for c in json.chars() {
        if unsafe_char(c) {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// Text from a document or a file name for a `#` comment: on one line whatever it holds
/// (newlines, carriage returns, other controls and line separators escaped as in JSON).
pub fn comment(s: &str) -> String {
    crate::report::printable(s)
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// Text for a value wsrun reads as a template (a URL) with its braces percent-encoded, so a
/// `{{` the document holds is sent as written instead of naming a variable.
pub fn no_template(s: &str) -> String {
    s.replace('{', "%7B").replace('}', "%7D")
}

/// Whether a value holds `{{` in a string or a key: wsrun would read it as a template.
pub fn has_template(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains("{{"),
        Value::Array(items) => items.iter().any(has_template),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains("{{") || has_template(v)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_and_strings_stay_on_one_line() {
        let name = "a\nb\rc\u{2028}d\u{2029}e\u{85}f";
        let c = comment(name);
        assert!(
            !c.contains(['\n', '\r', '\u{2028}', '\u{2029}', '\u{85}']),
            "{c}"
        );
        assert_eq!(json_string(name), r#""a\nb\rc\u2028d\u2029e\u0085f""#);
    }
}
