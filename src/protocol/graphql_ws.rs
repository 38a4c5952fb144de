//! `protocol: graphql-ws`, the graphql-transport-ws protocol: the subprotocol is asked for,
//! `connection_init` (with `graphql-ws: {init}` as its payload) waits for `connection_ack`,
//! `ping` is answered with `pong`, and the steps see the protocol's own JSON (`next`, `error`,
//! `complete` with their `id`). Also the messages the steps and the mock send.

use serde_json::{json, Map, Value};
use tokio_tungstenite::tungstenite::Message;

use super::Incoming;
use super::{Decoded, Protocol};

/// The subprotocol of graphql-transport-ws.
pub const SUBPROTOCOL: &str = "graphql-transport-ws";

/// A graphql-transport-ws connection.
pub struct GraphqlWs {
    /// The `connection_init` payload.
    init: Option<Value>,
    acked: bool,
}

impl GraphqlWs {
    /// A connection that sends `init` as the payload of its `connection_init`.
    pub fn new(init: Option<Value>) -> Self {
        Self { init, acked: false }
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
            _ => Decoded::Message(Incoming::Envelope(v)),
        }
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
        let next = r#"{"id":"1","type":"next","payload":{"data":{"n":1}}}"#;
        let (d, _) = decode(&mut p, next);
        let expected = json!({"id": "1", "type": "next", "payload": {"data": {"n": 1}}});
        assert!(matches!(d, Decoded::Message(Incoming::Envelope(v)) if v == expected));
        let (d, _) = decode(&mut p, "not json");
        assert!(matches!(d, Decoded::Message(Incoming::Text(t)) if t.as_str() == "not json"));
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
