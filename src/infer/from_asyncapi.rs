//! The collection `wsrun new --from-asyncapi DOC` writes: the document's servers as
//! environments, and one request per operation — send its example message, expect the reply —
//! each under the `contract:` of its channel.

use std::fmt::Write as _;

use serde_json::Value;

use super::starter::plural;
use super::yaml::{comment, has_template, json_text, no_template, yaml_string, yaml_value};
use crate::contract::operations::{Operation, Outline, Sample};

/// Where the document is and what the collection is called.
#[derive(Debug, Clone)]
pub struct Input<'a> {
    /// The document as the user named it (shown in comments).
    pub document: &'a str,
    /// The `contract: {asyncapi:}` path: the document, relative to the collection's folder.
    pub contract: &'a str,
    /// The collection's name.
    pub name: &'a str,
}

/// The collection's text, for `outline` read from `input.document`.
pub fn collection(outline: &Outline, input: &Input<'_>) -> Result<String, String> {
    if outline.operations.is_empty() {
        return Err(format!(
            "{} has channels but no operations (3.0 `operations`, 2.x `publish`/`subscribe`): \
             there is nothing to send or expect",
            input.document
        ));
    }
    let mut y = String::new();
    let mut line = |l: String| {
        let _ = writeln!(y, "{}", l.trim_end());
    };
    line(format!(
        "# Written by `wsrun new --from-asyncapi` from {} (AsyncAPI {}):",
        comment(input.document),
        comment(&outline.version)
    ));
    line(format!(
        "# one request per operation ({}), each checking every message it receives against",
        plural(outline.operations.len() as u64, "operation")
    ));
    line("# its channel's contract. The environments are the document's servers.".into());
    line(format!("name: {}", yaml_string(input.name)));
    // A parameter whose name is not a variable name stays in the URL as written.
    let params: Vec<_> = outline
        .parameters
        .iter()
        .filter(|(n, _)| is_var(n))
        .collect();
    if !params.is_empty() {
        line("vars:".into());
        for (name, value) in params {
            match value {
                Some(Value::String(v)) => line(format!(
                    "  {}: {}",
                    yaml_string(name),
                    yaml_string(&no_template(v))
                )),
                Some(v) if !has_template(v) => {
                    line(format!("  {}: {}", yaml_string(name), yaml_value(v)))
                }
                _ => line(format!(
                    "  {}: {}   # the document gives no value: set one",
                    yaml_string(name),
                    yaml_string(name)
                )),
            }
        }
    }
    line("environments:".into());
    if outline.servers.is_empty() {
        line("  # The document names no WebSocket server: point this one at yours.".into());
        line("  local: { url: \"ws://127.0.0.1:8080\" }".into());
    }
    for s in &outline.servers {
        line(format!(
            "  {}: {{ url: {} }}   # server `{}`",
            yaml_string(&s.name),
            yaml_string(&no_template(&s.url)),
            comment(&s.name)
        ));
    }
    for s in &outline.skipped_servers {
        line(format!(
            "  # server `{}` is not a WebSocket server: left out",
            comment(s)
        ));
    }
    let default = outline
        .servers
        .first()
        .map(|s| s.name.as_str())
        .unwrap_or("local");
    line(format!("default_env: {}", yaml_string(default)));
    line("defaults:".into());
    line("  timeout: 5s".into());
    line("requests:".into());
    for op in &outline.operations {
        request(&mut line, op, input);
    }
    Ok(y)
}

/// One request: the operation's message(s) sent or expected, and the reply expected.
fn request(line: &mut impl FnMut(String), op: &Operation, input: &Input<'_>) {
    let verb = if op.sends { "sends" } else { "receives" };
    line(String::new());
    line(format!(
        "  # Operation `{}`: the client {verb} on channel `{}`{}.",
        comment(&op.name),
        comment(&op.channel),
        op.address
            .as_deref()
            .map(|a| format!(" ({})", comment(a)))
            .unwrap_or_default()
    ));
    line(format!("  - name: {}", yaml_string(&op.name)));
    line(format!("    url: {}", yaml_string(&url(op))));
    line(format!(
        "    contract: {{ asyncapi: {}, channel: {} }}",
        yaml_string(input.contract),
        yaml_string(&op.channel)
    ));
    line("    steps:".into());
    if op.sends {
        for m in &op.messages {
            match &m.example {
                // A `{{` in it would name a variable: the skeleton instead.
                Some(example) if !has_template(example) => {
                    line(format!(
                        "      # The example of message `{}`.",
                        comment(&m.name)
                    ));
                    line(format!("      - send: {{ json: {} }}", json(example)));
                }
                _ => {
                    line(format!(
                        "      # Message `{}` has no example in the document (or one holding",
                        comment(&m.name)
                    ));
                    line("      # `{{`): these are its required properties; fill them in.".into());
                    let skeleton = match has_template(&m.skeleton) {
                        false => json(&m.skeleton),
                        true => "{}".into(),
                    };
                    line(format!("      - send: {{ json: {skeleton} }}"));
                }
            }
        }
        match op.replies.as_slice() {
            [] => line("      # The document says of no answer to expect.".into()),
            [one] => expect(line, one, "the answer"),
            many => {
                let names: Vec<String> = many
                    .iter()
                    .map(|m| format!("`{}`", comment(&m.name)))
                    .collect();
                line(format!(
                    "      # The answer is one of {}: the contract checks which; this checks the first.",
                    names.join(", ")
                ));
                expect(line, &many[0], "the answer");
            }
        }
    } else {
        match op.messages.as_slice() {
            [one] => expect(line, one, "what the server sends"),
            _ => {
                line("      # One of the channel's messages (the contract checks which).".into());
                line("      - expect: { json: { $: { type: object } } }".into());
            }
        }
    }
    line("      - close: { code: 1000 }".into());
}

/// An `expect` of message `m`: its required properties there (their `const` as equality).
fn expect(line: &mut impl FnMut(String), m: &Sample, what: &str) {
    if m.required.is_empty() {
        line(format!(
            "      # {} (message `{}`).",
            capitalized(what),
            comment(&m.name)
        ));
        let ty = if m.object {
            "type: object"
        } else {
            "exists: true"
        };
        line(format!("      - expect: {{ json: {{ $: {{ {ty} }} }} }}"));
        return;
    }
    line(format!(
        "      # {} (message `{}`): its required properties are there.",
        capitalized(what),
        comment(&m.name)
    ));
    line("      - expect:".into());
    line("          json:".into());
    for (name, value) in &m.required {
        let path = json_path(name);
        match value {
            Some(v) if !has_template(v) => line(format!("            {path}: {}", yaml_value(v))),
            _ => line(format!("            {path}: {{ exists: true }}")),
        }
    }
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The request's URL: the environment's `url` and the channel's address, its `{parameters}` as
/// variables.
fn url(op: &Operation) -> String {
    let address = op.address.as_deref().unwrap_or("");
    let mut out = String::from("{{ url }}");
    if !address.is_empty() && !address.starts_with('/') {
        out.push('/');
    }
    let mut rest = address;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        out.push_str(&no_template(&rest[..open]));
        let name = &rest[open + 1..open + close];
        if is_var(name) {
            out.push_str(&format!("{{{{ {name} }}}}"));
        } else {
            out.push_str(&no_template(&rest[open..=open + close]));
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(&no_template(rest));
    out
}

/// A name a template can refer to as a variable.
fn is_var(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// A property name as a JSONPath key: `$.id`, or `$['a b']`.
fn json_path(name: &str) -> String {
    let plain = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        format!("$.{name}")
    } else {
        json(&Value::String(format!(
            "$['{}']",
            name.replace('\\', "\\\\").replace('\'', "\\'")
        )))
    }
}

/// A value as JSON, which YAML reads back as the same value.
fn json(v: &Value) -> String {
    json_text(v)
}
