//! A graphql-transport-ws mock: agrees to the `graphql-transport-ws` subprotocol, acknowledges
//! `connection_init` (or refuses it: `graphql-ws: {refuse: 4403}`), optionally pings right
//! after, answers `ping` with `pong`, and hands `subscribe` and `complete` messages to the `on:`
//! rules, whose `next`/`error`/`complete` replies carry the subscription's id. A `subscribe` no
//! rule answers gets an `error`. What the protocol forbids closes the connection with the code
//! the reference server uses: 4400 for an invalid message, 4401 for `subscribe` before the ack,
//! 4429 for a second `connection_init`.

use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

use super::yaml::is_operation_reply;
use crate::collection::{MockDef, MockReply};
use crate::mock::protocol::{Answer, Session, Speaker};
use crate::protocol::graphql_ws::{message, pong, SUBPROTOCOL};
use crate::template::{TValue, Template};

/// What every connection to the mock shares: its `graphql-ws:` options.
pub(crate) struct GraphqlWs {
    refuse: Option<u16>,
    ping: bool,
}

impl GraphqlWs {
    pub(crate) fn compile(def: &MockDef) -> Result<Self, String> {
        let options = def.graphql_ws.clone().unwrap_or_default();
        if let Some(code) = options.refuse {
            crate::mock::check_close_code(code)
                .map_err(|m| format!("`graphql-ws: {{refuse}}`: {m}"))?;
        }
        Ok(Self {
            refuse: options.refuse,
            ping: options.ping,
        })
    }
}

impl Speaker for GraphqlWs {
    fn session(&self) -> Box<dyn Session + '_> {
        Box::new(Conversation {
            options: self,
            initialised: false,
            acked: false,
        })
    }

    fn subprotocols(&self) -> &'static [&'static str] {
        &[SUBPROTOCOL]
    }
}

struct Conversation<'a> {
    options: &'a GraphqlWs,
    initialised: bool,
    acked: bool,
}

/// The reason the reference server gives with a close code.
fn reason(code: u16) -> &'static str {
    match code {
        4400 => "Invalid message received",
        4401 => "Unauthorized",
        4403 => "Forbidden",
        4429 => "Too many initialisation requests",
        _ => "Refused",
    }
}

fn close(code: u16, out: &mut Vec<Answer>) -> Option<Value> {
    let frame = CloseFrame {
        code: CloseCode::from(code),
        reason: reason(code).into(),
    };
    out.push(Answer::now(Message::Close(Some(frame))));
    None
}

fn send(v: Value, out: &mut Vec<Answer>) {
    out.push(Answer::now(Message::text(v.to_string())));
}

impl Session for Conversation<'_> {
    fn receive(&mut self, frame: &Message, out: &mut Vec<Answer>) -> Option<Value> {
        let Message::Text(text) = frame else {
            return close(4400, out);
        };
        let Ok(v) = serde_json::from_str::<Value>(text.as_str()) else {
            return close(4400, out);
        };
        match v.get("type").and_then(Value::as_str) {
            Some("connection_init") if self.initialised => close(4429, out),
            Some("connection_init") => {
                self.initialised = true;
                if let Some(code) = self.options.refuse {
                    return close(code, out);
                }
                self.acked = true;
                send(message("connection_ack", None), out);
                if self.options.ping {
                    send(message("ping", None), out);
                }
                None
            }
            Some("ping") => {
                send(pong(&v), out);
                None
            }
            Some("pong") => None,
            Some("subscribe" | "complete") if !v.get("id").is_some_and(Value::is_string) => {
                close(4400, out)
            }
            Some("subscribe") if !self.acked => close(4401, out),
            Some("subscribe" | "complete") => Some(v),
            _ => close(4400, out),
        }
    }

    /// A `subscribe` that no rule answered: an `error`, as a server that has no such operation.
    fn answer(&mut self, envelope: &Value, out: &mut Vec<Answer>) {
        if envelope["type"] == "subscribe" {
            let errors = json!([{ "message": "no rule of the mock matches this subscription" }]);
            send(
                json!({ "id": envelope["id"], "type": "error", "payload": errors }),
                out,
            );
        }
    }
}

/// A rule's reply with `next`, `error` or `complete`, spelled out as the `json` replies it
/// stands for, each with the subscription's id (`{{ message.id }}`): every `next` payload, the
/// `error`, then `complete`. Other replies are kept as they are.
pub(crate) fn spell_out(reply: &MockReply) -> Result<Vec<MockReply>, String> {
    if !is_operation_reply(reply) {
        return Ok(vec![reply.clone()]);
    }
    let id = TValue::Template(Template::parse("{{ message.id }}")?);
    let operation = |kind: &str, payload: Option<TValue>| {
        let mut fields = vec![
            ("id".to_string(), id.clone()),
            ("type".to_string(), TValue::Literal(kind.into())),
        ];
        fields.extend(payload.map(|p| ("payload".to_string(), p)));
        MockReply {
            json: Some(TValue::Object(fields)),
            text: None,
            binary: None,
            delay: None,
            next: None,
            error: None,
            complete: None,
            emit: None,
            ack: None,
        }
    };
    let mut out: Vec<MockReply> = Vec::new();
    for payload in reply.next.iter().flat_map(items) {
        out.push(operation("next", Some(payload)));
    }
    if let Some(errors) = &reply.error {
        out.push(operation("error", Some(error_list(errors))));
    }
    if reply.complete == Some(true) {
        out.push(operation("complete", None));
    }
    if let Some(first) = out.first_mut() {
        first.delay = reply.delay;
    }
    Ok(out)
}

/// `next: [P, …]` sends each payload; any other value is one payload.
fn items(value: &TValue) -> Vec<TValue> {
    match value {
        TValue::Literal(Value::Array(items)) => {
            items.iter().cloned().map(TValue::Literal).collect()
        }
        TValue::Array(items) => items.clone(),
        one => vec![one.clone()],
    }
}

/// An `error` payload is a list of GraphQL errors: one error alone is put in a list.
fn error_list(value: &TValue) -> TValue {
    match value {
        TValue::Literal(Value::Object(_)) | TValue::Object(_) => TValue::Array(vec![value.clone()]),
        list => list.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::Scope;

    fn reply(yaml: &str) -> MockReply {
        serde_saphyr::from_str(yaml).unwrap()
    }

    fn spelled(yaml: &str, incoming: Value) -> Vec<Value> {
        let scope = Scope {
            message: Some(&incoming),
            ..Scope::default()
        };
        spell_out(&reply(yaml))
            .unwrap()
            .iter()
            .map(|r| r.json.as_ref().unwrap().expand(&scope).unwrap())
            .collect()
    }

    #[test]
    fn next_items_then_complete_carry_the_subscription_id() {
        let got = spelled(
            "{ next: [ { data: { n: 1 } }, { data: { n: '{{ message.payload.query }}' } } ], complete: true }",
            json!({ "id": "s1", "type": "subscribe", "payload": { "query": "q" } }),
        );
        assert_eq!(
            got,
            [
                json!({ "id": "s1", "type": "next", "payload": { "data": { "n": 1 } } }),
                json!({ "id": "s1", "type": "next", "payload": { "data": { "n": "q" } } }),
                json!({ "id": "s1", "type": "complete" }),
            ]
        );
    }

    #[test]
    fn one_error_is_sent_as_a_list() {
        let got = spelled("{ error: { message: boom } }", json!({ "id": "e" }));
        assert_eq!(
            got,
            [json!({ "id": "e", "type": "error", "payload": [{ "message": "boom" }] })]
        );
    }

    #[test]
    fn the_delay_comes_before_the_first_message_only() {
        let out = spell_out(&reply("{ next: [1, 2], delay: 50ms }")).unwrap();
        let delays: Vec<bool> = out.iter().map(|r| r.delay.is_some()).collect();
        assert_eq!(delays, [true, false]);
    }

    fn conversation(refuse: Option<u16>) -> (GraphqlWs, Vec<Answer>) {
        (GraphqlWs { refuse, ping: true }, Vec::new())
    }

    fn texts(out: &[Answer]) -> Vec<String> {
        out.iter().map(|a| a.message.to_string()).collect()
    }

    #[test]
    fn init_is_acked_then_pinged_and_subscribe_reaches_the_rules() {
        let (speaker, mut out) = conversation(None);
        let mut s = speaker.session();
        let init = Message::text(r#"{"type":"connection_init"}"#);
        assert!(s.receive(&init, &mut out).is_none());
        assert_eq!(
            texts(&out),
            [r#"{"type":"connection_ack"}"#, r#"{"type":"ping"}"#]
        );
        let subscribe = Message::text(r#"{"id":"1","type":"subscribe","payload":{"query":"q"}}"#);
        assert_eq!(s.receive(&subscribe, &mut out).unwrap()["id"], "1");
        out.clear();
        assert!(s.receive(&init, &mut out).is_none());
        assert!(matches!(&out[0].message, Message::Close(Some(f)) if u16::from(f.code) == 4429));
    }

    #[test]
    fn a_refused_init_closes_with_the_code_and_its_reason() {
        let (speaker, mut out) = conversation(Some(4403));
        let mut s = speaker.session();
        s.receive(&Message::text(r#"{"type":"connection_init"}"#), &mut out);
        let Message::Close(Some(frame)) = &out[0].message else {
            panic!("not a close: {}", out[0].message)
        };
        assert_eq!(
            (u16::from(frame.code), frame.reason.as_str()),
            (4403, "Forbidden")
        );
    }

    #[test]
    fn subscribe_before_the_ack_is_unauthorized_and_garbage_a_bad_request() {
        let (speaker, mut out) = conversation(None);
        let mut s = speaker.session();
        let early = Message::text(r#"{"id":"1","type":"subscribe","payload":{"query":"q"}}"#);
        assert!(s.receive(&early, &mut out).is_none());
        s.receive(&Message::text("hello"), &mut out);
        let codes: Vec<u16> = out
            .iter()
            .filter_map(|a| match &a.message {
                Message::Close(Some(f)) => Some(u16::from(f.code)),
                _ => None,
            })
            .collect();
        assert_eq!(codes, [4401, 4400]);
    }
}
