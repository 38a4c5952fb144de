//! Replay files: the format `replay:` reads and `wsrun record` writes, loaded once and shared
//! by every client of a mock.
//!
//! A replay file (`replay: FILE.jsonl`, written by `wsrun record`) holds one JSON value per line;
//! blank lines are ignored. A line is a *record* when it is an object with exactly one of the
//! keys `json`, `text` or `binary` and no keys other than those and `ms`:
//!
//! ```text
//! {"ms": 12, "json": {"e": "trade", "p": "97012.34000000"}}   a JSON text frame, sent verbatim
//! {"ms": 40, "text": "hello"}                                  a text frame
//! {"ms": 75, "binary": "AQID"}                                 a binary frame (standard base64)
//! ```
//!
//! `ms` (optional) is when the message was received, in milliseconds since the recording's
//! connection opened; a replay sends each message that long after the client connects (unless
//! the mock sets `interval:`). A record without `ms` keeps the previous line's time, i.e. it is
//! sent right after it. Any other line is a bare JSON value, sent as a text frame as written,
//! with no timing of its own. (A bare value that happens to look like a record, such as
//! `{"text": "hi"}`, must be wrapped: `{"json": {"text": "hi"}}`.) The `json` payload is sent
//! exactly as it is written in the file, so key order and number formatting are preserved.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use serde_json::value::RawValue;
use tokio_tungstenite::tungstenite::Message;

use super::MockError;

/// A replay file in memory, shared by every client of a mock.
#[derive(Debug, Clone, Default)]
pub struct Recording {
    pub(super) entries: Vec<Entry>,
}

#[derive(Debug, Clone)]
pub(super) struct Entry {
    /// When to send it, relative to the start of the replay.
    pub(super) at: Duration,
    pub(super) message: Message,
}

impl Recording {
    /// Reads a replay file; errors name the file and line.
    pub async fn load(path: &Path) -> Result<Self, MockError> {
        let file = path.display().to_string();
        let bytes = tokio::fs::read(path)
            .await
            .map_err(|source| MockError::ReadReplay {
                file: file.clone(),
                source,
            })?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            MockError::Replay {
                file: file.clone(),
                line: 1 + valid.iter().filter(|b| **b == b'\n').count(),
                message: "not UTF-8 text".into(),
            }
        })?;
        Self::parse(&text, &file)
    }

    /// Parses the text of a replay file; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Self, MockError> {
        let mut entries = Vec::new();
        let mut at = Duration::ZERO;
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let (ms, message) = parse_line(line).map_err(|message| MockError::Replay {
                file: file.to_string(),
                line: index + 1,
                message,
            })?;
            if let Some(ms) = ms {
                at = Duration::from_millis(ms);
            }
            entries.push(Entry { at, message });
        }
        Ok(Self { entries })
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The messages in order.
    pub fn messages(&self) -> impl Iterator<Item = &Message> {
        self.entries.iter().map(|e| &e.message)
    }

    /// Each message's recorded time, relative to the start of the recording.
    pub fn times(&self) -> impl Iterator<Item = Duration> + '_ {
        self.entries.iter().map(|e| e.at)
    }

    /// How long one pass lasts when looping at the recorded pace: up to the last message, plus
    /// the mean gap between messages so that the seam looks like the rest of the stream.
    pub(super) fn cycle(&self) -> Duration {
        let last = self.entries.last().map_or(Duration::ZERO, |e| e.at);
        match self.entries.len() {
            0 | 1 => last,
            n => last + last / (n as u32 - 1),
        }
    }
}

const PAYLOAD_KEYS: [&str; 3] = ["json", "text", "binary"];

/// One line of a replay file: its time (if it has one) and the message.
fn parse_line(line: &str) -> Result<(Option<u64>, Message), String> {
    let raw: &RawValue = serde_json::from_str(line).map_err(|e| format!("not valid JSON: {e}"))?;
    match as_record(raw)? {
        Some(record) => Ok(record),
        None => Ok((None, Message::text(raw.get()))),
    }
}

/// Reads `{"ms": …, "json"|"text"|"binary": …}`; `None` when the line is a bare value.
fn as_record(raw: &RawValue) -> Result<Option<(Option<u64>, Message)>, String> {
    let Ok(fields) = serde_json::from_str::<BTreeMap<String, &RawValue>>(raw.get()) else {
        return Ok(None);
    };
    let is_record = fields.keys().any(|k| PAYLOAD_KEYS.contains(&k.as_str()))
        && fields
            .keys()
            .all(|k| k == "ms" || PAYLOAD_KEYS.contains(&k.as_str()));
    if !is_record {
        return Ok(None);
    }
    let payloads: Vec<&str> = PAYLOAD_KEYS
        .into_iter()
        .filter(|k| fields.contains_key(*k))
        .collect();
    let [kind] = payloads.as_slice() else {
        return Err(format!(
            "a line holds one of `json`, `text` or `binary`, not several ({})",
            payloads.join(", ")
        ));
    };
    let ms = match fields.get("ms") {
        Some(v) => serde_json::from_str::<Option<u64>>(v.get()).map_err(|_| {
            format!(
                "`ms` must be a whole number of milliseconds, found {}",
                v.get()
            )
        })?,
        None => None,
    };
    let value = fields[*kind].get();
    let message = match *kind {
        "json" => Message::text(value),
        "text" => Message::text(
            serde_json::from_str::<String>(value)
                .map_err(|_| format!("`text` must be a string, found {value}"))?,
        ),
        _ => Message::binary(decode_base64(value)?),
    };
    Ok(Some((ms, message)))
}

fn decode_base64(value: &str) -> Result<Vec<u8>, String> {
    let text = serde_json::from_str::<String>(value)
        .map_err(|_| format!("`binary` must be a base64 string, found {value}"))?;
    base64::engine::general_purpose::STANDARD
        .decode(text.as_bytes())
        .map_err(|e| format!("`binary` is not valid base64: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(m: &Message) -> &str {
        match m {
            Message::Text(t) => t.as_str(),
            other => panic!("not text: {other:?}"),
        }
    }

    #[test]
    fn records_and_bare_values_parse() {
        let r = Recording::parse(
            "{\"ms\": 5, \"json\": {\"b\":1, \"a\":2}}\n\n{\"text\":\"hi\"}\n{\"ms\":9,\"binary\":\"AQID\"}\n[1, 2]\n{\"ms\":3,\"other\":1}\n",
            "x.jsonl",
        )
        .unwrap();
        let msgs: Vec<&Message> = r.messages().collect();
        assert_eq!(text(msgs[0]), "{\"b\":1, \"a\":2}");
        assert_eq!(text(msgs[1]), "hi");
        assert_eq!(msgs[2], &Message::binary(vec![1u8, 2, 3]));
        assert_eq!(text(msgs[3]), "[1, 2]");
        assert_eq!(text(msgs[4]), "{\"ms\":3,\"other\":1}");
        let times: Vec<u128> = r.times().map(|t| t.as_millis()).collect();
        assert_eq!(times, [5, 5, 9, 9, 9]);
    }

    #[test]
    fn bad_lines_name_file_and_line() {
        let err = Recording::parse("{\"json\":1}\n\n{oops\n", "f.jsonl").unwrap_err();
        assert!(
            err.to_string().starts_with("f.jsonl:3: not valid JSON"),
            "{err}"
        );
        let err = Recording::parse("{\"json\":1,\"text\":\"a\"}", "f.jsonl").unwrap_err();
        assert!(err.to_string().contains("not several"), "{err}");
        let err = Recording::parse("{\"ms\":-1,\"json\":1}", "f.jsonl").unwrap_err();
        assert!(err.to_string().contains("`ms` must be"), "{err}");
        let err = Recording::parse("{\"binary\":\"!!\"}", "f.jsonl").unwrap_err();
        assert!(err.to_string().contains("base64"), "{err}");
    }

    #[test]
    fn the_loop_seam_uses_the_mean_gap() {
        let r = Recording::parse(
            "{\"ms\":0,\"json\":1}\n{\"ms\":20,\"json\":2}\n{\"ms\":40,\"json\":3}",
            "f",
        )
        .unwrap();
        assert_eq!(r.cycle(), Duration::from_millis(60));
    }
}
