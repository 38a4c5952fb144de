//! A mock server's definition as the collection writes it (`mocks:`): a replay, echo, scripted
//! replies and a protocol's answers (docs/mocks.md, "Mocks and recordings").

use std::path::PathBuf;

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{Dur, GraphqlWsMock, MockEmit, MockMethod, MockSocketIo, OrderedMap, ProtocolName};
use crate::matcher::Matcher;
use crate::template::{TValue, Template};

/// A mock server (docs/mocks.md, "Mocks and recordings").
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MockDef {
    /// A JSONL recording to send to each client (relative to the collection), with its line.
    /// Taken literally: a mock starts before the variables (which may name its URL) exist.
    pub replay: Option<Spanned<PathBuf>>,
    /// Fixed pace for `replay`, instead of the recorded one.
    pub interval: Option<Dur>,
    /// Start the replay again when it ends.
    #[serde(default, rename = "loop")]
    pub looped: bool,
    /// Send every message back.
    #[serde(default)]
    pub echo: bool,
    /// Scripted replies, each with the line it starts on.
    #[serde(default)]
    pub on: Vec<Spanned<MockRule>>,
    /// Close each connection after sending this many messages.
    pub close_after: Option<u64>,
    /// The close code for `close_after` (default 1000).
    pub close_code: Option<u16>,
    /// The protocol it speaks (`raw` by default).
    #[serde(default)]
    pub protocol: ProtocolName,
    /// `compression: false`: never agree to permessage-deflate.
    pub compression: Option<bool>,
    /// JSON-RPC methods and their answers (`protocol: jsonrpc`).
    #[serde(default)]
    pub methods: OrderedMap<String, MockMethod>,
    /// A graphql-ws mock's options (`protocol: graphql-ws`).
    #[serde(rename = "graphql-ws")]
    pub graphql_ws: Option<GraphqlWsMock>,
    /// A subscriptions-transport-ws mock's options (`protocol: graphql-ws-legacy`).
    #[serde(rename = "graphql-ws-legacy")]
    pub graphql_ws_legacy: Option<crate::protocol::graphql_ws_legacy::yaml::GraphqlWsLegacyMock>,
    /// A SignalR hub's methods and invocations (`protocol: signalr`).
    pub signalr: Option<crate::protocol::signalr::hub::HubOptions>,
    /// Socket.IO pings (`protocol: socketio`).
    pub socketio: Option<MockSocketIo>,
    /// Subprotocols it agrees to: the first one a client asks for.
    #[serde(default)]
    pub subprotocols: Vec<String>,
    /// HTTP routes answered on the same port as the WebSocket upgrades.
    #[serde(default)]
    pub http: Vec<MockHttpRoute>,
}

/// `http:` of a mock: a canned answer to `method path` (docs/mocks.md, "HTTP routes").
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawHttpRoute")]
pub struct MockHttpRoute {
    /// Upper-case; `ANY` answers every method.
    pub method: String,
    /// The path, without the query, exactly.
    pub path: String,
    pub status: u16,
    pub headers: OrderedMap<String, Template>,
    /// A JSON body (templates over the collection's variables)…
    pub json: Option<TValue>,
    /// …or a text one.
    pub body: Option<Template>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttpRoute {
    #[serde(default = "get")]
    method: String,
    path: String,
    #[serde(default = "ok")]
    status: u16,
    #[serde(default)]
    headers: OrderedMap<String, Template>,
    json: Option<TValue>,
    body: Option<Template>,
}

impl TryFrom<RawHttpRoute> for MockHttpRoute {
    type Error = String;
    fn try_from(r: RawHttpRoute) -> Result<Self, String> {
        let method = r.method.to_ascii_uppercase();
        if method != "ANY" {
            super::check_method(&method)?;
        }
        if !r.path.starts_with('/') {
            return Err(format!("`path` `{}` must start with `/`", r.path));
        }
        if !(100..=999).contains(&r.status) {
            return Err(format!("`status` {} is not an HTTP status", r.status));
        }
        if r.json.is_some() && r.body.is_some() {
            return Err("an http route takes `json` or `body`, not both".into());
        }
        Ok(MockHttpRoute {
            method,
            path: r.path,
            status: r.status,
            headers: r.headers,
            json: r.json,
            body: r.body,
        })
    }
}

fn get() -> String {
    "GET".into()
}

fn ok() -> u16 {
    200
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MockRule {
    /// JSONPath → matcher over the incoming message; an empty or missing map matches anything.
    #[serde(rename = "match", default)]
    pub matches: OrderedMap<crate::jsonpath::JsonPath, Matcher>,
    /// Matches the incoming text as a whole instead.
    pub text: Option<Matcher>,
    /// One reply or several: YAML may give a single map or a list of them.
    #[serde(default, deserialize_with = "one_or_many")]
    pub reply: Vec<MockReply>,
    /// Close the connection after replying (with this code).
    pub close: Option<u16>,
}

/// A scripted reply: `{json: …}`, `{text: …}` or `{binary: BASE64}`, optionally after a delay.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MockReply {
    pub json: Option<TValue>,
    pub text: Option<Template>,
    pub binary: Option<Template>,
    /// Socket.IO: an event (`{event, args}`).
    pub emit: Option<MockEmit>,
    /// Socket.IO: the ack the message asked for, with these arguments.
    pub ack: Option<TValue>,
    pub delay: Option<Dur>,
    /// graphql-ws: payloads sent as `next` messages with the subscription's id.
    pub next: Option<TValue>,
    /// graphql-ws: the payload of an `error` message (a list of GraphQL errors).
    pub error: Option<TValue>,
    /// graphql-ws: ends the subscription with a `complete` message.
    pub complete: Option<bool>,
}

/// Reads `reply:` as either one map or a list of maps, keeping each map's own error messages.
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<MockReply>, D::Error> {
    struct OneOrMany;
    impl<'de> serde::de::Visitor<'de> for OneOrMany {
        type Value = Vec<MockReply>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a reply map such as `{json: …}` or a list of them")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            MockReply::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                .map(|r| vec![r])
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            Vec::<MockReply>::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
    }
    d.deserialize_any(OneOrMany)
}
