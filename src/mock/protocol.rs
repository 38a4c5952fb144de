//! A mock's side of a protocol: one [`Session`] per client reads its frames into the envelopes
//! that `on:` rules see, encodes the rules' `json` replies as the protocol's frames, and gives
//! the protocol's own answers (JSON-RPC's `methods:`, a handshake, a keep-alive).
//!
//! A raw mock has no session: rules see the frames themselves, as they always did.

use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::collection::{MockDef, ProtocolName};

/// A frame to send to the client, now or after `delay` (later answers do not hold up others).
pub(super) struct Answer {
    pub(super) delay: Option<Duration>,
    pub(super) message: Message,
}

impl Answer {
    pub(super) fn now(message: Message) -> Self {
        Self {
            delay: None,
            message,
        }
    }
}

/// What a mock knows of its protocol, compiled once; it opens a session per client.
pub(super) trait Speaker: Send + Sync {
    fn session(&self) -> Box<dyn Session + '_>;

    /// The WebSocket subprotocols it agrees to, most wanted first (`v12.stomp`…).
    fn subprotocols(&self) -> &'static [&'static str] {
        &[]
    }
}

/// One client's conversation in the protocol.
pub(super) trait Session: Send {
    /// Frames to send as soon as the client connects (Socket.IO's open packet).
    fn greet(&mut self, _out: &mut Vec<Answer>) {}

    /// A text or binary frame from the client: the envelope `on:` rules see, or `None` when
    /// the protocol handled it itself (its answers go in `out`).
    fn receive(&mut self, frame: &Message, out: &mut Vec<Answer>) -> Option<Value>;

    /// A rule's `json` reply, in envelope form, as frames.
    fn encode(&mut self, envelope: Value) -> Vec<Message> {
        vec![Message::text(envelope.to_string())]
    }

    /// The protocol's own answer to an envelope that no rule answered.
    fn answer(&mut self, _envelope: &Value, _out: &mut Vec<Answer>) {}

    /// Frames for this client that come from elsewhere (a broker's fan-out of other clients'
    /// messages, its heart-beats); taken once, when the client connects.
    fn inbound(&mut self) -> Option<mpsc::UnboundedReceiver<Message>> {
        None
    }
}

/// The speaker of a mock's `protocol:`, if it is not `raw`.
pub(super) fn speaker(def: &MockDef) -> Result<Option<Box<dyn Speaker>>, String> {
    match def.protocol {
        ProtocolName::Raw => Ok(None),
        ProtocolName::JsonRpc => Ok(Some(Box::new(super::jsonrpc::Methods::compile(def)))),
        ProtocolName::Stomp => Ok(Some(Box::new(super::stomp::Broker::compile(def)?))),
        other => Err(format!(
            "`protocol: {}` is not implemented yet",
            other.as_str()
        )),
    }
}
