//! `protocol: socketio`: Socket.IO v5 over Engine.IO v4, on the WebSocket transport. The URL
//! preset, the handshake (the server's open packet `0{…}`, then the namespace connect `40…`
//! and its ack), ping `2` answered with pong `3`, and events and acks of the namespace joined as
//! JSON envelopes (packets of any other namespace are dropped).
//!
//! A frame is an Engine.IO packet: a type digit, then its data. A message packet (`4`) carries
//! a Socket.IO packet (`packet.rs`): `42["msg","hi"]`, `42/chat,7["add",2,3]`, `43/chat,7[5]`,
//! `44{"message":"…"}`.

pub(crate) mod mock;
pub(crate) mod run;
pub mod yaml;

/// Its reference page.
pub const DOCS: &str = "docs/protocols/socketio.md";

/// Its own steps.
pub const STEPS: &[&str] = &["emit"];

/// The client side, `socketio: {namespace, auth}` expanded.
pub fn client(
    o: &yaml::SocketIoOptions,
    scope: &dyn crate::template::Lookup,
) -> Result<Box<dyn Protocol>, String> {
    let namespace = o.namespace.as_ref().map(|t| t.expand(scope)).transpose();
    let auth = o.auth.as_ref().map(|a| a.expand(scope)).transpose();
    let (namespace, auth) = (
        namespace.map_err(|e| format!("socketio.namespace: {e}"))?,
        auth.map_err(|e| format!("socketio.auth: {e}"))?,
    );
    Ok(Box::new(SocketIo::new(namespace.as_deref(), auth)))
}

/// A mock's side.
pub(crate) fn mock(
    def: &crate::collection::MockDef,
) -> Result<Box<dyn crate::mock::protocol::Speaker>, String> {
    Ok(Box::new(mock::Server::compile(def)))
}

mod packet;

use std::collections::BTreeSet;

use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use packet::QUOTE;
pub use packet::{connect_frame, normalize_namespace, Kind, Packet, ROOT};

use super::Incoming;
use super::{Decoded, Payload, Protocol};
use crate::report::truncate;

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
    /// Ack ids of the events sent asking for one, from the last fresh id on (fresh ids only
    /// grow, so older ones are forgotten).
    asked: BTreeSet<u64>,
}

impl SocketIo {
    /// A client of `namespace` (default `/`), sending `auth` with its connect.
    pub fn new(namespace: Option<&str>, auth: Option<Value>) -> Self {
        Self {
            namespace: namespace.map_or_else(|| ROOT.to_string(), normalize_namespace),
            auth,
            stage: Stage::Open,
            asked: BTreeSet::new(),
        }
    }

    /// A Socket.IO packet from the server.
    fn message(&mut self, text: &str) -> Decoded {
        let packet = match Packet::parse(text) {
            Ok(p) => p,
            Err(e) => return Decoded::Failed(e),
        };
        if packet.namespace != self.namespace {
            // The connection joined one namespace; as socket.io-client does, it drops packets
            // of any other (the transcript shows them): an ack from `/other` never answers an
            // emit on `/chat`, and no step sees events it did not subscribe to.
            return Decoded::Absorbed;
        }
        match packet.kind {
            Kind::Connect => {
                // Socket.IO v5 acknowledges a namespace connect with the socket's `sid`;
                // Socket.IO 2.x servers (Engine.IO v3) send a bare `40`, and would expect
                // pings from the client that a v5 client never sends.
                let sid = packet.data.as_ref().and_then(|d| d.get("sid"));
                if self.stage != Stage::Ready && sid.is_none() {
                    return Decoded::Failed(ENGINE_IO_3.into());
                }
                self.stage = Stage::Ready;
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

/// Why a Socket.IO 2.x server is refused.
const ENGINE_IO_3: &str = "the server speaks Socket.IO 2.x (Engine.IO v3): its namespace connect ack (`40`) has no `sid`; `protocol: socketio` speaks Socket.IO v5 over Engine.IO v4, the protocol of Socket.IO 3.x and 4.x servers";

/// A sentence of its own: the connection breaks with it (`Closed::broken`).
fn binary_unsupported(text: &str) -> String {
    let head: String = text.chars().take(24).collect();
    let more = if head.len() < text.len() { "…" } else { "" };
    format!("unsupported: the server sent a binary Socket.IO packet `4{head}{more}`")
}

impl Protocol for SocketIo {
    /// An event's data: its one argument, or the list of its arguments when it has several
    /// (or none); an ack answers an emit and is not checked.
    fn payload(&self, envelope: &Value) -> Payload {
        if envelope.get("event").is_none() {
            return Payload::None;
        }
        match envelope["args"].as_array().map(Vec::as_slice) {
            Some([one]) => Payload::Json(one.clone()),
            _ => Payload::Json(envelope["args"].clone()),
        }
    }

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

    fn sends_json_as_is(&self) -> bool {
        false
    }

    fn encode(&mut self, envelope: Value, out: &mut Vec<Message>) -> Result<(), String> {
        let packet = Packet::from_envelope(&envelope, &self.namespace)?;
        out.push(Message::text(packet.frame()));
        Ok(())
    }

    /// Notes the ack id of an event sent asking for an ack (`421[…]`), by `emit` or by hand.
    fn sent(&mut self, text: &str) {
        if let Some(packet) = text.strip_prefix('4') {
            if let Ok(Packet {
                kind: Kind::Event,
                id: Some(id),
                ..
            }) = Packet::parse(packet)
            {
                self.asked.insert(id);
            }
        }
    }

    /// An `emit`'s fresh ack id skips the ids a `send` asked for by hand.
    fn taken(&mut self, id: u64) -> bool {
        self.asked = self.asked.split_off(&id);
        self.asked.contains(&id)
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
    fn a_socketio_2_connect_ack_without_a_sid_fails_naming_engine_io_3() {
        let mut p = SocketIo::new(None, None);
        decode(
            &mut p,
            r#"0{"sid":"x","upgrades":[],"pingInterval":25000,"pingTimeout":20000}"#,
        );
        let (d, _) = decode(&mut p, "40");
        let Decoded::Failed(why) = d else {
            panic!("{d:?}")
        };
        assert_eq!(why, ENGINE_IO_3);
        assert!(why.starts_with("the server speaks Socket.IO 2.x (Engine.IO v3)"));
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

    #[test]
    fn ack_ids_asked_for_by_hand_are_taken() {
        let mut p = SocketIo::new(None, None);
        p.sent(r#"421["add",2,3]"#);
        p.sent(r#"42/chat,3["x"]"#);
        p.sent(r#"431[5]"#);
        p.sent("3");
        assert!(p.taken(1) && !p.taken(2) && p.taken(3) && !p.taken(4));
        assert!(!p.taken(1), "ids below the last fresh one are forgotten");
    }

    #[test]
    fn packets_of_a_namespace_not_joined_are_dropped() {
        let mut p = SocketIo::new(Some("/chat"), None);
        decode(&mut p, r#"0{"sid":"x"}"#);
        decode(&mut p, r#"40/chat,{"sid":"y"}"#);
        for other in [
            "43/other,1[9]",
            r#"42/other,["news"]"#,
            "41/other,",
            "43[9]",
        ] {
            let (d, sent) = decode(&mut p, other);
            assert!(
                matches!(d, Decoded::Absorbed) && sent.is_empty(),
                "{other}: {d:?}"
            );
        }
        let (d, _) = decode(&mut p, "43/chat,1[9]");
        assert_eq!(
            envelope(d),
            json!({"ack": 1, "args": [9], "namespace": "/chat"})
        );
    }
}
