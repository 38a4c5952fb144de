//! `wsrun record`: save what a live WebSocket server sends, in the replay format mocks read.
//!
//! Each received message becomes one line (see [`crate::mock`] for the format): a text frame
//! that is JSON as `{"ms":…,"json":…}` (written as received, so key order is kept; a message
//! spread over several lines is compacted), any other text as `{"ms":…,"text":"…"}`, a binary
//! frame as `{"ms":…,"binary":"BASE64"}`. `ms` counts milliseconds since the connection
//! opened, so a replay also reproduces the wait before the first message.

use std::borrow::Cow;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use serde_json::value::RawValue;
use tokio_tungstenite::tungstenite::Message;

use crate::runner::conn::ConnectSpec;
use crate::runner::mask::Masker;
use crate::watch::{Event, Plan, Target, WatchError};

/// Why a recording failed.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Opening the connection failed; the text says why, as a request's failure would.
    #[error("{0}")]
    Connect(String),
    #[error("cannot send {frame}: {message}")]
    Send { frame: String, message: String },
    #[error("cannot write {}: {source}", .path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the connection failed after {recorded} messages (they were saved): {message}")]
    Stream { recorded: u64, message: String },
}

/// The connection `wsrun record` opens: the URL, with the TLS roots and limits of a request.
pub fn connect_spec(url: &str) -> Result<ConnectSpec, RecordError> {
    Target::url(url)
        .connect_spec("record")
        .map_err(RecordError::Connect)
}

/// Connects as `spec` says (through the same code as a request's connections), sends each of
/// `send` as a text frame, then writes every message received to `out` until `count` messages,
/// `duration`, or the server closing, whichever comes first. `progress` is called after each
/// message with the number recorded and the seconds elapsed. Returns the number recorded.
///
/// This is a [`crate::watch`] session whose only sink is the file.
pub async fn record(
    spec: &ConnectSpec,
    out: &Path,
    send: &[String],
    count: Option<u64>,
    duration: Option<Duration>,
    progress: Option<&(dyn Fn(u64, f64) + Sync)>,
    masker: &Masker,
) -> Result<u64, RecordError> {
    let plan = Plan {
        send: send.to_vec(),
        count,
        duration,
        ..Plan::default()
    };
    let mut saver = Saver::new(out);
    let mut recorded = 0u64;
    let mut sink = |event: Event<'_>| {
        saver.event(&event, masker)?;
        if let Event::Received { at, .. } = event {
            recorded += 1;
            if let Some(report) = progress {
                report(recorded, at.as_secs_f64());
            }
        }
        Ok(())
    };
    let result = crate::watch::watch(spec, &plan, None, std::future::pending(), &mut sink).await;
    let flushed = saver.finish();
    let write_error = |source| RecordError::Write {
        path: out.to_path_buf(),
        source,
    };
    let summary = result.map_err(|e| match e {
        WatchError::Connect(message) => RecordError::Connect(message),
        WatchError::Send { frame, message } => RecordError::Send { frame, message },
        WatchError::Sink(source) => write_error(source),
        WatchError::Lost { received, message } => RecordError::Stream {
            recorded: received,
            message,
        },
    })?;
    flushed.map_err(write_error)?;
    Ok(summary.received)
}

/// Writes the messages of a session to a recording: the file is created once the connection
/// is open (a refused connection leaves no file behind), each received message is one line.
pub struct Saver {
    path: PathBuf,
    file: Option<std::io::BufWriter<std::fs::File>>,
}

impl Saver {
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            file: None,
        }
    }

    /// Takes one event of a session; secrets in a line are masked before it is written.
    pub fn event(&mut self, event: &Event<'_>, masker: &Masker) -> std::io::Result<()> {
        match event {
            Event::Connected => {
                if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)?;
                }
                let file = std::fs::File::create(&self.path)?;
                self.file = Some(std::io::BufWriter::new(file));
            }
            Event::Received { at, message } => {
                if let (Some(file), Some(line)) =
                    (&mut self.file, format_line(at.as_millis() as u64, message))
                {
                    file.write_all(masker.mask(&line).as_bytes())?;
                }
            }
            Event::Sent { .. } => {}
        }
        Ok(())
    }

    /// Flushes what is buffered.
    pub fn finish(&mut self) -> std::io::Result<()> {
        match &mut self.file {
            Some(file) => file.flush(),
            None => Ok(()),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// One line of the replay format (with its newline) for a received data message; `None` for
/// control frames.
pub fn format_line(ms: u64, message: &Message) -> Option<String> {
    let payload = match message {
        Message::Text(text) => match json_payload(text.as_str()) {
            Some(json) => format!("\"json\":{json}"),
            None => format!("\"text\":{}", json_string(text.as_str())),
        },
        Message::Binary(bytes) => {
            let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
            format!("\"binary\":{}", json_string(&b64))
        }
        _ => return None,
    };
    Some(format!("{{\"ms\":{ms},{payload}}}\n"))
}

/// The text as it should appear after `"json":` when it is JSON: as received when it fits on
/// one line, compacted otherwise.
fn json_payload(text: &str) -> Option<Cow<'_, str>> {
    let trimmed = text.trim();
    serde_json::from_str::<&RawValue>(trimmed).ok()?;
    if trimmed.len() == text.len() && !text.contains(['\n', '\r']) {
        Some(Cow::Borrowed(text))
    } else {
        Some(Cow::Owned(crate::value::compact_json(trimmed)))
    }
}

fn json_string(text: &str) -> String {
    // Serialising a `str` cannot fail: it has no map keys or custom Serialize impl to reject.
    serde_json::to_string(text).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_kept_as_received() {
        let line = format_line(12, &Message::text(r#"{"e":"trade","E":1,"p":"1.50"}"#));
        assert_eq!(
            line.as_deref(),
            Some("{\"ms\":12,\"json\":{\"e\":\"trade\",\"E\":1,\"p\":\"1.50\"}}\n")
        );
    }

    #[test]
    fn multi_line_json_is_compacted_and_other_text_escaped() {
        let line = format_line(
            0,
            &Message::text("{\n  \"a\": \"x y\\\"\",\n  \"b\": [1, 2]\n}"),
        );
        assert_eq!(
            line.as_deref(),
            Some("{\"ms\":0,\"json\":{\"a\":\"x y\\\"\",\"b\":[1,2]}}\n")
        );
        let line = format_line(3, &Message::text("hello \"you\""));
        assert_eq!(
            line.as_deref(),
            Some("{\"ms\":3,\"text\":\"hello \\\"you\\\"\"}\n")
        );
    }

    #[test]
    fn binary_is_base64_and_control_frames_are_skipped() {
        let line = format_line(7, &Message::binary(vec![1u8, 2, 3]));
        assert_eq!(line.as_deref(), Some("{\"ms\":7,\"binary\":\"AQID\"}\n"));
        assert_eq!(format_line(7, &Message::Ping(Default::default())), None);
    }

    #[test]
    fn lines_read_back_as_the_same_messages() {
        let messages = [
            Message::text(r#"{"b":1,"a":[true,null]}"#),
            Message::text("plain"),
            Message::text("{\"ms\":1,\"text\":\"looks like a record\"}"),
            Message::binary(vec![0u8, 255]),
        ];
        let text: String = messages
            .iter()
            .enumerate()
            .filter_map(|(i, m)| format_line(i as u64, m))
            .collect();
        let back = crate::mock::Recording::parse(&text, "t").unwrap();
        assert_eq!(back.messages().cloned().collect::<Vec<_>>(), messages);
    }
}
