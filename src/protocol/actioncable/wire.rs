//! Action Cable's JSON protocol (`actioncable-v1-json`): the client sends commands
//! `{"command", "identifier", "data"?}` whose `identifier` is a channel's params as JSON *text*
//! (`{"channel":"ChatChannel","room":"1"}`) and whose `data` is JSON text too; the server sends
//! `{"type": "welcome" | "ping" | "disconnect" | "confirm_subscription" |
//! "reject_subscription", …}` or a broadcast `{"identifier", "message"}`.

use serde_json::{Map, Value};

use crate::report::truncate;

/// The subprotocol Rails answers; `actioncable-unsupported` is asked for after it, as the
/// official client does, so that a server that speaks neither can say so.
pub const SUBPROTOCOLS: [&str; 2] = ["actioncable-v1-json", "actioncable-unsupported"];

/// How much of an offending frame an error quotes.
const QUOTE: usize = 160;

/// A channel's identifier as Rails and the official client write it: `channel` first, then
/// the params in their order, as one JSON text.
pub fn identifier(channel: &str, params: &Map<String, Value>) -> String {
    let mut all = Map::new();
    all.insert("channel".into(), Value::String(channel.into()));
    for (k, v) in params {
        if k != "channel" {
            all.insert(k.clone(), v.clone());
        }
    }
    Value::Object(all).to_string()
}

/// An identifier read back: its channel and the other params. `who` (`server`, `client`)
/// names the sender in the error.
pub fn channel_of(identifier: &str, who: &str) -> Result<(String, Map<String, Value>), String> {
    let bad = || {
        format!(
            "the {who} sent an Action Cable identifier that is not the JSON text of an object with a `channel`: {}",
            truncate(identifier, QUOTE)
        )
    };
    let Ok(Value::Object(mut params)) = serde_json::from_str(identifier) else {
        return Err(bad());
    };
    let Some(Value::String(channel)) = params.shift_remove("channel") else {
        return Err(bad());
    };
    Ok((channel, params))
}

/// A frame as an Action Cable message (a JSON object); the error names Action Cable.
pub fn object(text: &str, who: &str) -> Result<Map<String, Value>, String> {
    match serde_json::from_str(text) {
        Ok(Value::Object(fields)) => Ok(fields),
        _ => Err(format!(
            "the {who} sent a frame that is not an Action Cable message (a JSON object): {}",
            truncate(text, QUOTE)
        )),
    }
}

/// A message's `identifier` as `{channel, params}` in `envelope`, if it has one.
pub fn decode_identifier(
    fields: &mut Map<String, Value>,
    envelope: &mut Map<String, Value>,
    who: &str,
) -> Result<(), String> {
    match fields.shift_remove("identifier") {
        None => Ok(()),
        Some(Value::String(id)) => {
            let (channel, params) = channel_of(&id, who)?;
            envelope.insert("channel".into(), Value::String(channel));
            envelope.insert("params".into(), Value::Object(params));
            Ok(())
        }
        Some(other) => Err(format!(
            "the {who} sent an Action Cable identifier that is not a string: {}",
            truncate(&other.to_string(), QUOTE)
        )),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn identifiers_are_written_as_rails_guides_show_them() {
        // The Action Cable guide: `consumer.subscriptions.create({ channel: "ChatChannel",
        // room: "Best Room" })` subscribes with this identifier.
        let params = json!({"room": "Best Room"});
        let id = identifier("ChatChannel", params.as_object().unwrap());
        assert_eq!(id, r#"{"channel":"ChatChannel","room":"Best Room"}"#);
        let (channel, back) = channel_of(&id, "server").unwrap();
        assert_eq!(
            (channel.as_str(), Value::Object(back)),
            ("ChatChannel", params)
        );
    }

    #[test]
    fn an_identifier_that_is_not_json_names_action_cable() {
        assert_eq!(
            channel_of("ChatChannel", "server").unwrap_err(),
            "the server sent an Action Cable identifier that is not the JSON text of an object with a `channel`: ChatChannel"
        );
        assert!(channel_of(r#"{"room":1}"#, "client").is_err());
        assert_eq!(
            object("[1]", "server").unwrap_err(),
            "the server sent a frame that is not an Action Cable message (a JSON object): [1]"
        );
    }
}
