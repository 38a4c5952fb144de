//! `protocol: raw`: frames as they are — no handshake, no keep-alive, no envelope.

use tokio_tungstenite::tungstenite::Message;

use super::Incoming;
use super::{Decoded, Protocol};

/// The default protocol: every frame reaches the steps unchanged.
pub struct Raw;

impl Protocol for Raw {
    fn name(&self) -> &'static str {
        "raw"
    }

    #[inline]
    fn decode(&mut self, frame: Incoming, _out: &mut Vec<Message>) -> Decoded {
        Decoded::Message(frame)
    }
}
