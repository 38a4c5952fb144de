//! `protocol: socketio`: Socket.IO v5 over Engine.IO v4, on the WebSocket transport. The URL
//! preset, the handshake (the server's open packet `0{…}`, then the namespace connect `40…`
//! and its ack), ping `2` answered with pong `3`, and events and acks as JSON envelopes. Also
//! the packet format, which the `emit` step and the mock share.
//!
//! A frame is an Engine.IO packet: a type digit, then its data. A message packet (`4`) carries
//! a Socket.IO packet: a type digit, an optional namespace (`/chat,`), an optional ack id, then
//! JSON — `42["msg","hi"]`, `42/chat,7["add",2,3]`, `43/chat,7[5]`, `44{"message":"…"}`.

use serde_json::{json, Map, Value};
use tokio_tungstenite::tungstenite::Message;

use super::{Decoded, Protocol};
use crate::report::truncate;
use crate::runner::conn::Incoming;

/// The namespace of a packet that names none.
pub const ROOT: &str = "/";

/// How much of a malformed packet an error quotes.
const QUOTE: usize = 120;

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

/// The server's words in a refused connect (`44{"message": "unauthorized", "data"?: …}`).
pub fn refusal(packet: &Packet) -> String {
    let why = match &packet.data {
        Some(Value::Object(m)) => {
            let message = match m.get("message") {
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => Value::Object(m.clone()).to_string(),
            };
            match m.get("data") {
                Some(data) => format!("{message} (data: {data})"),
                None => message,
            }
        }
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => "no reason given".into(),
    };
    format!(
        "the server refused the Socket.IO connection to namespace `{}`: {}",
        packet.namespace,
        truncate(&why, 300)
    )
}

/// The URL a Socket.IO server listens on: `http(s)://` becomes `ws(s)://`, a URL without a path
/// gets `/socket.io/`, and the query gets `EIO=4&transport=websocket` unless it has them.
pub fn preset_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some(("http", rest)) => ("ws", rest),
        Some(("https", rest)) => ("wss", rest),
        Some((scheme, rest)) => (scheme, rest),
        None => return url.to_string(),
    };
    let (rest, fragment) = match rest.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (rest, None),
    };
    let (before_query, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match before_query.find('/') {
        Some(i) => before_query.split_at(i),
        None => (before_query, ""),
    };
    let path = if path.is_empty() || path == "/" {
        "/socket.io/"
    } else {
        path
    };
    let mut params: Vec<&str> = query
        .map(|q| q.split('&').filter(|p| !p.is_empty()).collect())
        .unwrap_or_default();
    let has = |params: &[&str], key: &str| params.iter().any(|p| p.split('=').next() == Some(key));
    if !has(&params, "EIO") {
        params.push("EIO=4");
    }
    if !has(&params, "transport") {
        params.push("transport=websocket");
    }
    let mut out = format!("{scheme}://{authority}{path}?{}", params.join("&"));
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// Where the handshake is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Waiting for the Engine.IO open packet.
    Open,
    /// The namespace connect is sent; waiting for its ack.
    Connect,
    Ready,
}

/// One Socket.IO client connection to one namespace.
pub struct SocketIo {
    namespace: String,
    auth: Option<Value>,
    stage: Stage,
}

impl SocketIo {
    /// A client of `namespace` (default `/`), sending `auth` with its connect.
    pub fn new(namespace: Option<&str>, auth: Option<Value>) -> Self {
        Self {
            namespace: namespace.map_or_else(|| ROOT.to_string(), normalize_namespace),
            auth,
            stage: Stage::Open,
        }
    }

    /// A Socket.IO packet from the server.
    fn message(&mut self, text: &str) -> Decoded {
        let packet = match Packet::parse(text) {
            Ok(p) => p,
            Err(e) => return Decoded::Failed(e),
        };
        match packet.kind {
            Kind::Connect => {
                if packet.namespace == self.namespace {
                    self.stage = Stage::Ready;
                }
                Decoded::Absorbed
            }
            Kind::ConnectError => Decoded::Failed(refusal(&packet)),
            // What a Socket.IO client reports as its `disconnect` event (a name servers may
            // not emit, so no event of theirs looks like it).
            Kind::Disconnect => Decoded::Message(Incoming::Envelope(json!({
                "event": "disconnect",
                "args": ["io server disconnect"],
                "namespace": packet.namespace,
            }))),
            Kind::Event | Kind::Ack => match packet.envelope() {
                Ok(Some(envelope)) => Decoded::Message(Incoming::Envelope(envelope)),
                Ok(None) => Decoded::Absorbed,
                Err(e) => Decoded::Failed(e),
            },
            Kind::BinaryEvent | Kind::BinaryAck => Decoded::Failed(binary_unsupported(text)),
        }
    }
}

/// Worded so that what the step waited for can follow ("… before a message arrived").
fn binary_unsupported(text: &str) -> String {
    let head: String = text.chars().take(24).collect();
    let more = if head.len() < text.len() { "…" } else { "" };
    format!("unsupported: the server sent a binary Socket.IO packet `4{head}{more}`")
}

impl Protocol for SocketIo {
    fn name(&self) -> &'static str {
        "socketio"
    }

    fn prepare(&self, url: &mut String, _subprotocols: &mut Vec<String>) -> Result<(), String> {
        *url = preset_url(url);
        Ok(())
    }

    fn pending(&self) -> Option<String> {
        match self.stage {
            Stage::Open => Some("Engine.IO open packet (`0{…}`)".into()),
            Stage::Connect => Some(format!(
                "connect ack (`40…`) for namespace `{}`",
                self.namespace
            )),
            Stage::Ready => None,
        }
    }

    fn decode(&mut self, frame: Incoming, out: &mut Vec<Message>) -> Decoded {
        let text = match &frame {
            Incoming::Text(t) => t.as_str(),
            Incoming::Binary(_) => {
                return Decoded::Failed(
                    "unsupported: the server sent a binary frame (a Socket.IO attachment)".into(),
                )
            }
            Incoming::Envelope(_) => return Decoded::Message(frame),
        };
        let data = text.get(1..).unwrap_or_default();
        match text.as_bytes().first() {
            Some(b'0') => {
                if self.stage == Stage::Open {
                    out.push(Message::text(connect_frame(
                        &self.namespace,
                        self.auth.as_ref(),
                    )));
                    self.stage = Stage::Connect;
                }
                Decoded::Absorbed
            }
            Some(b'1') => {
                Decoded::Failed("the server closed the Engine.IO session (packet `1`)".into())
            }
            // Engine.IO v4: the server pings, the client answers with the same data.
            Some(b'2') => {
                out.push(Message::text(format!("3{data}")));
                Decoded::Absorbed
            }
            Some(b'3' | b'5' | b'6') => Decoded::Absorbed,
            Some(b'4') => self.message(data),
            _ => Decoded::Failed(format!(
                "not an Engine.IO packet: `{}`",
                truncate(text, QUOTE)
            )),
        }
    }

    fn encode(&mut self, envelope: Value, out: &mut Vec<Message>) -> Result<(), String> {
        let packet = Packet::from_envelope(&envelope, &self.namespace)?;
        out.push(Message::text(packet.frame()));
        Ok(())
    }

    fn farewell(&mut self, out: &mut Vec<Message>) {
        if self.stage == Stage::Ready {
            let bye = Packet {
                kind: Kind::Disconnect,
                namespace: self.namespace.clone(),
                id: None,
                data: None,
            };
            out.push(Message::text(bye.frame()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(p: &mut SocketIo, text: &str) -> (Decoded, Vec<String>) {
        let mut out = Vec::new();
        let d = p.decode(Incoming::Text(text.into()), &mut out);
        let sent = out
            .into_iter()
            .map(|m| m.into_text().unwrap_or_default().to_string())
            .collect();
        (d, sent)
    }

    fn envelope(d: Decoded) -> Value {
        match d {
            Decoded::Message(Incoming::Envelope(v)) => v,
            other => panic!("not an envelope: {other:?}"),
        }
    }

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

    #[test]
    fn the_preset_adds_the_engine_io_path_and_query() {
        let cases = [
            (
                "http://h:3000",
                "ws://h:3000/socket.io/?EIO=4&transport=websocket",
            ),
            ("https://h/", "wss://h/socket.io/?EIO=4&transport=websocket"),
            (
                "ws://h?token=x",
                "ws://h/socket.io/?token=x&EIO=4&transport=websocket",
            ),
            ("ws://h/custom/", "ws://h/custom/?EIO=4&transport=websocket"),
            (
                "ws://h/socket.io/?EIO=4&transport=websocket",
                "ws://h/socket.io/?EIO=4&transport=websocket",
            ),
        ];
        for (given, expected) in cases {
            assert_eq!(preset_url(given), expected, "{given}");
        }
    }

    #[test]
    fn the_handshake_connects_the_namespace_after_the_open_packet() {
        let mut p = SocketIo::new(Some("chat"), Some(json!({"token": "t"})));
        assert!(p.pending().unwrap().contains("open packet"));
        let (d, sent) = decode(
            &mut p,
            r#"0{"sid":"x","pingInterval":300,"pingTimeout":200}"#,
        );
        assert!(matches!(d, Decoded::Absorbed));
        assert_eq!(sent, [r#"40/chat,{"token":"t"}"#]);
        assert!(p.pending().unwrap().contains("`/chat`"));
        let (d, _) = decode(&mut p, r#"40/chat,{"sid":"y"}"#);
        assert!(matches!(d, Decoded::Absorbed));
        assert_eq!(p.pending(), None);
    }

    #[test]
    fn a_refused_connect_fails_with_the_servers_message() {
        let mut p = SocketIo::new(None, None);
        decode(&mut p, r#"0{"sid":"x"}"#);
        let (d, _) = decode(&mut p, r#"44{"message":"unauthorized"}"#);
        let Decoded::Failed(why) = d else {
            panic!("{d:?}")
        };
        assert_eq!(
            why,
            "the server refused the Socket.IO connection to namespace `/`: unauthorized"
        );
        let mut p = SocketIo::new(Some("/chat"), None);
        let (d, _) = decode(&mut p, r#"44/chat,{"message":"no","data":{"code":7}}"#);
        assert!(matches!(d, Decoded::Failed(w) if w.ends_with("`/chat`: no (data: {\"code\":7})")));
    }

    #[test]
    fn pings_are_answered_and_events_and_acks_become_envelopes() {
        let mut p = SocketIo::new(None, None);
        let (d, sent) = decode(&mut p, "2");
        assert!(matches!(d, Decoded::Absorbed));
        assert_eq!(sent, ["3"]);
        let (d, _) = decode(&mut p, r#"42["msg","hi"]"#);
        assert_eq!(
            envelope(d),
            json!({"event": "msg", "args": ["hi"], "namespace": "/"})
        );
        let (d, _) = decode(&mut p, "431[5]");
        assert_eq!(
            envelope(d),
            json!({"ack": 1, "args": [5], "namespace": "/"})
        );
        let (d, _) = decode(&mut p, "41");
        assert_eq!(envelope(d)["event"], "disconnect");
        let (d, _) = decode(&mut p, r#"451-["up",{"_placeholder":true,"num":0}]"#);
        assert!(
            matches!(d, Decoded::Failed(w) if w == "unsupported: the server sent a binary Socket.IO packet `451-[\"up\",{\"_placeholder\"…`")
        );
        let (d, _) = decode(&mut p, "é");
        assert!(matches!(d, Decoded::Failed(w) if w.contains("not an Engine.IO packet")));
    }
}
