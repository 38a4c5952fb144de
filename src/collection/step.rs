//! The steps of a request, as the YAML writes them (docs/format.md, "Steps").

use serde::Deserialize;
use serde_json::Value;

use super::de::{map_or_scalar, scalar_text, Dur, OrderedMap};
use crate::jsonpath::JsonPath;
use crate::matcher::Matcher;
use crate::template::{TValue, Template};

/// One step and the YAML line it starts on.
#[derive(Debug, Clone)]
pub struct Step {
    pub line: usize,
    pub kind: StepKind,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum StepKind {
    Send(Send),
    Expect(Expect),
    WaitFor(Expect),
    NoMessage(NoMessage),
    Capture(OrderedMap<String, JsonPath>),
    Snapshot(Snapshot),
    Ping(Ping),
    Sleep(Dur),
    Close(Close),
    ExpectClose(ExpectClose),
}

/// Every step keyword, for hints.
pub const STEP_KEYS: [&str; 10] = [
    "send",
    "expect",
    "wait_for",
    "no_message",
    "capture",
    "snapshot",
    "ping",
    "sleep",
    "close",
    "expect_close",
];

impl StepKind {
    pub fn keyword(&self) -> &'static str {
        match self {
            StepKind::Send(_) => "send",
            StepKind::Expect(_) => "expect",
            StepKind::WaitFor(_) => "wait_for",
            StepKind::NoMessage(_) => "no_message",
            StepKind::Capture(_) => "capture",
            StepKind::Snapshot(_) => "snapshot",
            StepKind::Ping(_) => "ping",
            StepKind::Sleep(_) => "sleep",
            StepKind::Close(_) => "close",
            StepKind::ExpectClose(_) => "expect_close",
        }
    }

    /// The connection the step names, if any.
    pub fn conn(&self) -> Option<&str> {
        match self {
            StepKind::Send(s) => s.conn.as_deref(),
            StepKind::Expect(e) | StepKind::WaitFor(e) => e.conn.as_deref(),
            StepKind::NoMessage(n) => n.conn.as_deref(),
            StepKind::Snapshot(s) => s.conn.as_deref(),
            StepKind::Ping(p) => p.conn.as_deref(),
            StepKind::Close(c) => c.conn.as_deref(),
            StepKind::ExpectClose(c) => c.conn.as_deref(),
            StepKind::Capture(_) | StepKind::Sleep(_) => None,
        }
    }

    /// Whether the step talks to a connection (and so must name one when there are several).
    pub fn uses_connection(&self) -> bool {
        !matches!(self, StepKind::Capture(_) | StepKind::Sleep(_))
    }
}

/// `send: {text|json|binary}`.
#[derive(Debug, Clone)]
pub struct Send {
    pub conn: Option<String>,
    pub payload: Payload,
}

#[derive(Debug, Clone)]
pub enum Payload {
    Text(Template),
    Json(TValue),
    Binary(Template),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSend {
    conn: Option<String>,
    text: Option<Template>,
    json: Option<TValue>,
    binary: Option<Template>,
}

impl TryFrom<RawSend> for Send {
    type Error = String;
    fn try_from(raw: RawSend) -> Result<Self, String> {
        let payload = match (raw.text, raw.json, raw.binary) {
            (Some(t), None, None) => Payload::Text(t),
            (None, Some(j), None) => Payload::Json(j),
            (None, None, Some(b)) => {
                if !b.has_vars() {
                    use base64::Engine as _;
                    base64::engine::general_purpose::STANDARD
                        .decode(b.to_string().trim())
                        .map_err(|e| format!("`binary` is not valid base64: {e}"))?;
                }
                Payload::Binary(b)
            }
            (None, None, None) => {
                return Err("`send` needs one of `text`, `json` or `binary`".into())
            }
            _ => return Err("`send` takes only one of `text`, `json` or `binary`".into()),
        };
        Ok(Send {
            conn: raw.conn,
            payload,
        })
    }
}

map_or_scalar!(
    Send,
    RawSend,
    "`{text: …}`, `{json: …}` or `{binary: BASE64}`",
    |v| {
        match v {
            Value::String(s) => Send::try_from(RawSend {
                conn: None,
                text: Some(Template::parse(&s)?),
                json: None,
                binary: None,
            }),
            other => Err(format!(
                "`send` takes `{{text: …}}`, `{{json: …}}` or `{{binary: BASE64}}`, found {}",
                crate::value::type_name(&other)
            )),
        }
    }
);

/// `expect` / `wait_for`: what the next message (or the next `count`) must look like.
#[derive(Debug, Clone, Default)]
pub struct Expect {
    pub conn: Option<String>,
    pub timeout: Option<Dur>,
    pub count: Option<u64>,
    pub within: Option<Dur>,
    pub json: Option<OrderedMap<JsonPath, Matcher>>,
    pub text: Option<Matcher>,
    pub binary: Option<Matcher>,
    /// Limits on the round trip from the `send` just before (`collection::load`).
    pub latency: Option<super::load::LatencyCheck>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpect {
    conn: Option<String>,
    timeout: Option<Dur>,
    count: Option<u64>,
    within: Option<Dur>,
    json: Option<OrderedMap<JsonPath, Matcher>>,
    text: Option<Matcher>,
    binary: Option<Matcher>,
    latency: Option<super::load::LatencyCheck>,
}

impl TryFrom<RawExpect> for Expect {
    type Error = String;
    fn try_from(r: RawExpect) -> Result<Self, String> {
        let kinds = [r.json.is_some(), r.text.is_some(), r.binary.is_some()];
        if kinds.iter().filter(|k| **k).count() > 1 {
            return Err("an expectation takes only one of `json`, `text` or `binary`".into());
        }
        if r.count == Some(0) {
            return Err("`count` must be at least 1".into());
        }
        Ok(Expect {
            conn: r.conn,
            timeout: r.timeout,
            count: r.count,
            within: r.within,
            json: r.json,
            text: r.text,
            binary: r.binary,
            latency: r.latency,
        })
    }
}

map_or_scalar!(
    Expect,
    RawExpect,
    "{json: …}, {text: …} or {binary: …}",
    |v| {
        match v {
            Value::Null => Ok(Expect::default()),
            other => Err(format!(
                "expected a map such as `{{json: {{$.e: trade}}}}`, found {}",
                crate::value::type_name(&other)
            )),
        }
    }
);

/// `no_message: {within: 1s}` or `no_message: 1s`.
#[derive(Debug, Clone)]
pub struct NoMessage {
    pub conn: Option<String>,
    pub within: Dur,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNoMessage {
    conn: Option<String>,
    within: Dur,
}
impl TryFrom<RawNoMessage> for NoMessage {
    type Error = String;
    fn try_from(r: RawNoMessage) -> Result<Self, String> {
        Ok(NoMessage {
            conn: r.conn,
            within: r.within,
        })
    }
}

/// `snapshot: {name, shape, count, redact}` (docs/format.md, "Snapshots"); `snapshot: NAME` and a bare `snapshot:`
/// work too.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub name: Option<String>,
    pub shape: bool,
    pub count: Option<u64>,
    pub redact: Vec<JsonPath>,
    pub conn: Option<String>,
    pub timeout: Option<Dur>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSnapshot {
    pub name: Option<String>,
    #[serde(default)]
    pub shape: bool,
    pub count: Option<u64>,
    #[serde(default)]
    pub redact: Vec<JsonPath>,
    pub conn: Option<String>,
    pub timeout: Option<Dur>,
}

impl TryFrom<RawSnapshot> for Snapshot {
    type Error = String;
    fn try_from(r: RawSnapshot) -> Result<Self, String> {
        if r.count == Some(0) {
            return Err("`count` must be at least 1".into());
        }
        Ok(Snapshot {
            name: r.name,
            shape: r.shape,
            count: r.count,
            redact: r.redact,
            conn: r.conn,
            timeout: r.timeout,
        })
    }
}

map_or_scalar!(
    Snapshot,
    RawSnapshot,
    "a snapshot name or {name, shape, count, redact}",
    |v| {
        match v {
            Value::Null => Ok(Snapshot::default()),
            Value::String(name) => Ok(Snapshot {
                name: Some(name),
                ..Snapshot::default()
            }),
            other => Err(format!(
                "expected a snapshot name or a map, found {}",
                crate::value::type_name(&other)
            )),
        }
    }
);

/// `ping: PAYLOAD` or `ping: {payload, conn, timeout}`.
#[derive(Debug, Clone, Default)]
pub struct Ping {
    pub conn: Option<String>,
    pub payload: String,
    pub timeout: Option<Dur>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPing {
    conn: Option<String>,
    #[serde(default)]
    payload: String,
    timeout: Option<Dur>,
}
impl TryFrom<RawPing> for Ping {
    type Error = String;
    fn try_from(r: RawPing) -> Result<Self, String> {
        check_ping_payload(&r.payload)?;
        Ok(Ping {
            conn: r.conn,
            payload: r.payload,
            timeout: r.timeout,
        })
    }
}

/// `close: {code, reason}`; `close:` alone sends 1000.
#[derive(Debug, Clone, Default)]
pub struct Close {
    pub conn: Option<String>,
    pub code: Option<u16>,
    pub reason: Option<String>,
    pub timeout: Option<Dur>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClose {
    conn: Option<String>,
    code: Option<u16>,
    reason: Option<String>,
    timeout: Option<Dur>,
}
impl TryFrom<RawClose> for Close {
    type Error = String;
    fn try_from(r: RawClose) -> Result<Self, String> {
        if let Some(code) = r.code {
            check_sendable_code(code)?;
        }
        if let Some(reason) = &r.reason {
            check_close_reason(reason)?;
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
        let payload = scalar_text(&v).unwrap_or_default();
        check_ping_payload(&payload)?;
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
map_or_scalar!(
    NoMessage,
    RawNoMessage,
    "a duration or {within, conn}",
    |v| {
        let text = scalar_text(&v).ok_or("`no_message` needs a duration such as `1s`")?;
        Ok(NoMessage {
            conn: None,
            within: Dur(crate::duration::parse_duration(&text)?),
        })
    }
);

impl Expect {
    /// The variables its matchers name.
    pub fn vars(&self, out: &mut Vec<crate::template::VarRef>) {
        for (_, m) in self.json.iter().flat_map(|j| j.0.iter()) {
            m.vars(out);
        }
        for m in self.text.iter().chain(self.binary.iter()) {
            m.vars(out);
        }
    }
}
