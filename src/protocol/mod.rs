//! The protocols spoken inside a connection's frames (docs/format.md, "Protocols"), and the one
//! place they are registered.
//!
//! A protocol is a folder `src/protocol/<name>/`: `mod.rs` its client state machine (the
//! [`Protocol`] trait, `machine.rs`) and its entry points, `yaml.rs` its options, steps and mock
//! options as the YAML writes them, `run.rs` how its steps run (the [`StepDef`] trait,
//! `step.rs`), `mock.rs` the mock's side, and its reference page `docs/protocols/<name>.md`
//! (its `DOCS`). This file names each protocol once: its name, its options, its steps, its
//! client, its mock (docs/architecture.md, "How to add a protocol").

mod machine;
mod raw;
pub mod step;

pub mod actioncable;
pub mod graphql_ws;
pub mod graphql_ws_legacy;
pub mod jsonrpc;
pub mod mqtt;
pub mod phoenix;
pub mod signalr;
pub mod socketio;
pub mod stomp;

use serde::Deserialize;
use serde_json::Value;
use serde_saphyr::Spanned;

pub use machine::{Decoded, Incoming, Payload, Protocol};
pub use raw::Raw;
pub use step::{Claim, Deferred, ProtocolStep, StepDef};

use crate::collection::MockDef;
use crate::mock::protocol::Speaker;
use crate::template::{Lookup, Template, VarRef};
use graphql_ws::yaml::GraphqlWsOptions;
use graphql_ws_legacy::yaml::GraphqlWsLegacyOptions;
use mqtt::yaml::MqttOptions;
use phoenix::yaml::PhoenixOptions;
use signalr::yaml::SignalROptions;
use socketio::yaml::SocketIoOptions;
use stomp::yaml::StompOptions;

/// The protocol a connection speaks inside its frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum ProtocolName {
    /// Frames as they are: no handshake, no envelope.
    #[default]
    #[serde(rename = "raw")]
    Raw,
    #[serde(rename = "socketio")]
    SocketIo,
    #[serde(rename = "graphql-ws")]
    GraphqlWs,
    #[serde(rename = "stomp")]
    Stomp,
    #[serde(rename = "jsonrpc")]
    JsonRpc,
    #[serde(rename = "mqtt")]
    Mqtt,
    #[serde(rename = "graphql-ws-legacy")]
    GraphqlWsLegacy,
    #[serde(rename = "signalr")]
    SignalR,
    #[serde(rename = "phoenix")]
    Phoenix,
    #[serde(rename = "actioncable")]
    ActionCable,
}

/// Every protocol: its name as collections write it, and its reference page.
const PROTOCOLS: [(ProtocolName, &str, &str); 10] = [
    (ProtocolName::Raw, "raw", "docs/format.md"),
    (ProtocolName::SocketIo, "socketio", socketio::DOCS),
    (ProtocolName::GraphqlWs, "graphql-ws", graphql_ws::DOCS),
    (ProtocolName::Stomp, "stomp", stomp::DOCS),
    (ProtocolName::JsonRpc, "jsonrpc", jsonrpc::DOCS),
    (ProtocolName::Mqtt, "mqtt", mqtt::DOCS),
    (
        ProtocolName::GraphqlWsLegacy,
        "graphql-ws-legacy",
        graphql_ws_legacy::DOCS,
    ),
    (ProtocolName::SignalR, "signalr", signalr::DOCS),
    (ProtocolName::Phoenix, "phoenix", phoenix::DOCS),
    (ProtocolName::ActionCable, "actioncable", actioncable::DOCS),
];

/// Every protocol name, for the schema.
pub const PROTOCOL_NAMES: [&str; PROTOCOLS.len()] = {
    let mut names = [""; PROTOCOLS.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = PROTOCOLS[i].1;
        i += 1;
    }
    names
};

impl ProtocolName {
    /// The name as collections write it.
    pub fn as_str(self) -> &'static str {
        PROTOCOLS
            .iter()
            .find(|(p, ..)| *p == self)
            .map_or("raw", |(_, name, _)| name)
    }

    /// Its reference page in the repository.
    pub fn docs(self) -> &'static str {
        PROTOCOLS
            .iter()
            .find(|(p, ..)| *p == self)
            .map_or("docs/format.md", |(.., docs)| docs)
    }

    /// The protocol of this name, if there is one (`wsrun watch --protocol`).
    pub fn from_name(name: &str) -> Option<Self> {
        PROTOCOLS
            .iter()
            .find(|(_, n, _)| *n == name)
            .map(|(p, ..)| *p)
    }
}

/// A connection's protocol with its options, templates not yet expanded.
#[derive(Debug, Clone, Default)]
pub enum ProtocolConfig {
    #[default]
    Raw,
    JsonRpc,
    SocketIo(SocketIoOptions),
    GraphqlWs(GraphqlWsOptions),
    Stomp(StompOptions),
    Mqtt(MqttOptions),
    GraphqlWsLegacy(GraphqlWsLegacyOptions),
    SignalR(SignalROptions),
    Phoenix(PhoenixOptions),
    ActionCable,
}

impl ProtocolConfig {
    /// Protocol `name` with its default options (`wsrun watch --protocol`).
    pub fn defaults(name: ProtocolName) -> Self {
        match name {
            ProtocolName::Raw => ProtocolConfig::Raw,
            ProtocolName::JsonRpc => ProtocolConfig::JsonRpc,
            ProtocolName::SocketIo => ProtocolConfig::SocketIo(SocketIoOptions::default()),
            ProtocolName::GraphqlWs => ProtocolConfig::GraphqlWs(GraphqlWsOptions::default()),
            ProtocolName::Stomp => ProtocolConfig::Stomp(StompOptions::default()),
            ProtocolName::Mqtt => ProtocolConfig::Mqtt(MqttOptions::default()),
            ProtocolName::GraphqlWsLegacy => {
                ProtocolConfig::GraphqlWsLegacy(GraphqlWsLegacyOptions::default())
            }
            ProtocolName::SignalR => ProtocolConfig::SignalR(SignalROptions::default()),
            ProtocolName::Phoenix => ProtocolConfig::Phoenix(PhoenixOptions::default()),
            ProtocolName::ActionCable => ProtocolConfig::ActionCable,
        }
    }

    pub fn name(&self) -> ProtocolName {
        match self {
            ProtocolConfig::Raw => ProtocolName::Raw,
            ProtocolConfig::JsonRpc => ProtocolName::JsonRpc,
            ProtocolConfig::SocketIo(_) => ProtocolName::SocketIo,
            ProtocolConfig::GraphqlWs(_) => ProtocolName::GraphqlWs,
            ProtocolConfig::Stomp(_) => ProtocolName::Stomp,
            ProtocolConfig::Mqtt(_) => ProtocolName::Mqtt,
            ProtocolConfig::GraphqlWsLegacy(_) => ProtocolName::GraphqlWsLegacy,
            ProtocolConfig::SignalR(_) => ProtocolName::SignalR,
            ProtocolConfig::Phoenix(_) => ProtocolName::Phoenix,
            ProtocolConfig::ActionCable => ProtocolName::ActionCable,
        }
    }

    /// The variables its options name.
    pub fn vars(&self, out: &mut Vec<VarRef>) {
        match self {
            ProtocolConfig::SocketIo(o) => o.vars(out),
            ProtocolConfig::GraphqlWs(o) => o.vars(out),
            ProtocolConfig::Stomp(o) => o.vars(out),
            ProtocolConfig::Mqtt(o) => o.vars(out),
            ProtocolConfig::GraphqlWsLegacy(o) => o.vars(out),
            ProtocolConfig::SignalR(o) => o.vars(out),
            ProtocolConfig::Phoenix(o) => o.vars(out),
            ProtocolConfig::Raw | ProtocolConfig::JsonRpc | ProtocolConfig::ActionCable => {}
        }
    }

    /// Credentials among its options, expanded with `scope`: masked in every rendering
    /// (MQTT's password travels inside CONNECT).
    pub fn secrets(&self, scope: &dyn Lookup) -> Vec<String> {
        match self {
            ProtocolConfig::Mqtt(o) => o.secrets(scope),
            _ => Vec::new(),
        }
    }
}

/// The protocol of a connection, its options' templates expanded with `scope`.
pub fn build(config: &ProtocolConfig, scope: &dyn Lookup) -> Result<Box<dyn Protocol>, String> {
    match config {
        ProtocolConfig::Raw => Ok(Box::new(Raw)),
        ProtocolConfig::JsonRpc => Ok(Box::new(jsonrpc::JsonRpc::default())),
        ProtocolConfig::GraphqlWs(o) => graphql_ws::client(o, scope),
        ProtocolConfig::SocketIo(o) => socketio::client(o, scope),
        ProtocolConfig::Stomp(o) => stomp::client(o, scope),
        ProtocolConfig::Mqtt(o) => mqtt::client(o, scope),
        ProtocolConfig::GraphqlWsLegacy(o) => graphql_ws_legacy::client(o, scope),
        ProtocolConfig::SignalR(o) => signalr::client(o, scope),
        ProtocolConfig::Phoenix(o) => phoenix::client(o, scope),
        ProtocolConfig::ActionCable => Ok(actioncable::client()),
    }
}

/// The protocol keys a request or a connection may hold, as the YAML writes them.
#[derive(Debug, Clone, Default)]
pub struct ProtocolKeys {
    pub protocol: Option<ProtocolName>,
    pub socketio: Option<Spanned<SocketIoOptions>>,
    pub graphql_ws: Option<Spanned<GraphqlWsOptions>>,
    pub stomp: Option<Spanned<StompOptions>>,
    pub mqtt: Option<Spanned<MqttOptions>>,
    pub graphql_ws_legacy: Option<Spanned<GraphqlWsLegacyOptions>>,
    pub signalr: Option<Spanned<SignalROptions>>,
    pub phoenix: Option<Spanned<PhoenixOptions>>,
}

/// The line of an option, if given.
fn line<T>(s: &Option<Spanned<T>>) -> Option<usize> {
    s.as_ref().map(|s| s.referenced.line() as usize)
}

/// An option's value, else its defaults.
fn value<T: Default>(s: Option<Spanned<T>>) -> T {
    s.map(|s| s.value).unwrap_or_default()
}

/// A connection's own value, else the request's.
fn own_or<T: Clone>(own: &Option<T>, outer: Option<&Option<T>>) -> Option<T> {
    own.clone().or_else(|| outer.and_then(Clone::clone))
}

impl ProtocolKeys {
    /// The configuration these keys give, with the request's keys (`outer`) as defaults for a
    /// connection's; options for a protocol the connection does not speak are an error (with
    /// their line).
    pub fn config(&self, outer: Option<&ProtocolKeys>) -> Result<ProtocolConfig, (usize, String)> {
        let name = self
            .protocol
            .or(outer.and_then(|o| o.protocol))
            .unwrap_or_default();
        let socketio = own_or(&self.socketio, outer.map(|o| &o.socketio));
        let graphql_ws = own_or(&self.graphql_ws, outer.map(|o| &o.graphql_ws));
        let stomp = own_or(&self.stomp, outer.map(|o| &o.stomp));
        let mqtt = own_or(&self.mqtt, outer.map(|o| &o.mqtt));
        let legacy = own_or(&self.graphql_ws_legacy, outer.map(|o| &o.graphql_ws_legacy));
        let signalr = own_or(&self.signalr, outer.map(|o| &o.signalr));
        let phoenix = own_or(&self.phoenix, outer.map(|o| &o.phoenix));
        let stray = [
            (line(&socketio), ProtocolName::SocketIo),
            (line(&graphql_ws), ProtocolName::GraphqlWs),
            (line(&stomp), ProtocolName::Stomp),
            (line(&mqtt), ProtocolName::Mqtt),
            (line(&legacy), ProtocolName::GraphqlWsLegacy),
            (line(&signalr), ProtocolName::SignalR),
            (line(&phoenix), ProtocolName::Phoenix),
        ]
        .into_iter()
        .find(|(given, p)| given.is_some() && *p != name);
        if let Some((Some(line), p)) = stray {
            let key = p.as_str();
            return Err((
                line,
                format!(
                    "`{key}:` options are given, but the connection speaks `{}`: add `protocol: {key}`",
                    name.as_str()
                ),
            ));
        }
        Ok(match name {
            ProtocolName::Raw => ProtocolConfig::Raw,
            ProtocolName::JsonRpc => ProtocolConfig::JsonRpc,
            ProtocolName::SocketIo => ProtocolConfig::SocketIo(value(socketio)),
            ProtocolName::GraphqlWs => ProtocolConfig::GraphqlWs(value(graphql_ws)),
            ProtocolName::Stomp => ProtocolConfig::Stomp(value(stomp)),
            ProtocolName::Mqtt => ProtocolConfig::Mqtt(value(mqtt)),
            ProtocolName::GraphqlWsLegacy => ProtocolConfig::GraphqlWsLegacy(value(legacy)),
            ProtocolName::SignalR => ProtocolConfig::SignalR(value(signalr)),
            ProtocolName::Phoenix => ProtocolConfig::Phoenix(value(phoenix)),
            ProtocolName::ActionCable => ProtocolConfig::ActionCable,
        })
    }
}

/// The mock side of a mock's `protocol:`, if it is not `raw`.
pub(crate) fn mock(def: &MockDef) -> Result<Option<Box<dyn Speaker>>, String> {
    match def.protocol {
        ProtocolName::Raw => Ok(None),
        ProtocolName::JsonRpc => jsonrpc::mock(def).map(Some),
        ProtocolName::GraphqlWs => graphql_ws::mock(def).map(Some),
        ProtocolName::SocketIo => socketio::mock(def).map(Some),
        ProtocolName::Stomp => stomp::mock(def).map(Some),
        ProtocolName::Mqtt => mqtt::mock(def).map(Some),
        ProtocolName::GraphqlWsLegacy => graphql_ws_legacy::mock(def).map(Some),
        ProtocolName::SignalR => signalr::mock(def).map(Some),
        ProtocolName::Phoenix => phoenix::mock(def).map(Some),
        ProtocolName::ActionCable => actioncable::mock(def).map(Some),
    }
}

/// A mock's protocol options and replies, checked when the collection loads: each protocol's
/// keys need that protocol.
pub fn check_mock(def: &MockDef) -> Result<(), String> {
    graphql_ws::yaml::check_mock(def)?;
    graphql_ws_legacy::yaml::check_mock(def)?;
    signalr::yaml::check_mock(def)?;
    jsonrpc::yaml::check_mock(def)
}

/// A mock's protocol options checked after the rest of its definition.
pub fn check_mock_late(def: &MockDef) -> Result<(), String> {
    socketio::yaml::check_mock(def)
}

/// Each protocol's own step keywords, in the order hints list them.
const STEPS: [(ProtocolName, &[&str]); 9] = [
    (ProtocolName::JsonRpc, jsonrpc::STEPS),
    (ProtocolName::GraphqlWs, graphql_ws::STEPS),
    (ProtocolName::SocketIo, socketio::STEPS),
    (ProtocolName::Stomp, stomp::STEPS),
    (ProtocolName::Mqtt, mqtt::STEPS),
    (ProtocolName::GraphqlWsLegacy, graphql_ws_legacy::STEPS),
    (ProtocolName::SignalR, signalr::STEPS),
    (ProtocolName::Phoenix, phoenix::STEPS),
    (ProtocolName::ActionCable, actioncable::STEPS),
];

/// The protocols that have step `keyword`.
pub fn step_owners(keyword: &str) -> Vec<ProtocolName> {
    STEPS
        .iter()
        .filter(|(_, keys)| keys.contains(&keyword))
        .map(|(p, _)| *p)
        .collect()
}

/// Every protocol step keyword, once each, in registry order.
pub fn step_keywords() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for key in STEPS.iter().flat_map(|(_, keys)| keys.iter()) {
        if !out.contains(key) {
            out.push(key);
        }
    }
    out
}

/// Reads step `keyword` of protocol `p` from the YAML.
pub fn parse_step<'de, D: serde::Deserializer<'de>>(
    p: ProtocolName,
    keyword: &str,
    d: D,
) -> Result<Box<dyn StepDef>, D::Error> {
    match p {
        ProtocolName::JsonRpc => jsonrpc::yaml::parse_step(keyword, d),
        ProtocolName::GraphqlWs => graphql_ws::yaml::parse_step(keyword, d),
        ProtocolName::SocketIo => socketio::yaml::parse_step(keyword, d),
        ProtocolName::Stomp => stomp::yaml::parse_step(keyword, d),
        ProtocolName::Mqtt => mqtt::yaml::parse_step(keyword, d),
        ProtocolName::GraphqlWsLegacy => graphql_ws_legacy::yaml::parse_step(keyword, d),
        ProtocolName::SignalR => signalr::yaml::parse_step(keyword, d),
        ProtocolName::Phoenix => phoenix::yaml::parse_step(keyword, d),
        ProtocolName::ActionCable => actioncable::yaml::parse_step(keyword, d),
        ProtocolName::Raw => Err(serde::de::Error::custom(format!(
            "`{keyword}` is not a step of `protocol: raw`"
        ))),
    }
}

/// How strongly protocol `p` reads `yaml` as its step `keyword`.
fn claim(p: ProtocolName, keyword: &str, yaml: &Value) -> Claim {
    match p {
        ProtocolName::GraphqlWs => graphql_ws::yaml::claim(keyword, yaml),
        ProtocolName::Stomp => stomp::yaml::claim(keyword, yaml),
        ProtocolName::Mqtt => mqtt::yaml::claim(keyword, yaml),
        ProtocolName::GraphqlWsLegacy => graphql_ws_legacy::yaml::claim(keyword, yaml),
        ProtocolName::ActionCable => actioncable::yaml::claim(keyword, yaml),
        _ => Claim::Fallback,
    }
}

/// A step that is not what it should be: where (a line and column, when inside the step's
/// YAML; else the step's own line) and why.
pub type StepError = (Option<(usize, usize)>, String);

/// A protocol step, read (if it was kept as YAML) by the protocol of its connection `conn`,
/// which speaks `speaks`; a step of another protocol is an error naming that protocol.
pub fn resolve_step(
    step: ProtocolStep,
    conn: &str,
    speaks: ProtocolName,
) -> Result<Box<dyn StepDef>, StepError> {
    let step = match step {
        ProtocolStep::Ready(s) => s,
        ProtocolStep::Deferred(d) => {
            // The connection's protocol reads it unless another protocol claims it more
            // strongly (a `query` on a STOMP connection is a graphql-ws subscription, misplaced).
            let owners = step_owners(d.keyword);
            let best = owners
                .iter()
                .fold(None, |best: Option<(Claim, ProtocolName)>, p| {
                    let c = claim(*p, d.keyword, &d.yaml);
                    match best {
                        Some((b, _)) if b >= c => best,
                        _ => Some((c, *p)),
                    }
                });
            let reader = match (owners.contains(&speaks), best) {
                (true, Some((c, _))) if claim(speaks, d.keyword, &d.yaml) >= c => speaks,
                (_, Some((_, p))) => p,
                (_, None) => speaks,
            };
            parse_step(reader, d.keyword, d.yaml)
                .map_err(|e| (Some((d.line, d.column)), e.to_string()))?
        }
    };
    if step.protocol() == speaks {
        return Ok(step);
    }
    if let Some(message) = step.misplaced(conn, speaks) {
        return Err((None, message));
    }
    let keyword = step.keyword();
    let names: Vec<&str> = step_owners(keyword).iter().map(|p| p.as_str()).collect();
    // `step` was read by one of its keyword's protocols, so `names` has at least that one.
    Err((
        None,
        format!(
            "`{keyword}` is a step of `protocol: {}`, but connection `{conn}` speaks `{}`: add `protocol: {}` to the request or the connection",
            names.join("` or `protocol: "),
            speaks.as_str(),
            names[0]
        ),
    ))
}

/// Each protocol's options key and its schema, for the editor schema.
pub fn options_schemas() -> Vec<(String, Value)> {
    vec![
        ("socketio".into(), socketio::yaml::schema::options()),
        ("graphql-ws".into(), graphql_ws::yaml::schema::options()),
        ("stomp".into(), stomp::yaml::schema::options()),
        ("mqtt".into(), mqtt::yaml::schema::options()),
        (
            "graphql-ws-legacy".into(),
            graphql_ws_legacy::yaml::schema::options(),
        ),
        ("signalr".into(), signalr::yaml::schema::options()),
        ("phoenix".into(), phoenix::yaml::schema::options()),
    ]
}

/// The schema of protocol step `keyword`: its protocol's, or any of its protocols' when
/// several share it (`subscribe`: STOMP's or graphql-ws's).
pub fn step_schema(keyword: &str, conn: &Value, timeout: &Value) -> Value {
    let mut schemas: Vec<Value> = step_owners(keyword)
        .into_iter()
        .map(|p| match p {
            ProtocolName::JsonRpc => jsonrpc::yaml::schema::step(keyword, conn, timeout),
            ProtocolName::GraphqlWs => graphql_ws::yaml::schema::step(keyword, conn, timeout),
            ProtocolName::SocketIo => socketio::yaml::schema::step(keyword, conn, timeout),
            ProtocolName::Stomp => stomp::yaml::schema::step(keyword, conn, timeout),
            ProtocolName::Mqtt => mqtt::yaml::schema::step(keyword, conn, timeout),
            ProtocolName::GraphqlWsLegacy => {
                graphql_ws_legacy::yaml::schema::step(keyword, conn, timeout)
            }
            ProtocolName::SignalR => signalr::yaml::schema::step(keyword, conn, timeout),
            ProtocolName::Phoenix => phoenix::yaml::schema::step(keyword, conn, timeout),
            ProtocolName::ActionCable => actioncable::yaml::schema::step(keyword, conn, timeout),
            ProtocolName::Raw => serde_json::json!({}),
        })
        .collect();
    // The last registered first: the order the schema file has always had.
    schemas.reverse();
    // Protocols that share a step's form (graphql-ws-legacy's are graphql-ws's) give it once,
    // where its first owner puts it.
    let mut unique: Vec<Value> = Vec::with_capacity(schemas.len());
    for s in schemas.into_iter().rev() {
        if !unique.contains(&s) {
            unique.push(s);
        }
    }
    unique.reverse();
    let mut schemas = unique;
    match schemas.len() {
        1 => schemas.remove(0),
        _ => serde_json::json!({ "anyOf": schemas }),
    }
}

/// Each protocol's keys of a mock, for the editor schema.
pub fn mock_schemas() -> Vec<(String, Value)> {
    let mut out = jsonrpc::yaml::schema::mock();
    out.extend(graphql_ws::yaml::schema::mock());
    out.extend(socketio::yaml::schema::mock());
    out.extend(graphql_ws_legacy::yaml::schema::mock());
    out.extend(signalr::yaml::schema::mock());
    out
}

/// Each protocol's keys of a mock's reply, for the editor schema.
pub fn mock_reply_schemas() -> Vec<(String, Value)> {
    let mut out = graphql_ws::yaml::schema::mock_reply();
    out.extend(socketio::yaml::schema::mock_reply());
    out
}

/// The templates of a protocol's text options, for their variables.
pub(crate) fn template_vars<'a>(
    texts: impl IntoIterator<Item = &'a Option<Template>>,
    out: &mut Vec<VarRef>,
) {
    out.extend(
        texts
            .into_iter()
            .flatten()
            .flat_map(Template::vars)
            .cloned(),
    );
}
