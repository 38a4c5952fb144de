//! A server that keeps the exact text of every frame it receives, for tests of what the client
//! put on the wire (key order, number spelling), not of what a parser makes of it.

use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;

use super::{accept, serve, TestServer};

/// The text frames a [`recorder`] received, in arrival order, across all its connections.
#[derive(Clone, Default)]
pub struct Received(Arc<Mutex<Vec<String>>>);

impl Received {
    /// Every text frame so far, byte for byte.
    pub fn texts(&self) -> Vec<String> {
        // A poisoned lock means a server task panicked; the test shows that panic already.
        self.0.lock().map(|t| t.clone()).unwrap_or_default()
    }
}

/// Accepts clients and records each text frame's payload exactly as it arrived; sends nothing.
pub fn recorder() -> (TestServer, Received) {
    let received = Received::default();
    let keep = received.clone();
    let server = serve(move |tcp| {
        let keep = keep.clone();
        async move {
            let Some(mut ws) = accept(tcp).await else {
                return;
            };
            while let Some(Ok(msg)) = ws.next().await {
                if let Message::Text(text) = msg {
                    if let Ok(mut texts) = keep.0.lock() {
                        texts.push(text.as_str().to_owned());
                    }
                }
            }
        }
    });
    (server, received)
}
