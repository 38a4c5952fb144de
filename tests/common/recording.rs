//! Servers that keep the exact text of every frame they receive, with the path each client
//! connected to: for tests of what the client put on the wire (key order, number spelling) and
//! of which client sent what (a load's users).

use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};

use super::{serve, TestServer};

/// The text frames a recording server received, in arrival order, across all its connections.
#[derive(Clone, Default)]
pub struct Received(Arc<Mutex<Vec<(String, String)>>>);

impl Received {
    /// Every text frame so far, byte for byte.
    pub fn texts(&self) -> Vec<String> {
        self.entries().into_iter().map(|(_, text)| text).collect()
    }

    /// `(path, text)` of every text frame so far.
    pub fn entries(&self) -> Vec<(String, String)> {
        // A poisoned lock means a server task panicked; the test shows that panic already.
        self.0.lock().map(|t| t.clone()).unwrap_or_default()
    }
}

/// Records every text frame with the client's request path; sends nothing.
pub fn recorder() -> (TestServer, Received) {
    recording(false)
}

/// Echoes every text frame back, and records it with the client's request path.
pub fn recording_echo() -> (TestServer, Received) {
    recording(true)
}

fn recording(echo: bool) -> (TestServer, Received) {
    let received = Received::default();
    let keep = received.clone();
    let server = serve(move |tcp| {
        let keep = keep.clone();
        async move {
            let mut path = String::new();
            // The `ErrorResponse` type is tungstenite's, not ours to shrink.
            #[allow(clippy::result_large_err)]
            let callback = |request: &Request, response: Response| {
                path = request.uri().path().to_string();
                Ok::<Response, ErrorResponse>(response)
            };
            let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(tcp, callback).await else {
                return;
            };
            while let Some(Ok(msg)) = ws.next().await {
                if !msg.is_text() {
                    continue;
                }
                if let (Ok(text), Ok(mut log)) = (msg.to_text(), keep.0.lock()) {
                    log.push((path.clone(), text.to_string()));
                }
                if echo && ws.send(msg).await.is_err() {
                    return;
                }
            }
        }
    });
    (server, received)
}
