//! `protocol: graphql-ws`, the graphql-transport-ws protocol: the subprotocol is asked for,
//! `connection_init` (with `graphql-ws: {init}` as its payload) waits for `connection_ack`,
//! `ping` is answered with `pong`, and the steps see the protocol's own JSON (`next`, `error`,
//! `complete` with their `id`). Also the messages the steps and the mock send.

pub(crate) mod mock;
pub(crate) mod run;
pub mod yaml;

/// Its reference page.
pub const DOCS: &str = "docs/protocols/graphql-ws.md";

/// Its own steps.
pub const STEPS: &[&str] = &["subscribe", "complete"];

/// The client side, `graphql-ws: {init}` expanded.
pub fn client(
    o: &yaml::GraphqlWsOptions,
    scope: &dyn crate::template::Lookup,
) -> Result<Box<dyn Protocol>, String> {
    let init = o.init.as_ref().map(|i| i.expand(scope)).transpose();
    let init = init.map_err(|e| format!("`graphql-ws: {{init}}`: {e}"))?;
    Ok(Box::new(GraphqlWs::new(init)))
}

/// A mock's side.
pub(crate) fn mock(
    def: &crate::collection::MockDef,
) -> Result<Box<dyn crate::mock::protocol::Speaker>, String> {
    Ok(Box::new(mock::GraphqlWs::compile(def)?))
}

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};
use tokio_tungstenite::tungstenite::Message;

use super::Incoming;
use super::{Decoded, Payload, Protocol};
use crate::report::truncate;

/// The subprotocol of graphql-transport-ws.
pub const SUBPROTOCOL: &str = "graphql-transport-ws";

/// The subprotocol of the legacy subscriptions-transport-ws protocol.
pub const LEGACY_SUBPROTOCOL: &str = "graphql-ws";

/// What a failure to connect adds when the server may speak only the legacy protocol.
const LEGACY_HINT: &str = "a server that speaks only the legacy subscriptions-transport-ws protocol (subprotocol `graphql-ws`) needs `protocol: graphql-ws-legacy`";

/// How much of an offending message a protocol violation quotes.
const QUOTE: usize = 160;

/// A graphql-transport-ws connection.
pub struct GraphqlWs {
    /// The `connection_init` payload.
    init: Option<Value>,
    acked: bool,
    /// Every operation this connection subscribed, by id: what the server may still send for it.
    operations: HashMap<String, Operation>,
}

/// Where an operation the client subscribed is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operation {
    Running,
    /// The client sent `complete` at this time. Results the server sent before it read it are
    /// still on their way, and the reference server may emit the one its generator had in
    /// hand even later: what comes within [`GRACE`], and one more after, reach the steps.
    CompletedByClient {
        at: Instant,
        late: bool,
    },
    /// The server ended it with this message (`complete` or `error`): it sends nothing more.
    Ended(&'static str),
}

/// How long after the client's `complete` results may still arrive (those on their way).
pub const GRACE: Duration = Duration::from_secs(1);

impl GraphqlWs {
    /// A connection that sends `init` as the payload of its `connection_init`.
    pub fn new(init: Option<Value>) -> Self {
        Self {
            init,
            acked: false,
            operations: HashMap::new(),
        }
    }

    /// An operation's message from the server (`next`, `error`, `complete`): for the steps, or
    /// a violation of the protocol.
    fn operation(&mut self, kind: &'static str, v: Value) -> Decoded {
        let violation = |why: String| {
            Decoded::Failed(format!(
                "protocol violation: the server sent {why}: {}",
                truncate(&v.to_string(), QUOTE)
            ))
        };
        let Some(id) = v.get("id").and_then(Value::as_str) else {
            return violation(format!("`{kind}` without an id"));
        };
        let Some(op) = self.operations.get_mut(id) else {
            return violation(format!(
                "`{kind}` for id \"{id}\", which this connection never subscribed"
            ));
        };
        match *op {
            Operation::Running => {
                if kind != "next" {
                    *op = Operation::Ended(kind);
                }
                Decoded::Message(Incoming::Envelope(v))
            }
            Operation::Ended(how) => {
                violation(format!("`{kind}` for id \"{id}\" after its `{how}` for it"))
            }
            Operation::CompletedByClient { at, late } => {
                if kind != "next" {
                    *op = Operation::Ended(kind);
                } else if at.elapsed() > GRACE {
                    if late {
                        return violation(format!(
                            "`next` for id \"{id}\" long after the client's `complete`, and not \
                             for the first time (tolerated: what arrives within {}s, and one more)",
                            GRACE.as_secs()
                        ));
                    }
                    *op = Operation::CompletedByClient { at, late: true };
                }
                Decoded::Message(Incoming::Envelope(v))
            }
        }
    }
}

/// `{"type": T}`, with `payload` when there is one.
pub fn message(kind: &str, payload: Option<Value>) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), kind.into());
    if let Some(p) = payload {
        m.insert("payload".into(), p);
    }
    Value::Object(m)
}

/// `{"id", "type": "subscribe", "payload": {"query", "variables"?, "operationName"?}}`.
pub fn subscribe(
    id: &str,
    query: String,
    variables: Option<Value>,
    operation_name: Option<String>,
) -> Value {
    let mut payload = Map::new();
    payload.insert("query".into(), query.into());
    if let Some(v) = variables {
        payload.insert("variables".into(), v);
    }
    if let Some(name) = operation_name {
        payload.insert("operationName".into(), name.into());
    }
    json!({ "id": id, "type": "subscribe", "payload": payload })
}

/// `{"id", "type": "complete"}`.
pub fn complete(id: &str) -> Value {
    json!({ "id": id, "type": "complete" })
}

/// A `pong` answering `ping`, with the ping's payload (as the reference implementation does).
pub fn pong(ping: &Value) -> Value {
    message("pong", ping.get("payload").cloned())
}

impl Protocol for GraphqlWs {
    fn unagreed(&self, message: String, agreed: Option<&str>) -> String {
        // Apollo's older subscriptions-transport-ws servers speak `graphql-ws` (the same name
        // as this protocol's, another protocol), and refuse or ignore `graphql-transport-ws`.
        match agreed {
            None | Some(LEGACY_SUBPROTOCOL) => format!("{message}; {LEGACY_HINT}"),
            Some(_) => message,
        }
    }

    fn closed_in_handshake(&self, message: String, code: Option<u16>) -> String {
        // A subscriptions-transport-ws server that was not asked for `graphql-ws` closes with
        // 1002 (protocol error) as soon as it opened; graphql-ws servers refuse with 44xx.
        match code {
            Some(1002) => format!("{message}; {LEGACY_HINT}"),
            _ => message,
        }
    }

    /// A `next` carries an execution result (`{data, errors?}`); `error` and `complete` end an
    /// operation and carry no data of the API's.
    fn payload(&self, envelope: &Value) -> Payload {
        match envelope["type"].as_str() {
            Some("next") => Payload::Json(envelope["payload"].clone()),
            _ => Payload::None,
        }
    }

    fn name(&self) -> &'static str {
        "graphql-ws"
    }

    fn prepare(&self, _url: &mut String, subprotocols: &mut Vec<String>) -> Result<(), String> {
        if !subprotocols.iter().any(|p| p == SUBPROTOCOL) {
            subprotocols.push(SUBPROTOCOL.into());
        }
        Ok(())
    }

    fn greet(&mut self, out: &mut Vec<Message>) {
        let init = message("connection_init", self.init.clone());
        out.push(Message::text(init.to_string()));
    }

    fn pending(&self) -> Option<String> {
        (!self.acked).then(|| "`connection_ack`".to_string())
    }

    /// `connection_ack`, `ping` and `pong` are the protocol's own; every other JSON message is
    /// an envelope for the steps, and a text that is not JSON reaches them as it is.
    fn decode(&mut self, frame: Incoming, out: &mut Vec<Message>) -> Decoded {
        let Incoming::Text(t) = &frame else {
            return Decoded::Message(frame);
        };
        let Ok(v) = serde_json::from_str::<Value>(t.as_str()) else {
            return Decoded::Message(frame);
        };
        match v.get("type").and_then(Value::as_str) {
            Some("connection_ack") => {
                self.acked = true;
                Decoded::Absorbed
            }
            Some("ping") => {
                out.push(Message::text(pong(&v).to_string()));
                Decoded::Absorbed
            }
            Some("pong") => Decoded::Absorbed,
            Some("next") => self.operation("next", v),
            Some("error") => self.operation("error", v),
            Some("complete") => self.operation("complete", v),
            _ => Decoded::Message(Incoming::Envelope(v)),
        }
    }

    /// Notes the operations the client starts (`subscribe`) and ends (`complete`), however sent.
    fn sent(&mut self, text: &str) {
        if !text.contains("\"subscribe\"") && !text.contains("\"complete\"") {
            return;
        }
        let Ok(v) = serde_json::from_str::<Value>(text) else {
            return;
        };
        let Some(id) = v.get("id").and_then(Value::as_str) else {
            return;
        };
        match v.get("type").and_then(Value::as_str) {
            Some("subscribe") => {
                self.operations.insert(id.to_string(), Operation::Running);
            }
            Some("complete") => {
                if let Some(op @ Operation::Running) = self.operations.get_mut(id) {
                    *op = Operation::CompletedByClient {
                        at: Instant::now(),
                        late: false,
                    };
                }
            }
            _ => {}
        }
    }

    /// A fresh id must not be one a `subscribe` used already (`subscribe: {id: "2"}`).
    fn taken(&mut self, id: u64) -> bool {
        self.operations.contains_key(id.to_string().as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(p: &mut GraphqlWs, text: &str) -> (Decoded, Vec<Message>) {
        let mut out = Vec::new();
        let d = p.decode(Incoming::Text(text.into()), &mut out);
        (d, out)
    }

    #[test]
    fn the_subprotocol_is_asked_for_once() {
        let p = GraphqlWs::new(None);
        let mut protocols = vec!["graphql-transport-ws".to_string()];
        p.prepare(&mut String::new(), &mut protocols).unwrap();
        assert_eq!(protocols, ["graphql-transport-ws"]);
        let mut protocols = Vec::new();
        p.prepare(&mut String::new(), &mut protocols).unwrap();
        assert_eq!(protocols, ["graphql-transport-ws"]);
    }

    #[test]
    fn connection_init_carries_the_init_payload_only_when_given() {
        let mut out = Vec::new();
        GraphqlWs::new(Some(json!({"token": "t"}))).greet(&mut out);
        GraphqlWs::new(None).greet(&mut out);
        let texts: Vec<String> = out.iter().map(|m| m.to_text().unwrap().into()).collect();
        assert_eq!(
            texts,
            [
                r#"{"type":"connection_init","payload":{"token":"t"}}"#,
                r#"{"type":"connection_init"}"#
            ]
        );
    }

    #[test]
    fn the_handshake_waits_for_connection_ack() {
        let mut p = GraphqlWs::new(None);
        assert_eq!(p.pending().as_deref(), Some("`connection_ack`"));
        let (d, out) = decode(&mut p, r#"{"type":"connection_ack","payload":{"v":1}}"#);
        assert!(matches!(d, Decoded::Absorbed) && out.is_empty());
        assert_eq!(p.pending(), None);
    }

    #[test]
    fn a_ping_is_answered_with_a_pong_carrying_its_payload() {
        let mut p = GraphqlWs::new(None);
        let (d, out) = decode(&mut p, r#"{"type":"ping","payload":{"n":1}}"#);
        assert!(matches!(d, Decoded::Absorbed));
        assert_eq!(out, [Message::text(r#"{"type":"pong","payload":{"n":1}}"#)]);
        let (d, out) = decode(&mut p, r#"{"type":"ping"}"#);
        assert!(matches!(d, Decoded::Absorbed));
        assert_eq!(out, [Message::text(r#"{"type":"pong"}"#)]);
        let (d, out) = decode(&mut p, r#"{"type":"pong"}"#);
        assert!(matches!(d, Decoded::Absorbed) && out.is_empty());
    }

    #[test]
    fn operation_messages_reach_the_steps_as_their_json() {
        let mut p = GraphqlWs::new(None);
        p.sent(r#"{"id":"1","type":"subscribe","payload":{"query":"q"}}"#);
        let next = r#"{"id":"1","type":"next","payload":{"data":{"n":1}}}"#;
        let (d, _) = decode(&mut p, next);
        let expected = json!({"id": "1", "type": "next", "payload": {"data": {"n": 1}}});
        assert!(matches!(d, Decoded::Message(Incoming::Envelope(v)) if v == expected));
        let (d, _) = decode(&mut p, "not json");
        assert!(matches!(d, Decoded::Message(Incoming::Text(t)) if t.as_str() == "not json"));
    }

    fn violation(d: Decoded) -> String {
        match d {
            Decoded::Failed(why) => why,
            other => panic!("not a violation: {other:?}"),
        }
    }

    #[test]
    fn a_next_for_an_operation_never_subscribed_or_ended_by_the_server_is_a_violation() {
        let mut p = GraphqlWs::new(None);
        let (d, _) = decode(&mut p, r#"{"id":"9","type":"next","payload":{}}"#);
        assert_eq!(
            violation(d),
            r#"protocol violation: the server sent `next` for id "9", which this connection never subscribed: {"id":"9","type":"next","payload":{}}"#
        );
        p.sent(&subscribe("1", "q".into(), None, None).to_string());
        p.sent(&subscribe("2", "q".into(), None, None).to_string());
        let (d, _) = decode(&mut p, r#"{"id":"1","type":"complete"}"#);
        assert!(matches!(d, Decoded::Message(_)));
        let (d, _) = decode(&mut p, r#"{"id":"1","type":"next","payload":{}}"#);
        assert!(violation(d).starts_with(
            r#"protocol violation: the server sent `next` for id "1" after its `complete` for it: "#
        ));
        let (d, _) = decode(&mut p, r#"{"id":"2","type":"error","payload":[]}"#);
        assert!(matches!(d, Decoded::Message(_)));
        let (d, _) = decode(&mut p, r#"{"id":"2","type":"next","payload":{}}"#);
        assert!(violation(d).contains(r#"`next` for id "2" after its `error` for it"#));
        let (d, _) = decode(&mut p, r#"{"type":"next","payload":{}}"#);
        assert!(violation(d).contains("`next` without an id"));
    }

    #[test]
    fn after_the_clients_complete_results_within_the_grace_and_one_more_reach_the_steps() {
        let mut p = GraphqlWs::new(None);
        p.sent(&subscribe("1", "q".into(), None, None).to_string());
        let next = r#"{"id":"1","type":"next","payload":{}}"#;
        p.sent(&complete("1").to_string());
        for _ in 0..3 {
            assert!(matches!(decode(&mut p, next).0, Decoded::Message(_)));
        }
        // As if the grace had passed.
        let long_ago = Instant::now() - GRACE - Duration::from_millis(1);
        p.operations.insert(
            "1".into(),
            Operation::CompletedByClient {
                at: long_ago,
                late: false,
            },
        );
        assert!(matches!(decode(&mut p, next).0, Decoded::Message(_)));
        let why = violation(decode(&mut p, next).0);
        assert!(why.contains(
            r#"`next` for id "1" long after the client's `complete`, and not for the first time (tolerated: what arrives within 1s, and one more)"#
        ), "{why}");
        // A fresh id skips the ids subscribed by hand.
        assert!(p.taken(1) && !p.taken(2));
    }

    #[test]
    fn subscribe_leaves_out_what_is_not_given() {
        let s = subscribe("7", "subscription { n }".into(), None, None);
        assert_eq!(
            s,
            json!({"id": "7", "type": "subscribe", "payload": {"query": "subscription { n }"}})
        );
        let s = subscribe("8", "q".into(), Some(json!({"a": 1})), Some("Op".into()));
        assert_eq!(s["payload"]["variables"], json!({"a": 1}));
        assert_eq!(s["payload"]["operationName"], "Op");
        assert_eq!(complete("8"), json!({"id": "8", "type": "complete"}));
    }
}
