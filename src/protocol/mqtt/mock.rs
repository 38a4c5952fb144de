//! A `protocol: mqtt` mock: the broker of `broker.rs` behind the mock's WebSocket server. Each
//! client's binary frames go through its broker session; the PUBLISH packets it sends are the
//! envelopes `on:` rules see (`{topic, payload, qos, retain}`, the first of a frame), and a
//! rule's `json` reply is a PUBLISH to that client (`{topic, json|text|binary, qos, retain}`).
//! A broken or unexpected packet closes the connection with 1002 and the reason.

use serde_json::Value;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

use super::broker::{self, Broker, End};
use super::{binary, envelope, SUBPROTOCOL};
use crate::collection::MockDef;
use crate::mock::protocol::{Answer, Session, Speaker};
use crate::template::TValue;

/// A close reason is at most 123 bytes (RFC 6455 §5.5).
const REASON_MAX: usize = 123;

/// What a mock of `protocol: mqtt` knows: its broker.
pub(crate) struct Mock {
    broker: Broker,
}

impl Mock {
    /// A mock for `def`; a rule's `json` reply must be a PUBLISH's envelope.
    pub(crate) fn compile(def: &MockDef) -> Result<Self, String> {
        for (i, rule) in def.on.iter().enumerate() {
            for (j, reply) in rule.value.reply.iter().enumerate() {
                let publish_like = match &reply.json {
                    None => true,
                    Some(TValue::Object(fields)) => fields.iter().any(|(k, _)| k == "topic"),
                    Some(TValue::Literal(v)) => envelope::outgoing(v).is_ok(),
                    Some(_) => false,
                };
                if !publish_like {
                    return Err(format!(
                        "rule {} reply {}: an MQTT mock replies with PUBLISH packets: `json: {{topic: T, json: …}}` (or `text`, `binary`; `qos`, `retain`)",
                        i + 1,
                        j + 1
                    ));
                }
            }
        }
        Ok(Self {
            broker: Broker::default(),
        })
    }
}

impl Speaker for Mock {
    fn session(&self) -> Box<dyn Session + '_> {
        let (to, inbound) = mpsc::unbounded_channel();
        Box::new(Client {
            session: self.broker.session(to),
            inbound: Some(inbound),
            ended: false,
        })
    }

    fn subprotocols(&self) -> &'static [&'static str] {
        &[SUBPROTOCOL]
    }
}

struct Client<'a> {
    session: broker::Session<'a>,
    inbound: Option<mpsc::UnboundedReceiver<Message>>,
    /// After a close: frames are ignored.
    ended: bool,
}

impl Client<'_> {
    fn close(&mut self, out: &mut Vec<Answer>, code: CloseCode, reason: &str) {
        let mut cut = reason.len().min(REASON_MAX);
        while !reason.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push(Answer::now(Message::Close(Some(CloseFrame {
            code,
            reason: reason[..cut].to_string().into(),
        }))));
        self.ended = true;
    }
}

impl Session for Client<'_> {
    fn receive(&mut self, frame: &Message, out: &mut Vec<Answer>) -> Option<Value> {
        if self.ended {
            return None;
        }
        let bytes = match frame {
            Message::Binary(b) => b,
            Message::Text(_) => {
                self.close(
                    out,
                    CloseCode::Protocol,
                    "MQTT packets travel in binary frames, not text",
                );
                return None;
            }
            _ => return None,
        };
        let (mut answers, mut published) = (Vec::new(), Vec::new());
        let result = self.session.receive(bytes, &mut answers, &mut published);
        out.extend(answers.into_iter().map(Answer::now));
        match result {
            Ok(()) => {}
            Err(End::Disconnected) => self.close(out, CloseCode::Normal, "DISCONNECT"),
            Err(End::Refused(why)) => self.close(out, CloseCode::Protocol, &why),
        }
        published.into_iter().next()
    }

    fn encode(&mut self, reply: Value) -> Vec<Message> {
        match envelope::outgoing(&reply) {
            Ok(packet) => vec![binary(&packet, self.session.version())],
            // Checked when the mock loads; a templated reply may still go wrong: send nothing.
            Err(_) => Vec::new(),
        }
    }

    fn inbound(&mut self) -> Option<mpsc::UnboundedReceiver<Message>> {
        self.inbound.take()
    }
}
