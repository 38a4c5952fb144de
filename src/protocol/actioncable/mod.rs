//! `protocol: actioncable` (Rails Action Cable): asks for the subprotocol
//! `actioncable-v1-json`, waits for the server's `welcome`, absorbs its pings, and fails the
//! connection with the reason of a `disconnect`. Every other message reaches the steps as an
//! envelope with its identifier decoded: a broadcast is `{channel, params, message}`, a
//! subscription's answer `{type, channel, params}`. Steps send envelopes
//! `{command, channel, params?, action?, data?}`, written as the official client writes them.

pub(crate) mod mock;
pub(crate) mod run;
pub mod wire;
pub mod yaml;

/// Its reference page.
pub const DOCS: &str = "docs/protocols/actioncable.md";

/// Its own steps (`subscribe` with a `channel`; other protocols have `subscribe` too).
pub const STEPS: &[&str] = &["subscribe", "perform"];

/// The client side (Action Cable has no options).
pub fn client() -> Box<dyn Protocol> {
    Box::new(ActionCable::default())
}

/// A mock's side: an Action Cable server.
pub(crate) fn mock(
    _def: &crate::collection::MockDef,
) -> Result<Box<dyn crate::mock::protocol::Speaker>, String> {
    Ok(Box::new(mock::Server))
}

use serde_json::{json, Map, Value};
use tokio_tungstenite::tungstenite::Message;

use super::{Decoded, Incoming, Protocol};

/// One Action Cable connection.
#[derive(Default)]
pub struct ActionCable {
    welcomed: bool,
    /// The identifier of every subscription sent, by channel, latest last: what a command
    /// naming only the channel means.
    subscribed: Vec<(String, String)>,
}

impl ActionCable {
    /// The identifier a command names: the one its params make, else the channel's latest
    /// subscription's, else the channel alone.
    fn identifier(&self, channel: &str, params: Option<&Map<String, Value>>) -> String {
        if let Some(params) = params {
            return wire::identifier(channel, params);
        }
        let latest = self.subscribed.iter().rev().find(|(c, _)| c == channel);
        latest.map_or_else(
            || wire::identifier(channel, &Map::new()),
            |(_, id)| id.clone(),
        )
    }

    /// A step's command in envelope form, as the frame the official client sends.
    fn command(&mut self, envelope: Value) -> Result<Value, String> {
        let shape = "an Action Cable command is `{command, channel, params, action, data}`";
        let Value::Object(mut fields) = envelope else {
            return Err(format!("{shape}, not {envelope}"));
        };
        // A command written as it goes on the wire goes out as it is.
        if fields.contains_key("identifier") {
            return Ok(Value::Object(fields));
        }
        let text = |v: Option<Value>, key: &str| match v {
            Some(Value::String(s)) => Ok(Some(s)),
            None => Ok(None),
            Some(other) => Err(format!(
                "{shape}: its `{key}` must be a string, not {other}"
            )),
        };
        let command = text(fields.shift_remove("command"), "command")?
            .ok_or_else(|| format!("{shape}: it has no `command`"))?;
        let channel = text(fields.shift_remove("channel"), "channel")?
            .ok_or_else(|| format!("{shape}: it has no `channel`"))?;
        let params = match fields.shift_remove("params") {
            None | Some(Value::Null) => None,
            Some(Value::Object(p)) => Some(p),
            Some(other) => return Err(format!("{shape}: its `params` must be a map, not {other}")),
        };
        let identifier = self.identifier(&channel, params.as_ref());
        let action = text(fields.shift_remove("action"), "action")?;
        let data = fields.shift_remove("data");
        if let Some(key) = fields.keys().next() {
            return Err(format!("{shape}: `{key}` is none of its fields"));
        }
        if command == "subscribe" {
            self.subscribed.push((channel, identifier.clone()));
        }
        let mut frame = json!({"command": command, "identifier": identifier});
        if action.is_some() || data.is_some() {
            // As `perform(action, data)` does: the action is one more field of the data.
            let mut data = match data {
                None | Some(Value::Null) => Map::new(),
                Some(Value::Object(d)) => d,
                Some(other) => {
                    return Err(format!("{shape}: its `data` must be a map, not {other}"))
                }
            };
            if let Some(action) = action {
                data.insert("action".into(), Value::String(action));
            }
            frame["data"] = Value::String(Value::Object(data).to_string());
        }
        Ok(frame)
    }
}

impl Protocol for ActionCable {
    fn name(&self) -> &'static str {
        "actioncable"
    }

    fn prepare(&self, _url: &mut String, subprotocols: &mut Vec<String>) -> Result<(), String> {
        for p in wire::SUBPROTOCOLS {
            if !subprotocols.iter().any(|s| s == p) {
                subprotocols.push(p.to_string());
            }
        }
        Ok(())
    }

    fn pending(&self) -> Option<String> {
        (!self.welcomed).then(|| "`welcome`".to_string())
    }

    fn decode(&mut self, frame: Incoming, _out: &mut Vec<Message>) -> Decoded {
        let text = match &frame {
            Incoming::Text(t) => t.as_str(),
            Incoming::Binary(_) | Incoming::Envelope(_) => return Decoded::Message(frame),
        };
        let mut fields = match wire::object(text, "server") {
            Ok(fields) => fields,
            Err(why) => return Decoded::Failed(why),
        };
        let kind = fields
            .get("type")
            .and_then(Value::as_str)
            .map(str::to_string);
        match kind.as_deref() {
            Some("welcome") => {
                self.welcomed = true;
                return Decoded::Absorbed;
            }
            Some("ping") => return Decoded::Absorbed,
            Some("disconnect") => return Decoded::Failed(disconnected(&fields)),
            _ if !self.welcomed => {
                return Decoded::Failed(format!(
                    "the server sent {} before its Action Cable `welcome`",
                    crate::report::truncate(text, 160)
                ))
            }
            _ => {}
        }
        let mut envelope = Map::new();
        if let Some(kind) = fields.shift_remove("type") {
            envelope.insert("type".into(), kind);
        }
        if let Err(why) = wire::decode_identifier(&mut fields, &mut envelope, "server") {
            return Decoded::Failed(why);
        }
        envelope.extend(fields);
        Decoded::Message(Incoming::Envelope(Value::Object(envelope)))
    }

    fn sends_json_as_is(&self) -> bool {
        false
    }

    fn encode(&mut self, envelope: Value, out: &mut Vec<Message>) -> Result<(), String> {
        out.push(Message::text(self.command(envelope)?.to_string()));
        Ok(())
    }
}

/// A `disconnect` in words: `the server disconnected (Action Cable `disconnect`, reason
/// "unauthorized", reconnect: false)`.
fn disconnected(fields: &Map<String, Value>) -> String {
    let reason = match fields.get("reason") {
        Some(Value::String(r)) => format!("reason \"{r}\""),
        _ => "no reason given".into(),
    };
    let reconnect = match fields.get("reconnect") {
        Some(Value::Bool(b)) => format!(", reconnect: {b}"),
        _ => String::new(),
    };
    format!("the server disconnected (Action Cable `disconnect`, {reason}{reconnect})")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(frame: &str) -> Incoming {
        Incoming::Text(frame.to_string().into())
    }

    fn welcomed() -> ActionCable {
        let mut c = ActionCable::default();
        assert_eq!(c.pending().as_deref(), Some("`welcome`"));
        let d = c.decode(text(r#"{"type":"welcome"}"#), &mut Vec::new());
        assert!(matches!(d, Decoded::Absorbed));
        assert_eq!(c.pending(), None);
        c
    }

    fn encoded(c: &mut ActionCable, envelope: Value) -> String {
        let mut out = Vec::new();
        c.encode(envelope, &mut out).unwrap();
        out[0].to_text().unwrap().to_string()
    }

    #[test]
    fn it_asks_for_the_official_subprotocols() {
        let mut subprotocols = Vec::new();
        ActionCable::default()
            .prepare(&mut String::new(), &mut subprotocols)
            .unwrap();
        assert_eq!(
            subprotocols,
            ["actioncable-v1-json", "actioncable-unsupported"]
        );
    }

    #[test]
    fn subscribe_and_perform_are_written_as_the_official_client_writes_them() {
        let mut c = welcomed();
        let sub =
            json!({"command": "subscribe", "channel": "ChatChannel", "params": {"room": "1"}});
        assert_eq!(
            encoded(&mut c, sub),
            r#"{"command":"subscribe","identifier":"{\"channel\":\"ChatChannel\",\"room\":\"1\"}"}"#
        );
        let perform = json!({"command": "message", "channel": "ChatChannel", "action": "speak", "data": {"body": "hi"}});
        assert_eq!(
            encoded(&mut c, perform),
            r#"{"command":"message","identifier":"{\"channel\":\"ChatChannel\",\"room\":\"1\"}","data":"{\"body\":\"hi\",\"action\":\"speak\"}"}"#
        );
    }

    #[test]
    fn pings_are_absorbed_and_broadcasts_decoded() {
        let mut c = welcomed();
        let ping = text(r#"{"type":"ping","message":1700000000}"#);
        assert!(matches!(c.decode(ping, &mut Vec::new()), Decoded::Absorbed));
        let broadcast = text(
            r#"{"identifier":"{\"channel\":\"ChatChannel\",\"room\":\"1\"}","message":{"body":"hi"}}"#,
        );
        let Decoded::Message(Incoming::Envelope(v)) = c.decode(broadcast, &mut Vec::new()) else {
            panic!("not an envelope")
        };
        assert_eq!(
            v,
            json!({"channel": "ChatChannel", "params": {"room": "1"}, "message": {"body": "hi"}})
        );
        let confirm =
            text(r#"{"identifier":"{\"channel\":\"ChatChannel\"}","type":"confirm_subscription"}"#);
        let Decoded::Message(Incoming::Envelope(v)) = c.decode(confirm, &mut Vec::new()) else {
            panic!("not an envelope")
        };
        assert_eq!(
            v,
            json!({"type": "confirm_subscription", "channel": "ChatChannel", "params": {}})
        );
    }

    #[test]
    fn disconnect_and_broken_frames_fail_naming_action_cable() {
        let mut c = ActionCable::default();
        let d = c.decode(
            text(r#"{"type":"disconnect","reason":"unauthorized","reconnect":false}"#),
            &mut Vec::new(),
        );
        let Decoded::Failed(why) = d else {
            panic!("{d:?}")
        };
        assert_eq!(
            why,
            "the server disconnected (Action Cable `disconnect`, reason \"unauthorized\", reconnect: false)"
        );
        let mut c = welcomed();
        let d = c.decode(
            text(r#"{"identifier":"ChatChannel","message":1}"#),
            &mut Vec::new(),
        );
        let Decoded::Failed(why) = d else {
            panic!("{d:?}")
        };
        assert_eq!(why, "the server sent an Action Cable identifier that is not the JSON text of an object with a `channel`: ChatChannel");
        let d = c.decode(text("hello"), &mut Vec::new());
        assert!(
            matches!(d, Decoded::Failed(w) if w == "the server sent a frame that is not an Action Cable message (a JSON object): hello")
        );
    }

    #[test]
    fn a_message_before_welcome_fails_the_handshake() {
        let mut c = ActionCable::default();
        let d = c.decode(text(r#"{"message":1}"#), &mut Vec::new());
        assert!(
            matches!(d, Decoded::Failed(w) if w == r#"the server sent {"message":1} before its Action Cable `welcome`"#)
        );
    }
}
