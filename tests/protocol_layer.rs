//! The protocol layer is open: a protocol written outside the crate — ActionCable-like, with a
//! `welcome` handshake, server pings it answers itself and a refusal, plus a Phoenix-like
//! heartbeat it sends on its own — drives a connection through `Conn::open_with` and
//! `Conn::handshake`, against a real server on loopback, without any change to the runner.

// tungstenite's handshake callback returns its (large) HTTP error response by value.
#![allow(clippy::result_large_err)]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

use wsrun::internals::{Conn, ConnectSpec, Incoming, Recorder, RecvError};
use wsrun::internals::{Decoded, Protocol};
use wsrun::{Direction, FrameData};

/// The test protocol: envelopes are the `message` member of the server's frames.
#[derive(Default)]
struct Cable {
    welcomed: bool,
}

fn text(v: Value) -> Message {
    Message::text(v.to_string())
}

impl Protocol for Cable {
    fn name(&self) -> &'static str {
        "cable"
    }

    fn prepare(&self, url: &mut String, subprotocols: &mut Vec<String>) -> Result<(), String> {
        url.push_str("/cable");
        subprotocols.push("actioncable-v1-json".into());
        Ok(())
    }

    fn greet(&mut self, out: &mut Vec<Message>) {
        out.push(text(json!({ "type": "hello" })));
    }

    fn pending(&self) -> Option<String> {
        (!self.welcomed).then(|| "`welcome`".to_string())
    }

    fn decode(&mut self, frame: Incoming, out: &mut Vec<Message>) -> Decoded {
        let Incoming::Text(t) = &frame else {
            return Decoded::Message(frame);
        };
        let Ok(v) = serde_json::from_str::<Value>(t.as_str()) else {
            return Decoded::Message(frame);
        };
        match v["type"].as_str() {
            Some("welcome") => {
                self.welcomed = true;
                Decoded::Absorbed
            }
            Some("ping") => {
                out.push(text(json!({ "type": "pong" })));
                Decoded::Absorbed
            }
            Some("reject") => Decoded::Failed(format!(
                "the server rejected the cable connection: {}",
                v["reason"]
            )),
            _ => Decoded::Message(Incoming::Envelope(v["message"].clone())),
        }
    }

    fn encode(&mut self, envelope: Value, out: &mut Vec<Message>) -> Result<(), String> {
        out.push(text(json!({ "command": "message", "data": envelope })));
        Ok(())
    }

    fn tick_every(&self) -> Option<Duration> {
        Some(Duration::from_millis(40))
    }

    fn tick(&mut self, out: &mut Vec<Message>) {
        out.push(text(json!({ "type": "heartbeat" })));
    }
}

/// A cable server: `/cable` pings, then welcomes, then answers each message with a ping and
/// `{"message": {"echo": DATA}}`; `/reject/cable` refuses; `/slow/cable` never welcomes.
async fn server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut path = String::new();
                let agree = |req: &Request, mut res: Response| {
                    path = req.uri().path().to_string();
                    res.headers_mut().insert(
                        "sec-websocket-protocol",
                        HeaderValue::from_static("actioncable-v1-json"),
                    );
                    Ok(res)
                };
                let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(tcp, agree).await else {
                    return;
                };
                let opening = match path.as_str() {
                    "/cable" => vec![json!({ "type": "ping" }), json!({ "type": "welcome" })],
                    "/reject/cable" => vec![json!({ "type": "reject", "reason": "unauthorized" })],
                    _ => vec![],
                };
                for v in opening {
                    let _ = ws.send(text(v)).await;
                }
                while let Some(Ok(Message::Text(t))) = ws.next().await {
                    let v: Value = serde_json::from_str(t.as_str()).unwrap_or_default();
                    if v["command"] == "message" {
                        let _ = ws.send(text(json!({ "type": "ping" }))).await;
                        let echo = json!({ "message": { "echo": v["data"] } });
                        let _ = ws.send(text(echo)).await;
                    }
                }
            });
        }
    });
    format!("ws://{addr}")
}

fn spec(url: String) -> ConnectSpec {
    ConnectSpec {
        name: "cable".into(),
        url,
        headers: Vec::new(),
        subprotocols: Vec::new(),
        tls: None,
        connect_timeout: Duration::from_secs(5),
        max_message_size: 1 << 20,
        proxy: None,
        compression: true,
    }
}

/// The text frames of the transcript in one direction, as JSON.
fn frames(rec: &Recorder, direction: Direction) -> Vec<Value> {
    rec.transcript()
        .frames()
        .filter(|f| f.direction == direction)
        .filter_map(|f| match &f.data {
            FrameData::Text(t) => serde_json::from_str(t.as_str()).ok(),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn handshake_and_keep_alive_stay_in_the_transcript_and_steps_see_only_envelopes() {
    let url = server().await;
    let mut rec = Recorder::new();
    let mut conn = Conn::open_with(&spec(url), Box::new(Cable::default()))
        .await
        .expect("open");
    conn.handshake(Duration::from_secs(5), &mut rec)
        .await
        .expect("handshake");
    conn.send_json(json!({ "hi": 1 }), &mut rec)
        .await
        .expect("send");
    let deadline = Instant::now() + Duration::from_secs(5);
    let message = conn.recv(deadline, &mut rec).await.expect("a message");
    assert!(
        matches!(&message, Incoming::Envelope(v) if *v == json!({ "echo": { "hi": 1 } })),
        "{message:?}"
    );
    let sent = frames(&rec, Direction::Sent);
    assert_eq!(sent[0], json!({ "type": "hello" }));
    assert!(sent.contains(&json!({ "command": "message", "data": { "hi": 1 } })));
    // One pong for the handshake's ping, one for the ping before the echo.
    let pongs = sent.iter().filter(|v| v["type"] == "pong").count();
    assert_eq!(pongs, 2, "{sent:?}");
    let received = frames(&rec, Direction::Received);
    assert_eq!(
        received[..2],
        [json!({ "type": "ping" }), json!({ "type": "welcome" })]
    );
}

#[tokio::test]
async fn a_protocol_with_a_tick_sends_heartbeats_while_the_connection_waits() {
    let url = server().await;
    let mut rec = Recorder::new();
    let mut conn = Conn::open_with(&spec(url), Box::new(Cable::default()))
        .await
        .expect("open");
    conn.handshake(Duration::from_secs(5), &mut rec)
        .await
        .expect("handshake");
    let deadline = Instant::now() + Duration::from_millis(300);
    let waited = conn.recv(deadline, &mut rec).await;
    assert!(matches!(waited, Err(RecvError::Timeout)), "{waited:?}");
    let heartbeats = frames(&rec, Direction::Sent)
        .iter()
        .filter(|v| v["type"] == "heartbeat")
        .count();
    assert!(
        (3..=9).contains(&heartbeats),
        "{heartbeats} heartbeats in 300ms"
    );
}

#[tokio::test]
async fn a_refusal_fails_the_handshake_with_the_servers_words() {
    let url = server().await;
    let mut rec = Recorder::new();
    let mut conn = Conn::open_with(&spec(format!("{url}/reject")), Box::new(Cable::default()))
        .await
        .expect("open");
    let refused = conn.handshake(Duration::from_secs(5), &mut rec).await;
    assert_eq!(
        refused,
        Err("the server rejected the cable connection: \"unauthorized\"".to_string())
    );
}

#[tokio::test]
async fn a_handshake_that_never_ends_fails_naming_what_it_waited_for() {
    let url = server().await;
    let mut rec = Recorder::new();
    let mut conn = Conn::open_with(&spec(format!("{url}/slow")), Box::new(Cable::default()))
        .await
        .expect("open");
    let stuck = conn.handshake(Duration::from_millis(200), &mut rec).await;
    assert_eq!(
        stuck,
        Err(
            "the cable handshake did not finish within 200ms: no `welcome` from the server"
                .to_string()
        )
    );
}
