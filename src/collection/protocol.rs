//! `protocol:` on a request or a connection, with its options under a key of the same name
//! (docs/format.md, "Protocols"), and the rule that a protocol's own steps need that protocol.

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::de::{Dur, OrderedMap};
use super::StepKind;
use crate::jsonpath::JsonPath;
use crate::matcher::Matcher;
use crate::template::{TValue, Template};

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
}

impl ProtocolName {
    /// The name as collections write it.
    pub fn as_str(self) -> &'static str {
        match self {
            ProtocolName::Raw => "raw",
            ProtocolName::SocketIo => "socketio",
            ProtocolName::GraphqlWs => "graphql-ws",
            ProtocolName::Stomp => "stomp",
            ProtocolName::JsonRpc => "jsonrpc",
        }
    }
}

/// Every protocol name, for the schema.
pub const PROTOCOL_NAMES: [&str; 5] = ["raw", "socketio", "graphql-ws", "stomp", "jsonrpc"];

/// A connection's protocol with its options, templates not yet expanded.
#[derive(Debug, Clone, Default)]
pub enum ProtocolConfig {
    #[default]
    Raw,
    JsonRpc,
    SocketIo(SocketIoOptions),
    GraphqlWs(GraphqlWsOptions),
    Stomp(StompOptions),
}

impl ProtocolConfig {
    pub fn name(&self) -> ProtocolName {
        match self {
            ProtocolConfig::Raw => ProtocolName::Raw,
            ProtocolConfig::JsonRpc => ProtocolName::JsonRpc,
            ProtocolConfig::SocketIo(_) => ProtocolName::SocketIo,
            ProtocolConfig::GraphqlWs(_) => ProtocolName::GraphqlWs,
            ProtocolConfig::Stomp(_) => ProtocolName::Stomp,
        }
    }

    /// The variables its options name.
    pub fn vars(&self, out: &mut Vec<crate::template::VarRef>) {
        match self {
            ProtocolConfig::SocketIo(o) => {
                out.extend(o.namespace.iter().flat_map(Template::vars).cloned());
                o.auth.iter().for_each(|a| a.vars(out));
            }
            ProtocolConfig::GraphqlWs(o) => o.init.iter().for_each(|i| i.vars(out)),
            ProtocolConfig::Stomp(o) => {
                let texts = [&o.host, &o.login, &o.passcode];
                out.extend(
                    texts
                        .into_iter()
                        .flatten()
                        .flat_map(Template::vars)
                        .cloned(),
                );
            }
            ProtocolConfig::Raw | ProtocolConfig::JsonRpc => {}
        }
    }
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

/// `graphql-ws: {init}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphqlWsOptions {
    /// The payload of `connection_init`.
    pub init: Option<TValue>,
}

/// `stomp: {host, login, passcode, heartbeat}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StompOptions {
    pub host: Option<Template>,
    pub login: Option<Template>,
    pub passcode: Option<Template>,
    /// `[client, server]` heart-beat milliseconds (default `[0, 0]`).
    pub heartbeat: Option<[u64; 2]>,
}

/// The protocol keys a request or a connection may hold, as the YAML writes them.
#[derive(Debug, Clone, Default)]
pub struct ProtocolKeys {
    pub protocol: Option<ProtocolName>,
    pub socketio: Option<Spanned<SocketIoOptions>>,
    pub graphql_ws: Option<Spanned<GraphqlWsOptions>>,
    pub stomp: Option<Spanned<StompOptions>>,
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
        let stray = [
            (line(&socketio), ProtocolName::SocketIo),
            (line(&graphql_ws), ProtocolName::GraphqlWs),
            (line(&stomp), ProtocolName::Stomp),
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
        })
    }
}

/// The steps only some protocols have, with those protocols.
const PROTOCOL_STEPS: &[(&str, &[ProtocolName])] = &[
    ("call", &[ProtocolName::JsonRpc]),
    ("calls", &[ProtocolName::JsonRpc]),
    ("notify", &[ProtocolName::JsonRpc]),
    ("subscribe", &[ProtocolName::Stomp, ProtocolName::GraphqlWs]),
    ("unsubscribe", &[ProtocolName::Stomp]),
    ("complete", &[ProtocolName::GraphqlWs]),
    ("emit", &[ProtocolName::SocketIo]),
];

/// A step the connection's protocol does not have is an error, naming the protocols that do.
pub fn check_step_protocol(
    kind: &StepKind,
    conn: &str,
    speaks: ProtocolName,
) -> Result<(), String> {
    super::stomp::check_step(kind, conn, speaks)?;
    if let StepKind::Subscribe(super::Subscribe::Graphql(_)) = kind {
        if speaks != ProtocolName::GraphqlWs {
            return Err(format!(
                "`subscribe` with a `query` is graphql-ws's, but connection `{conn}` speaks `{}`: add `protocol: graphql-ws` to the request or the connection",
                speaks.as_str()
            ));
        }
    }
    let keyword = kind.keyword();
    let Some((_, protocols)) = PROTOCOL_STEPS.iter().find(|(k, _)| *k == keyword) else {
        return Ok(());
    };
    if protocols.contains(&speaks) {
        return Ok(());
    }
    let names: Vec<&str> = protocols.iter().map(|p| p.as_str()).collect();
    Err(format!(
        "`{keyword}` is a step of `protocol: {}`, but connection `{conn}` speaks `{}`: add `protocol: {}` to the request or the connection",
        names.join("` or `protocol: "),
        speaks.as_str(),
        names[0]
    ))
}

/// JSONPath → matcher, as `expect: {json: …}` takes it.
pub type MatcherMap = OrderedMap<JsonPath, Matcher>;

/// `call: {method, params, result, error}` (JSON-RPC): one request, waiting for its response.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Call {
    pub conn: Option<String>,
    pub timeout: Option<Dur>,
    pub method: Template,
    pub params: Option<TValue>,
    /// Matchers over the response's `result` member, as `$`.
    pub result: Option<MatcherMap>,
    /// Matchers over the response's `error` member, as `$`: the call is expected to fail.
    pub error: Option<MatcherMap>,
}

/// One request of `calls`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallItem {
    pub method: Template,
    pub params: Option<TValue>,
    pub result: Option<MatcherMap>,
    pub error: Option<MatcherMap>,
}

/// `calls: [{method, params, result?, error?}, …]` or `calls: {conn, timeout, list: […]}`.
#[derive(Debug, Clone, Default)]
pub struct Calls {
    pub conn: Option<String>,
    pub timeout: Option<Dur>,
    pub list: Vec<CallItem>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCalls {
    conn: Option<String>,
    timeout: Option<Dur>,
    list: Vec<CallItem>,
}

impl<'de> Deserialize<'de> for Calls {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Vis;
        impl<'de> serde::de::Visitor<'de> for Vis {
            type Value = Calls;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of `{method, params}` or `{conn, timeout, list}`")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Calls, A::Error> {
                let list = Vec::<CallItem>::deserialize(
                    serde::de::value::SeqAccessDeserializer::new(seq),
                )?;
                non_empty(Calls {
                    list,
                    ..Calls::default()
                })
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Calls, A::Error> {
                let raw = RawCalls::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                non_empty(Calls {
                    conn: raw.conn,
                    timeout: raw.timeout,
                    list: raw.list,
                })
            }
        }
        fn non_empty<E: serde::de::Error>(calls: Calls) -> Result<Calls, E> {
            if calls.list.is_empty() {
                return Err(E::custom("`calls` needs at least one `{method, params}`"));
            }
            Ok(calls)
        }
        d.deserialize_any(Vis)
    }
}

/// `notify: {method, params}` (JSON-RPC): a notification, sent without an id.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notify {
    pub conn: Option<String>,
    pub method: Template,
    pub params: Option<TValue>,
}

/// `send: {json: …, reply: {match: PATH, json: {PATH: MATCHER…}}}`: the answer to a message,
/// found by the value it shares with it at `match`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reply {
    #[serde(rename = "match")]
    pub matches: JsonPath,
    pub json: Option<MatcherMap>,
}

/// The variables a matcher map names.
pub fn matcher_vars(map: Option<&MatcherMap>, out: &mut Vec<crate::template::VarRef>) {
    for (_, m) in map.iter().flat_map(|j| j.0.iter()) {
        m.vars(out);
    }
}

/// The variables a JSON-RPC call names.
pub fn call_vars(
    method: &Template,
    params: &Option<TValue>,
    result: &Option<MatcherMap>,
    error: &Option<MatcherMap>,
    out: &mut Vec<crate::template::VarRef>,
) {
    out.extend(method.vars().cloned());
    if let Some(p) = params {
        p.vars(out);
    }
    matcher_vars(result.as_ref(), out);
    matcher_vars(error.as_ref(), out);
}

/// A JSON-RPC mock method: its `result`, or its `error`, optionally after a delay.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MockMethod {
    pub result: Option<TValue>,
    pub error: Option<MockRpcError>,
    pub delay: Option<Dur>,
}

/// A JSON-RPC error object.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MockRpcError {
    pub code: i64,
    pub message: Template,
    pub data: Option<TValue>,
}

/// `methods:` belong to a `protocol: jsonrpc` mock.
pub fn check_mock_protocol(def: &super::MockDef) -> Result<(), String> {
    super::graphql_ws::check_mock(def)?;
    if !def.methods.0.is_empty() && def.protocol != ProtocolName::JsonRpc {
        return Err(format!(
            "`methods` answer JSON-RPC calls, but this mock speaks `{}`: add `protocol: jsonrpc`",
            def.protocol.as_str()
        ));
    }
    for (name, m) in &def.methods.0 {
        if m.result.is_some() && m.error.is_some() {
            return Err(format!(
                "method `{name}` has both `result` and `error`: a response has one"
            ));
        }
    }
    Ok(())
}
