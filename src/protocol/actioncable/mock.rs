//! The mock's side of an Action Cable connection, one per client: `welcome` on connecting, a
//! ping every [`PING_EVERY`] (as Rails sends them), a `subscribe` no rule answers confirmed,
//! and `unsubscribe` forgotten. Rules see `{command, channel, params, action?, data?}` (the
//! identifier and the data decoded); their `json` replies are `{type: reject_subscription}` /
//! `{type: confirm_subscription}` for the command's subscription, `{message}` broadcast on its
//! channel (or on `{channel, params}`), or anything with a `type` (`disconnect`) as it is. A
//! frame that is not an Action Cable command closes the connection with 1007 (invalid data).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::wire;
use crate::mock::protocol::{Answer, Session, Speaker};
use crate::protocol::phoenix::mock::refuse;

/// An Action Cable server: a [`Cable`] per client, and its pings.
pub(crate) struct Server;

impl Speaker for Server {
    fn session(&self) -> Box<dyn Session + '_> {
        Box::new(Client {
            cable: Cable::default(),
            next_ping: Instant::now() + PING_EVERY,
        })
    }

    fn subprotocols(&self) -> &'static [&'static str] {
        // Rails agrees to the JSON protocol only; `actioncable-unsupported` is the client's
        // way to learn that a server speaks none it knows.
        &wire::SUBPROTOCOLS[..1]
    }
}

/// One client's connection, and when its next ping is due.
struct Client {
    cable: Cable,
    next_ping: Instant,
}

impl Session for Client {
    fn greet(&mut self, out: &mut Vec<Answer>) {
        out.push(Answer::now(Message::text(welcome())));
    }

    fn receive(&mut self, frame: &Message, out: &mut Vec<Answer>) -> Option<Value> {
        let Message::Text(text) = frame else {
            return None;
        };
        match self.cable.receive(text.as_str()) {
            Heard::Envelope(v) => Some(v),
            Heard::Broken(why) => {
                out.push(refuse(&why));
                None
            }
        }
    }

    fn encode(&mut self, envelope: Value) -> Vec<Message> {
        vec![Message::text(self.cable.encode(envelope))]
    }

    fn answer(&mut self, _envelope: &Value, out: &mut Vec<Answer>) {
        out.extend(self.cable.answer().map(|f| Answer::now(Message::text(f))));
    }

    fn next_tick(&self) -> Option<Instant> {
        Some(self.next_ping)
    }

    fn tick(&mut self, out: &mut Vec<Answer>) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        out.push(Answer::now(Message::text(ping(now.as_secs()))));
        self.next_ping = Instant::now() + PING_EVERY;
    }
}

/// How often Rails pings its clients.
pub const PING_EVERY: Duration = Duration::from_secs(3);

/// One client's connection on the mock.
#[derive(Default)]
pub struct Cable {
    /// The identifier of the last command a rule could match: what a reply answers.
    last: Option<String>,
    /// The last command, for [`Cable::answer`].
    last_command: Option<String>,
}

/// What the mock makes of one frame from the client.
pub enum Heard {
    /// For the rules: the command's envelope.
    Envelope(Value),
    /// Not an Action Cable command: why (the mock closes the connection).
    Broken(String),
}

/// The first frame: `{"type":"welcome"}`.
pub fn welcome() -> String {
    json!({"type": "welcome"}).to_string()
}

/// A ping, with the time as Rails sends it (seconds since the epoch).
pub fn ping(unix_seconds: u64) -> String {
    json!({"type": "ping", "message": unix_seconds}).to_string()
}

impl Cable {
    /// A frame from the client.
    pub fn receive(&mut self, text: &str) -> Heard {
        match self.command(text) {
            Ok(v) => Heard::Envelope(v),
            Err(why) => Heard::Broken(why),
        }
    }

    fn command(&mut self, text: &str) -> Result<Value, String> {
        let mut fields = wire::object(text, "client")?;
        let mut envelope = Map::new();
        if let Some(command) = fields.shift_remove("command") {
            self.last_command = command.as_str().map(str::to_string);
            envelope.insert("command".into(), command);
        }
        self.last = fields
            .get("identifier")
            .and_then(Value::as_str)
            .map(str::to_string);
        wire::decode_identifier(&mut fields, &mut envelope, "client")?;
        if let Some(data) = fields.shift_remove("data") {
            let Some(Ok(Value::Object(mut data))) =
                data.as_str().map(serde_json::from_str::<Value>)
            else {
                return Err(format!(
                    "the client sent Action Cable `data` that is not the JSON text of an object: {data}"
                ));
            };
            if let Some(action) = data.shift_remove("action") {
                envelope.insert("action".into(), action);
            }
            envelope.insert("data".into(), Value::Object(data));
        }
        envelope.extend(fields);
        Ok(Value::Object(envelope))
    }

    /// A rule's reply as a frame.
    pub fn encode(&mut self, envelope: Value) -> String {
        let Value::Object(mut fields) = envelope else {
            // A rule's reply that is no object goes out as it is: the rule's author asked.
            return envelope.to_string();
        };
        let named = match (
            fields.shift_remove("channel"),
            fields.shift_remove("params"),
        ) {
            (Some(Value::String(channel)), params) => {
                let params = match params {
                    Some(Value::Object(p)) => p,
                    _ => Map::new(),
                };
                Some(wire::identifier(&channel, &params))
            }
            _ => None,
        };
        let kind = fields.get("type").and_then(Value::as_str);
        let subscription_answer =
            matches!(kind, Some("confirm_subscription" | "reject_subscription"));
        if kind.is_none() || subscription_answer {
            if let Some(id) = named.or_else(|| self.last.clone()) {
                let mut frame = Map::new();
                frame.insert("identifier".into(), Value::String(id));
                frame.extend(fields);
                return Value::Object(frame).to_string();
            }
        }
        Value::Object(fields).to_string()
    }

    /// Action Cable's own answer to a command no rule answered: a subscription is confirmed.
    pub fn answer(&mut self) -> Option<String> {
        match (self.last_command.as_deref(), &self.last) {
            (Some("subscribe"), Some(id)) => {
                Some(json!({"identifier": id, "type": "confirm_subscription"}).to_string())
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUBSCRIBE: &str =
        r#"{"command":"subscribe","identifier":"{\"channel\":\"ChatChannel\",\"room\":\"1\"}"}"#;

    fn envelope(c: &mut Cable, text: &str) -> Value {
        match c.receive(text) {
            Heard::Envelope(v) => v,
            Heard::Broken(why) => panic!("{why}"),
        }
    }

    #[test]
    fn a_subscribe_no_rule_answers_is_confirmed() {
        let mut c = Cable::default();
        assert_eq!(
            envelope(&mut c, SUBSCRIBE),
            json!({"command": "subscribe", "channel": "ChatChannel", "params": {"room": "1"}})
        );
        assert_eq!(
            c.answer().unwrap(),
            r#"{"identifier":"{\"channel\":\"ChatChannel\",\"room\":\"1\"}","type":"confirm_subscription"}"#
        );
    }

    #[test]
    fn rules_see_the_action_and_data_and_reply_on_the_channel() {
        let mut c = Cable::default();
        let perform = r#"{"command":"message","identifier":"{\"channel\":\"ChatChannel\"}","data":"{\"body\":\"hi\",\"action\":\"speak\"}"}"#;
        assert_eq!(
            envelope(&mut c, perform),
            json!({"command": "message", "channel": "ChatChannel", "params": {}, "action": "speak", "data": {"body": "hi"}})
        );
        assert_eq!(c.answer(), None);
        assert_eq!(
            c.encode(json!({"message": {"body": "hi"}})),
            r#"{"identifier":"{\"channel\":\"ChatChannel\"}","message":{"body":"hi"}}"#
        );
        assert_eq!(
            c.encode(json!({"type": "reject_subscription"})),
            r#"{"identifier":"{\"channel\":\"ChatChannel\"}","type":"reject_subscription"}"#
        );
        assert_eq!(
            c.encode(json!({"type": "disconnect", "reason": "unauthorized"})),
            r#"{"type":"disconnect","reason":"unauthorized"}"#
        );
    }

    #[test]
    fn broken_commands_are_named() {
        let mut c = Cable::default();
        let Heard::Broken(why) = c.receive(r#"{"command":"subscribe","identifier":"Chat"}"#) else {
            panic!("accepted")
        };
        assert_eq!(why, "the client sent an Action Cable identifier that is not the JSON text of an object with a `channel`: Chat");
        let Heard::Broken(why) =
            c.receive(r#"{"command":"message","identifier":"{\"channel\":\"C\"}","data":"x"}"#)
        else {
            panic!("accepted")
        };
        assert_eq!(
            why,
            r#"the client sent Action Cable `data` that is not the JSON text of an object: "x""#
        );
        assert_eq!(welcome(), r#"{"type":"welcome"}"#);
        assert_eq!(ping(5), r#"{"type":"ping","message":5}"#);
    }
}
