//! The steps that send or await control frames: `ping`, `close` and `expect_close`, with the
//! checks that keep them within what a control frame carries (RFC 6455 §5.5).

use serde::Deserialize;
use serde_json::Value;

use super::de::{map_or_scalar, scalar_text, Dur};
use crate::template::Template;

/// `ping: PAYLOAD` or `ping: {payload, conn, timeout}`.
#[derive(Debug, Clone, Default)]
pub struct Ping {
    pub conn: Option<String>,
    pub payload: Template,
    pub timeout: Option<Dur>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPing {
    conn: Option<String>,
    payload: Option<Template>,
    timeout: Option<Dur>,
}
impl TryFrom<RawPing> for Ping {
    type Error = String;
    fn try_from(r: RawPing) -> Result<Self, String> {
        if let Some(payload) = r.payload.as_ref().and_then(literal_text) {
            check_ping_payload(&payload)?;
        }
        Ok(Ping {
            conn: r.conn,
            payload: r.payload.unwrap_or_default(),
            timeout: r.timeout,
        })
    }
}

/// `close: {code, reason}`; `close:` alone sends 1000.
#[derive(Debug, Clone, Default)]
pub struct Close {
    pub conn: Option<String>,
    pub code: Option<u16>,
    pub reason: Option<Template>,
    pub timeout: Option<Dur>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClose {
    conn: Option<String>,
    code: Option<u16>,
    reason: Option<Template>,
    timeout: Option<Dur>,
}
impl TryFrom<RawClose> for Close {
    type Error = String;
    fn try_from(r: RawClose) -> Result<Self, String> {
        if let Some(code) = r.code {
            check_sendable_code(code)?;
        }
        if let Some(reason) = r.reason.as_ref().and_then(literal_text) {
            check_close_reason(&reason)?;
        }
        Ok(Close {
            conn: r.conn,
            code: r.code,
            reason: r.reason,
            timeout: r.timeout,
        })
    }
}

/// `expect_close: {code}`: the server must close (messages before the close are skipped).
#[derive(Debug, Clone, Default)]
pub struct ExpectClose {
    pub conn: Option<String>,
    pub code: Option<u16>,
    pub timeout: Option<Dur>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpectClose {
    conn: Option<String>,
    code: Option<u16>,
    timeout: Option<Dur>,
}
impl TryFrom<RawExpectClose> for ExpectClose {
    type Error = String;
    fn try_from(r: RawExpectClose) -> Result<Self, String> {
        Ok(ExpectClose {
            conn: r.conn,
            code: r.code,
            timeout: r.timeout,
        })
    }
}

fn code_from(v: &Value) -> Result<Option<u16>, String> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_u64()
            .and_then(|c| u16::try_from(c).ok())
            .map(Some)
            .ok_or_else(|| format!("close code `{n}` is not a valid code (1000–4999)")),
        other => Err(format!(
            "expected a close code such as 1000 or a map, found {}",
            crate::value::type_name(other)
        )),
    }
}

map_or_scalar!(
    Ping,
    RawPing,
    "a ping payload or {payload, conn, timeout}",
    |v| {
        let payload = Template::parse(&scalar_text(&v).unwrap_or_default())?;
        if let Some(text) = literal_text(&payload) {
            check_ping_payload(&text)?;
        }
        Ok(Ping {
            payload,
            ..Ping::default()
        })
    }
);
map_or_scalar!(
    Close,
    RawClose,
    "a close code or {code, reason, conn}",
    |v| {
        let code = code_from(&v)?;
        if let Some(code) = code {
            check_sendable_code(code)?;
        }
        Ok(Close {
            code,
            ..Close::default()
        })
    }
);

/// The text of a template without variables; a templated value is checked once expanded, when
/// it is sent.
fn literal_text(t: &Template) -> Option<String> {
    if t.has_vars() {
        return None;
    }
    t.expand(&crate::template::Scope::default()).ok()
}

/// A ping's payload must fit a control frame (RFC 6455 §5.5: at most 125 bytes).
fn check_ping_payload(payload: &str) -> Result<(), String> {
    match payload.len() {
        0..=125 => Ok(()),
        n => Err(format!(
            "the ping payload is {n} bytes: a ping frame carries at most 125 (RFC 6455 §5.5)"
        )),
    }
}

/// A close reason must fit a control frame beside its two-byte code (RFC 6455 §5.5).
fn check_close_reason(reason: &str) -> Result<(), String> {
    match reason.len() {
        0..=123 => Ok(()),
        n => Err(format!(
            "the close reason is {n} bytes: a close frame carries at most 123 (RFC 6455 §5.5)"
        )),
    }
}

/// Codes an endpoint may put in a close frame (RFC 6455 §7.4): 1005, 1006 and 1015 are reserved
/// for reporting, and 1016–2999 are not assigned.
fn check_sendable_code(code: u16) -> Result<(), String> {
    match code {
        1000..=1003 | 1007..=1014 | 3000..=4999 => Ok(()),
        _ => Err(format!(
            "close code {code} cannot be sent: use 1000–1003, 1007–1014 or 3000–4999 (RFC 6455 §7.4)"
        )),
    }
}
map_or_scalar!(
    ExpectClose,
    RawExpectClose,
    "a close code or {code, conn, timeout}",
    |v| {
        Ok(ExpectClose {
            code: code_from(&v)?,
            ..ExpectClose::default()
        })
    }
);
