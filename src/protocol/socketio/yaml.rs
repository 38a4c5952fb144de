//! Socket.IO in collections (docs/protocols/socketio.md, "`emit`"): the `emit` step, and a `protocol:
//! socketio` mock's options and replies (`emit`, `ack`).

use serde::Deserialize;
use serde_json::Value;

use crate::collection::de::{map_or_scalar, Dur};
use crate::collection::MockDef;
use crate::collection::{matcher_vars, MatcherMap, ProtocolName};
use crate::protocol::StepDef;
use crate::template::{TValue, Template, VarRef};

/// Reads step `keyword` (`emit`, the one of [`super::STEPS`]).
pub fn parse_step<'de, D: serde::Deserializer<'de>>(
    _keyword: &str,
    d: D,
) -> Result<Box<dyn StepDef>, D::Error> {
    Ok(Box::new(Emit::deserialize(d)?))
}

/// `socketio: {namespace, auth}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SocketIoOptions {
    /// The namespace to connect to (default `/`).
    pub namespace: Option<Template>,
    /// The `auth` payload of the namespace connect.
    pub auth: Option<TValue>,
}

impl SocketIoOptions {
    /// The variables its options name.
    pub fn vars(&self, out: &mut Vec<VarRef>) {
        out.extend(self.namespace.iter().flat_map(Template::vars).cloned());
        self.auth.iter().for_each(|a| a.vars(out));
    }
}

/// `emit: {event, args, ack: {json: {PATH: MATCHER…}}}`, or `emit: EVENT`: an event, and with
/// `ack:` the wait for its ack.
#[derive(Debug, Clone)]
pub struct Emit {
    pub conn: Option<String>,
    /// How long `ack` waits.
    pub timeout: Option<Dur>,
    pub event: Template,
    /// The arguments: a list, or one value.
    pub args: Option<TValue>,
    pub ack: Option<AckCheck>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEmit {
    conn: Option<String>,
    timeout: Option<Dur>,
    event: Template,
    args: Option<TValue>,
    ack: Option<AckCheck>,
}

impl TryFrom<RawEmit> for Emit {
    type Error = String;
    fn try_from(raw: RawEmit) -> Result<Self, String> {
        if raw.timeout.is_some() && raw.ack.is_none() {
            return Err("`timeout` of an `emit` is how long its `ack` may take: add `ack`".into());
        }
        Ok(Emit {
            conn: raw.conn,
            timeout: raw.timeout,
            event: raw.event,
            args: raw.args,
            ack: raw.ack,
        })
    }
}

map_or_scalar!(
    Emit,
    RawEmit,
    "an event name or `{event, args, ack}`",
    |v| match v {
        Value::String(event) => Ok(Emit {
            conn: None,
            timeout: None,
            event: Template::parse(&event)?,
            args: None,
            ack: None,
        }),
        other => Err(format!(
            "`emit` takes an event name or `{{event, args, ack}}`, found {}",
            crate::value::type_name(&other)
        )),
    }
);

/// `ack: {json: {PATH: MATCHER…}}` (matchers over the ack's envelope, `{"ack", "args",
/// "namespace"}`), or `ack: true` to wait for it without checks.
#[derive(Debug, Clone, Default)]
pub struct AckCheck {
    pub json: Option<MatcherMap>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAckCheck {
    json: Option<MatcherMap>,
}

impl TryFrom<RawAckCheck> for AckCheck {
    type Error = String;
    fn try_from(raw: RawAckCheck) -> Result<Self, String> {
        Ok(AckCheck { json: raw.json })
    }
}

map_or_scalar!(
    AckCheck,
    RawAckCheck,
    "`true` or `{json: {PATH: MATCHER}}`",
    |v| {
        match v {
        Value::Bool(true) => Ok(AckCheck::default()),
        other => Err(format!(
            "`ack` is `true` or `{{json: {{PATH: MATCHER}}}}` (leave it out to send without waiting), found {other}"
        )),
    }
    }
);

impl Emit {
    /// The variables the step names.
    pub fn vars(&self, out: &mut Vec<VarRef>) {
        out.extend(self.event.vars().cloned());
        if let Some(a) = &self.args {
            a.vars(out);
        }
        matcher_vars(self.ack.as_ref().and_then(|a| a.json.as_ref()), out);
    }
}

/// A mock rule's `emit: {event, args}` reply (`args` may be `"{{ message.args }}"`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MockEmit {
    pub event: Template,
    pub args: Option<TValue>,
}

/// A `protocol: socketio` mock's `socketio: {ping_interval, ping_timeout}`: how often it pings
/// each client, and how long it waits for the pong before closing (25s and 20s by default, as
/// a Socket.IO server).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MockSocketIo {
    pub ping_interval: Option<Dur>,
    pub ping_timeout: Option<Dur>,
}

/// `socketio:` options and `emit`/`ack` replies belong to a `protocol: socketio` mock.
pub fn check_mock(def: &MockDef) -> Result<(), String> {
    if def.protocol == ProtocolName::SocketIo {
        return Ok(());
    }
    let speaks = def.protocol.as_str();
    if def.socketio.is_some() {
        return Err(format!(
            "`socketio:` options are given, but this mock speaks `{speaks}`: add `protocol: socketio`"
        ));
    }
    let reply = def
        .on
        .iter()
        .flat_map(|r| &r.value.reply)
        .find(|r| r.emit.is_some() || r.ack.is_some());
    match reply {
        Some(r) => Err(format!(
            "`{}` replies speak Socket.IO, but this mock speaks `{speaks}`: add `protocol: socketio`",
            if r.emit.is_some() { "emit" } else { "ack" }
        )),
        None => Ok(()),
    }
}

/// Its part of the editor schema (`src/collection/schema.rs`).
pub mod schema {
    use serde_json::{json, Value};

    use crate::collection::schema::{obj, r};

    /// `socketio: {namespace, auth}`.
    pub fn options() -> Value {
        obj(
            json!({
                "namespace": { "description": "The namespace to connect to (default /)", "type": "string" },
                "auth": { "description": "The auth payload of the namespace connect" }
            }),
            &[],
        )
    }

    /// `emit`'s schema.
    pub fn step(_keyword: &str, conn: &Value, timeout: &Value) -> Value {
        json!({ "anyOf": [
            { "description": "An event name, sent without arguments", "type": "string" },
            obj(json!({
                "conn": conn, "timeout": timeout,
                "event": { "type": "string" },
                "args": { "description": "The arguments: a list, or one value" },
                "ack": { "anyOf": [
                    { "description": "Wait for the ack without checking it", "const": true },
                    obj(json!({ "json": r("matchers") }), &[])
                ]}
            }), &["event"])
        ]})
    }

    /// A mock's `socketio:` options.
    pub fn mock() -> Vec<(String, Value)> {
        vec![(
            "socketio".into(),
            obj(
                json!({ "ping_interval": r("duration"), "ping_timeout": r("duration") }),
                &[],
            ),
        )]
    }

    /// Its keys of a mock's reply.
    pub fn mock_reply() -> Vec<(String, Value)> {
        vec![
            (
                "emit".into(),
                obj(
                    json!({ "event": { "type": "string" }, "args": {} }),
                    &["event"],
                ),
            ),
            (
                "ack".into(),
                json!({ "description": "The ack's arguments (Socket.IO)" }),
            ),
        ]
    }
}
