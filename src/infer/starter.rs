//! The starter collection `wsrun new --from RECORDING` writes: a mock replaying the recording as
//! the default environment, an `expect` holding what held for every recorded message, the
//! stream properties that held (as comments), and a `shape` snapshot with its `.snap` body.

use super::yaml::{comment, json_string, no_template, yaml_string};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use super::checks::Checks;
use super::Facts;
use crate::mock::Recording;
use crate::snapshot::{self, shape};

/// At most this many messages are checked by the `expect` step (the first ones).
pub const EXPECT_MAX: u64 = 20;
/// At most this many messages make the shape snapshot (the ones after those).
pub const SNAPSHOT_MAX: u64 = 10;
/// Messages that took longer than this to arrive are replayed 10ms apart offline.
const SLOW: std::time::Duration = std::time::Duration::from_secs(3);
/// The name of the snapshot step.
pub const SNAPSHOT_NAME: &str = "shape";

/// What the collection is made from and where it goes.
#[derive(Debug, Clone)]
pub struct Input<'a> {
    /// The recording as the user named it (shown in comments).
    pub recording: &'a str,
    /// The `replay:` path: the recording, relative to the collection's folder.
    pub replay: &'a str,
    /// Where the collection will be written (names it and places its snapshot).
    pub collection: &'a Path,
    /// The live server's URL, for `--env live`.
    pub url: Option<&'a str>,
}

/// A starter collection: its text and the snapshot it needs.
pub struct Starter {
    pub yaml: String,
    pub snapshot: Option<SnapshotFile>,
    /// How many messages the recording held.
    pub messages: u64,
    /// How many paths the `expect` step checks.
    pub checks: usize,
}

/// A `.snap` file to write, through the snapshot store.
pub struct SnapshotFile {
    pub path: PathBuf,
    pub header: snapshot::Header,
    pub body: String,
}

/// Why no starter could be written.
#[derive(Debug, thiserror::Error)]
pub enum StarterError {
    #[error("{0} holds no messages: record some first (`wsrun record URL --out FILE.jsonl`)")]
    Empty(String),
    /// A mock's `replay:` path takes no template, and has no way to write `{{` literally.
    #[error("the recording's path {0} holds `{{{{`, which a collection would read as a template: rename or move it")]
    Braces(String),
}

/// Writes the starter collection for `recording`.
pub fn starter(recording: &Recording, input: &Input<'_>) -> Result<Starter, StarterError> {
    let facts = Facts::of(recording);
    if facts.messages == 0 {
        return Err(StarterError::Empty(input.recording.to_string()));
    }
    if input.replay.contains("{{") {
        return Err(StarterError::Braces(comment(input.replay)));
    }
    let checks = Checks::of(&facts);
    let snap = (facts.messages / 2).min(SNAPSHOT_MAX);
    let expect = (facts.messages - snap).min(EXPECT_MAX);
    let mut y = Lines::default();
    header(&mut y, &facts, input, expect + snap);
    y.push("requests:");
    y.push(format!("  - name: {}", yaml_string(&stem(input.recording))));
    y.push("    url: \"{{ url }}\"");
    y.push("    steps:");
    y.push("      # A server that wants a message first (a subscription) gets it here, e.g.");
    y.push("      # - send: { json: { method: SUBSCRIBE, params: [btcusdt@trade], id: 1 } }");
    expect_step(&mut y, &facts, &checks, expect);
    let snapshot = if snap > 0 {
        let path = snapshot::snapshot_path(input.collection, SNAPSHOT_NAME);
        snapshot_comment(&mut y, &path, input.collection, snap);
        let line = y.lines.len() + 1;
        y.push(format!(
            "      - snapshot: {{ name: {SNAPSHOT_NAME}, shape: true, count: {snap} }}"
        ));
        let messages: Vec<Value> = recording
            .messages()
            .skip(expect as usize)
            .take(snap as usize)
            .map(message_value)
            .collect();
        Some(SnapshotFile {
            header: snapshot::Header {
                source: snapshot::source_header(input.collection),
                description: format!("{} › step 2 (line {line})", stem(input.recording)),
                expression: format!("shape of {snap} message(s)"),
            },
            body: shape::render_body(&messages, true),
            path,
        })
    } else {
        y.push("      # One message only: record more for a shape snapshot of the next ones.");
        None
    };
    y.push("      - close: { code: 1000 }");
    Ok(Starter {
        yaml: y.text(),
        snapshot,
        messages: facts.messages,
        checks: checks.json.len(),
    })
}

/// The comments at the top, the environments, the mock and the timeout.
fn header(y: &mut Lines, facts: &Facts, input: &Input<'_>, used: u64) {
    let n = facts.messages;
    let span = facts.times.last().copied().unwrap_or_default();
    let kinds = if facts.json == n {
        "all JSON".to_string()
    } else {
        format!("{} of them JSON", facts.json)
    };
    y.push(format!(
        "# A starter collection written by `wsrun new` from {}:",
        comment(input.recording)
    ));
    y.push(format!(
        "# {} over {:.1}s, {kinds}. Each check below held for every one of them:",
        plural(n, "message"),
        span.as_secs_f64()
    ));
    y.push("# keep the ones that matter, tighten or loosen the rest.");
    y.push("# Offline by default: the `local` environment replays the recording from a mock;");
    match input.url {
        Some(url) => y.push(format!(
            "# `--env live` runs the same checks against {}.",
            comment(url)
        )),
        None => y.push("# add the live server's URL as `live` below to run them against it."),
    }
    y.push(format!(
        "name: {}",
        yaml_string(&stem(&input.collection.to_string_lossy()))
    ));
    y.push("environments:");
    y.push("  local: { url: \"{{ mocks.recording.url }}\" }");
    match input.url {
        Some(url) => y.push(format!(
            "  live: {{ url: {} }}",
            json_string(&no_template(url))
        )),
        None => y.push("  # live: { url: \"wss://…\" }"),
    }
    y.push("default_env: local");
    // Room for a live server slower than the recording: twice its time, and some.
    let last = facts.times[used as usize - 1];
    let timeout = ((last.as_secs_f64() * 2.0 + 2.0).ceil() as u64).max(5);
    y.push("mocks:");
    let replay = yaml_string(input.replay);
    if last > SLOW {
        // A slow stream replayed at its own pace would make the offline run as slow.
        y.push(format!(
            "  recording: {{ replay: {replay}, interval: 10ms }}   # recorded {:.1}s apart on average",
            last.as_secs_f64() / used as f64
        ));
    } else {
        y.push(format!("  recording: {{ replay: {replay} }}"));
    }
    y.push("defaults:");
    y.push(format!(
        "  timeout: {timeout}s   # the {used} messages read took {:.1}s when recorded",
        last.as_secs_f64()
    ));
}

/// The `expect` step: one matcher per always-present path, comments for the rest.
fn expect_step(y: &mut Lines, facts: &Facts, checks: &Checks, count: u64) {
    let n = facts.messages;
    y.push(format!(
        "      # The first {}, each against what held for all {n} recorded:",
        plural(count, "message")
    ));
    y.push("      - expect:");
    y.push(format!("          count: {count}"));
    if facts.json < n {
        y.push(format!(
            "          # {} of the {n} messages are not JSON, so no field is checked.",
            n - facts.json
        ));
    }
    if !checks.json.is_empty() {
        y.push("          json:");
    }
    let width = checks
        .json
        .iter()
        .map(|c| yaml_key(&c.path).chars().count() + c.matcher.chars().count() + 2)
        .max()
        .unwrap_or(0)
        .min(56);
    for c in &checks.json {
        let entry = format!("{}: {}", yaml_key(&c.path), c.matcher);
        if c.why.is_empty() {
            y.push(format!("            {entry}"));
        } else {
            y.push(format!("            {entry:<width$}  # {}", c.why));
        }
    }
    let indent = if checks.json.is_empty() { 10 } else { 12 };
    for u in &checks.unchecked {
        y.push(format!(
            "{:indent$}# {}: {}; not checked here",
            "", u.path, u.why
        ));
    }
    if checks.stream.is_empty() {
        return;
    }
    y.push(format!(
        "          # Stream properties that held over the {n} messages: uncomment the `stream:`"
    ));
    y.push("          # checks to keep them (they hold over this step's messages).");
    for s in &checks.stream {
        y.push(format!(
            "          # detected over {n} messages: {} {}",
            s.path,
            s.property.describe()
        ));
    }
    y.push("          # stream:");
    for s in &checks.stream {
        y.push(format!(
            "          #   {}: {}",
            yaml_key(&s.path),
            s.property.check()
        ));
    }
}

fn snapshot_comment(y: &mut Lines, snap: &Path, collection: &Path, count: u64) {
    let dir = collection.parent().unwrap_or(Path::new(""));
    let shown = snap.strip_prefix(dir).unwrap_or(snap);
    y.push(format!(
        "      # The shape of the next {} (field names and types), kept in",
        plural(count, "message")
    ));
    y.push(format!(
        "      # {}: a renamed field or a changed type fails with a diff.",
        comment(&shown.to_string_lossy())
    ));
    y.push("      # Accept an intended change with `wsrun snapshots accept`.");
}

/// A message as the snapshot step sees it: its JSON, else its text, else its bytes' base64.
fn message_value(m: &Message) -> Value {
    match m {
        Message::Text(t) => {
            serde_json::from_str(t.as_str()).unwrap_or_else(|_| Value::String(t.as_str().into()))
        }
        Message::Binary(b) => Value::String(base64::engine::general_purpose::STANDARD.encode(b)),
        _ => Value::Null,
    }
}

/// The collection's lines, counted as they are written (the snapshot header names its line).
#[derive(Default)]
struct Lines {
    lines: Vec<String>,
}

impl Lines {
    fn push(&mut self, line: impl Into<String>) {
        self.lines.push(line.into());
    }

    fn text(&self) -> String {
        let mut out = String::new();
        for l in &self.lines {
            let _ = writeln!(out, "{}", l.trim_end());
        }
        out
    }
}

/// `1 message`, `20 messages`.
pub fn plural(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// A file's name without its folder and extension: `fixtures/trades.jsonl` → `trades`.
fn stem(path: &str) -> String {
    Path::new(path)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "recording".into())
}

/// A JSONPath as a YAML key: plain for `$.a[*].b`, quoted when it holds other characters.
fn yaml_key(path: &str) -> String {
    let plain = path
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '$' | '.' | '_' | '[' | '*' | ']'));
    if plain {
        path.to_string()
    } else {
        json_string(path)
    }
}

/// `to` relative to the folder `from` (`../fixtures/x.jsonl`), or `to` itself when they share
/// nothing but the root. Both should be absolute (canonical) paths.
pub fn relative(from: &Path, to: &Path) -> PathBuf {
    let from: Vec<_> = from.components().collect();
    let to_parts: Vec<_> = to.components().collect();
    let common = from
        .iter()
        .zip(&to_parts)
        .take_while(|(a, b)| a == b)
        .count();
    if common <= 1 {
        return to.to_path_buf();
    }
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for part in &to_parts[common..] {
        out.push(part);
    }
    out
}
