//! The Socket.IO packet format, shared by the client (`super`), the `emit` step and the mock:
//! a type digit, an optional namespace (`/chat,`), an optional ack id, then JSON —
//! `2["msg","hi"]`, `2/chat,7["add",2,3]`, `3/chat,7[5]`, `4{"message":"…"}` — carried in an
//! Engine.IO message packet (`4`), and the envelopes of events and acks.

use serde_json::{Map, Value};

use crate::report::truncate;

/// The namespace of a packet that names none.
pub const ROOT: &str = "/";

/// How much of a malformed packet an error quotes.
pub(super) const QUOTE: usize = 120;

/// The type of a Socket.IO packet (the digit after the Engine.IO `4`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Connect,
    Disconnect,
    Event,
    Ack,
    ConnectError,
    BinaryEvent,
    BinaryAck,
}

impl Kind {
    fn digit(self) -> char {
        match self {
            Kind::Connect => '0',
            Kind::Disconnect => '1',
            Kind::Event => '2',
            Kind::Ack => '3',
            Kind::ConnectError => '4',
            Kind::BinaryEvent => '5',
            Kind::BinaryAck => '6',
        }
    }

    fn from_digit(c: u8) -> Option<Kind> {
        Some(match c {
            b'0' => Kind::Connect,
            b'1' => Kind::Disconnect,
            b'2' => Kind::Event,
            b'3' => Kind::Ack,
            b'4' => Kind::ConnectError,
            b'5' => Kind::BinaryEvent,
            b'6' => Kind::BinaryAck,
            _ => return None,
        })
    }
}

/// One Socket.IO packet.
#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    pub kind: Kind,
    pub namespace: String,
    /// The ack id: an event that asks for an ack, or the ack that answers it.
    pub id: Option<u64>,
    pub data: Option<Value>,
}

impl Packet {
    /// Reads a Socket.IO packet: the text after the Engine.IO `4`.
    pub fn parse(text: &str) -> Result<Packet, String> {
        let bytes = text.as_bytes();
        let kind = bytes
            .first()
            .and_then(|c| Kind::from_digit(*c))
            .ok_or_else(|| format!("not a Socket.IO packet: `4{}`", truncate(text, QUOTE)))?;
        let mut at = 1;
        if matches!(kind, Kind::BinaryEvent | Kind::BinaryAck) {
            // `451-[…]`: the number of binary attachments that follow, then a dash.
            while bytes.get(at).is_some_and(u8::is_ascii_digit) {
                at += 1;
            }
            if bytes.get(at) == Some(&b'-') {
                at += 1;
            }
        }
        let mut namespace = ROOT.to_string();
        if bytes.get(at) == Some(&b'/') {
            let end = text[at..].find(',').map_or(text.len(), |i| at + i);
            namespace = text[at..end].to_string();
            at = (end + 1).min(text.len());
        }
        let digits = text[at..].bytes().take_while(u8::is_ascii_digit).count();
        let id =
            match digits {
                0 => None,
                _ => Some(text[at..at + digits].parse::<u64>().map_err(|_| {
                    format!("the ack id of `4{}` is too large", truncate(text, QUOTE))
                })?),
            };
        at += digits;
        let data = match text[at..].trim() {
            "" => None,
            json => Some(serde_json::from_str(json).map_err(|e| {
                format!(
                    "the data of Socket.IO packet `4{}` is not JSON: {e}",
                    truncate(text, QUOTE)
                )
            })?),
        };
        Ok(Packet {
            kind,
            namespace,
            id,
            data,
        })
    }

    /// The packet as an Engine.IO message frame's text: `4`, then the Socket.IO packet.
    pub fn frame(&self) -> String {
        let mut s = String::with_capacity(16);
        s.push('4');
        s.push(self.kind.digit());
        if self.namespace != ROOT {
            s.push_str(&self.namespace);
            s.push(',');
        }
        if let Some(id) = self.id {
            s.push_str(&id.to_string());
        }
        if let Some(data) = &self.data {
            s.push_str(&data.to_string());
        }
        s
    }

    /// An event or an ack as the envelope steps and mock rules see:
    /// `{"event", "args", "namespace", "id"?}` (`id` when the sender asks for an ack) or
    /// `{"ack", "args", "namespace"}`. Other packets have none.
    pub fn envelope(&self) -> Result<Option<Value>, String> {
        let args = match &self.data {
            Some(Value::Array(items)) => items.clone(),
            None => Vec::new(),
            Some(other) => {
                return Err(format!(
                    "a Socket.IO {} carries an array, not {other}",
                    if self.kind == Kind::Ack {
                        "ack"
                    } else {
                        "event"
                    }
                ))
            }
        };
        let mut m = Map::new();
        match self.kind {
            Kind::Event => {
                let mut args = args.into_iter();
                let Some(Value::String(event)) = args.next() else {
                    return Err(format!(
                        "a Socket.IO event starts with its name, a string: `{}`",
                        truncate(&self.frame(), QUOTE)
                    ));
                };
                m.insert("event".into(), event.into());
                m.insert("args".into(), Value::Array(args.collect()));
                m.insert("namespace".into(), self.namespace.clone().into());
                if let Some(id) = self.id {
                    m.insert("id".into(), id.into());
                }
            }
            Kind::Ack => {
                let Some(id) = self.id else {
                    return Err("a Socket.IO ack without an ack id".into());
                };
                m.insert("ack".into(), id.into());
                m.insert("args".into(), Value::Array(args));
                m.insert("namespace".into(), self.namespace.clone().into());
            }
            _ => return Ok(None),
        }
        Ok(Some(Value::Object(m)))
    }

    /// The packet of an envelope a step or a mock rule sends: `{event, args?, id?, namespace?}`
    /// (an event; `id` asks for an ack) or `{ack, args?, namespace?}` (an ack reply). `args` is
    /// the list of arguments; a value that is not a list is the only argument. Without
    /// `namespace`, `default_namespace`.
    pub fn from_envelope(envelope: &Value, default_namespace: &str) -> Result<Packet, String> {
        let shape = "a Socket.IO message is `{event, args}` (an event) or `{ack, args}` (the \
                     reply to an event that asked for an ack)";
        let Value::Object(m) = envelope else {
            return Err(format!(
                "{shape}, not {}",
                crate::value::type_name(envelope)
            ));
        };
        let namespace = match m.get("namespace") {
            None | Some(Value::Null) => default_namespace.to_string(),
            Some(Value::String(ns)) => normalize_namespace(ns),
            Some(other) => {
                return Err(format!(
                    "`namespace` is a string such as \"/chat\", not {other}"
                ))
            }
        };
        let mut args = match m.get("args") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items.clone(),
            Some(one) => vec![one.clone()],
        };
        let id = |key: &str| match m.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| format!("`{key}` is an ack id, a whole number ≥ 0, not {v}")),
        };
        let (kind, id) = match (m.get("event"), m.get("ack")) {
            (Some(Value::String(event)), None) => {
                args.insert(0, Value::String(event.clone()));
                (Kind::Event, id("id")?)
            }
            (Some(other), None) => {
                return Err(format!(
                    "`event` is the event's name, a string, not {other}"
                ))
            }
            (None, Some(_)) => (Kind::Ack, id("ack")?),
            (Some(_), Some(_)) => {
                return Err(format!("{shape}: this one has both `event` and `ack`"))
            }
            (None, None) => return Err(format!("{shape}; this one has neither: {envelope}")),
        };
        Ok(Packet {
            kind,
            namespace,
            id,
            data: Some(Value::Array(args)),
        })
    }
}

/// `chat` → `/chat`; empty → `/`.
pub fn normalize_namespace(ns: &str) -> String {
    let ns = ns.trim();
    if ns.starts_with('/') {
        ns.to_string()
    } else {
        format!("/{ns}")
    }
}

/// The namespace connect: `40`, `40{auth}`, `40/chat,` or `40/chat,{auth}`.
pub fn connect_frame(namespace: &str, auth: Option<&Value>) -> String {
    Packet {
        kind: Kind::Connect,
        namespace: namespace.to_string(),
        id: None,
        data: auth.cloned(),
    }
    .frame()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn packets_read_namespace_ack_id_and_data() {
        let p = Packet::parse("2/chat,17[\"add\",2,3]").unwrap();
        assert_eq!(
            (p.kind, p.namespace.as_str(), p.id),
            (Kind::Event, "/chat", Some(17))
        );
        assert_eq!(p.data, Some(json!(["add", 2, 3])));
        assert_eq!(p.frame(), "42/chat,17[\"add\",2,3]");
        let connect = Packet::parse("0").unwrap();
        assert_eq!((connect.namespace.as_str(), connect.data), ("/", None));
        let bare = Packet::parse("1/chat,").unwrap();
        assert_eq!(
            (bare.kind, bare.namespace.as_str()),
            (Kind::Disconnect, "/chat")
        );
        let binary = Packet::parse("51-[\"up\",{\"_placeholder\":true,\"num\":0}]").unwrap();
        assert_eq!(binary.kind, Kind::BinaryEvent);
        assert!(Packet::parse("9").is_err());
        assert!(Packet::parse("2[oops").unwrap_err().contains("not JSON"));
    }

    #[test]
    fn envelopes_round_trip_through_packets() {
        let event =
            json!({"event": "msg", "args": ["hi", {"a": 1}], "namespace": "/chat", "id": 3});
        let packet = Packet::from_envelope(&event, "/").unwrap();
        assert_eq!(packet.frame(), r#"42/chat,3["msg","hi",{"a":1}]"#);
        assert_eq!(packet.envelope().unwrap(), Some(event));
        let ack = Packet::from_envelope(&json!({"ack": 3, "args": [5]}), "/chat").unwrap();
        assert_eq!(ack.frame(), "43/chat,3[5]");
        let one = Packet::from_envelope(&json!({"event": "msg", "args": "hi"}), "/").unwrap();
        assert_eq!(one.frame(), r#"42["msg","hi"]"#);
        let bare = Packet::from_envelope(&json!({"event": "ping"}), "/").unwrap();
        assert_eq!(bare.frame(), r#"42["ping"]"#);
        for bad in [
            json!({"args": []}),
            json!({"event": 1}),
            json!([1]),
            json!({"ack": -1}),
        ] {
            assert!(Packet::from_envelope(&bad, "/").is_err(), "{bad}");
        }
    }
}
