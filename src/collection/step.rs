//! The steps of a request, as the YAML writes them (docs/steps.md, "Steps").

use serde::Deserialize;
use serde_json::Value;

use super::control::{Close, ExpectClose, Ping};
use super::de::{map_or_scalar, scalar_text, Dur, OrderedMap};
use super::graphql_ws::Complete;
use super::protocol::{Call, Calls, Notify, Reply};
use super::socketio::Emit;
use super::stomp::{StompSend, Unsubscribe};
use super::subscribe::Subscribe;
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
    /// `set: {NAME: TEMPLATE}`: values computed once and stored like captures.
    Set(OrderedMap<String, TValue>),
    Snapshot(Snapshot),
    Ping(Ping),
    Sleep(Dur),
    Close(Close),
    ExpectClose(ExpectClose),
    Call(Call),
    Calls(Calls),
    Notify(Notify),
    Subscribe(Subscribe),
    Complete(Complete),
    Emit(Emit),
    Unsubscribe(Unsubscribe),
    /// `http: {…}`: one HTTP(S) request (docs/steps.md, "http").
    Http(Box<super::http::Http>),
}

/// Every step keyword, for hints.
pub const STEP_KEYS: [&str; 19] = [
    "send",
    "expect",
    "wait_for",
    "no_message",
    "capture",
    "set",
    "snapshot",
    "ping",
    "sleep",
    "close",
    "expect_close",
    "call",
    "calls",
    "notify",
    "subscribe",
    "complete",
    "emit",
    "unsubscribe",
    "http",
];

impl StepKind {
    pub fn keyword(&self) -> &'static str {
        match self {
            StepKind::Send(_) => "send",
            StepKind::Expect(_) => "expect",
            StepKind::WaitFor(_) => "wait_for",
            StepKind::NoMessage(_) => "no_message",
            StepKind::Capture(_) => "capture",
            StepKind::Set(_) => "set",
            StepKind::Snapshot(_) => "snapshot",
            StepKind::Ping(_) => "ping",
            StepKind::Sleep(_) => "sleep",
            StepKind::Close(_) => "close",
            StepKind::ExpectClose(_) => "expect_close",
            StepKind::Call(_) => "call",
            StepKind::Calls(_) => "calls",
            StepKind::Notify(_) => "notify",
            StepKind::Subscribe(_) => "subscribe",
            StepKind::Complete(_) => "complete",
            StepKind::Emit(_) => "emit",
            StepKind::Unsubscribe(_) => "unsubscribe",
            StepKind::Http(_) => "http",
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
            StepKind::Call(c) => c.conn.as_deref(),
            StepKind::Calls(c) => c.conn.as_deref(),
            StepKind::Notify(n) => n.conn.as_deref(),
            StepKind::Subscribe(s) => s.conn(),
            StepKind::Complete(c) => c.conn.as_deref(),
            StepKind::Emit(e) => e.conn.as_deref(),
            StepKind::Unsubscribe(u) => u.conn.as_deref(),
            StepKind::Capture(_) | StepKind::Set(_) | StepKind::Sleep(_) | StepKind::Http(_) => {
                None
            }
        }
    }

    /// Whether the step talks to a connection (and so must name one when there are several).
    pub fn uses_connection(&self) -> bool {
        !matches!(
            self,
            StepKind::Capture(_) | StepKind::Set(_) | StepKind::Sleep(_) | StepKind::Http(_)
        )
    }
}

/// `send: {text|json|binary}`, and with `reply:` the wait for the answer to a JSON message;
/// with `destination`, a STOMP `SEND` (`stomp`).
#[derive(Debug, Clone)]
pub struct Send {
    pub conn: Option<String>,
    pub payload: Payload,
    pub reply: Option<Reply>,
    /// How long `reply` (or a STOMP `receipt`) waits.
    pub timeout: Option<Dur>,
    /// The STOMP `SEND` this is, when it has a `destination`.
    pub stomp: Option<StompSend>,
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
    reply: Option<Reply>,
    timeout: Option<Dur>,
    destination: Option<Template>,
    headers: Option<OrderedMap<String, Template>>,
    receipt: Option<bool>,
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
        if raw.reply.is_some() && !matches!(payload, Payload::Json(_)) {
            return Err(
                "`reply` needs a `json` message: it is found by a value of the one sent".into(),
            );
        }
        let stomp = StompSend::from_keys(
            raw.destination,
            raw.headers,
            raw.receipt,
            &payload,
            raw.reply.is_some(),
        )?;
        let waits = raw.reply.is_some() || stomp.as_ref().is_some_and(|s| s.receipt);
        if raw.timeout.is_some() && !waits {
            return Err(
                "`timeout` of a `send` is how long its `reply` (or `receipt`) may take: add `reply`"
                    .into(),
            );
        }
        Ok(Send {
            conn: raw.conn,
            payload,
            reply: raw.reply,
            timeout: raw.timeout,
            stomp,
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
                reply: None,
                timeout: None,
                destination: None,
                headers: None,
                receipt: None,
            }),
            other => Err(format!(
                "`send` takes `{{text: …}}`, `{{json: …}}` or `{{binary: BASE64}}`, found {}",
                crate::value::type_name(&other)
            )),
        }
    }
);

/// `expect` / `wait_for`: what the next message (or the next `count`, or every message
/// `during` a time) must look like, and the `stream` properties of that window.
#[derive(Debug, Clone, Default)]
pub struct Expect {
    pub conn: Option<String>,
    pub timeout: Option<Dur>,
    /// A window of this many messages.
    pub count: Option<u64>,
    pub within: Option<Dur>,
    /// A window of every message that arrives for this long…
    pub during: Option<Dur>,
    /// …whose number must match this (default: at least 1).
    pub during_count: Option<Matcher>,
    pub json: Option<OrderedMap<JsonPath, Matcher>>,
    pub text: Option<Matcher>,
    pub binary: Option<Matcher>,
    /// Limits on the round trip from the `send` just before (`src/threshold.rs`).
    pub latency: Option<crate::threshold::LatencyCheck>,
    pub stream: Option<crate::stream::StreamSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpect {
    conn: Option<String>,
    timeout: Option<Dur>,
    count: Option<Value>,
    within: Option<Dur>,
    during: Option<Dur>,
    json: Option<OrderedMap<JsonPath, Matcher>>,
    text: Option<Matcher>,
    binary: Option<Matcher>,
    latency: Option<crate::threshold::LatencyCheck>,
    stream: Option<crate::stream::StreamSpec>,
}

impl TryFrom<RawExpect> for Expect {
    type Error = String;
    fn try_from(r: RawExpect) -> Result<Self, String> {
        let kinds = [r.json.is_some(), r.text.is_some(), r.binary.is_some()];
        if kinds.iter().filter(|k| **k).count() > 1 {
            return Err("an expectation takes only one of `json`, `text` or `binary`".into());
        }
        let (count, during_count) = match (r.count, &r.during) {
            (None, _) => (None, None),
            (Some(c), Some(_)) => (None, Some(Matcher::from_value(c)?)),
            (Some(Value::Number(n)), None) => match n.as_u64() {
                Some(0) => return Err("`count` must be at least 1".into()),
                Some(n) => (Some(n), None),
                None => return Err(format!("`count` must be a whole number of messages, found {n}")),
            },
            (Some(Value::Object(_)), None) => {
                return Err("`count: {…}` (a matcher) needs `during:`; without it, `count` is a number of messages".into())
            }
            (Some(other), None) => {
                return Err(format!(
                    "`count` must be a number of messages, found {}",
                    crate::value::type_name(&other)
                ))
            }
        };
        if r.during.is_some() && r.within.is_some() {
            return Err("`during` and `within` both set the window: use one".into());
        }
        Ok(Expect {
            conn: r.conn,
            timeout: r.timeout,
            count,
            within: r.within,
            during: r.during,
            during_count,
            json: r.json,
            text: r.text,
            binary: r.binary,
            latency: r.latency,
            stream: r.stream,
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

/// `snapshot: {name, shape, count, redact}` (docs/snapshots.md, "Snapshots"); `snapshot: NAME` and a bare `snapshot:`
/// work too.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub name: Option<Template>,
    pub shape: bool,
    pub count: Option<u64>,
    pub redact: Vec<JsonPath>,
    pub conn: Option<String>,
    pub timeout: Option<Dur>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSnapshot {
    pub name: Option<Template>,
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
                name: Some(Template::parse(&name)?),
                ..Snapshot::default()
            }),
            other => Err(format!(
                "expected a snapshot name or a map, found {}",
                crate::value::type_name(&other)
            )),
        }
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
        for m in self
            .text
            .iter()
            .chain(&self.binary)
            .chain(&self.during_count)
        {
            m.vars(out);
        }
        if let Some(s) = &self.stream {
            s.vars(out);
        }
    }
}
