//! A Socket.IO mock (`protocol: socketio`): the Engine.IO open packet on connect, every
//! namespace connect accepted (`40/chat,{"sid":…}`), pings every `ping_interval` (a client that
//! does not answer within `ping_timeout` is closed, as a Socket.IO server does), and events and
//! acks handed to the `on:` rules as envelopes. A rule's `emit: {event, args}` reply is an event
//! and `ack: [ARGS]` answers the event's ack id, both in the namespace of the message answered.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

use crate::collection::MockDef;
use crate::mock::protocol::{Answer, Session, Speaker};
use crate::protocol::socketio::{Kind, Packet, ROOT};

/// A Socket.IO server's defaults.
const PING_INTERVAL: Duration = Duration::from_secs(25);
const PING_TIMEOUT: Duration = Duration::from_secs(20);

/// What every client of the mock gets.
pub(crate) struct Server {
    ping_interval: Duration,
    ping_timeout: Duration,
    /// Clients so far: session ids are `mock-1`, `mock-2`… (so transcripts stay the same
    /// from run to run).
    clients: AtomicU64,
}

impl Server {
    pub(crate) fn compile(def: &MockDef) -> Self {
        let o = def.socketio.clone().unwrap_or_default();
        Self {
            ping_interval: o.ping_interval.map_or(PING_INTERVAL, |d| d.0),
            ping_timeout: o.ping_timeout.map_or(PING_TIMEOUT, |d| d.0),
            clients: AtomicU64::new(0),
        }
    }
}

impl Speaker for Server {
    fn session(&self) -> Box<dyn Session + '_> {
        Box::new(Client {
            server: self,
            sid: format!("mock-{}", self.clients.fetch_add(1, Ordering::Relaxed) + 1),
            namespace: ROOT.to_string(),
            next_ping: Instant::now() + self.ping_interval,
            pong_due: None,
            closed: false,
        })
    }
}

/// One client's conversation.
struct Client<'a> {
    server: &'a Server,
    sid: String,
    /// The namespace of the last event or ack received: replies go there.
    namespace: String,
    /// When to send the next ping (a Socket.IO server pings `ping_interval` after the last pong).
    next_ping: Instant,
    /// A ping is out: when its pong is due.
    pong_due: Option<Instant>,
    closed: bool,
}

fn text(s: String) -> Answer {
    Answer::now(Message::text(s))
}

impl Session for Client<'_> {
    fn greet(&mut self, out: &mut Vec<Answer>) {
        // In a Socket.IO server's order (a `json!` object would sort the keys).
        let open = format!(
            r#"0{{"sid":"{}","upgrades":[],"pingInterval":{},"pingTimeout":{},"maxPayload":1000000}}"#,
            self.sid,
            self.server.ping_interval.as_millis(),
            self.server.ping_timeout.as_millis()
        );
        out.push(text(open));
    }

    fn receive(&mut self, frame: &Message, out: &mut Vec<Answer>) -> Option<Value> {
        let Message::Text(t) = frame else {
            return None;
        };
        let t = t.as_str();
        match t.as_bytes().first() {
            // An Engine.IO v3 client pings; answer it all the same.
            Some(b'2') => out.push(text(format!("3{}", t.get(1..).unwrap_or_default()))),
            Some(b'3') if self.pong_due.take().is_some() => {
                self.next_ping = Instant::now() + self.server.ping_interval;
            }
            Some(b'4') => return self.packet(t.get(1..).unwrap_or_default(), out),
            _ => {}
        }
        None
    }

    fn encode(&mut self, envelope: Value) -> Vec<Message> {
        // A reply that is not an event or an ack is not sent (as a reply whose template
        // cannot be expanded).
        Packet::from_envelope(&envelope, &self.namespace)
            .map(|p| vec![Message::text(p.frame())])
            .unwrap_or_default()
    }

    fn next_tick(&self) -> Option<Instant> {
        match (self.closed, self.pong_due) {
            (true, _) => None,
            (false, Some(due)) => Some(due),
            (false, None) => Some(self.next_ping),
        }
    }

    fn tick(&mut self, out: &mut Vec<Answer>) {
        let now = Instant::now();
        match self.pong_due {
            Some(due) if due <= now => {
                self.closed = true;
                out.push(Answer::now(Message::Close(Some(CloseFrame {
                    code: CloseCode::Normal,
                    reason: "ping timeout".into(),
                }))));
            }
            None if self.next_ping <= now => {
                self.pong_due = Some(now + self.server.ping_timeout);
                out.push(text("2".into()));
            }
            _ => {}
        }
    }
}

impl Client<'_> {
    /// A Socket.IO packet: a connect is accepted, an event or an ack is the rules' envelope.
    fn packet(&mut self, text: &str, out: &mut Vec<Answer>) -> Option<Value> {
        let packet = Packet::parse(text).ok()?;
        match packet.kind {
            Kind::Connect => {
                let ack = Packet {
                    kind: Kind::Connect,
                    namespace: packet.namespace.clone(),
                    id: None,
                    data: Some(json!({ "sid": format!("{}{}", self.sid, packet.namespace) })),
                };
                out.push(self::text(ack.frame()));
                None
            }
            Kind::Event | Kind::Ack => {
                let envelope = packet.envelope().ok()??;
                self.namespace = packet.namespace;
                Some(envelope)
            }
            _ => None,
        }
    }
}
