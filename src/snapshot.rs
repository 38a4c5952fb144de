//! Snapshot steps (SPEC §5): the next message(s) — or their merged shape — compared with a
//! `.snap` file in insta's layout beside the collection; differences write `.snap.new`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::time::Instant;

use crate::collection::{Request, Snapshot, Step};
use crate::duration::format_duration;
use crate::report::Failure;
use crate::runner::conn::{Conn, Incoming, Recorder, RecvError};

/// Where a collection's snapshots live.
pub fn snapshot_dir(collection_path: &Path) -> PathBuf {
    collection_path
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join("__snapshots__")
}

/// `<dir>/<collection-stem>__<name>.snap`.
pub fn snapshot_path(collection_path: &Path, name: &str) -> PathBuf {
    let stem = collection_path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "collection".into());
    snapshot_dir(collection_path).join(format!("{stem}__{}.snap", slug(name)))
}

/// The default snapshot name: the request name and step number, as a file-safe slug.
pub fn default_name(request: &Request, step_index: usize) -> String {
    format!("{}-{}", slug(&request.name), step_index)
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// Whether snapshots may be written: never under CI (`CI` set and not `false`/`0`).
pub fn writes_allowed() -> bool {
    match std::env::var("CI") {
        Ok(v) => v.is_empty() || v == "0" || v.eq_ignore_ascii_case("false"),
        Err(_) => true,
    }
}

/// Runs a snapshot step: reads the messages, builds the body, compares, writes as the flow says.
pub async fn run_step(
    ctx: &crate::runner::StepCtx<'_>,
    request: &Request,
    step: &Step,
    spec: &Snapshot,
    conn: &mut Conn,
    rec: &mut Recorder,
    timeout: Duration,
) -> Result<u64, (Failure, u64)> {
    let count = spec.count.unwrap_or(1).max(1);
    let deadline = Instant::now() + timeout;
    let mut messages = Vec::with_capacity(count.min(10_000) as usize);
    while (messages.len() as u64) < count {
        match conn.recv(deadline, rec).await {
            Ok(m) => messages.push(to_value(&m)),
            Err(e) => {
                let why = match e {
                    RecvError::Timeout => format!("no message within {}", format_duration(timeout)),
                    RecvError::Closed(c) => c.describe(),
                };
                return Err((
                    Failure::new(format!(
                        "snapshot: {why}; received {} of {count} message(s)",
                        messages.len()
                    )),
                    messages.len() as u64,
                ));
            }
        }
    }
    let n = messages.len() as u64;
    for m in &mut messages {
        redact(m, &spec.redact);
    }
    let body = ctx
        .masker
        .mask(&render_body(&messages, spec.shape))
        .into_owned();
    let index = request
        .steps
        .iter()
        .position(|s| std::ptr::eq(s, step))
        .unwrap_or(0)
        + 1;
    let name = spec
        .name
        .clone()
        .unwrap_or_else(|| default_name(request, index));
    let path = snapshot_path(ctx.collection_path, &name);
    let header = Header {
        source: ctx.collection_path.display().to_string(),
        description: format!("{} › step {index} (line {})", request.name, step.line),
        expression: if spec.shape {
            format!("shape of {n} message(s)")
        } else {
            format!("{n} message(s)")
        },
    };
    compare(&path, &header, &body, ctx.update)
        .map(|_| n)
        .map_err(|f| (f, n))
}

fn to_value(m: &Incoming) -> Value {
    match m {
        Incoming::Text(t) => {
            serde_json::from_str(t.as_str()).unwrap_or_else(|_| Value::String(t.as_str().into()))
        }
        Incoming::Binary(b) => {
            use base64::Engine as _;
            Value::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
    }
}

/// Replaces every node the paths select with `"[redacted]"`.
pub fn redact(value: &mut Value, paths: &[crate::jsonpath::JsonPath]) {
    for path in paths {
        for pointer in path.pointers(value) {
            if let Some(node) = value.pointer_mut(&pointer) {
                *node = Value::String("[redacted]".into());
            }
        }
    }
}

/// The snapshot body: one message as pretty key-sorted JSON, several as an array, or the merged
/// shape.
pub fn render_body(messages: &[Value], shape: bool) -> String {
    let value = if shape {
        let mut merged = Shape::default();
        for m in messages {
            merged.add(m);
        }
        merged.render()
    } else if messages.len() == 1 {
        messages[0].clone()
    } else {
        Value::Array(messages.to_vec())
    };
    // serde_json's Map is a BTreeMap (no `preserve_order`), so keys come out sorted.
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

/// The merged type of values: scalar type names, an object's fields, an array's items.
#[derive(Debug, Default, Clone)]
pub struct Shape {
    scalars: BTreeSet<&'static str>,
    object: Option<ObjectShape>,
    array: Option<Box<Shape>>,
    empty_array: bool,
}

#[derive(Debug, Default, Clone)]
struct ObjectShape {
    seen: u64,
    fields: BTreeMap<String, (Shape, u64)>,
}

impl Shape {
    pub fn of(values: &[Value]) -> Value {
        let mut s = Shape::default();
        values.iter().for_each(|v| s.add(v));
        s.render()
    }

    pub fn add(&mut self, v: &Value) {
        match v {
            Value::Object(map) => {
                let o = self.object.get_or_insert_with(ObjectShape::default);
                o.seen += 1;
                for (k, child) in map {
                    let entry = o.fields.entry(k.clone()).or_default();
                    entry.0.add(child);
                    entry.1 += 1;
                }
            }
            Value::Array(items) => {
                if items.is_empty() {
                    self.empty_array = true;
                }
                let item = self.array.get_or_insert_with(Box::default);
                items.iter().for_each(|i| item.add(i));
            }
            other => {
                self.scalars.insert(crate::matcher::type_name(other));
            }
        }
    }

    fn is_blank(&self) -> bool {
        self.scalars.is_empty() && self.object.is_none() && self.array.is_none()
    }

    pub fn render(&self) -> Value {
        let mut scalars = self.scalars.clone();
        if scalars.contains("number") {
            scalars.remove("integer");
        }
        let mut alternatives: Vec<Value> = Vec::new();
        if let Some(o) = &self.object {
            let mut map = Map::new();
            for (k, (shape, n)) in &o.fields {
                let key = if *n < o.seen {
                    format!("{k}?")
                } else {
                    k.clone()
                };
                map.insert(key, shape.render());
            }
            alternatives.push(Value::Object(map));
        }
        if let Some(item) = &self.array {
            alternatives.push(if item.is_blank() {
                Value::Array(vec![])
            } else {
                Value::Array(vec![item.render()])
            });
        }
        if !scalars.is_empty() {
            alternatives.push(Value::String(
                scalars.into_iter().collect::<Vec<_>>().join(" | "),
            ));
        }
        match alternatives.len() {
            0 => Value::String("never".into()),
            1 => alternatives.remove(0),
            _ => serde_json::json!({ "one of": alternatives }),
        }
    }
}

struct Header {
    source: String,
    description: String,
    expression: String,
}

fn file_text(h: &Header, body: &str) -> String {
    format!(
        "---\nsource: {}\ndescription: {}\nexpression: {}\n---\n{body}\n",
        yaml_str(&h.source),
        yaml_str(&h.description),
        yaml_str(&h.expression)
    )
}

fn yaml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// The body of a `.snap` file: everything after the closing `---` of the header.
pub fn body_of(file: &str) -> Option<&str> {
    let rest = file.strip_prefix("---\n")?;
    let end = rest.find("\n---\n")?;
    Some(rest[end + 5..].trim_end_matches('\n'))
}

fn compare(path: &Path, header: &Header, body: &str, update: bool) -> Result<(), Failure> {
    let pending = path.with_extension("snap.new");
    let existing = std::fs::read_to_string(path).ok();
    let old = existing.as_deref().and_then(body_of);
    if old == Some(body) {
        if writes_allowed() {
            let _ = std::fs::remove_file(&pending);
        }
        return Ok(());
    }
    let writes = writes_allowed();
    let text = file_text(header, body);
    if update && writes {
        write(path, &text)?;
        let _ = std::fs::remove_file(&pending);
        return Ok(());
    }
    if writes {
        write(&pending, &text)?;
    }
    let where_ = if writes {
        format!(
            "wrote {}; accept it with `wsrun snapshots accept` or rerun with --update-snapshots",
            pending.display()
        )
    } else {
        "CI is set, so nothing was written".into()
    };
    Err(match old {
        None => Failure {
            summary: format!("no snapshot {} yet; {where_}", path.display()),
            detail: Some(diff("", body)),
            ..Failure::default()
        },
        Some(old) => Failure {
            summary: format!(
                "snapshot {} differs ({}); {where_}",
                path.display(),
                changed_fields(old, body)
            ),
            detail: Some(diff(old, body)),
            ..Failure::default()
        },
    })
}

fn write(path: &Path, text: &str) -> Result<(), Failure> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::new(format!("cannot create {}: {e}", dir.display())))?;
    }
    std::fs::write(path, text)
        .map_err(|e| Failure::new(format!("cannot write {}: {e}", path.display())))
}

/// A line diff: `-` old, `+` new, ` ` context.
pub fn diff(old: &str, new: &str) -> String {
    let d = similar::TextDiff::from_lines(old, new);
    let mut out = String::new();
    for change in d.iter_all_changes() {
        let sign = match change.tag() {
            similar::ChangeTag::Delete => '-',
            similar::ChangeTag::Insert => '+',
            similar::ChangeTag::Equal => ' ',
        };
        out.push(sign);
        out.push_str(change.value().trim_end_matches('\n'));
        out.push('\n');
    }
    out
}

/// Names the keys on changed lines: "`p` removed, `price` added".
fn changed_fields(old: &str, new: &str) -> String {
    let d = similar::TextDiff::from_lines(old, new);
    let key = |line: &str| {
        let t = line.trim();
        t.strip_prefix('"')
            .and_then(|r| r.split_once("\":"))
            .map(|(k, _)| k.to_string())
    };
    let mut removed = BTreeSet::new();
    let mut added = BTreeSet::new();
    for c in d.iter_all_changes() {
        match c.tag() {
            similar::ChangeTag::Delete => removed.extend(key(c.value())),
            similar::ChangeTag::Insert => added.extend(key(c.value())),
            similar::ChangeTag::Equal => {}
        }
    }
    let changed: Vec<String> = removed.intersection(&added).cloned().collect();
    let mut parts = Vec::new();
    for k in &changed {
        parts.push(format!("`{k}` changed"));
    }
    for k in removed.difference(&added) {
        parts.push(format!("`{k}` removed"));
    }
    for k in added.difference(&removed) {
        parts.push(format!("`{k}` added"));
    }
    if parts.is_empty() {
        "values changed".into()
    } else {
        parts.join(", ")
    }
}

/// `.snap.new` files under `root` (a file or a folder), recursively.
pub fn pending(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n == "target" || n == ".git") {
                continue;
            }
            if let Ok(entries) = std::fs::read_dir(&p) {
                stack.extend(entries.flatten().map(|e| e.path()));
            }
        } else if p.to_string_lossy().ends_with(".snap.new") {
            out.push(p);
        } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            // A collection file: its own pending snapshots.
            let stem = p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let dir = snapshot_dir(&p);
            if let Ok(entries) = std::fs::read_dir(&dir) {
                out.extend(entries.flatten().map(|e| e.path()).filter(|f| {
                    let n = f
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    n.starts_with(&format!("{stem}__")) && n.ends_with(".snap.new")
                }));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Turns pending snapshots into accepted ones; returns the files written.
pub fn accept(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut done = Vec::new();
    for p in pending(root) {
        let target = PathBuf::from(p.to_string_lossy().trim_end_matches(".new"));
        std::fs::rename(&p, &target)?;
        done.push(target);
    }
    Ok(done)
}

/// Deletes pending snapshots; returns the files removed.
pub fn reject(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    let files = pending(root);
    for p in &files {
        std::fs::remove_file(p)?;
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shapes_merge_with_optional_fields_and_several_types() {
        let shape = Shape::of(&[
            json!({"p": "1.0", "t": 1, "x": null, "tags": ["a"]}),
            json!({"p": "2.0", "t": 2.5, "x": "s", "tags": []}),
            json!({"p": "3.0", "t": 3, "y": true, "x": null, "tags": []}),
        ]);
        assert_eq!(
            shape,
            json!({"p": "string", "t": "number", "x": "null | string", "y?": "boolean", "tags": ["string"]})
        );
    }

    #[test]
    fn redaction_reaches_every_selected_node() {
        let mut v = json!({"id": 1, "items": [{"id": 2}, {"id": 3}]});
        redact(
            &mut v,
            &[crate::jsonpath::JsonPath::parse("$..id").unwrap()],
        );
        assert_eq!(
            v,
            json!({"id": "[redacted]", "items": [{"id": "[redacted]"}, {"id": "[redacted]"}]})
        );
    }

    #[test]
    fn bodies_are_pretty_and_key_sorted() {
        assert_eq!(
            render_body(&[json!({"b": 1, "a": 2})], false),
            "{\n  \"a\": 2,\n  \"b\": 1\n}"
        );
    }

    #[test]
    fn changed_fields_are_named() {
        let old = "{\n  \"p\": \"string\",\n  \"s\": \"string\"\n}";
        let new = "{\n  \"price\": \"string\",\n  \"s\": \"string\"\n}";
        assert_eq!(changed_fields(old, new), "`p` removed, `price` added");
        let new = "{\n  \"p\": \"number\",\n  \"s\": \"string\"\n}";
        assert_eq!(changed_fields(old, new), "`p` changed");
    }

    #[test]
    fn the_body_is_read_back_from_the_file() {
        let h = Header {
            source: "c.yaml".into(),
            description: "r › step 1".into(),
            expression: "1 message(s)".into(),
        };
        let text = file_text(&h, "{\n  \"a\": 1\n}");
        assert_eq!(body_of(&text), Some("{\n  \"a\": 1\n}"));
    }
}
