//! The snapshot store: where a collection's `.snap` files live, their format (insta's layout: a
//! `---` YAML header, then the body), comparing a body with the stored one, pending `.snap.new`
//! files, accepting and rejecting them, and the rule deciding whether anything may be written.

pub mod shape;

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use crate::discover::{first_visit, sorted_entries};

/// Where a collection's snapshots live.
pub fn snapshot_dir(collection_path: &Path) -> PathBuf {
    collection_path
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join("__snapshots__")
}

/// `<dir>/<collection-stem>__<file-name>.snap`, the name made safe by [`file_name`].
pub fn snapshot_path(collection_path: &Path, name: &str) -> PathBuf {
    let stem = collection_path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "collection".into());
    snapshot_dir(collection_path).join(format!("{stem}__{}.snap", file_name(name)))
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

/// The default snapshot name: the request name and the step number (`BTC/USDT trades-2`).
pub fn default_name(request: &str, step_index: usize) -> String {
    format!("{request}-{step_index}")
}

/// The longest slug kept whole in a file name: with the stem and the hash, far below the usual
/// 255-byte limit of a file name.
const MAX_SLUG: usize = 100;

/// The part of a snapshot's file name that stands for `name`.
///
/// A name that is already a clean slug (lowercase ASCII letters, digits, `-`, `_`, `.`, at most
/// 100 of them) is used as it is, so `trade-shape` stays `trade-shape`. Any other name would
/// lose something in the slug (case, punctuation, spaces, other scripts), so two different
/// names could share a file; it gets its slug plus eight hex digits of a hash of the exact name:
/// `BTC/USDT trades-2` → `btc-usdt-trades-2-b9b1d9dc`, `取引` → `8458b280`. The hash is FNV-1a,
/// which is the same on every machine and in every version.
pub fn file_name(name: &str) -> String {
    let clean = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c);
    if !name.is_empty()
        && name.len() <= MAX_SLUG
        && name.chars().all(clean)
        && !name.starts_with('-')
        && !name.ends_with('-')
    {
        return name.to_string();
    }
    let slug = slug(name);
    // The slug is ASCII, so cutting at a byte index is cutting at a character.
    let cut = slug[..slug.len().min(MAX_SLUG)].trim_end_matches('-');
    let hash = name_hash(name);
    if cut.is_empty() {
        hash
    } else {
        format!("{cut}-{hash}")
    }
}

/// 32 bits of FNV-1a over the name's UTF-8 bytes, as eight hex digits.
fn name_hash(name: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in name.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{:08x}", (hash ^ (hash >> 32)) as u32)
}

/// Lowercase ASCII letters, digits, `_` and `.`; every other run of characters becomes one `-`.
fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
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

/// wsrun's pending snapshots under `root`: a collection's own, or every one in a folder searched
/// recursively (skipping `target` and `.git`, following links to folders not yet searched), or
/// `root` itself when it is one.
///
/// A pending snapshot is a `<stem>__<name>.snap.new` in a `__snapshots__` folder beside an
/// existing collection `<stem>.yaml` (or `.yml`). Other `.snap.new` files — insta's own in a
/// Rust crate (`src/snapshots/`), or ones whose collection is gone — are not wsrun's to touch.
pub fn pending(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if root.is_dir() {
        // Links to folders are followed, never into one already searched: a link to `.` must
        // neither loop nor list a file twice.
        let mut seen = HashSet::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            if !first_visit(&dir, &mut seen) {
                continue;
            }
            if dir.file_name().is_some_and(|n| n == "__snapshots__") {
                out.extend(entries(&dir).filter(|f| is_pending(f)));
                continue;
            }
            stack.extend(
                entries(&dir)
                    .filter(|p| p.is_dir())
                    .filter(|p| !p.file_name().is_some_and(|n| n == "target" || n == ".git")),
            );
        }
    } else if is_pending(root) {
        out.push(root.to_path_buf());
    } else if root.extension().is_some_and(|e| e == "yaml" || e == "yml") {
        let prefix = format!("{}__", stem_of(root));
        out.extend(entries(&snapshot_dir(root)).filter(|f| {
            is_pending(f)
                && f.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(&prefix))
        }));
    }
    out.sort();
    out.dedup();
    out
}

fn entries(dir: &Path) -> impl Iterator<Item = PathBuf> {
    sorted_entries(dir).into_iter()
}

fn stem_of(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Whether `file` is a `<stem>__<name>.snap.new` in a `__snapshots__` folder whose parent holds
/// the collection `<stem>.yaml` or `<stem>.yml`. A stem may itself contain `__`, so every split
/// is tried.
fn is_pending(file: &Path) -> bool {
    let Some(name) = file.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let Some(dir) = file
        .parent()
        .filter(|d| d.file_name().is_some_and(|n| n == "__snapshots__"))
    else {
        return false;
    };
    let Some(base) = name.strip_suffix(".snap.new") else {
        return false;
    };
    let home = dir.parent().unwrap_or_else(|| Path::new("."));
    base.match_indices("__").any(|(i, _)| {
        let stem = &base[..i];
        !stem.is_empty()
            && i + 2 < base.len()
            && ["yaml", "yml"]
                .iter()
                .any(|ext| home.join(format!("{stem}.{ext}")).is_file())
    }) && file.is_file()
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
    fn clean_names_are_file_names_as_they_are() {
        assert_eq!(file_name("trade-shape"), "trade-shape");
        assert_eq!(file_name(&default_name("bare", 1)), "bare-1");
        assert_eq!(file_name("v1.2_x"), "v1.2_x");
        assert_eq!(file_name("a--b"), "a--b");
    }

    #[test]
    fn lossy_names_keep_their_slug_and_add_a_stable_hash() {
        // Pinned: a hash that changed would orphan every stored snapshot of such a name.
        assert_eq!(
            file_name(&default_name("BTC/USDT trades", 2)),
            "btc-usdt-trades-2-b9b1d9dc"
        );
        assert_eq!(file_name("取引"), "8458b280");
        let names = [
            "BTC/USDT trades",
            "btc usdt trades",
            "Trade-Shape",
            "取引",
            "注文",
            "a b",
        ];
        let files: std::collections::HashSet<String> = names.iter().map(|n| file_name(n)).collect();
        assert_eq!(files.len(), names.len(), "{files:?}");
        for f in &files {
            assert_eq!(&file_name(f), f, "a clean slug: {f}");
        }
    }

    #[test]
    fn long_names_are_cut_and_hashed() {
        let long = "x".repeat(300);
        let f = file_name(&long);
        assert_eq!(f.len(), MAX_SLUG + 9, "{f}");
        assert_ne!(f, file_name(&"x".repeat(301)));
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
