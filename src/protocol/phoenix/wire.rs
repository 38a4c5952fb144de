//! Phoenix Channels' JSON serializer, version 2.0.0: every message is one text frame holding
//! the array `[join_ref, ref, topic, event, payload]` (phoenix.js's `serializer.js`). `join_ref`
//! is the ref of the `phx_join` that opened the channel, `ref` the message's own (a reply
//! carries the ref of the push it answers); both are strings, or `null` for broadcasts.

use serde_json::{json, Value};

use crate::report::truncate;

/// How much of an offending frame an error quotes.
const QUOTE: usize = 160;

/// The serializer version phoenix.js announces in the URL (`?vsn=2.0.0`).
pub const VSN: &str = "2.0.0";

/// The topic of the socket's own messages (heart-beats).
pub const SOCKET_TOPIC: &str = "phoenix";

/// The events of the channel protocol itself.
pub const JOIN: &str = "phx_join";
pub const LEAVE: &str = "phx_leave";
pub const REPLY: &str = "phx_reply";
pub const CLOSE: &str = "phx_close";
pub const HEARTBEAT: &str = "heartbeat";

/// One Phoenix message.
#[derive(Debug, Clone, PartialEq)]
pub struct Msg {
    pub join_ref: Option<String>,
    pub r#ref: Option<String>,
    pub topic: String,
    pub event: String,
    pub payload: Value,
}

impl Msg {
    /// The text frame: `[join_ref, ref, topic, event, payload]`.
    pub fn encode(&self) -> String {
        json!([
            self.join_ref,
            self.r#ref,
            self.topic,
            self.event,
            self.payload
        ])
        .to_string()
    }

    /// What steps and mock rules see: `{topic, event, payload}`, and `ref` when the message
    /// has one (a reply names the push it answers by it).
    pub fn envelope(&self) -> Value {
        let mut v = json!({"topic": self.topic, "event": self.event, "payload": self.payload});
        if let Some(r) = &self.r#ref {
            v["ref"] = Value::String(r.clone());
        }
        v
    }

    /// A `phx_reply`'s `status` (`ok`, `error`), if this is one.
    #[cfg(test)]
    pub fn reply_status(&self) -> Option<&str> {
        (self.event == REPLY)
            .then(|| self.payload.get("status").and_then(Value::as_str))
            .flatten()
    }
}

/// A text frame as a Phoenix message; the error names Phoenix and quotes the frame.
pub fn decode(text: &str) -> Result<Msg, String> {
    let bad = |why: &str| {
        format!(
            "the server sent a frame that is not a Phoenix message ({why}; serializer 2.0.0 sends [join_ref, ref, topic, event, payload]): {}",
            truncate(text, QUOTE)
        )
    };
    let value: Value = serde_json::from_str(text).map_err(|_| bad("not JSON"))?;
    let Value::Array(items) = value else {
        return Err(bad("not an array"));
    };
    let [join_ref, r#ref, topic, event, payload]: [Value; 5] = items
        .try_into()
        .map_err(|items: Vec<Value>| bad(&format!("an array of {} items, not 5", items.len())))?;
    let reference = |v: Value, name: &str| match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        // Refs are strings; a server that counts with numbers is read as it meant.
        Value::Number(n) => Ok(Some(n.to_string())),
        _ => Err(bad(&format!("its {name} is neither a string nor null"))),
    };
    let (Value::String(topic), Value::String(event)) = (topic, event) else {
        return Err(bad("its topic and event must be strings"));
    };
    Ok(Msg {
        join_ref: reference(join_ref, "join_ref")?,
        r#ref: reference(r#ref, "ref")?,
        topic,
        event,
        payload,
    })
}

/// `url` with `vsn=2.0.0` added to its query (unless it names a `vsn` already) and `params`,
/// as phoenix.js builds its endpoint URL. Another `vsn` is refused: its frames differ.
pub fn with_query(url: &str, params: &[(String, String)]) -> Result<String, String> {
    let (base, fragment) = url
        .split_once('#')
        .map_or((url, None), |(b, f)| (b, Some(f)));
    let mut out = base.to_string();
    // `ws://host:port` has no path: the query needs one (`ws://host:port/?vsn=…`).
    let authority_end = out.find("://").map(|i| i + 3);
    if let Some(start) = authority_end {
        let rest = &out[start..];
        if !rest.contains('/') {
            let at = rest.find('?').map_or(out.len(), |q| start + q);
            out.insert(at, '/');
        }
    }
    let mut add = |key: &str, value: &str| {
        out.push(if out.contains('?') { '&' } else { '?' });
        out.push_str(&encode_component(key));
        out.push('=');
        out.push_str(&encode_component(value));
    };
    for (key, value) in params {
        add(key, value);
    }
    let query = base.split_once('?').map_or("", |(_, q)| q);
    let asked = query.split('&').find_map(|pair| pair.strip_prefix("vsn="));
    match asked {
        None => add("vsn", VSN),
        Some(VSN) => {}
        Some(other) => {
            return Err(format!(
                "the URL asks for Phoenix serializer vsn={other}, but wsrun speaks {VSN} (arrays); leave `vsn` out of the URL"
            ))
        }
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    Ok(out)
}

/// Percent-encodes a query key or value (what `encodeURIComponent` leaves alone stays).
fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_join_and_reply_round_trip() {
        // As phoenix.js (serializer.js) writes them: `[join_ref, ref, topic, event, payload]`.
        let join = r#"["3","3","room:lobby","phx_join",{"token":"abc"}]"#;
        let msg = decode(join).unwrap();
        assert_eq!(msg.join_ref.as_deref(), Some("3"));
        assert_eq!(msg.topic, "room:lobby");
        assert_eq!(msg.encode(), join);
        let reply =
            decode(r#"["3","3","room:lobby","phx_reply",{"response":{},"status":"ok"}]"#).unwrap();
        assert_eq!(reply.reply_status(), Some("ok"));
        assert_eq!(
            reply.envelope(),
            json!({"topic": "room:lobby", "event": "phx_reply", "ref": "3",
                   "payload": {"response": {}, "status": "ok"}})
        );
        let broadcast = decode(r#"[null,null,"room:lobby","new_msg",{"body":"hi"}]"#).unwrap();
        assert_eq!(
            broadcast.envelope(),
            json!({"topic": "room:lobby", "event": "new_msg", "payload": {"body": "hi"}})
        );
    }

    #[test]
    fn a_frame_that_is_no_phoenix_array_is_named_with_the_frame() {
        assert_eq!(
            decode(r#"{"topic":"x"}"#).unwrap_err(),
            r#"the server sent a frame that is not a Phoenix message (not an array; serializer 2.0.0 sends [join_ref, ref, topic, event, payload]): {"topic":"x"}"#
        );
        assert_eq!(
            decode(r#"[null,"1","room:lobby","phx_reply"]"#).unwrap_err(),
            r#"the server sent a frame that is not a Phoenix message (an array of 4 items, not 5; serializer 2.0.0 sends [join_ref, ref, topic, event, payload]): [null,"1","room:lobby","phx_reply"]"#
        );
        assert!(decode("hello").unwrap_err().contains("(not JSON;"));
        assert!(decode(r#"[null,null,1,"e",{}]"#)
            .unwrap_err()
            .contains("(its topic and event must be strings;"));
        assert!(decode(r#"[{},null,"t","e",{}]"#)
            .unwrap_err()
            .contains("(its join_ref is neither a string nor null;"));
    }

    #[test]
    fn the_url_gets_vsn_and_params_in_its_query() {
        assert_eq!(
            with_query("ws://h/socket/websocket", &[]).unwrap(),
            "ws://h/socket/websocket?vsn=2.0.0"
        );
        assert_eq!(
            with_query(
                "ws://h/socket/websocket?x=1#f",
                &[("token".into(), "a b&c".into())]
            )
            .unwrap(),
            "ws://h/socket/websocket?x=1&token=a%20b%26c&vsn=2.0.0#f"
        );
        assert_eq!(with_query("ws://h:1", &[]).unwrap(), "ws://h:1/?vsn=2.0.0");
        assert_eq!(
            with_query("ws://h/s?vsn=2.0.0", &[]).unwrap(),
            "ws://h/s?vsn=2.0.0"
        );
    }
}
