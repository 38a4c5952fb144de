//! The snapshot store: where a collection's `.snap` files live, their format (insta's layout: a
//! `---` YAML header, then the body), comparing a body with the stored one, pending `.snap.new`
//! files, accepting and rejecting them, and the rule deciding whether anything may be written.

pub mod shape;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

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

/// The `source:` of a collection's snapshots: the collection's path relative to the snapshot
/// file (`../websocket.yaml`), the same wherever the run started, so a committed snapshot does
/// not record a machine's folders.
pub fn source_header(collection_path: &Path) -> String {
    let name = collection_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "collection".into());
    format!("../{name}")
}

/// The default snapshot name: the request name and step number, as a file-safe slug.
pub fn default_name(request: &str, step_index: usize) -> String {
    format!("{}-{}", slug(request), step_index)
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

/// The header of a `.snap` file: where it came from and what it holds.
pub struct Header {
    pub source: String,
    pub description: String,
    pub expression: String,
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

/// Whether snapshots may be written and updated: decided once per run.
#[derive(Debug, Clone, Copy)]
pub struct Store {
    /// `--update-snapshots`: a different body is written as the `.snap` itself.
    pub update: bool,
    /// False under CI (`CI` set and not `false`/`0`): nothing is ever written there.
    pub writes: bool,
}

/// What comparing a body with the stored snapshot found.
#[derive(Debug)]
pub enum Verdict {
    /// The stored body is the same.
    Same,
    /// The body differed or was new, and `--update-snapshots` wrote it.
    Updated,
    /// The body differs from `old` (`None`: no snapshot yet); `pending` is the `.snap.new`
    /// written for review, when writing is allowed.
    Differs {
        old: Option<String>,
        pending: Option<PathBuf>,
    },
}

impl Store {
    /// The CI rule read from the environment, with the run's `--update-snapshots`.
    pub fn from_env(update: bool) -> Self {
        let writes = match std::env::var("CI") {
            Ok(v) => v.is_empty() || v == "0" || v.eq_ignore_ascii_case("false"),
            Err(_) => true,
        };
        Self { update, writes }
    }

    /// Compares `body` with the snapshot at `path`, writing the `.snap` (update) or the pending
    /// `.snap.new` as this store's rules allow.
    pub fn check(&self, path: &Path, header: &Header, body: &str) -> Result<Verdict, String> {
        let pending = path.with_extension("snap.new");
        let existing = std::fs::read_to_string(path).ok();
        let old = existing.as_deref().and_then(body_of);
        if old == Some(body) {
            if self.writes {
                let _ = std::fs::remove_file(&pending);
            }
            return Ok(Verdict::Same);
        }
        let text = file_text(header, body);
        if self.update && self.writes {
            write(path, &text)?;
            let _ = std::fs::remove_file(&pending);
            return Ok(Verdict::Updated);
        }
        if self.writes {
            write(&pending, &text)?;
        }
        Ok(Verdict::Differs {
            old: old.map(str::to_string),
            pending: self.writes.then_some(pending),
        })
    }
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
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
pub fn changed_fields(old: &str, new: &str) -> String {
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
