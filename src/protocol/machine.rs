//! A protocol's client side (docs/architecture.md, "How to add a protocol"): what the
//! connection asks for before opening, the handshake, the keep-alives, and the translation
//! between frames and the JSON envelopes steps see.
//!
//! A protocol is a state machine without I/O: the connection (`runner::conn`) owns the socket,
//! records every frame in the transcript, and asks its [`Protocol`] what each server frame
//! means and which frames to send. In order:
//!
//! 1. [`Protocol::prepare`] — before opening: the URL (Socket.IO's `/socket.io/?EIO=4…`) and
//!    the subprotocols to ask for (`graphql-transport-ws`, `v12.stomp`…).
//! 2. [`Protocol::greet`] — frames to send once the WebSocket is open (`connection_init`,
//!    `CONNECT`); then server frames go through [`Protocol::decode`] until
//!    [`Protocol::pending`] says the handshake is over (within the connect timeout).
//! 3. [`Protocol::decode`] — every server text or binary frame: a message for the steps (the
//!    frame itself, or an envelope: `Incoming::Envelope`), absorbed (a handshake step, a
//!    keep-alive — its answer goes in `out`, is sent and recorded, and no step sees it), or a
//!    failure (a refusal: the connection fails with the server's words).
//! 4. [`Protocol::encode`] — a message a step sends, in envelope form, into frames.
//! 5. [`Protocol::tick`] every [`Protocol::tick_every`] — heart-beats the client must send.
//! 6. [`Protocol::farewell`] — frames to send before the close frame (`DISCONNECT`).
//!
//! [`Protocol::sent`] sees every text frame sent, so that a protocol knows the ids in use
//! ([`Protocol::taken`]: fresh ids skip them) and what the client subscribed to.
//!
//! `Raw` is the default: every hook is a no-op and `decode` hands the frame back unchanged,
//! so a raw connection costs what it did before protocols existed.

use std::time::Duration;

use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

/// A message from the server, as the steps see it.
#[derive(Debug, Clone)]
pub enum Incoming {
    Text(tokio_tungstenite::tungstenite::Utf8Bytes),
    Binary(tokio_tungstenite::tungstenite::Bytes),
    /// A protocol's JSON envelope of a frame (the frame itself is in the transcript).
    Envelope(serde_json::Value),
}

/// What a protocol makes of one frame from the server.
#[derive(Debug)]
pub enum Decoded {
    /// A message for the steps: the frame itself, or its envelope (`Incoming::Envelope`).
    Message(Incoming),
    /// Handled by the protocol (a handshake step, a keep-alive): no step sees it.
    Absorbed,
    /// The server refused or broke the protocol: the connection fails with these words.
    Failed(String),
}

/// The part of a message a request's `contract:` checks (docs/matchers.md, "Contracts").
#[derive(Debug, PartialEq)]
pub enum Payload {
    /// The data the message carries, as JSON.
    Json(Value),
    /// Data that is text, not JSON (a STOMP body): a contract finds it is not JSON.
    Text(String),
    /// A message of the protocol's own (a receipt, a `complete`): no data to check.
    None,
}

/// One connection's side of a protocol. Every method but `decode` has a default that does
/// nothing; frames to send go in `out`, and the connection sends and records them.
pub trait Protocol: Send {
    /// The protocol's name as collections write it (`jsonrpc`).
    fn name(&self) -> &'static str;

    /// Before opening: may rewrite the URL and add subprotocols to ask for.
    fn prepare(&self, _url: &mut String, _subprotocols: &mut Vec<String>) -> Result<(), String> {
        Ok(())
    }

    /// The failure of a handshake whose answer agreed on no subprotocol it asked for
    /// (`agreed`: the one the server chose, if any), in this protocol's words.
    fn unagreed(&self, message: String, _agreed: Option<&str>) -> String {
        message
    }

    /// What a request's `contract:` checks of a message this protocol handed the steps as
    /// `envelope`: by default the envelope itself.
    fn payload(&self, envelope: &Value) -> Payload {
        Payload::Json(envelope.clone())
    }

    /// The failure of a handshake the server ended with a close frame (`code`, if it gave
    /// one), in this protocol's words.
    fn closed_in_handshake(&self, message: String, _code: Option<u16>) -> String {
        message
    }

    /// Frames to send as soon as the WebSocket is open.
    fn greet(&mut self, _out: &mut Vec<Message>) {}

    /// What the handshake still waits for (`"CONNECTED"`), or `None` once steps may run.
    fn pending(&self) -> Option<String> {
        None
    }

    /// One text or binary frame from the server (already in the transcript).
    fn decode(&mut self, frame: Incoming, out: &mut Vec<Message>) -> Decoded;

    /// What frames already read hold beyond what `decode` returned (MQTT packets coalesced in
    /// one frame, a SignalR frame's later records), one at a time: the connection asks before
    /// it reads another frame. Answers go in `out`, as for `decode`.
    fn queued(&mut self, _out: &mut Vec<Message>) -> Option<Decoded> {
        None
    }

    /// A message a step sends (`send: {json}`, a `call`), in envelope form, as frames.
    fn encode(&mut self, envelope: Value, out: &mut Vec<Message>) -> Result<(), String> {
        out.push(Message::text(envelope.to_string()));
        Ok(())
    }

    /// A text frame the connection sent (a step's, or the protocol's own): a protocol that
    /// correlates by id notes the ids in use.
    fn sent(&mut self, _text: &str) {}

    /// Whether `id` is already in use on this connection (sent by hand in a `send`), so that a
    /// fresh id skips it: an answer to that message must never pass for a fresh one's. Asked
    /// with ever larger ids, so smaller ones may be forgotten.
    fn taken(&mut self, _id: u64) -> bool {
        false
    }

    /// Whether `encode` sends a JSON message as its own text, nothing around it: then a
    /// message's text as the collection wrote it (long numbers) can go out instead.
    fn sends_json_as_is(&self) -> bool {
        true
    }

    /// How often [`Protocol::tick`] runs while the connection waits for frames, if ever.
    fn tick_every(&self) -> Option<Duration> {
        None
    }

    /// Frames the client sends on its own, every [`Protocol::tick_every`] (heart-beats).
    fn tick(&mut self, _out: &mut Vec<Message>) {}

    /// Frames to send before the close frame.
    fn farewell(&mut self, _out: &mut Vec<Message>) {}
}
