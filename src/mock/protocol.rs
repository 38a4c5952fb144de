//! A mock's side of a protocol: one [`Session`] per client reads its frames into the envelopes
//! that `on:` rules see, encodes the rules' `json` replies as the protocol's frames, and gives
//! the protocol's own answers (JSON-RPC's `methods:`, a handshake, a keep-alive) and what it
//! sends on its own (pings).
//!
//! A raw mock has no session: rules see the frames themselves, as they always did.

use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{
    Callback, ErrorResponse, Request, Response,
};
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

/// A frame to send to the client, now or after `delay` (later answers do not hold up others).
pub(crate) struct Answer {
    pub(crate) delay: Option<Duration>,
    pub(crate) message: Message,
}

impl Answer {
    pub(crate) fn now(message: Message) -> Self {
        Self {
            delay: None,
            message,
        }
    }
}

/// What a mock knows of its protocol, compiled once; it opens a session per client.
pub(crate) trait Speaker: Send + Sync {
    fn session(&self) -> Box<dyn Session + '_>;

    /// The subprotocols it agrees to when a client asks for one of them.
    fn subprotocols(&self) -> &'static [&'static str] {
        &[]
    }
}

/// The WebSocket handshake's answer: the first subprotocol the client asks for that the mock's
/// protocol speaks or that its `subprotocols:` lists, if any.
pub(crate) struct Agree<'a> {
    pub(crate) speaks: &'static [&'static str],
    pub(crate) listed: &'a [String],
    /// Whether the mock agrees to permessage-deflate when offered, and what it agreed on.
    pub(crate) compression: bool,
    pub(crate) agreed: &'a mut Option<crate::runner::wire::Agreed>,
}

impl Callback for Agree<'_> {
    fn on_request(
        self,
        request: &Request,
        mut response: Response,
    ) -> Result<Response, ErrorResponse> {
        let asked = request
            .headers()
            .get_all("sec-websocket-protocol")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim);
        let agreed = asked.into_iter().find_map(|p| {
            let spoken = self.speaks.iter().find(|s| **s == p).copied();
            spoken.or_else(|| self.listed.iter().find(|s| *s == p).map(String::as_str))
        });
        // A listed name that is no header value was rejected at load; skip it rather than fail.
        if let Some(value) = agreed.and_then(|p| HeaderValue::from_str(p).ok()) {
            response
                .headers_mut()
                .insert("sec-websocket-protocol", value);
        }
        let offers = request
            .headers()
            .get_all("sec-websocket-extensions")
            .iter()
            .filter_map(|v| v.to_str().ok());
        if let Some((header, agreed)) = self
            .compression
            .then(|| crate::runner::wire::answer(offers))
            .flatten()
        {
            if let Ok(value) = HeaderValue::from_str(&header) {
                response
                    .headers_mut()
                    .insert("sec-websocket-extensions", value);
                *self.agreed = Some(agreed);
            }
        }
        Ok(response)
    }
}

/// One client's conversation in the protocol.
pub(crate) trait Session: Send {
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

    /// When [`Session::tick`] is due next (asked again after every frame and every tick), if
    /// the protocol does anything on its own.
    fn next_tick(&self) -> Option<tokio::time::Instant> {
        None
    }

    /// What the protocol sends on its own (Socket.IO's pings, or the close of a client that
    /// did not answer them).
    fn tick(&mut self, _out: &mut Vec<Answer>) {}

    /// Frames for this client that come from elsewhere (a broker's fan-out of other clients'
    /// messages, its heart-beats); taken once, when the client connects.
    fn inbound(&mut self) -> Option<mpsc::UnboundedReceiver<Message>> {
        None
    }
}
