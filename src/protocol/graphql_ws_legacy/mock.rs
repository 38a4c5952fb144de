//! The mock's side of subscriptions-transport-ws: a conversation per client that acknowledges
//! `connection_init` (or refuses it with `connection_error`, then closes with 1011 as the
//! reference server does), sends a `ka` after the ack when asked, answers
//! `connection_terminate` with a close, and hands `start`/`stop` to the `on:` rules in
//! graphql-transport-ws's form (`subscribe`/`complete`) so that the same rules and replies
//! serve both protocols; the replies go out in the legacy dialect (`next` → `data`).

use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

use super::SUBPROTOCOL;
use crate::mock::protocol::{Answer, Session, Speaker};
use crate::protocol::graphql_ws::message;

/// A mock's `graphql-ws-legacy:` options.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// Refuse every `connection_init` with `connection_error` and this message.
    pub refuse: Option<String>,
    /// Send a `ka` right after `connection_ack`.
    #[serde(default)]
    pub keep_alive: bool,
}

/// The subprotocols the mock agrees to.
pub const SUBPROTOCOLS: &[&str] = &[SUBPROTOCOL];

/// One client's conversation.
pub struct Conversation<'a> {
    options: &'a Options,
    acked: bool,
}

fn close(code: u16, reason: &str, out: &mut Vec<Message>) -> Option<Value> {
    out.push(Message::Close(Some(CloseFrame {
        code: CloseCode::from(code),
        reason: reason.into(),
    })));
    None
}

fn send(v: Value, out: &mut Vec<Message>) {
    out.push(Message::text(v.to_string()));
}

impl<'a> Conversation<'a> {
    pub fn new(options: &'a Options) -> Self {
        Self {
            options,
            acked: false,
        }
    }

    /// A frame from the client: the envelope the rules see (`start` as `subscribe`, `stop`
    /// as `complete`), or `None` when the protocol answered it itself (answers in `out`).
    pub fn receive(&mut self, frame: &Message, out: &mut Vec<Message>) -> Option<Value> {
        let parsed = match frame {
            Message::Text(text) => serde_json::from_str::<Value>(text.as_str()).ok(),
            _ => None,
        };
        let Some(mut v) = parsed else {
            send(error(None, "Message must be JSON-parseable."), out);
            return None;
        };
        match v.get("type").and_then(Value::as_str) {
            Some("connection_init") => {
                if let Some(refusal) = &self.options.refuse {
                    send(
                        message("connection_error", Some(json!({ "message": refusal }))),
                        out,
                    );
                    return close(1011, "", out);
                }
                self.acked = true;
                send(message("connection_ack", None), out);
                if self.options.keep_alive {
                    send(message("ka", None), out);
                }
                None
            }
            Some("connection_terminate") => close(1000, "", out),
            Some("start" | "stop") if !v.get("id").is_some_and(Value::is_string) => {
                send(error(None, "An operation needs a string id."), out);
                None
            }
            Some("start") if !self.acked => {
                send(error(v.get("id"), "Send connection_init first."), out);
                None
            }
            Some("start") => {
                v["type"] = "subscribe".into();
                Some(v)
            }
            Some("stop") => {
                v["type"] = "complete".into();
                Some(v)
            }
            _ => {
                let kind = v.get("type").map(Value::to_string).unwrap_or_default();
                send(
                    error(v.get("id"), &format!("Invalid message type {kind}")),
                    out,
                );
                None
            }
        }
    }

    /// A rule's reply in graphql-transport-ws's form, in the legacy dialect.
    pub fn encode(&mut self, envelope: Value) -> Vec<Message> {
        vec![Message::text(legacy_reply(envelope).to_string())]
    }

    /// A `start` that no rule answered: an `error`, as a server that has no such operation.
    pub fn answer(&mut self, envelope: &Value, out: &mut Vec<Message>) {
        if envelope["type"] == "subscribe" {
            let why = "no rule of the mock matches this subscription";
            send(error(envelope.get("id"), why), out);
        }
    }
}

/// `{"type": "error", "id"?, "payload": {"message"}}`, the reference server's error.
fn error(id: Option<&Value>, why: &str) -> Value {
    let mut v = message("error", Some(json!({ "message": why })));
    if let Some(id) = id {
        v["id"] = id.clone();
    }
    v
}

/// A reply renamed from graphql-transport-ws: `next` → `data`, and an `error`'s list of one
/// sent as that one error (what the reference server sends).
pub fn legacy_reply(mut v: Value) -> Value {
    match v.get("type").and_then(Value::as_str) {
        Some("next") => v["type"] = "data".into(),
        Some("error") => {
            if let Some(Value::Array(errors)) = v.get_mut("payload") {
                if errors.len() == 1 {
                    let one = errors.remove(0);
                    v["payload"] = one;
                }
            }
        }
        _ => {}
    }
    v
}

/// The mock as the server runs it: one [`Conversation`] per client.
pub(crate) struct Legacy(Options);

impl Legacy {
    pub(crate) fn compile(def: &crate::collection::MockDef) -> Self {
        Self(def.graphql_ws_legacy.clone().unwrap_or_default())
    }
}

impl Speaker for Legacy {
    fn session(&self) -> Box<dyn Session + '_> {
        Box::new(Conversation::new(&self.0))
    }

    fn subprotocols(&self) -> &'static [&'static str] {
        SUBPROTOCOLS
    }
}

fn answers(out: Vec<Message>, into: &mut Vec<Answer>) {
    into.extend(out.into_iter().map(Answer::now));
}

impl Session for Conversation<'_> {
    fn receive(&mut self, frame: &Message, out: &mut Vec<Answer>) -> Option<Value> {
        let mut sent = Vec::new();
        let envelope = Conversation::receive(self, frame, &mut sent);
        answers(sent, out);
        envelope
    }

    fn encode(&mut self, envelope: Value) -> Vec<Message> {
        Conversation::encode(self, envelope)
    }

    fn answer(&mut self, envelope: &Value, out: &mut Vec<Answer>) {
        let mut sent = Vec::new();
        Conversation::answer(self, envelope, &mut sent);
        answers(sent, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(out: &[Message]) -> Vec<String> {
        out.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn init_is_acked_with_a_keep_alive_and_start_reaches_the_rules_as_subscribe() {
        let options = Options {
            refuse: None,
            keep_alive: true,
        };
        let mut c = Conversation::new(&options);
        let mut out = Vec::new();
        let start = Message::text(r#"{"id":"1","type":"start","payload":{"query":"q"}}"#);
        assert!(c.receive(&start, &mut out).is_none());
        assert_eq!(
            texts(&out),
            [r#"{"type":"error","payload":{"message":"Send connection_init first."},"id":"1"}"#]
        );
        out.clear();
        assert!(c
            .receive(&Message::text(r#"{"type":"connection_init"}"#), &mut out)
            .is_none());
        assert_eq!(
            texts(&out),
            [r#"{"type":"connection_ack"}"#, r#"{"type":"ka"}"#]
        );
        assert_eq!(
            c.receive(&start, &mut out),
            Some(json!({"id": "1", "type": "subscribe", "payload": {"query": "q"}}))
        );
        let stop = Message::text(r#"{"id":"1","type":"stop"}"#);
        assert_eq!(
            c.receive(&stop, &mut out),
            Some(json!({"id": "1", "type": "complete"}))
        );
    }

    #[test]
    fn a_refusal_is_a_connection_error_then_a_close() {
        let options = Options {
            refuse: Some("Forbidden".into()),
            keep_alive: false,
        };
        let mut c = Conversation::new(&options);
        let mut out = Vec::new();
        c.receive(&Message::text(r#"{"type":"connection_init"}"#), &mut out);
        assert_eq!(
            out[0].to_string(),
            r#"{"type":"connection_error","payload":{"message":"Forbidden"}}"#
        );
        assert!(matches!(&out[1], Message::Close(Some(f)) if u16::from(f.code) == 1011));
    }

    #[test]
    fn replies_go_out_in_the_legacy_dialect() {
        let options = Options::default();
        let mut c = Conversation::new(&options);
        let next = json!({"id": "1", "type": "next", "payload": {"data": {"n": 1}}});
        assert_eq!(
            texts(&c.encode(next)),
            [r#"{"id":"1","type":"data","payload":{"data":{"n":1}}}"#]
        );
        let error = json!({"id": "1", "type": "error", "payload": [{"message": "boom"}]});
        assert_eq!(
            texts(&c.encode(error)),
            [r#"{"id":"1","type":"error","payload":{"message":"boom"}}"#]
        );
        let mut out = Vec::new();
        c.answer(&json!({"id": "2", "type": "subscribe"}), &mut out);
        assert_eq!(
            texts(&out),
            [
                r#"{"type":"error","payload":{"message":"no rule of the mock matches this subscription"},"id":"2"}"#
            ]
        );
        c.receive(&Message::text("garbage"), &mut out);
        assert_eq!(
            out[1].to_string(),
            r#"{"type":"error","payload":{"message":"Message must be JSON-parseable."}}"#
        );
    }
}
