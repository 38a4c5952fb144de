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
    serde_json::to_string(s).unwrap_or_default()
}
