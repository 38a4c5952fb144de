//! The steps of a request, as the YAML writes them (docs/steps.md, "Steps").

use serde::Deserialize;
use serde_json::Value;

use super::control::{Close, ExpectClose, Ping};
use super::de::{map_or_scalar, scalar_text, Dur, OrderedMap};
use super::opening::Connect;
use super::protocol::Reply;
use crate::jsonpath::JsonPath;
use crate::matcher::Matcher;
use crate::protocol::stomp::yaml::StompSend;
use crate::protocol::{self, ProtocolStep};
use crate::template::{TValue, Template};

/// One step and the YAML line it starts on.
#[derive(Debug, Clone)]
pub struct Step {
    pub line: usize,
    pub kind: StepKind,
}

#[derive(Debug, Clone)]
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
    /// A step of a protocol (`call`, `subscribe`, `emit`…): `src/protocol/`.
    Protocol(ProtocolStep),
    /// `connect: NAME`: opens the connection here (again, after a `close`).
    Connect(Connect),
    /// `http: {…}`: one HTTP(S) request (docs/steps.md, "http").
    Http(Box<super::http::Http>),
}

/// The steps every connection has.
const GENERIC_STEPS: [&str; 13] = [
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
    "connect",
    "http",
];

/// Every step keyword, for hints: the generic ones, then the protocols' own.
pub fn step_keys() -> &'static [&'static str] {
    static KEYS: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        let mut keys = GENERIC_STEPS.to_vec();
        keys.extend(protocol::step_keywords());
        keys
    })
}

impl<'de> Deserialize<'de> for StepKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_enum("StepKind", step_keys(), StepVisitor)
    }
}

struct StepVisitor;

/// Reads a protocol step: a keyword one protocol has is read now (errors point into it); one
/// that several have is kept as YAML until the loader knows the connection's protocol.
struct ProtocolSeed(&'static str);

impl<'de> serde::de::DeserializeSeed<'de> for ProtocolSeed {
    type Value = ProtocolStep;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<ProtocolStep, D::Error> {
        match protocol::step_owners(self.0).as_slice() {
            [one] => protocol::parse_step(*one, self.0, d).map(ProtocolStep::Ready),
            _ => {
                let yaml = serde_saphyr::Spanned::<Value>::deserialize(d)?;
                Ok(ProtocolStep::Deferred(protocol::Deferred {
                    keyword: self.0,
                    line: yaml.referenced.line() as usize,
                    column: yaml.referenced.column() as usize,
                    yaml: yaml.value,
                }))
            }
        }
    }
}

impl<'de> serde::de::Visitor<'de> for StepVisitor {
    type Value = StepKind;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("enum StepKind")
    }
    fn visit_enum<A: serde::de::EnumAccess<'de>>(self, data: A) -> Result<StepKind, A::Error> {
        use serde::de::VariantAccess;
        let (key, v): (String, A::Variant) = data.variant()?;
        Ok(match key.as_str() {
            "send" => StepKind::Send(v.newtype_variant()?),
            "expect" => StepKind::Expect(v.newtype_variant()?),
            "wait_for" => StepKind::WaitFor(v.newtype_variant()?),
            "no_message" => StepKind::NoMessage(v.newtype_variant()?),
            "capture" => StepKind::Capture(v.newtype_variant()?),
            "set" => StepKind::Set(v.newtype_variant()?),
            "snapshot" => StepKind::Snapshot(v.newtype_variant()?),
            "ping" => StepKind::Ping(v.newtype_variant()?),
            "sleep" => StepKind::Sleep(v.newtype_variant()?),
            "close" => StepKind::Close(v.newtype_variant()?),
            "expect_close" => StepKind::ExpectClose(v.newtype_variant()?),
            "connect" => StepKind::Connect(v.newtype_variant()?),
            "http" => StepKind::Http(v.newtype_variant()?),
            other => match step_keys().iter().find(|k| **k == other) {
                Some(keyword) => StepKind::Protocol(v.newtype_variant_seed(ProtocolSeed(keyword))?),
                None => return Err(serde::de::Error::unknown_variant(other, step_keys())),
            },
        })
    }
}

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
            StepKind::Protocol(p) => p.keyword(),
            StepKind::Connect(_) => "connect",
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
            StepKind::Protocol(p) => p.conn(),
            StepKind::Connect(c) => c.conn.as_deref(),
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
    /// The SignalR invocation this is, when it has a `target`.
    pub signalr: Option<crate::protocol::signalr::yaml::SendInvocation>,
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
    target: Option<Template>,
    args: Option<Vec<TValue>>,
}

impl TryFrom<RawSend> for Send {
    type Error = String;
    fn try_from(raw: RawSend) -> Result<Self, String> {
        if let Some(target) = raw.target {
            return signalr_send(raw.conn, target, raw.args);
        }
        if raw.args.is_some() {
            return Err("`args` are a SignalR invocation's: add its `target`".into());
        }
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
            signalr: None,
        })
    }
}

/// `send: {target, args}`: a SignalR invocation without an id. Its payload is never read (the
/// runner sends the invocation), so it is left empty.
fn signalr_send(
    conn: Option<String>,
    target: Template,
    args: Option<Vec<TValue>>,
) -> Result<Send, String> {
    Ok(Send {
        conn: conn.clone(),
        payload: Payload::Json(TValue::Literal(Value::Null)),
        reply: None,
        timeout: None,
        stomp: None,
        signalr: Some(crate::protocol::signalr::yaml::SendInvocation {
            conn,
            target,
            args: args.unwrap_or_default(),
        }),
    })
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
                target: None,
                args: None,
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
