//! Results as plain data: run → collections → requests → steps, with failures, timings and a
//! bounded frame transcript. Renderers (terminal, reports, Python) read these; the runner fills
//! them and never prints.

pub mod csv;
pub mod html;
mod html_chart;
mod html_failure;
mod html_load;
pub mod human;
mod human_load;
pub mod json;
pub mod junit;
pub mod load;
pub mod merge;
pub mod openmetrics;
pub mod read;
pub mod shard;
mod style;

use std::collections::VecDeque;
use std::time::Duration;

use tokio_tungstenite::tungstenite::{Bytes, Utf8Bytes};

/// Everything one run produced.
#[derive(Debug, Clone, Default)]
pub struct RunReport {
    pub collections: Vec<CollectionReport>,
    pub duration: Duration,
    /// Why the run stopped early, if it did.
    pub stopped: Option<Stop>,
    /// Selected requests that never ran because the run stopped early.
    pub not_run: usize,
    /// Which share of a run this is (`--shard K/N`), for `wsrun merge` to check.
    pub shard: shard::ShardOf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Interrupted,
    /// The run passed its `--timeout` (unknown in a report read back: the JSON keeps no value).
    TimedOut(Option<Duration>),
    FailFast,
}

#[derive(Debug, Clone)]
pub struct CollectionReport {
    pub path: String,
    pub name: String,
    pub env: Option<String>,
    pub requests: Vec<RequestReport>,
    pub duration: Duration,
}

#[derive(Debug, Clone)]
pub struct RequestReport {
    pub name: String,
    pub line: usize,
    pub duration: Duration,
    /// A failure outside any step (a connection that could not open, an interrupted run).
    pub error: Option<Failure>,
    pub steps: Vec<StepReport>,
    pub transcript: Transcript,
    /// Messages received per time bucket, per connection (for rate charts).
    pub rates: Vec<RateSeries>,
    /// What a `load:` measured (its steps' round trips are in `steps`).
    pub load: Option<Box<load::LoadReport>>,
    /// The values the request's steps captured or `set`, by name, as the request ended (secret
    /// ones masked); empty for a load. Not part of the JSON document: Python reads them.
    pub captures: Vec<(String, serde_json::Value)>,
}

/// How many messages a connection received in each successive time bucket.
#[derive(Debug, Clone, Default)]
pub struct RateSeries {
    pub connection: std::sync::Arc<str>,
    pub bucket: Duration,
    pub counts: Vec<u32>,
}

#[derive(Debug, Clone)]
pub struct StepReport {
    /// 1-based position in the request.
    pub index: usize,
    pub keyword: &'static str,
    pub line: usize,
    pub duration: Duration,
    pub outcome: Outcome,
    /// Messages this step consumed.
    pub messages: u64,
    /// The round-trip time of a step that waits for the answer to what it sent (`call`,
    /// `calls`, `send` with `reply`).
    pub latency: Option<Duration>,
    /// Every round trip of a step that ran more than once (`repeat`, `load`); an `expect` or
    /// `wait_for` directly after a `send` on its connection measures one too.
    pub latencies: Option<crate::latency::Latency>,
}

// A failure is rich and rare (see `result_large_err` in lib.rs): boxing it buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Outcome {
    Passed,
    Failed(Failure),
    /// Not run because an earlier step failed.
    Skipped,
}

/// What went wrong, in terms a person can act on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Failure {
    pub summary: String,
    pub connection: Option<String>,
    /// The YAML line, for failures outside a step (a connection's `url`).
    pub line: Option<usize>,
    pub path: Option<String>,
    pub expected: Option<Shown>,
    pub actual: Option<Shown>,
    /// The message involved, as received (possibly truncated).
    pub message: Option<String>,
    /// A longer explanation, e.g. a snapshot diff.
    pub detail: Option<String>,
    /// The stream properties that did not hold over the step's window, in the order written.
    pub stream: Vec<StreamViolation>,
}

/// A stream property (`stream:` of `expect`/`wait_for`) that did not hold over a window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StreamViolation {
    /// `increasing`, `decreasing`, `unique`, `consecutive`, `fresh`, `rate`, or `selects` (the
    /// path selected nothing in a message).
    pub property: &'static str,
    /// The JSONPath (none for `rate`).
    pub path: Option<String>,
    /// What the property asks, in words: `strictly increasing`, `within 2s of the receive time`.
    pub expected: String,
    /// How many messages the window held.
    pub window: u64,
    /// The first offending message: its position in the window, from 1.
    pub index: Option<u64>,
    /// Its value at the path (for `rate`, the rate measured).
    pub value: Option<serde_json::Value>,
    /// The message it was compared with: its position and value.
    pub previous: Option<(u64, serde_json::Value)>,
    /// What went wrong, in words: `not above the previous value`, `12.5s old`.
    pub reason: String,
    /// How many messages broke the property.
    pub offenders: u64,
    /// `consecutive`: the missing runs, first and last value of each, the first ones only.
    pub gaps: Vec<(serde_json::Value, serde_json::Value)>,
    /// `consecutive`: how many gaps there were, and how many values they miss.
    pub gaps_total: u64,
    pub missing_total: u64,
    /// The offending message, cut for display.
    pub message: Option<String>,
}

/// What a failure shows as expected or actual: a JSON value (a node of the message, the value an
/// equality wanted), or words (`no close frame`, `a JSON message`, a cut preview).
#[derive(Debug, Clone, PartialEq)]
pub enum Shown {
    Value(serde_json::Value),
    Text(String),
}

impl Shown {
    /// How long a value may be, as compact JSON, before it is shown cut, as text.
    pub const LIMIT: usize = 200;

    /// A node of a message: the value itself, or its JSON text cut at [`Shown::LIMIT`].
    pub fn node(v: &serde_json::Value) -> Self {
        let text = v.to_string();
        if text.chars().nth(Self::LIMIT).is_none() {
            Shown::Value(v.clone())
        } else {
            Shown::Text(truncate(&text, Self::LIMIT))
        }
    }

    /// A matcher's description: an equality describes itself as the JSON text of its value, which
    /// is kept as that value; any other description stays words.
    /// (A number the parse would round, past 64-bit integers, stays the text as written.)
    pub fn described(text: String) -> Self {
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(v) if format!("{v}") == text => Shown::Value(v),
            _ => Shown::Text(text),
        }
    }

    /// The JSON form in reports: the value, or the words as a string.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Shown::Value(v) => v.clone(),
            Shown::Text(t) => serde_json::Value::String(t.clone()),
        }
    }
}

/// Values as compact JSON, words as they are: what the terminal and the JUnit text show.
impl std::fmt::Display for Shown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Shown::Value(v) => write!(f, "{v}"),
            Shown::Text(t) => f.write_str(t),
        }
    }
}

impl From<&str> for Shown {
    fn from(text: &str) -> Self {
        Shown::Text(text.to_string())
    }
}

impl From<String> for Shown {
    fn from(text: String) -> Self {
        Shown::Text(text)
    }
}

impl Failure {
    pub fn new(summary: impl Into<String>) -> Self {
        Self {
            summary: summary.into(),
            ..Self::default()
        }
    }
}

impl RunReport {
    pub fn passed(&self) -> bool {
        self.stopped
            .is_none_or(|s| s == Stop::FailFast && self.failed() == 0)
            && self.collections.iter().all(CollectionReport::passed)
    }

    pub fn total(&self) -> usize {
        self.collections.iter().map(|c| c.requests.len()).sum()
    }

    pub fn failed(&self) -> usize {
        self.collections
            .iter()
            .flat_map(|c| &c.requests)
            .filter(|r| !r.passed())
            .count()
    }
}

impl CollectionReport {
    pub fn passed(&self) -> bool {
        self.requests.iter().all(RequestReport::passed)
    }
}

impl RequestReport {
    /// The report of a request before it ran: nothing happened yet.
    pub fn new(name: String, line: usize) -> Self {
        RequestReport {
            name,
            line,
            duration: Duration::ZERO,
            error: None,
            steps: Vec::new(),
            transcript: Default::default(),
            rates: Vec::new(),
            load: None,
            captures: Vec::new(),
        }
    }

    pub fn passed(&self) -> bool {
        self.error.is_none()
            && self
                .steps
                .iter()
                .all(|s| !matches!(s.outcome, Outcome::Failed(_)))
    }

    /// The first failure: the request's own, or its failing step's.
    pub fn failure(&self) -> Option<(Option<&StepReport>, &Failure)> {
        if let Some(f) = &self.error {
            return Some((None, f));
        }
        self.steps.iter().find_map(|s| match &s.outcome {
            Outcome::Failed(f) => Some((Some(s), f)),
            _ => None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Sent,
    Received,
}

/// One frame on the wire.
#[derive(Debug, Clone)]
pub struct Frame {
    /// Since the request started.
    pub at: Duration,
    pub direction: Direction,
    pub connection: std::sync::Arc<str>,
    pub data: FrameData,
}

#[derive(Debug, Clone)]
pub enum FrameData {
    Text(Utf8Bytes),
    Binary(Bytes),
    Ping(Bytes),
    Pong(Bytes),
    Close(Option<u16>, String),
    /// The connection ended without a close frame, or failed.
    Lost(String),
    /// A binary frame known only by its length: read back from a JSON report (`wsrun merge`).
    BinaryLen(usize),
}

impl FrameData {
    pub fn kind(&self) -> &'static str {
        match self {
            FrameData::Text(_) => "text",
            FrameData::Binary(_) | FrameData::BinaryLen(_) => "binary",
            FrameData::Ping(_) => "ping",
            FrameData::Pong(_) => "pong",
            FrameData::Close(..) => "close",
            FrameData::Lost(_) => "lost",
        }
    }

    /// The payload for people: text as is, binary as a byte count, cut at `limit` characters.
    pub fn preview(&self, limit: usize) -> String {
        match self {
            FrameData::Text(t) => truncate(t.as_str(), limit),
            FrameData::Binary(b) => format!("<{} bytes>", b.len()),
            FrameData::BinaryLen(n) => format!("<{n} bytes>"),
            FrameData::Ping(b) | FrameData::Pong(b) => truncate(&String::from_utf8_lossy(b), limit),
            FrameData::Close(code, reason) => match code {
                Some(c) if reason.is_empty() => format!("{c}"),
                Some(c) => format!("{c} {reason}"),
                None => "(no code)".into(),
            },
            FrameData::Lost(why) => why.clone(),
        }
    }
}

/// How much of a message a failure shows.
pub const PREVIEW: usize = 300;

/// Cuts `text` to `limit` characters, saying how much was left out.
pub fn truncate(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        None => text.to_string(),
        Some((cut, _)) => format!("{}… ({} more bytes)", &text[..cut], text.len() - cut),
    }
}

/// Text from a server made safe to print on a terminal or into a CI log: control characters
/// (and the bidirectional overrides that reorder what a line shows) are written as JSON writes
/// them, `\n`, `\r`, `\t`, `\u001b`. A server's newline could otherwise start a GitHub
/// Actions workflow command (`::warning …`) on a line of its own, and its escape sequences
/// could set the terminal's title or clear the screen. Everything else is left as it is.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    fn unsafe_char(c: char) -> bool {
        c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    }
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if unsafe_char(c) => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The opening handshake of one connection, as sent and answered (`-v` shows it).
#[derive(Debug, Clone)]
pub struct Handshake {
    pub connection: std::sync::Arc<str>,
    /// `GET /chat?room=1 HTTP/1.1`
    pub request_line: String,
    pub request_headers: Vec<(String, String)>,
    /// `HTTP/1.1 101 Switching Protocols`
    pub status_line: String,
    pub response_headers: Vec<(String, String)>,
}

/// The frames of a request: the first `HEAD` and the last `TAIL`, so a million-message stream
/// keeps a bounded transcript.
#[derive(Debug, Clone, Default)]
pub struct Transcript {
    /// The handshake of each connection that opened, in the order they opened.
    pub handshakes: Vec<Handshake>,
    pub head: Vec<Frame>,
    pub tail: VecDeque<Frame>,
    /// Frames left out between `head` and `tail`.
    pub elided: u64,
}

impl Transcript {
    pub const HEAD: usize = 50;
    pub const TAIL: usize = 200;

    pub fn push(&mut self, frame: Frame) {
        if self.head.len() < Self::HEAD {
            self.head.push(frame);
            return;
        }
        if self.tail.len() == Self::TAIL {
            self.tail.pop_front();
            self.elided += 1;
        }
        self.tail.push_back(frame);
    }

    pub fn frames(&self) -> impl Iterator<Item = &Frame> {
        self.head.iter().chain(self.tail.iter())
    }

    pub fn len(&self) -> u64 {
        (self.head.len() + self.tail.len()) as u64 + self.elided
    }

    pub fn is_empty(&self) -> bool {
        self.head.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transcript_keeps_a_bounded_head_and_tail() {
        let mut t = Transcript::default();
        for i in 0..10_000u32 {
            t.push(Frame {
                at: Duration::ZERO,
                direction: Direction::Received,
                connection: "c".into(),
                data: FrameData::Text(i.to_string().into()),
            });
        }
        assert_eq!(t.head.len(), Transcript::HEAD);
        assert_eq!(t.tail.len(), Transcript::TAIL);
        assert_eq!(t.len(), 10_000);
        let last = t.frames().last().unwrap().data.preview(10);
        assert_eq!(last, "9999");
    }

    #[test]
    fn printable_escapes_control_characters_and_leaves_the_rest() {
        assert_eq!(printable("plain \\n text, é"), "plain \\n text, é");
        assert_eq!(
            printable("a\nb\r\t\u{1b}[2J\u{7}\u{9b}\u{202e}"),
            "a\\nb\\r\\t\\u001b[2J\\u0007\\u009b\\u202e"
        );
    }

    #[test]
    fn truncate_says_what_it_left_out() {
        assert_eq!(truncate("abcdef", 3), "abc… (3 more bytes)");
        assert_eq!(truncate("abc", 3), "abc");
    }
}
