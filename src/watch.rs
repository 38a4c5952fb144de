//! A live session on one connection, shared by `wsrun watch` and `wsrun record`: connect, send
//! the first frames, then hand every frame to a sink until a count, a duration, the server's
//! close or a stop (Ctrl-C) ends it. Lines fed in while it runs are sent as text frames.
//!
//! The session never prints: the sink decides what becomes of each frame (printed, saved, both).

use std::future::Future;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::runner::conn::{Closed, Conn, ConnectSpec, Incoming, Recorder, RecvError};

/// Where a session connects: a URL with a request's handshake options, before they become a
/// [`ConnectSpec`] (TLS roots read, limits set).
#[derive(Debug, Clone, Default)]
pub struct Target {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub subprotocols: Vec<String>,
    /// The CA file, client certificate and key (relative to the current folder), or
    /// `insecure`.
    pub tls: crate::runner::tls::TlsFiles,
    /// `--proxy`: a proxy URL, or `none`; without it, the environment's.
    pub proxy: Option<String>,
    /// `--no-compression`: do not offer permessage-deflate.
    pub no_compression: bool,
}

/// How long connecting (TCP, TLS and the WebSocket handshake) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl Target {
    /// Just a URL, with the default TLS roots.
    pub fn url(url: &str) -> Self {
        Self {
            url: url.to_string(),
            ..Self::default()
        }
    }

    /// The proxy it goes through (`proxy`, else the environment's).
    pub fn proxy(&self) -> Result<Option<crate::runner::proxy::Proxy>, String> {
        crate::runner::proxy::choose(self.proxy.as_deref(), &self.url, |name| {
            std::env::var(name).ok()
        })
        .map_err(|e| e.to_string())
    }

    /// The connection to open, named `name` (in transcripts), with a request's default limits.
    pub fn connect_spec(&self, name: &str) -> Result<ConnectSpec, String> {
        let tls = crate::runner::tls::client_config(&self.tls, std::path::Path::new("."))?;
        Ok(ConnectSpec {
            name: name.into(),
            url: self.url.clone(),
            headers: self.headers.clone(),
            subprotocols: self.subprotocols.clone(),
            tls,
            connect_timeout: CONNECT_TIMEOUT,
            max_message_size: crate::collection::DEFAULT_MAX_MESSAGE_SIZE,
            proxy: self.proxy()?,
            compression: !self.no_compression,
        })
    }
}

/// What a session does once connected.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Text frames sent right after connecting, in order (a SUBSCRIBE message, say).
    pub send: Vec<String>,
    /// Stop after this many received messages.
    pub count: Option<u64>,
    /// Stop this long after connecting.
    pub duration: Option<Duration>,
    /// The protocol spoken inside the frames, with its default options: its handshake is done
    /// before the session starts, and its messages are its envelopes.
    pub protocol: crate::protocol::ProtocolName,
}

/// One thing that happened on the connection, in order; `at` counts from the connection opening.
#[derive(Debug)]
pub enum Event<'a> {
    /// The handshake is done.
    Connected,
    /// A text frame this session sent.
    Sent { at: Duration, text: &'a str },
    /// A data message from the server (text or binary; control frames are not shown).
    Received { at: Duration, message: &'a Message },
}

/// Why a session ended, when nothing went wrong.
#[derive(Debug, Clone, PartialEq)]
pub enum End {
    /// `count` messages arrived.
    Count,
    /// `duration` passed.
    Duration,
    /// The server closed the connection with a close frame.
    Closed(Closed),
    /// The stop future fired (Ctrl-C).
    Stopped,
}

/// How a session went: the messages received and why it ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub received: u64,
    pub end: End,
}

/// Why a session failed.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// Opening the connection failed; the text says why, as a request's failure would.
    #[error("{0}")]
    Connect(String),
    #[error("cannot send {frame}: {message}")]
    Send { frame: String, message: String },
    /// The sink could not take a frame (a file that cannot be written, a closed pipe).
    #[error("{0}")]
    Sink(std::io::Error),
    #[error("the connection failed after {received} message(s): {message}")]
    Lost { received: u64, message: String },
}

/// Connects as `spec` says (through the same code as a request's connections), sends
/// `plan.send`, then gives every frame to `sink` until the plan's count or duration, the
/// server's close, or `stop` completes. Each line that arrives on `lines` is sent as a text
/// frame; `lines` closing (the end of stdin) does not end the session.
pub async fn watch<S>(
    spec: &ConnectSpec,
    plan: &Plan,
    mut lines: Option<mpsc::Receiver<String>>,
    stop: S,
    sink: &mut dyn FnMut(Event<'_>) -> std::io::Result<()>,
) -> Result<Summary, WatchError>
where
    S: Future<Output = ()>,
{
    tokio::pin!(stop);
    // A stop while connecting ends the session too (Ctrl-C during a slow handshake).
    let mut conn = tokio::select! {
        biased;
        () = &mut stop => return Ok(Summary { received: 0, end: End::Stopped }),
        opened = open(spec, plan.protocol) => opened.map_err(WatchError::Connect)?,
    };
    let mut rec = Recorder::new();
    sink(Event::Connected).map_err(WatchError::Sink)?;
    for frame in &plan.send {
        send_text(&mut conn, &mut rec, frame, sink).await?;
    }
    // Without a duration, a deadline far enough away never to come.
    let deadline = rec.start
        + plan
            .duration
            .unwrap_or(Duration::from_secs(100 * 365 * 86_400));
    let mut received = 0u64;
    let end = loop {
        if plan.count.is_some_and(|n| received >= n) {
            break End::Count;
        }
        let step = tokio::select! {
            biased;
            () = &mut stop => Step::Stop,
            line = next_line(&mut lines) => Step::Line(line),
            message = conn.recv(deadline, &mut rec) => Step::Message(message),
        };
        match step {
            Step::Stop => break End::Stopped,
            Step::Line(None) => lines = None,
            Step::Line(Some(line)) => send_text(&mut conn, &mut rec, &line, sink).await?,
            Step::Message(Err(RecvError::Timeout)) => break End::Duration,
            Step::Message(Err(RecvError::Closed(closed))) => match closed.error {
                Some(message) => return Err(WatchError::Lost { received, message }),
                None => break End::Closed(closed),
            },
            Step::Message(Ok(incoming)) => {
                let message = match incoming {
                    Incoming::Text(t) => Message::Text(t),
                    Incoming::Binary(b) => Message::Binary(b),
                    // A protocol's envelope, shown and saved as its JSON.
                    Incoming::Envelope(v) => Message::text(v.to_string()),
                };
                received += 1;
                let at = rec.start.elapsed();
                sink(Event::Received {
                    at,
                    message: &message,
                })
                .map_err(WatchError::Sink)?;
            }
        }
    };
    if !matches!(end, End::Closed(_)) {
        conn.shutdown(&mut rec).await;
    }
    Ok(Summary { received, end })
}

/// Opens the connection speaking `protocol` and does its handshake (nothing for `raw`).
async fn open(spec: &ConnectSpec, protocol: crate::protocol::ProtocolName) -> Result<Conn, String> {
    let config = crate::protocol::ProtocolConfig::defaults(protocol);
    let speaker = crate::protocol::build(&config, &crate::template::Scope::default())?;
    let mut conn = Conn::open_with(spec, speaker).await?;
    // The handshake's frames are not the session's: it starts once the protocol is ready.
    conn.handshake(spec.connect_timeout, &mut Recorder::new())
        .await?;
    Ok(conn)
}

/// What woke the session up.
enum Step {
    Stop,
    Line(Option<String>),
    Message(Result<Incoming, RecvError>),
}

/// The next line to send; pending for ever once there are none (no input, or its end).
async fn next_line(lines: &mut Option<mpsc::Receiver<String>>) -> Option<String> {
    match lines {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn send_text(
    conn: &mut Conn,
    rec: &mut Recorder,
    text: &str,
    sink: &mut dyn FnMut(Event<'_>) -> std::io::Result<()>,
) -> Result<(), WatchError> {
    conn.send(Message::text(text), rec)
        .await
        .map_err(|message| WatchError::Send {
            frame: text.to_string(),
            message,
        })?;
    let at = rec.start.elapsed();
    sink(Event::Sent { at, text }).map_err(WatchError::Sink)
}
