//! One WebSocket connection of a request: opening it (TLS, headers, subprotocols, timeouts),
//! its inbox, and the frames it records in the transcript.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Bytes, Message, Utf8Bytes};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::report::{Direction, Frame, FrameData, Transcript};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A message from the server, as the steps see it.
#[derive(Debug, Clone)]
pub enum Incoming {
    Text(Utf8Bytes),
    Binary(Bytes),
}

/// How a connection ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Closed {
    pub code: Option<u16>,
    pub reason: String,
    /// True when the peer sent a close frame; false when the connection was lost.
    pub clean: bool,
    /// True when this request closed first (a `close` step) and the server answered.
    pub by_us: bool,
    /// What went wrong when it was lost.
    pub error: Option<String>,
}

impl Closed {
    pub fn describe(&self) -> String {
        if let Some(e) = &self.error {
            return e.clone();
        }
        if self.by_us {
            return "the connection was closed by this request's `close` step".into();
        }
        match (self.clean, self.code) {
            (true, Some(code)) if self.reason.is_empty() => {
                format!("the server closed the connection (code {code})")
            }
            (true, Some(code)) => format!(
                "the server closed the connection (code {code}, reason \"{}\")",
                self.reason
            ),
            (true, None) => "the server closed the connection (no close code)".into(),
            (false, _) => "the connection was dropped without a close frame".into(),
        }
    }
}

/// What `recv` returns instead of a message.
#[derive(Debug, Clone, PartialEq)]
pub enum RecvError {
    Timeout,
    Closed(Closed),
}

/// Everything needed to open a connection, templates already expanded.
#[derive(Debug, Clone)]
pub struct ConnectSpec {
    pub name: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub subprotocols: Vec<String>,
    pub tls: Option<Arc<rustls::ClientConfig>>,
    pub connect_timeout: Duration,
    pub max_message_size: usize,
}

/// An open connection with its inbox of frames read but not yet consumed by a step.
pub struct Conn {
    pub name: Arc<str>,
    ws: Ws,
    inbox: VecDeque<Incoming>,
    closed: Option<Closed>,
    pongs: VecDeque<Bytes>,
    /// Set once we sent a close frame.
    pub close_sent: bool,
    /// The request's `contract:`, checking every message this connection reads.
    pub contract: Option<crate::contract::Watch>,
}

/// The shared clock, transcript and message-rate counts of a request.
pub struct Recorder {
    pub start: Instant,
    pub transcript: Transcript,
    rates: Vec<(Arc<str>, Vec<u32>)>,
    bucket_ms: u64,
    progress: Option<Arc<crate::options::Progress>>,
}

/// Rate series never grow past this many buckets: older buckets merge pairwise instead.
const MAX_BUCKETS: u64 = 600;

impl Recorder {
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
            transcript: Transcript::default(),
            rates: Vec::new(),
            bucket_ms: 100,
            progress: None,
        }
    }

    /// A recorder that also counts received messages into `progress`.
    pub fn with_progress(progress: Option<Arc<crate::options::Progress>>) -> Self {
        Self {
            progress,
            ..Self::new()
        }
    }

    pub fn record(&mut self, conn: &Arc<str>, direction: Direction, data: FrameData) {
        let at = self.start.elapsed();
        if direction == Direction::Received
            && matches!(data, FrameData::Text(_) | FrameData::Binary(_))
        {
            self.count(conn, at);
            if let Some(p) = &self.progress {
                p.messages
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
        self.transcript.push(Frame {
            at,
            direction,
            connection: conn.clone(),
            data,
        });
    }

    fn count(&mut self, conn: &Arc<str>, at: Duration) {
        let mut index = at.as_millis() as u64 / self.bucket_ms;
        while index >= MAX_BUCKETS {
            for (_, counts) in &mut self.rates {
                *counts = counts.chunks(2).map(|c| c.iter().sum()).collect();
            }
            self.bucket_ms *= 2;
            index /= 2;
        }
        let series = match self.rates.iter().position(|(c, _)| Arc::ptr_eq(c, conn)) {
            Some(i) => &mut self.rates[i].1,
            None => {
                self.rates.push((conn.clone(), Vec::new()));
                &mut self.rates.last_mut().expect("just pushed").1
            }
        };
        let index = index as usize;
        if series.len() <= index {
            series.resize(index + 1, 0);
        }
        series[index] += 1;
    }

    /// The rate series recorded so far.
    pub fn rates(&self) -> Vec<crate::report::RateSeries> {
        self.rates
            .iter()
            .map(|(c, counts)| crate::report::RateSeries {
                connection: c.clone(),
                bucket: Duration::from_millis(self.bucket_ms),
                counts: counts.clone(),
            })
            .collect()
    }
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

/// The transcript copies small payloads: a shared one would pin tungstenite's read buffer, which
/// then can never be reused (measured: 56× more `recvfrom` calls and ~8% slower on a firehose).
const COPY_LIMIT: usize = 4096;

/// The inbox may not grow past this while a step (a ping) reads ahead.
const INBOX_LIMIT: usize = 100_000;

impl Conn {
    /// Opens the connection within its `connect_timeout`.
    pub async fn open(spec: &ConnectSpec) -> Result<Conn, String> {
        let mut request = spec
            .url
            .as_str()
            .into_client_request()
            .map_err(|e| format!("invalid URL `{}`: {}", spec.url, describe_ws_error(&e)))?;
        for (name, value) in &spec.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("invalid header name `{name}`"))?;
            let value = HeaderValue::from_str(value)
                .map_err(|_| format!("invalid value for header `{name}`"))?;
            request.headers_mut().append(name, value);
        }
        if !spec.subprotocols.is_empty() {
            let joined = spec.subprotocols.join(", ");
            let value = HeaderValue::from_str(&joined)
                .map_err(|_| format!("invalid subprotocols `{joined}`"))?;
            request
                .headers_mut()
                .insert("sec-websocket-protocol", value);
        }
        let mut config = WebSocketConfig::default();
        config.max_message_size = Some(spec.max_message_size);
        config.max_frame_size = Some(spec.max_message_size);
        let connector = spec.tls.clone().map(tokio_tungstenite::Connector::Rustls);
        let connecting = tokio_tungstenite::connect_async_tls_with_config(
            request,
            Some(config),
            true,
            connector,
        );
        let (ws, response) = tokio::time::timeout(spec.connect_timeout, connecting)
            .await
            .map_err(|_| {
                format!(
                    "could not connect to {} within {}",
                    spec.url,
                    crate::duration::format_duration(spec.connect_timeout)
                )
            })?
            .map_err(|e| {
                if matches!(
                    e,
                    tungstenite::Error::Protocol(
                        tungstenite::error::ProtocolError::SecWebSocketSubProtocolError(_)
                    )
                ) {
                    return format!(
                        "could not connect to {}: the server did not agree on a subprotocol (asked for: {})",
                        spec.url,
                        spec.subprotocols.join(", ")
                    );
                }
                format!(
                    "could not connect to {}: {}",
                    spec.url,
                    describe_connect_error(&spec.url, &e)
                )
            })?;
        if !spec.subprotocols.is_empty() {
            let agreed = response
                .headers()
                .get("sec-websocket-protocol")
                .and_then(|v| v.to_str().ok());
            match agreed {
                Some(p) if spec.subprotocols.iter().any(|s| s == p) => {}
                Some(p) => {
                    return Err(format!(
                        "the server chose subprotocol `{p}`, which was not asked for ({})",
                        spec.subprotocols.join(", ")
                    ))
                }
                None => {
                    return Err(format!(
                        "the server did not agree on a subprotocol (asked for: {})",
                        spec.subprotocols.join(", ")
                    ))
                }
            }
        }
        Ok(Conn {
            name: spec.name.as_str().into(),
            ws,
            inbox: VecDeque::new(),
            closed: None,
            pongs: VecDeque::new(),
            close_sent: false,
            contract: None,
        })
    }

    pub fn closed(&self) -> Option<&Closed> {
        self.closed.as_ref()
    }

    /// Sends one frame.
    pub async fn send(&mut self, message: Message, rec: &mut Recorder) -> Result<(), String> {
        if let Some(closed) = &self.closed {
            return Err(format!("cannot send: {}", closed.describe()));
        }
        if self.close_sent {
            return Err(
                "cannot send: this request's `close` step already closed the connection".into(),
            );
        }
        let data = match &message {
            Message::Text(t) => FrameData::Text(t.clone()),
            Message::Binary(b) => FrameData::Binary(b.clone()),
            Message::Ping(b) => FrameData::Ping(b.clone()),
            Message::Pong(b) => FrameData::Pong(b.clone()),
            Message::Close(c) => {
                self.close_sent = true;
                FrameData::Close(
                    c.as_ref().map(|c| u16::from(c.code)),
                    c.as_ref().map(|c| c.reason.to_string()).unwrap_or_default(),
                )
            }
            Message::Frame(_) => FrameData::Lost("raw frame".into()),
        };
        rec.record(&self.name, Direction::Sent, data);
        self.ws
            .send(message)
            .await
            .map_err(|e| format!("send failed: {}", describe_ws_error(&e)))
    }

    /// Sends a close frame.
    pub async fn close(
        &mut self,
        code: u16,
        reason: &str,
        rec: &mut Recorder,
    ) -> Result<(), String> {
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: reason.into(),
        };
        self.send(Message::Close(Some(frame)), rec).await
    }

    /// The oldest unread message, waiting until `deadline`.
    pub async fn recv(
        &mut self,
        deadline: Instant,
        rec: &mut Recorder,
    ) -> Result<Incoming, RecvError> {
        if let Some(m) = self.inbox.pop_front() {
            return Ok(m);
        }
        loop {
            if let Some(closed) = &self.closed {
                return Err(RecvError::Closed(closed.clone()));
            }
            match tokio::time::timeout_at(deadline, self.read_frame(rec)).await {
                Err(_) => return Err(RecvError::Timeout),
                Ok(Some(m)) => return Ok(m),
                Ok(None) => continue,
            }
        }
    }

    /// Waits for a pong with `payload`, keeping messages that arrive meanwhile in the inbox.
    pub async fn await_pong(
        &mut self,
        payload: &[u8],
        deadline: Instant,
        rec: &mut Recorder,
    ) -> Result<(), RecvError> {
        loop {
            if let Some(pos) = self.pongs.iter().position(|p| p.as_ref() == payload) {
                self.pongs.remove(pos);
                return Ok(());
            }
            if let Some(closed) = &self.closed {
                return Err(RecvError::Closed(closed.clone()));
            }
            match tokio::time::timeout_at(deadline, self.read_frame(rec)).await {
                Err(_) => return Err(RecvError::Timeout),
                Ok(Some(m)) => {
                    if self.inbox.len() >= INBOX_LIMIT {
                        return Err(RecvError::Closed(Closed {
                            code: None,
                            reason: String::new(),
                            clean: false,
                            by_us: false,
                            error: Some(format!(
                                "more than {INBOX_LIMIT} messages arrived while waiting for the pong"
                            )),
                        }));
                    }
                    self.inbox.push_back(m);
                }
                Ok(None) => {}
            }
        }
    }

    /// Reads the next frame: returns data messages; records and absorbs control frames.
    async fn read_frame(&mut self, rec: &mut Recorder) -> Option<Incoming> {
        let next = self.ws.next().await;
        match next {
            Some(Ok(Message::Text(t))) => {
                let kept = if t.len() <= COPY_LIMIT {
                    Utf8Bytes::from(t.as_str().to_owned())
                } else {
                    t.clone()
                };
                rec.record(&self.name, Direction::Received, FrameData::Text(kept));
                if let Some(c) = &mut self.contract {
                    c.observe(Some(t.as_str()));
                }
                Some(Incoming::Text(t))
            }
            Some(Ok(Message::Binary(b))) => {
                let kept = if b.len() <= COPY_LIMIT {
                    Bytes::copy_from_slice(&b)
                } else {
                    b.clone()
                };
                rec.record(&self.name, Direction::Received, FrameData::Binary(kept));
                if let Some(c) = &mut self.contract {
                    c.observe(None);
                }
                Some(Incoming::Binary(b))
            }
            Some(Ok(Message::Ping(b))) => {
                rec.record(&self.name, Direction::Received, FrameData::Ping(b));
                None
            }
            Some(Ok(Message::Pong(b))) => {
                rec.record(&self.name, Direction::Received, FrameData::Pong(b.clone()));
                self.pongs.push_back(b);
                None
            }
            Some(Ok(Message::Close(frame))) => {
                let code = frame.as_ref().map(|f| u16::from(f.code));
                let reason = frame.map(|f| f.reason.to_string()).unwrap_or_default();
                rec.record(
                    &self.name,
                    Direction::Received,
                    FrameData::Close(code, reason.clone()),
                );
                self.closed = Some(Closed {
                    code,
                    reason,
                    clean: true,
                    by_us: self.close_sent,
                    error: None,
                });
                None
            }
            Some(Ok(Message::Frame(_))) => None,
            Some(Err(e)) => {
                let error = describe_ws_error(&e);
                rec.record(
                    &self.name,
                    Direction::Received,
                    FrameData::Lost(error.clone()),
                );
                let clean = self.close_sent && matches!(e, tungstenite::Error::ConnectionClosed);
                self.closed = Some(Closed {
                    code: None,
                    reason: String::new(),
                    clean,
                    by_us: self.close_sent,
                    error: (!clean).then_some(error),
                });
                None
            }
            None => {
                if self.closed.is_none() {
                    let error = "the connection was dropped without a close frame".to_string();
                    rec.record(
                        &self.name,
                        Direction::Received,
                        FrameData::Lost(error.clone()),
                    );
                    self.closed = Some(Closed {
                        code: None,
                        reason: String::new(),
                        clean: false,
                        by_us: false,
                        error: Some(error),
                    });
                }
                None
            }
        }
    }

    /// Closes politely at the end of a request without waiting long for the reply.
    pub async fn shutdown(mut self, rec: &mut Recorder) {
        if self.closed.is_none() && !self.close_sent {
            let _ = tokio::time::timeout(Duration::from_millis(250), async {
                let _ = self.close(1000, "", rec).await;
            })
            .await;
        }
    }
}

/// Errors while opening: the same sentences, with the handshake's usual suspects named.
fn describe_connect_error(url: &str, e: &tungstenite::Error) -> String {
    let text = describe_ws_error(e);
    let dropped = text == "the connection was dropped without a close frame"
        || text == "connection reset by the server";
    if url.starts_with("wss://") && (dropped || text.starts_with("TLS")) {
        return format!(
            "the TLS handshake failed ({text}); is the server speaking plain ws:// rather than wss://?"
        );
    }
    if dropped {
        return format!("the server closed the connection during the WebSocket handshake ({text})");
    }
    text
}

/// Turns tungstenite's errors into sentences.
pub fn describe_ws_error(e: &tungstenite::Error) -> String {
    use tungstenite::error::{CapacityError, ProtocolError};
    use tungstenite::Error as E;
    match e {
        E::Capacity(CapacityError::MessageTooLong { size, max_size }) => format!(
            "a message of {size} bytes exceeds max_message_size ({}); raise `defaults.max_message_size` if this is expected",
            human_size(*max_size)
        ),
        E::Capacity(c) => format!("message too large: {c}"),
        E::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
            std::io::ErrorKind::ConnectionReset => "connection reset by the server".into(),
            std::io::ErrorKind::UnexpectedEof => {
                "the connection was dropped without a close frame".into()
            }
            _ => {
                let text = io.to_string();
                if text.contains("failed to lookup address") || text.contains("Name or service not known") {
                    format!("unknown host ({text})")
                } else if text.contains("InvalidCertificate") || text.contains("invalid peer certificate") {
                    format!("the server's TLS certificate is not trusted ({text}); use `tls: {{ca: FILE}}` or `tls: {{insecure: true}}`")
                } else if text.contains("InvalidContentType") || text.contains("corrupt message") {
                    format!("TLS handshake failed: is the server speaking plain ws:// rather than wss://? ({text})")
                } else {
                    text
                }
            }
        },
        E::Tls(t) => {
            let text = t.to_string();
            if text.contains("certificate") {
                format!("the server's TLS certificate is not trusted ({text}); use `tls: {{ca: FILE}}` or `tls: {{insecure: true}}`")
            } else {
                format!("TLS error: {text}")
            }
        }
        E::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
            "the connection was dropped without a close frame".into()
        }
        E::Http(response) => format!(
            "the server answered the upgrade with HTTP {}",
            response.status()
        ),
        E::Url(u) => format!("invalid URL: {u}"),
        E::ConnectionClosed | E::AlreadyClosed => "the connection is closed".into(),
        other => other.to_string(),
    }
}

/// `67108864` → `64 MiB`.
pub fn human_size(bytes: usize) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else if bytes >= 1 << 10 && bytes.is_multiple_of(1 << 10) {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} bytes")
    }
}
