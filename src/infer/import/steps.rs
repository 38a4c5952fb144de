//! The steps of an imported session: each message sent as a `send`, each run of received
//! messages alike in kind as one `expect` with the checks `wsrun new --from` infers.

use base64::Engine as _;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use super::write::line;
use super::{comment_text, Frame, Payload};
use crate::infer::checks::Checks;
use crate::infer::starter::plural;
use crate::infer::yaml::{json_string, yaml_string};
use crate::infer::Facts;

pub(super) fn send(y: &mut String, payload: &Payload) {
    match payload {
        Payload::Binary(b) => line(
            y,
            format!(
                "      - send: {{ binary: {} }}",
                base64::engine::general_purpose::STANDARD.encode(b)
            ),
        ),
        Payload::Text(t) => match serde_json::from_str::<Value>(t) {
            Ok(v @ (Value::Object(_) | Value::Array(_))) => {
                line(y, format!("      - send: {{ json: {} }}", flow(&v)))
            }
            _ => line(y, format!("      - send: {{ text: {} }}", yaml_string(t))),
        },
    }
}

/// What groups received messages into one `expect`: JSON objects by their keys, other JSON by
/// type, text, binary.
pub(super) fn signature(payload: &Payload) -> String {
    match payload {
        Payload::Binary(_) => "binary".into(),
        Payload::Text(t) => match serde_json::from_str::<Value>(t) {
            Ok(Value::Object(m)) => {
                let keys: Vec<&str> = m.keys().map(String::as_str).collect();
                format!("object:{}", keys.join(","))
            }
            Ok(v) => format!("json:{}", crate::value::type_name(&v)),
            Err(_) => "text".into(),
        },
    }
}

/// One `expect` of consecutive received messages alike in kind.
pub(super) fn expect(y: &mut String, group: &[Frame]) {
    let n = group.len();
    line(
        y,
        format!(
            "      # Received {}, the first: {}",
            plural(n as u64, "message"),
            preview(&group[0].payload)
        ),
    );
    let count = if n > 1 {
        format!("count: {n}")
    } else {
        String::new()
    };
    match &group[0].payload {
        Payload::Text(t) if serde_json::from_str::<Value>(t).is_ok() => {
            json_expect(y, group, &count)
        }
        Payload::Text(first) => {
            let same = group.iter().all(|f| f.payload == group[0].payload);
            let matcher = if same && n > 1 && !first.contains("{{") {
                yaml_string(first)
            } else {
                "{ type: string }".into()
            };
            line(
                y,
                format!(
                    "      - expect: {{ {} }}",
                    with(&count, &format!("text: {matcher}"))
                ),
            );
        }
        Payload::Binary(first) => {
            let same_len = group
                .iter()
                .all(|f| matches!(&f.payload, Payload::Binary(b) if b.len() == first.len()));
            let matcher = if same_len {
                format!("binary: {{ len: {} }}", first.len())
            } else {
                "binary: { len: { gte: 0 } }".into()
            };
            line(
                y,
                format!("      - expect: {{ {} }}", with(&count, &matcher)),
            );
        }
    }
}

fn with(count: &str, rest: &str) -> String {
    if count.is_empty() {
        rest.to_string()
    } else {
        format!("{count}, {rest}")
    }
}

/// The `expect` of JSON messages: what held for all of them, as `wsrun new --from` infers it.
fn json_expect(y: &mut String, group: &[Frame], count: &str) {
    let mut facts = Facts::default();
    for f in group {
        if let Payload::Text(t) = &f.payload {
            facts.add(&Message::text(t.as_str()));
        }
    }
    let checks = Checks::of(&facts);
    if checks.json.is_empty() {
        let body = if count.is_empty() {
            "{}".into()
        } else {
            format!("{{ {count} }}")
        };
        line(y, format!("      - expect: {body}"));
    } else {
        line(y, "      - expect:");
        if !count.is_empty() {
            line(y, format!("          {count}"));
        }
        line(y, "          json:");
        for c in &checks.json {
            let entry = format!("{}: {}", json_path_key(&c.path), c.matcher);
            // From one message, the why ("1 distinct values") says nothing.
            if c.why.is_empty() || group.len() == 1 {
                line(y, format!("            {entry}"));
            } else {
                line(
                    y,
                    format!("            {entry}   # {}", comment_text(&c.why)),
                );
            }
        }
    }
    for u in &checks.unchecked {
        line(
            y,
            format!(
                "          # {}: {}; not checked here",
                comment_text(&u.path),
                comment_text(&u.why)
            ),
        );
    }
}

/// A JSONPath as a YAML key: plain for `$.a[*].b`, quoted otherwise.
fn json_path_key(path: &str) -> String {
    let plain = path
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '$' | '.' | '_' | '[' | '*' | ']'));
    if plain {
        path.to_string()
    } else {
        json_string(path)
    }
}

/// The start of a message, for a comment.
fn preview(payload: &Payload) -> String {
    let text = match payload {
        Payload::Text(t) => t.clone(),
        Payload::Binary(b) => format!("[binary, {} bytes]", b.len()),
    };
    let text = comment_text(&text);
    match text.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}

/// A JSON value as YAML flow text: compact JSON, which YAML 1.2 reads back as the same value.
fn flow(v: &Value) -> String {
    v.to_string()
}
