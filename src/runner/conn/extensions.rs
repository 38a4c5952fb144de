//! permessage-deflate on a connection: the offer in the handshake request, the server's answer
//! checked and handed to the wire (which inflates), and the compression of what is sent.

use tokio_tungstenite::tungstenite::handshake::client::{Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

use super::{Conn, Ws};
use crate::runner::wire::{self, Agreed, Deflater};

const HEADER: &str = "sec-websocket-extensions";

/// Adds the offer to `request` unless `compression` is off or the collection set the header
/// itself; whether permessage-deflate was offered, either way.
pub(super) fn offer(request: &mut Request, compression: bool) -> bool {
    if let Some(own) = request.headers().get(HEADER) {
        return own
            .to_str()
            .is_ok_and(|v| v.to_ascii_lowercase().contains("permessage-deflate"));
    }
    if compression {
        request
            .headers_mut()
            .insert(HEADER, HeaderValue::from_static(wire::OFFER));
    }
    compression
}

/// Checks the server's answer against the offer and tells the wire what was agreed.
pub(super) fn agree(
    ws: &mut Ws,
    response: &Response,
    offered: bool,
) -> Result<Option<Agreed>, String> {
    let values = response
        .headers()
        .get_all(HEADER)
        .iter()
        .map(|v| v.to_str().unwrap_or("(not text)"));
    let agreed = wire::negotiate(values, offered).map_err(|e| e.to_string())?;
    ws.get_mut().agree(agreed.clone());
    Ok(agreed)
}

impl Conn {
    /// A text or binary message as it goes on the wire: compressed (a frame with RSV1) when
    /// the server agreed and takes compressed messages from wsrun; anything else as it is.
    pub(super) fn compressed(&mut self, message: Message) -> Message {
        let Some(agreed) = self.agreed.as_ref().filter(|a| a.compresses_outgoing()) else {
            return message;
        };
        self.deflater
            .get_or_insert_with(|| Box::new(Deflater::new(agreed)))
            .message(message)
    }
}
