//! The mock's side of a Phoenix socket, one per client: heart-beats are answered, a
//! `phx_join` no rule answers is accepted (`{status: ok, response: {}}`), a `phx_leave` gets
//! its reply and the channel's `phx_close`, and a push to a topic the client has not joined
//! gets Phoenix's own `unmatched topic` error. Rules see `{topic, event, payload, ref}`; their
//! `json` replies are `{event, payload, topic?}`: a `phx_reply` answers the message the rule
//! matched (its ref, join_ref and topic), anything else is pushed on the topic. A frame that
//! is not a Phoenix message closes the socket with 1007 (invalid data), as Phoenix drops it.

use std::collections::HashMap;

use serde_json::{json, Map, Value};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

use super::wire::{self, Msg};
use crate::mock::protocol::{Answer, Session, Speaker};

/// A Phoenix endpoint: a [`Channels`] per client.
pub(crate) struct Endpoint;

impl Speaker for Endpoint {
    fn session(&self) -> Box<dyn Session + '_> {
        Box::new(Channels::default())
    }
}

impl Session for Channels {
    fn receive(&mut self, frame: &Message, out: &mut Vec<Answer>) -> Option<Value> {
        let Message::Text(text) = frame else {
            return None;
        };
        match Channels::receive(self, text.as_str()) {
            Heard::Envelope(v) => Some(v),
            Heard::Answered(frames) => {
                out.extend(frames.into_iter().map(|f| Answer::now(Message::text(f))));
                None
            }
            Heard::Broken(why) => {
                out.push(refuse(&why));
                None
            }
        }
    }

    fn encode(&mut self, envelope: Value) -> Vec<Message> {
        vec![Message::text(Channels::encode(self, envelope))]
    }

    fn answer(&mut self, _envelope: &Value, out: &mut Vec<Answer>) {
        let frames = Channels::answer(self);
        out.extend(frames.into_iter().map(|f| Answer::now(Message::text(f))));
    }
}

/// The close of a client that sent something else than the protocol: 1007, with the start of
/// why (a close frame's reason holds 123 bytes).
pub(crate) fn refuse(why: &str) -> Answer {
    let mut reason = why.to_string();
    if reason.len() > 123 {
        let mut cut = 120;
        while !reason.is_char_boundary(cut) {
            cut -= 1;
        }
        reason.truncate(cut);
        reason.push('…');
    }
    Answer::now(Message::Close(Some(CloseFrame {
        code: CloseCode::Invalid,
        reason: reason.into(),
    })))
}

/// One client's socket on the mock.
#[derive(Default)]
pub struct Channels {
    /// The join_ref of every topic this client joined.
    joined: HashMap<String, String>,
    /// The last message a rule could match: what a `phx_reply` answers.
    last: Option<Msg>,
}

/// What the mock makes of one frame from the client.
pub enum Heard {
    /// For the rules: the message's envelope.
    Envelope(Value),
    /// Answered by the protocol itself (a heart-beat): these frames go back.
    Answered(Vec<String>),
    /// Not a Phoenix message: why (the mock closes the socket, as Phoenix does).
    Broken(String),
}

impl Channels {
    /// A frame from the client.
    pub fn receive(&mut self, text: &str) -> Heard {
        let msg = match wire::decode(text) {
            Ok(msg) => msg,
            Err(why) => return Heard::Broken(why.replace("the server", "the client")),
        };
        if msg.topic == wire::SOCKET_TOPIC && msg.event == wire::HEARTBEAT {
            return Heard::Answered(vec![reply(&msg, "ok", json!({})).encode()]);
        }
        let envelope = msg.envelope();
        self.last = Some(msg);
        Heard::Envelope(envelope)
    }

    /// A rule's reply `{event, payload, topic?}` as a frame.
    pub fn encode(&mut self, envelope: Value) -> String {
        let Value::Object(mut fields) = envelope else {
            // A rule's reply that is no object goes out as it is: the rule's author asked.
            return envelope.to_string();
        };
        let mut text = |key: &str| match fields.remove(key) {
            Some(Value::String(s)) => Some(s),
            _ => None,
        };
        let event = text("event").unwrap_or_default();
        let topic = text("topic");
        let payload = fields
            .remove("payload")
            .unwrap_or_else(|| Value::Object(Map::new()));
        let last = self.last.as_ref();
        if event == wire::REPLY {
            let answered = last.cloned().unwrap_or(Msg {
                join_ref: None,
                r#ref: None,
                topic: String::new(),
                event: String::new(),
                payload: Value::Null,
            });
            let status = payload.get("status").and_then(Value::as_str);
            if answered.event == wire::JOIN && status == Some("ok") {
                self.joined.insert(
                    answered.topic.clone(),
                    answered.r#ref.clone().unwrap_or_default(),
                );
            }
            return Msg {
                topic: topic.unwrap_or(answered.topic.clone()),
                event,
                payload,
                ..answered
            }
            .encode();
        }
        let topic = topic
            .or_else(|| last.map(|m| m.topic.clone()))
            .unwrap_or_default();
        Msg {
            join_ref: self.joined.get(&topic).cloned(),
            r#ref: None,
            topic,
            event,
            payload,
        }
        .encode()
    }

    /// Phoenix's own answer to a message no rule answered.
    pub fn answer(&mut self) -> Vec<String> {
        let Some(msg) = self.last.clone() else {
            return Vec::new();
        };
        match msg.event.as_str() {
            wire::JOIN => {
                self.joined
                    .insert(msg.topic.clone(), msg.r#ref.clone().unwrap_or_default());
                vec![reply(&msg, "ok", json!({})).encode()]
            }
            _ if !self.joined.contains_key(&msg.topic) => {
                vec![reply(&msg, "error", json!({"reason": "unmatched topic"})).encode()]
            }
            wire::LEAVE => {
                let join_ref = self.joined.remove(&msg.topic);
                let close = Msg {
                    join_ref: join_ref.clone(),
                    r#ref: join_ref,
                    topic: msg.topic.clone(),
                    event: wire::CLOSE.into(),
                    payload: json!({}),
                };
                vec![reply(&msg, "ok", json!({})).encode(), close.encode()]
            }
            _ => Vec::new(),
        }
    }
}

/// The `phx_reply` to `msg`.
fn reply(msg: &Msg, status: &str, response: Value) -> Msg {
    Msg {
        join_ref: msg.join_ref.clone(),
        r#ref: msg.r#ref.clone(),
        topic: msg.topic.clone(),
        event: wire::REPLY.into(),
        payload: json!({"status": status, "response": response}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(c: &mut Channels, text: &str) -> Value {
        match c.receive(text) {
            Heard::Envelope(v) => v,
            _ => panic!("not for the rules: {text}"),
        }
    }

    #[test]
    fn a_join_no_rule_answers_is_accepted_and_a_leave_closes_the_channel() {
        let mut c = Channels::default();
        envelope(&mut c, r#"["1","1","room:1","phx_join",{}]"#);
        assert_eq!(
            c.answer(),
            [r#"["1","1","room:1","phx_reply",{"status":"ok","response":{}}]"#]
        );
        envelope(&mut c, r#"["1","2","room:1","phx_leave",{}]"#);
        assert_eq!(
            c.answer(),
            [
                r#"["1","2","room:1","phx_reply",{"status":"ok","response":{}}]"#,
                r#"["1","1","room:1","phx_close",{}]"#
            ]
        );
    }

    #[test]
    fn a_push_to_a_topic_not_joined_gets_unmatched_topic() {
        let mut c = Channels::default();
        envelope(&mut c, r#"[null,"3","room:9","shout",{}]"#);
        assert_eq!(
            c.answer(),
            [
                r#"[null,"3","room:9","phx_reply",{"status":"error","response":{"reason":"unmatched topic"}}]"#
            ]
        );
    }

    #[test]
    fn heart_beats_are_answered_and_broken_frames_named() {
        let mut c = Channels::default();
        let Heard::Answered(out) = c.receive(r#"[null,"7","phoenix","heartbeat",{}]"#) else {
            panic!("a heart-beat goes to the rules")
        };
        assert_eq!(
            out,
            [r#"[null,"7","phoenix","phx_reply",{"status":"ok","response":{}}]"#]
        );
        let Heard::Broken(why) = c.receive(r#"{"event":"x"}"#) else {
            panic!("an object passed")
        };
        assert!(
            why.starts_with("the client sent a frame that is not a Phoenix message (not an array;"),
            "{why}"
        );
    }

    #[test]
    fn a_rules_reply_answers_the_matched_push_and_other_events_are_pushed_on_its_topic() {
        let mut c = Channels::default();
        envelope(&mut c, r#"["1","1","room:1","phx_join",{}]"#);
        let refused = c.encode(json!({"event": "phx_reply", "payload": {"status": "error", "response": {"reason": "denied"}}}));
        assert_eq!(
            refused,
            r#"["1","1","room:1","phx_reply",{"status":"error","response":{"reason":"denied"}}]"#
        );
        envelope(&mut c, r#"["1","2","room:1","phx_join",{}]"#);
        c.encode(json!({"event": "phx_reply", "payload": {"status": "ok", "response": {}}}));
        envelope(&mut c, r#"["2","3","room:1","shout",{"b":1}]"#);
        assert_eq!(
            c.encode(json!({"event": "shout", "payload": {"b": 1}})),
            r#"["2",null,"room:1","shout",{"b":1}]"#
        );
    }
}
