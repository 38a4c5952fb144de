//! A STOMP 1.2 mock: a small broker. `CONNECT` gets `CONNECTED` (heart-beats as the client
//! asks), `SUBSCRIBE`/`UNSUBSCRIBE` manage subscriptions, a `SEND` becomes a `MESSAGE` for every
//! subscription to its destination (any client's, the sender's own included), a `receipt`
//! header gets its `RECEIPT`, and a broken or unexpected frame an `ERROR`, after which the mock
//! closes the connection. `on:` rules are tried first and see each frame's envelope; their
//! `json` replies are envelopes too (`{command, headers, body}`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

use crate::collection::MockDef;
use crate::mock::protocol::{Answer, Session, Speaker};
use crate::protocol::stomp::frame::{self, Frame, Parsed};
use crate::protocol::stomp::{parse_heartbeat, to_message, SUBPROTOCOLS, VERSION};
use crate::template::TValue;

/// The broker of one mock: every client's subscriptions.
pub(crate) struct Broker {
    subscriptions: Mutex<Vec<Subscription>>,
    next_client: AtomicU64,
    next_message: AtomicU64,
}

struct Subscription {
    client: u64,
    id: String,
    destination: String,
    /// `auto`, `client` or `client-individual`: with the last two, messages carry `ack`.
    ack: String,
    /// The subscriber's connection.
    to: mpsc::UnboundedSender<Message>,
}

impl Broker {
    /// A broker for `def`; a rule's `json` reply must be a frame's envelope.
    pub(crate) fn compile(def: &MockDef) -> Result<Self, String> {
        for (i, rule) in def.on.iter().enumerate() {
            for (j, reply) in rule.value.reply.iter().enumerate() {
                let frame_like = match &reply.json {
                    None => true,
                    Some(TValue::Object(fields)) => fields.iter().any(|(k, _)| k == "command"),
                    Some(TValue::Literal(v)) => Frame::from_envelope(v).is_ok(),
                    Some(_) => false,
                };
                if !frame_like {
                    return Err(format!(
                        "rule {} reply {}: a STOMP mock replies with frames: `json: {{command: MESSAGE, headers: {{…}}, body: …}}`",
                        i + 1,
                        j + 1
                    ));
                }
            }
        }
        Ok(Self {
            subscriptions: Mutex::new(Vec::new()),
            next_client: AtomicU64::new(1),
            next_message: AtomicU64::new(1),
        })
    }

    fn subscriptions(&self) -> std::sync::MutexGuard<'_, Vec<Subscription>> {
        // A poisoned lock only means another client's session panicked; the list is intact.
        self.subscriptions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Speaker for Broker {
    fn session(&self) -> Box<dyn Session + '_> {
        let (to, inbound) = mpsc::unbounded_channel();
        Box::new(Client {
            broker: self,
            id: self.next_client.fetch_add(1, Ordering::Relaxed),
            to,
            inbound: Some(inbound),
            connected: false,
            ended: false,
            tasks: Vec::new(),
            heard: Arc::new(Heard::new()),
        })
    }

    fn subprotocols(&self) -> &'static [&'static str] {
        &SUBPROTOCOLS
    }
}

/// One client's session with the broker.
struct Client<'a> {
    broker: &'a Broker,
    id: u64,
    /// This client's connection, for other clients' messages and heart-beats.
    to: mpsc::UnboundedSender<Message>,
    inbound: Option<mpsc::UnboundedReceiver<Message>>,
    connected: bool,
    /// After an `ERROR`: the connection is closing, frames are ignored.
    ended: bool,
    /// The tasks sending heart-beats and watching the client's, as negotiated.
    tasks: Vec<AbortHandle>,
    heard: Arc<Heard>,
}

/// When the client was last heard from.
struct Heard {
    since: Instant,
    /// Milliseconds after `since`.
    at: AtomicU64,
}

impl Heard {
    fn new() -> Self {
        Self {
            since: Instant::now(),
            at: AtomicU64::new(0),
        }
    }

    fn now(&self) {
        let ms = self.since.elapsed().as_millis() as u64;
        self.at.store(ms, Ordering::Relaxed);
    }

    fn silent_for(&self) -> Duration {
        let at = Duration::from_millis(self.at.load(Ordering::Relaxed));
        self.since.elapsed().saturating_sub(at)
    }
}

/// How many of its heart-beat periods a client may stay silent before the mock gives up on it.
const SILENCE_TOLERANCE: u32 = 3;

impl Drop for Client<'_> {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        self.broker.subscriptions().retain(|s| s.client != self.id);
    }
}

impl Session for Client<'_> {
    fn receive(&mut self, message: &Message, out: &mut Vec<Answer>) -> Option<Value> {
        if self.ended {
            return None;
        }
        self.heard.now();
        let data: &[u8] = match message {
            Message::Text(t) => t.as_bytes(),
            Message::Binary(b) => b,
            _ => return None,
        };
        match frame::parse(data) {
            Ok(Parsed::HeartBeat) => None,
            Ok(Parsed::Frame(f)) => Some(f.envelope()),
            Err(why) => {
                self.error(out, None, "malformed frame", &why);
                None
            }
        }
    }

    fn encode(&mut self, envelope: Value) -> Vec<Message> {
        match Frame::from_envelope(&envelope) {
            Ok(frame) => vec![to_message(&frame)],
            // A templated reply that did not expand to a frame.
            Err(why) => {
                let mut error =
                    Frame::new("ERROR").header("message", "the mock's reply is not a frame");
                error.body = why.into_bytes();
                vec![to_message(&error)]
            }
        }
    }

    fn answer(&mut self, envelope: &Value, out: &mut Vec<Answer>) {
        if self.ended {
            return;
        }
        let frame = match Frame::from_envelope(envelope) {
            Ok(f) => f,
            Err(why) => return self.error(out, None, "malformed frame", &why),
        };
        let handled = match frame.command.as_str() {
            "CONNECT" | "STOMP" => self.connect(&frame, out),
            _ if !self.connected => Err((
                "not connected",
                format!("{} before CONNECT: send CONNECT first", frame.command),
            )),
            "SUBSCRIBE" => self.subscribe(&frame),
            "UNSUBSCRIBE" => self.unsubscribe(&frame),
            "SEND" => self.send(&frame, out),
            "ACK" | "NACK" => need(&frame, "id").map(drop),
            "DISCONNECT" => {
                self.connected = false;
                Ok(())
            }
            "BEGIN" | "COMMIT" | "ABORT" => Err((
                "transactions are not supported",
                format!("the wsrun mock has no transactions ({})", frame.command),
            )),
            other => Err((
                "unknown command",
                format!("`{other}` is not a STOMP client frame"),
            )),
        };
        match handled {
            Err((message, body)) => self.error(out, Some(&frame), message, &body),
            Ok(()) => {
                if let Some(receipt) = frame.get("receipt") {
                    let done = Frame::new("RECEIPT").header("receipt-id", receipt);
                    out.push(Answer::now(to_message(&done)));
                }
            }
        }
    }

    fn inbound(&mut self) -> Option<mpsc::UnboundedReceiver<Message>> {
        self.inbound.take()
    }
}

/// Sends a heart-beat every `every`.
fn beat(to: mpsc::UnboundedSender<Message>, every: Duration) -> AbortHandle {
    let task = tokio::spawn(async move {
        let mut ticks = tokio::time::interval_at(Instant::now() + every, every);
        loop {
            ticks.tick().await;
            if to.send(Message::text("\n")).is_err() {
                return;
            }
        }
    });
    task.abort_handle()
}

/// Closes the connection of a client silent for [`SILENCE_TOLERANCE`] of its heart-beat
/// periods, as a broker does.
fn watch(to: mpsc::UnboundedSender<Message>, heard: Arc<Heard>, every: Duration) -> AbortHandle {
    let task = tokio::spawn(async move {
        let limit = every * SILENCE_TOLERANCE;
        loop {
            tokio::time::sleep(every).await;
            if heard.silent_for() > limit {
                let _ = to.send(Message::Close(Some(CloseFrame {
                    code: CloseCode::Normal,
                    reason: "no heart-beat from the client".into(),
                })));
                return;
            }
        }
    });
    task.abort_handle()
}

/// Why a frame is refused: the `ERROR`'s `message` header, and its body.
type Refusal = (&'static str, String);

/// A header the frame must have.
fn need<'f>(frame: &'f Frame, header: &str) -> Result<&'f str, Refusal> {
    frame.get(header).ok_or_else(|| {
        (
            "missing header",
            format!("{} needs a `{header}` header", frame.command),
        )
    })
}

impl Client<'_> {
    /// `CONNECTED`, if the client accepts version 1.2; heart-beats every `cy` ms when the
    /// client wants them, and the client's own accepted at its pace (`heart-beat:cy,cx`).
    fn connect(&mut self, frame: &Frame, out: &mut Vec<Answer>) -> Result<(), Refusal> {
        if self.connected {
            return Err(("already connected", "a second CONNECT".into()));
        }
        let accepts = frame.get("accept-version").unwrap_or("1.0");
        if !accepts.split(',').any(|v| v.trim() == VERSION) {
            return Err((
                "unsupported version",
                format!("the wsrun mock speaks STOMP {VERSION}; the client accepts {accepts}"),
            ));
        }
        let [cx, cy] = match frame.get("heart-beat") {
            None => [0, 0],
            Some(hb) => parse_heartbeat(hb).ok_or_else(|| {
                (
                    "bad heart-beat",
                    format!("`heart-beat:{hb}` is not `cx,cy`"),
                )
            })?,
        };
        let connected = Frame::new("CONNECTED")
            .header("version", VERSION)
            .header("heart-beat", format!("{cy},{cx}"))
            .header("server", "wsrun-mock")
            .header("session", format!("session-{}", self.id));
        out.push(Answer::now(to_message(&connected)));
        if cy > 0 {
            self.tasks
                .push(beat(self.to.clone(), Duration::from_millis(cy)));
        }
        if cx > 0 {
            let every = Duration::from_millis(cx);
            self.tasks
                .push(watch(self.to.clone(), self.heard.clone(), every));
        }
        self.connected = true;
        Ok(())
    }

    fn subscribe(&mut self, frame: &Frame) -> Result<(), Refusal> {
        let id = need(frame, "id")?;
        let destination = need(frame, "destination")?;
        let ack = frame.get("ack").unwrap_or("auto");
        if !matches!(ack, "auto" | "client" | "client-individual") {
            return Err((
                "bad ack mode",
                format!("`ack:{ack}` is not auto, client or client-individual"),
            ));
        }
        let mut subscriptions = self.broker.subscriptions();
        if subscriptions
            .iter()
            .any(|s| s.client == self.id && s.id == id)
        {
            return Err((
                "duplicate subscription",
                format!("subscription `{id}` exists already"),
            ));
        }
        subscriptions.push(Subscription {
            client: self.id,
            id: id.to_string(),
            destination: destination.to_string(),
            ack: ack.to_string(),
            to: self.to.clone(),
        });
        Ok(())
    }

    fn unsubscribe(&mut self, frame: &Frame) -> Result<(), Refusal> {
        let id = need(frame, "id")?;
        self.broker
            .subscriptions()
            .retain(|s| !(s.client == self.id && s.id == id));
        Ok(())
    }

    /// A `MESSAGE` for every subscription to the destination: the sender's own go out with
    /// the answers (before its `RECEIPT`), other clients' through their connections.
    fn send(&mut self, frame: &Frame, out: &mut Vec<Answer>) -> Result<(), Refusal> {
        let destination = need(frame, "destination")?;
        let passed: Vec<&(String, String)> = frame
            .headers
            .iter()
            .filter(|(n, _)| {
                !matches!(
                    n.as_str(),
                    "destination" | "receipt" | "transaction" | "content-length"
                )
            })
            .collect();
        let subscriptions = self.broker.subscriptions();
        for s in subscriptions
            .iter()
            .filter(|s| s.destination == destination)
        {
            let id = self.broker.next_message.fetch_add(1, Ordering::Relaxed);
            let mut message = Frame::new("MESSAGE")
                .header("destination", destination)
                .header("message-id", id.to_string())
                .header("subscription", s.id.clone());
            if s.ack != "auto" {
                message = message.header("ack", id.to_string());
            }
            for (name, value) in &passed {
                message = message.header(name, value.clone());
            }
            message.body = frame.body.clone();
            let message = to_message(&message);
            if s.client == self.id {
                out.push(Answer::now(message));
            } else {
                // A subscriber that has gone is removed when its session ends.
                let _ = s.to.send(message);
            }
        }
        Ok(())
    }

    /// An `ERROR` (naming the frame's `receipt`, if any), then the close STOMP asks for.
    fn error(&mut self, out: &mut Vec<Answer>, frame: Option<&Frame>, message: &str, body: &str) {
        let mut error = Frame::new("ERROR")
            .header("message", message)
            .header("content-type", "text/plain");
        if let Some(receipt) = frame.and_then(|f| f.get("receipt")) {
            error = error.header("receipt-id", receipt);
        }
        error.body = body.as_bytes().to_vec();
        out.push(Answer::now(to_message(&error)));
        out.push(Answer::now(Message::Close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: "STOMP ERROR".into(),
        }))));
        self.ended = true;
        self.connected = false;
    }
}
