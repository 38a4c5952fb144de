//! `wsrun new --from-har FILE.har`: the WebSocket connections of a browser's HAR export.
//! Chrome (and Playwright) write each one as an entry with `_resourceType: "websocket"` and its
//! frames in `_webSocketMessages: [{type: send|receive, time, opcode, data}]`; `time` is seconds
//! since the epoch (Chrome) or milliseconds (some Playwright versions), `data` base64 when
//! `opcode` is 2.

use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;

use super::import::{
    header_use, name_from_url, read_text, translate, Dialect, Frame, HeaderUse, Import,
    ImportError, Payload, Session,
};

/// Times above this are milliseconds: in seconds it would be past the year 5000.
const MILLISECONDS_ABOVE: f64 = 1e11;

/// Reads the WebSocket connections of the HAR file at `path`.
pub fn read(path: &Path) -> Result<Import, ImportError> {
    let text = read_text(path)?;
    parse(&text, &path.display().to_string())
}

/// Reads a HAR document; `file` names it in messages.
pub fn parse(text: &str, file: &str) -> Result<Import, ImportError> {
    let format = |message: String| ImportError::Format {
        file: file.to_string(),
        message,
    };
    let doc: Value = serde_json::from_str(text).map_err(|e| format(format!("not JSON ({e})")))?;
    let entries = doc
        .get("log")
        .and_then(|l| l.get("entries"))
        .and_then(Value::as_array)
        .ok_or_else(|| format("not a HAR file (it has no `log.entries` list)".into()))?;
    let mut import = Import {
        tool: "HAR",
        flag: "--from-har",
        source: file.to_string(),
        ..Import::default()
    };
    let sockets: Vec<&Value> = entries
        .iter()
        .filter(|e| e.get("_resourceType").and_then(Value::as_str) == Some("websocket"))
        .collect();
    if sockets.is_empty() {
        return Err(ImportError::Empty(format!(
            "no WebSocket connections in {file} ({} {}, none with _resourceType websocket)",
            entries.len(),
            if entries.len() == 1 {
                "entry"
            } else {
                "entries"
            }
        )));
    }
    for (i, entry) in sockets.iter().enumerate() {
        let session = session(entry, &mut import.notes)
            .map_err(|m| format(format!("WebSocket entry {}: {m}", i + 1)))?;
        import.sessions.push(session);
    }
    Ok(import)
}

/// One WebSocket entry as a session.
fn session(entry: &Value, notes: &mut Vec<String>) -> Result<Session, String> {
    let request = entry.get("request").ok_or("it has no `request`")?;
    let url = request
        .get("url")
        .and_then(Value::as_str)
        .ok_or("its request has no `url`")?;
    let url = websocket_url(url);
    let name = name_from_url(&url);
    let mut session = Session {
        name: name.clone(),
        ..Session::default()
    };
    let mut unused = Vec::new();
    match translate(&url, Dialect::Literal, &mut unused) {
        Ok(u) => session.url = u,
        Err(why) => {
            notes.push(format!(
                "{name}: the URL, because {why}; set `live` by hand"
            ));
            session.url = "wss://…".into();
        }
    }
    headers(request, &name, &mut session, notes);
    frames(entry, &name, &mut session, notes)?;
    Ok(session)
}

/// `https://` as `wss://`: some exports keep the scheme of the HTTP upgrade request.
fn websocket_url(url: &str) -> String {
    if let Some(rest) = url.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = url.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        url.to_string()
    }
}

fn headers(request: &Value, name: &str, session: &mut Session, notes: &mut Vec<String>) {
    let list = request
        .get("headers")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for h in list {
        let (Some(key), Some(value)) = (
            h.get("name").and_then(Value::as_str),
            h.get("value").and_then(Value::as_str),
        ) else {
            continue;
        };
        if session
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(key))
        {
            continue;
        }
        match header_use(key, value) {
            HeaderUse::Drop => {}
            HeaderUse::Unsendable => notes.push(format!(
                "{name}: the {key} header, which no handshake can send as written"
            )),
            HeaderUse::Subprotocols(p) => session.subprotocols.extend(p),
            // The value of a credential is never written (it becomes a secret variable), so
            // none is kept: a `{{` in it must not be read as a template either.
            HeaderUse::Secret => session
                .headers
                .push((key.to_string(), "credential".to_string())),
            HeaderUse::Keep => {
                let mut unused = Vec::new();
                match translate(value, Dialect::Literal, &mut unused) {
                    Ok(v) => session.headers.push((key.to_string(), v)),
                    Err(why) => notes.push(format!("{name}: the {key} header, because {why}")),
                }
            }
        }
    }
}

/// The entry's frames, their times from the first one.
fn frames(
    entry: &Value,
    name: &str,
    session: &mut Session,
    notes: &mut Vec<String>,
) -> Result<(), String> {
    let Some(messages) = entry.get("_webSocketMessages").and_then(Value::as_array) else {
        return Ok(());
    };
    let times: Vec<f64> = messages
        .iter()
        .map(|m| m.get("time").and_then(Value::as_f64).unwrap_or(0.0))
        .collect();
    let ms = times.iter().any(|t| *t > MILLISECONDS_ABOVE);
    let first = times.iter().copied().fold(f64::INFINITY, f64::min);
    let mut other_opcodes = 0;
    for (i, m) in messages.iter().enumerate() {
        let sent = match m.get("type").and_then(Value::as_str) {
            Some("send") => true,
            Some("receive") => false,
            other => {
                return Err(format!(
                    "message {}: `type` is {}, not send or receive",
                    i + 1,
                    other.map_or("missing".into(), |t| format!("`{t}`"))
                ))
            }
        };
        let data = m.get("data").and_then(Value::as_str).unwrap_or_default();
        let payload = match m.get("opcode").and_then(Value::as_u64).unwrap_or(1) {
            1 => Payload::Text(data.to_string()),
            2 => match base64::engine::general_purpose::STANDARD.decode(data) {
                Ok(bytes) => Payload::Binary(bytes),
                Err(e) => {
                    return Err(format!(
                        "message {}: binary data is not base64 ({e})",
                        i + 1
                    ));
                }
            },
            _ => {
                other_opcodes += 1;
                continue;
            }
        };
        if let (true, Payload::Text(t)) = (sent, &payload) {
            let mut unused = Vec::new();
            if let Err(why) = translate(t, Dialect::Literal, &mut unused) {
                notes.push(format!("{name}: sent message {}, because {why}", i + 1));
                continue;
            }
        }
        let offset = (times[i] - first).max(0.0);
        let seconds = if ms { offset / 1000.0 } else { offset };
        session.frames.push(Frame {
            sent,
            // A time too large for a Duration (a broken export) counts as the start.
            at: Duration::try_from_secs_f64(seconds).unwrap_or_default(),
            payload,
        });
    }
    if other_opcodes > 0 {
        notes.push(format!(
            "{name}: {} that were neither text nor binary (control frames)",
            super::starter::plural(other_opcodes, "frame")
        ));
    }
    Ok(())
}
