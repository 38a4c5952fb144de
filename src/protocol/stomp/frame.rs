//! STOMP 1.2 frames: `COMMAND\nname:value\n…\n\nbody\0`, with the header escapes of 1.2
//! (`\\`, `\n`, `\r`, `\c`; none in `CONNECT` and `CONNECTED`), `content-length` bodies, heart-beats
//! (a lone end of line), and the JSON envelope steps see, which the client and the mock share.

use serde_json::{Map, Value};

/// One frame. Header order is kept; a repeated header's first value is the one that counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub command: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// What one WebSocket message holds.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// Only ends of line: a heart-beat.
    HeartBeat,
    Frame(Frame),
}

impl Frame {
    pub fn new(command: &str) -> Self {
        Self {
            command: command.to_string(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Adds a header (after any with the same name, which would win).
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// The value of a header: its first occurrence.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The frame as bytes, with `content-length` when the body is not empty and none is given.
    pub fn encode(&self) -> Vec<u8> {
        let escape = escapes(&self.command);
        let mut out = Vec::with_capacity(self.command.len() + 64 + self.body.len());
        out.extend_from_slice(self.command.as_bytes());
        out.push(b'\n');
        for (name, value) in &self.headers {
            push_escaped(&mut out, name, escape);
            out.push(b':');
            push_escaped(&mut out, value, escape);
            out.push(b'\n');
        }
        if !self.body.is_empty() && self.get("content-length").is_none() {
            out.extend_from_slice(format!("content-length:{}\n", self.body.len()).as_bytes());
        }
        out.push(b'\n');
        out.extend_from_slice(&self.body);
        out.push(0);
        out
    }

    /// `{"command", "headers": {…}, "body", "json"?}`: `json` is the body parsed, when it is JSON.
    pub fn envelope(&self) -> Value {
        let mut headers = Map::new();
        for (name, value) in &self.headers {
            if !headers.contains_key(name) {
                headers.insert(name.clone(), Value::String(value.clone()));
            }
        }
        let body = String::from_utf8_lossy(&self.body).into_owned();
        let json = serde_json::from_str::<Value>(&body).ok();
        let mut envelope = Map::new();
        envelope.insert("command".into(), Value::String(self.command.clone()));
        envelope.insert("headers".into(), Value::Object(headers));
        envelope.insert("body".into(), Value::String(body));
        if let Some(json) = json {
            envelope.insert("json".into(), json);
        }
        Value::Object(envelope)
    }

    /// A frame from its envelope: `command`, optional `headers` (strings, numbers or booleans)
    /// and `body` (a string; any other JSON is sent as its text) or, without `body`, `json`
    /// (sent as JSON text, `content-type: application/json` unless a header says otherwise).
    pub fn from_envelope(envelope: &Value) -> Result<Frame, String> {
        const SHAPE: &str = "a STOMP frame is sent as `{command, headers, body}`";
        let Some(map) = envelope.as_object() else {
            return Err(format!(
                "{SHAPE}, not {}",
                crate::value::type_name(envelope)
            ));
        };
        if let Some(key) = map
            .keys()
            .find(|k| !matches!(k.as_str(), "command" | "headers" | "body" | "json"))
        {
            return Err(format!("{SHAPE}: unknown key `{key}`"));
        }
        let command = match map.get("command") {
            Some(Value::String(c)) if is_command(c) => c.clone(),
            Some(Value::String(c)) => {
                return Err(format!(
                    "`{c}` is not a STOMP command (upper-case letters only)"
                ))
            }
            _ => return Err(format!("{SHAPE}: `command` must be a string")),
        };
        let mut frame = Frame::new(&command);
        match map.get("headers") {
            None | Some(Value::Null) => {}
            Some(Value::Object(headers)) => {
                for (name, value) in headers {
                    let value = match value {
                        Value::String(s) => s.clone(),
                        Value::Number(_) | Value::Bool(_) => value.to_string(),
                        other => {
                            return Err(format!(
                                "header `{name}` must be a string, not {}",
                                crate::value::type_name(other)
                            ))
                        }
                    };
                    frame = frame.header(name, value);
                }
            }
            Some(other) => {
                return Err(format!(
                    "`headers` must be a map, not {}",
                    crate::value::type_name(other)
                ))
            }
        }
        frame.body = match (map.get("body"), map.get("json")) {
            (Some(Value::String(s)), _) => s.clone().into_bytes(),
            (Some(other), _) if !other.is_null() => other.to_string().into_bytes(),
            // `json` without `body`: the body is that JSON, sent as such.
            (_, Some(json)) => {
                if frame.get("content-type").is_none() {
                    frame = frame.header("content-type", "application/json");
                }
                json.to_string().into_bytes()
            }
            _ => Vec::new(),
        };
        Ok(frame)
    }
}

/// `CONNECT` and `CONNECTED` headers are not escaped (STOMP 1.2, "Value Encoding").
fn escapes(command: &str) -> bool {
    !matches!(command, "CONNECT" | "CONNECTED")
}

fn is_command(c: &str) -> bool {
    !c.is_empty() && c.bytes().all(|b| b.is_ascii_uppercase())
}

fn push_escaped(out: &mut Vec<u8>, text: &str, escape: bool) {
    if !escape {
        out.extend_from_slice(text.as_bytes());
        return;
    }
    for b in text.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b':' => out.extend_from_slice(b"\\c"),
            _ => out.push(b),
        }
    }
}

/// Reads one WebSocket message: a heart-beat, or one frame (ends of line around it allowed).
pub fn parse(data: &[u8]) -> Result<Parsed, String> {
    let start = data
        .iter()
        .position(|b| !matches!(b, b'\n' | b'\r'))
        .unwrap_or(data.len());
    if start == data.len() {
        return Ok(Parsed::HeartBeat);
    }
    let mut rest = &data[start..];
    let command = line(&mut rest).ok_or("the frame has no end of line after its command")?;
    let command = std::str::from_utf8(command)
        .ok()
        .filter(|c| is_command(c))
        .ok_or_else(|| {
            format!(
                "`{}` is not a STOMP command",
                String::from_utf8_lossy(command)
            )
        })?
        .to_string();
    let escaped = escapes(&command);
    let mut frame = Frame::new(&command);
    loop {
        let header = line(&mut rest).ok_or("the frame's headers do not end with a blank line")?;
        if header.is_empty() {
            break;
        }
        let header = std::str::from_utf8(header).map_err(|_| "a header is not UTF-8")?;
        let (name, value) = header
            .split_once(':')
            .ok_or_else(|| format!("header line `{header}` has no `:`"))?;
        let (name, value) = if escaped {
            (unescape(name)?, unescape(value)?)
        } else {
            (name.to_string(), value.to_string())
        };
        frame.headers.push((name, value));
    }
    let body_len = match frame.get("content-length") {
        Some(n) => {
            let n: usize = n
                .trim()
                .parse()
                .map_err(|_| format!("`content-length:{n}` is not a number"))?;
            if rest.len() <= n || rest[n] != 0 {
                return Err(format!(
                    "the body is not {n} bytes followed by NUL, as `content-length` says"
                ));
            }
            n
        }
        None => rest
            .iter()
            .position(|b| *b == 0)
            .ok_or("the frame does not end with NUL")?,
    };
    frame.body = rest[..body_len].to_vec();
    let after = &rest[body_len + 1..];
    if after.iter().any(|b| !matches!(b, b'\n' | b'\r')) {
        return Err(
            "the message holds more than one frame (wsrun reads one frame per WebSocket message)"
                .into(),
        );
    }
    Ok(Parsed::Frame(frame))
}

/// The next line (without its `\n` or `\r\n`), or `None` when no end of line is left.
fn line<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let end = rest.iter().position(|b| *b == b'\n')?;
    let mut text = &rest[..end];
    if let Some(stripped) = text.strip_suffix(b"\r") {
        text = stripped;
    }
    *rest = &rest[end + 1..];
    Some(text)
}

/// Undoes the 1.2 escapes; any other backslash sequence is an error, as 1.2 requires.
fn unescape(text: &str) -> Result<String, String> {
    if !text.contains('\\') {
        return Ok(text.to_string());
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('c') => out.push(':'),
            Some(other) => {
                return Err(format!(
                    "`\\{other}` in header `{text}` is not a STOMP escape"
                ))
            }
            None => return Err(format!("header `{text}` ends with a lone `\\`")),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn frame(data: &[u8]) -> Frame {
        match parse(data) {
            Ok(Parsed::Frame(f)) => f,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_frame_reads_its_command_headers_and_body() {
        let f = frame(b"MESSAGE\ndestination:/q\nsubscription:0\n\nhello\0");
        assert_eq!(f.command, "MESSAGE");
        assert_eq!(f.get("destination"), Some("/q"));
        assert_eq!(f.body, b"hello");
    }

    #[test]
    fn ends_of_line_alone_are_a_heart_beat_and_around_a_frame_are_skipped() {
        assert_eq!(parse(b"\n").unwrap(), Parsed::HeartBeat);
        assert_eq!(parse(b"\r\n\n").unwrap(), Parsed::HeartBeat);
        let f = frame(b"\nRECEIPT\r\nreceipt-id:7\r\n\r\n\0\n\n");
        assert_eq!(f.get("receipt-id"), Some("7"));
    }

    #[test]
    fn content_length_reads_a_body_holding_nul() {
        let f = frame(b"MESSAGE\ncontent-length:3\n\na\0b\0");
        assert_eq!(f.body, b"a\0b");
        assert!(parse(b"MESSAGE\ncontent-length:5\n\na\0b\0").is_err());
    }

    #[test]
    fn header_escapes_round_trip_except_in_connect_frames() {
        let f = Frame::new("SEND").header("k", "a:b\\c\nd\re");
        let bytes = f.encode();
        assert!(bytes.starts_with(b"SEND\nk:a\\cb\\\\c\\nd\\re\n"));
        assert_eq!(frame(&bytes).get("k"), Some("a:b\\c\nd\re"));
        let connected = frame(b"CONNECTED\nserver:a\\c\n\n\0");
        assert_eq!(connected.get("server"), Some("a\\c"));
        assert!(parse(b"SEND\nk:a\\t\n\n\0").is_err());
    }

    #[test]
    fn the_first_of_repeated_headers_counts() {
        let f = frame(b"MESSAGE\nfoo:1\nfoo:2\n\n\0");
        assert_eq!(f.get("foo"), Some("1"));
        assert_eq!(f.envelope()["headers"]["foo"], "1");
    }

    #[test]
    fn the_envelope_has_json_only_when_the_body_parses() {
        let f = frame(b"MESSAGE\ndestination:/q\n\n{\"a\":1}\0");
        assert_eq!(
            f.envelope(),
            json!({"command": "MESSAGE", "headers": {"destination": "/q"}, "body": "{\"a\":1}", "json": {"a": 1}})
        );
        let plain = frame(b"MESSAGE\n\nhi\0").envelope();
        assert!(plain.get("json").is_none());
    }

    #[test]
    fn an_envelope_becomes_a_frame_with_its_content_length() {
        let f = Frame::from_envelope(
            &json!({"command": "SEND", "headers": {"destination": "/q", "n": 1}, "body": "hé"}),
        )
        .unwrap();
        assert_eq!(
            f.encode(),
            "SEND\ndestination:/q\nn:1\ncontent-length:3\n\nhé\0".as_bytes()
        );
        let from_json =
            Frame::from_envelope(&json!({"command": "MESSAGE", "json": {"a": 1}})).unwrap();
        assert_eq!(from_json.get("content-type"), Some("application/json"));
        assert_eq!(from_json.body, br#"{"a":1}"#);
        assert!(Frame::from_envelope(&json!({"command": "send"})).is_err());
        assert!(Frame::from_envelope(&json!({"cmd": "SEND"})).is_err());
        assert!(Frame::from_envelope(&json!([1])).is_err());
    }

    #[test]
    fn broken_frames_say_what_is_wrong() {
        let missing_nul = parse(b"SEND\n\nbody").unwrap_err();
        assert!(missing_nul.contains("NUL"), "{missing_nul}");
        let two = parse(b"SEND\n\na\0SEND\n\nb\0").unwrap_err();
        assert!(two.contains("more than one frame"), "{two}");
        assert!(parse(b"hello\n\n\0").is_err());
        assert!(parse(b"SEND\nnocolon\n\n\0").is_err());
    }
}
