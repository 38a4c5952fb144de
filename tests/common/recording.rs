//! An echo server that also records what each client sent, with the path it connected to: for
//! tests that must tell clients (a load's users) apart.

use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};

use super::{serve, TestServer};

/// `(path, text)` of every text message received, in arrival order.
pub type Received = Arc<Mutex<Vec<(String, String)>>>;

/// Echoes every text message back and records it with the client's request path.
pub fn recording_echo() -> (TestServer, Received) {
    let received: Received = Arc::default();
    let log = Arc::clone(&received);
    let server = serve(move |tcp| {
        let log = Arc::clone(&log);
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
                if let Ok(text) = msg.to_text() {
                    if msg.is_text() {
                        if let Ok(mut log) = log.lock() {
                            log.push((path.clone(), text.to_string()));
                        }
                    }
                }
                if msg.is_text() && ws.send(msg).await.is_err() {
                    return;
                }
            }
        }
    });
    (server, received)
}
