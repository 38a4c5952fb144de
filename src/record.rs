//! `wsrun record`: save what a live WebSocket server sends, in the replay format mocks read.
//!
//! Each received message becomes one line (see [`crate::mock`] for the format): a text frame
//! that is JSON as `{"ms":…,"json":…}` (written as received, so key order is kept; a message
//! spread over several lines is compacted), any other text as `{"ms":…,"text":"…"}`, a binary
//! frame as `{"ms":…,"binary":"BASE64"}`. `ms` counts milliseconds since the connection
//! opened, so a replay also reproduces the wait before the first message.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use serde_json::value::RawValue;
use tokio::io::{AsyncWriteExt, BufWriter};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use crate::runner::conn::{Conn, ConnectSpec, Incoming, Recorder, RecvError};

/// How long connecting (TCP, TLS and the WebSocket handshake) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

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
    let tls = crate::runner::tls::client_config(None, false, Path::new("."))
        .map_err(RecordError::Connect)?;
    Ok(ConnectSpec {
        name: "record".into(),
        url: url.to_string(),
        headers: Vec::new(),
        subprotocols: Vec::new(),
        tls,
        connect_timeout: CONNECT_TIMEOUT,
        max_message_size: crate::collection::DEFAULT_MAX_MESSAGE_SIZE,
    })
}

/// Connects as `spec` says (through the same code as a request's connections), sends each of
/// `send` as a text frame, then writes every message received to `out` until `count` messages,
/// `duration`, or the server closing, whichever comes first. `progress` is called after each
/// message with the number recorded and the seconds elapsed. Returns the number recorded.
pub async fn record(
    spec: &ConnectSpec,
    out: &Path,
    send: &[String],
    count: Option<u64>,
    duration: Option<Duration>,
    progress: Option<&(dyn Fn(u64, f64) + Sync)>,
) -> Result<u64, RecordError> {
    let mut conn = Conn::open(spec).await.map_err(RecordError::Connect)?;
    let mut rec = Recorder::new();
    let start = Instant::now();
    let write_error = |source| RecordError::Write {
        path: out.to_path_buf(),
        source,
    };
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        tokio::fs::create_dir_all(dir).await.map_err(write_error)?;
    }
    let file = tokio::fs::File::create(out).await.map_err(write_error)?;
    let mut writer = BufWriter::new(file);
    for frame in send {
        conn.send(Message::text(frame.as_str()), &mut rec)
            .await
            .map_err(|message| RecordError::Send {
                frame: frame.clone(),
                message,
            })?;
    }
    // Without a duration, a deadline far enough away never to come.
    let deadline = start + duration.unwrap_or(Duration::from_secs(100 * 365 * 86_400));
    let mut recorded = 0u64;
    let mut failure = None;
    while count.is_none_or(|n| recorded < n) {
        let message = match conn.recv(deadline, &mut rec).await {
            Ok(Incoming::Text(t)) => Message::Text(t),
            Ok(Incoming::Binary(b)) => Message::Binary(b),
            Err(RecvError::Timeout) => break,
            Err(RecvError::Closed(closed)) => {
                failure = closed.error;
                break;
            }
        };
        let elapsed = start.elapsed();
        let Some(line) = format_line(elapsed.as_millis() as u64, &message) else {
            continue;
        };
        writer
            .write_all(line.as_bytes())
            .await
            .map_err(write_error)?;
        recorded += 1;
        if let Some(report) = progress {
            report(recorded, elapsed.as_secs_f64());
        }
    }
    writer.flush().await.map_err(write_error)?;
    if let Some(message) = failure {
        return Err(RecordError::Stream { recorded, message });
    }
    conn.shutdown(&mut rec).await;
    Ok(recorded)
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
        Some(Cow::Owned(compact(trimmed)))
    }
}

/// Removes the whitespace between the tokens of valid JSON, keeping everything else as is.
fn compact(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            out.push(c);
        }
    }
    out
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
