//! One WebSocket connection of a request: opening it (TLS, headers, subprotocols, timeouts),
//! its inbox, and the frames it records in the transcript.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::{Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Bytes, Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

use super::stream::Stream;
use super::wire::Wire;
use crate::report::{Direction, Frame, FrameData, Transcript};

type Ws = WebSocketStream<Wire<Stream>>;

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
    /// True when the peer sent a valid close frame; false when the connection was lost, or
    /// when its close frame broke the protocol (then `code` is the invalid code it sent).
    pub clean: bool,
    /// True when this request closed first (a `close` step) and the server answered.
    pub by_us: bool,
    /// What went wrong when it was lost.
    pub error: Option<String>,
    /// It was lost to a message over `max_message_size`: a message did arrive, too big.
    pub too_big: bool,
}

impl Closed {
    /// What ended the connection, as a failure's `actual` line names it.
    pub fn received(&self) -> String {
        match (self.clean, self.code) {
            (false, Some(code)) => format!("close code {code} (not a valid close code)"),
            (false, None) => "no close frame".into(),
            (true, Some(code)) => format!("close code {code}"),
            (true, None) => "no close code".into(),
        }
    }

    /// Why a step waiting for a message got none: "the server closed the connection (code
    /// 4001) before a message arrived", or for a message over the limit, just that.
    pub fn before_a_message(&self) -> String {
        if self.too_big {
            self.describe()
        } else {
            format!("{} before a message arrived", self.describe())
        }
    }

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
}

/// The shared clock, transcript and message-rate counts of a request.
pub struct Recorder {
    pub start: Instant,
    pub transcript: Transcript,
    rates: Vec<(Arc<str>, Vec<u32>)>,
    bucket_ms: u64,
    progress: Option<Arc<crate::options::Progress>>,
    /// A load's user: count received messages into `progress`, keep no frames and no rates.
    lean: bool,
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
            lean: false,
        }
    }

    /// A recorder for one of a load's users: it only counts received messages into `counter`
    /// (thousands of users keep no transcript each).
    pub fn lean(counter: Arc<crate::options::Progress>) -> Self {
        Self {
            progress: Some(counter),
            lean: true,
            ..Self::new()
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
        if self.lean {
            if direction == Direction::Received
                && matches!(data, FrameData::Text(_) | FrameData::Binary(_))
            {
                if let Some(p) = &self.progress {
                    p.messages
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
            return;
        }
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

/// A load's connections read through a buffer this small (grown only for a bigger frame), so
/// that thousands of them stay a few KB each (bench/RESULTS.md, "Latency and load"). tungstenite
/// keeps the 4 KiB buffer its handshake read into whatever is asked; this is the wire's own.
pub const LEAN_BUFFER: usize = 512;

impl Conn {
    /// Opens the connection within its `connect_timeout`.
    pub async fn open(spec: &ConnectSpec) -> Result<Conn, String> {
        Self::open_buffered(spec, super::wire::READ_SIZE).await
    }

    /// [`Conn::open`] reading through buffers of `buffer` bytes ([`LEAN_BUFFER`] for a load).
    pub async fn open_buffered(spec: &ConnectSpec, buffer: usize) -> Result<Conn, String> {
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
        // tungstenite reads into the buffer its handshake left (4 KiB) at least; a smaller read
        // size would save nothing.
        config.read_buffer_size = buffer.max(4 << 10);
        config.write_buffer_size = buffer.min(config.write_buffer_size);
        let connecting = connect(
            request,
            config,
            spec.tls.clone(),
            spec.max_message_size,
            buffer,
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
        // Loading refuses these in a collection; this keeps any other caller from putting an
        // oversized control frame on the wire (RFC 6455 §5.5: at most 125 bytes).
        match &message {
            Message::Ping(b) | Message::Pong(b) if b.len() > 125 => {
                return Err(format!(
                    "cannot send a {} of {} bytes: a control frame carries at most 125",
                    if matches!(message, Message::Ping(_)) {
                        "ping"
                    } else {
                        "pong"
                    },
                    b.len()
                ))
            }
            Message::Close(Some(c)) if c.reason.len() > 123 => {
                return Err(format!(
                    "cannot send a close reason of {} bytes: a close frame carries at most 123",
                    c.reason.len()
                ))
            }
            _ => {}
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
                            too_big: false,
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
                Some(Incoming::Text(t))
            }
            Some(Ok(Message::Binary(b))) => {
                let kept = if b.len() <= COPY_LIMIT {
                    Bytes::copy_from_slice(&b)
                } else {
                    b.clone()
                };
                rec.record(&self.name, Direction::Received, FrameData::Binary(kept));
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
                let mut code = frame.as_ref().map(|f| u16::from(f.code));
                let mut reason = frame.map(|f| f.reason.to_string()).unwrap_or_default();
                let mut error = None;
                // tungstenite hands an invalid code (999, 1005 on the wire) over as 1002
                // "Protocol violation", its own answer: report the code the server sent.
                if let Some((sent, sent_reason)) = self.ws.get_ref().close_frame() {
                    if !CloseCode::from(sent).is_allowed() {
                        code = Some(sent);
                        reason = sent_reason;
                        error = Some(format!(
                            "the server closed the connection with code {sent}, which is not a valid close code (a protocol error by the server)"
                        ));
                    }
                }
                rec.record(
                    &self.name,
                    Direction::Received,
                    FrameData::Close(code, reason.clone()),
                );
                self.closed = Some(Closed {
                    code,
                    reason,
                    clean: error.is_none(),
                    by_us: self.close_sent,
                    error,
                    too_big: false,
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
                    too_big: matches!(
                        e,
                        tungstenite::Error::Capacity(
                            tungstenite::error::CapacityError::MessageTooLong { .. }
                        )
                    ),
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
                        too_big: false,
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

/// TCP, then TLS for `wss://`, then the WebSocket handshake: what tokio-tungstenite's
/// `connect_async_tls_with_config` does, with [`Wire`] between the decrypted stream and
/// tungstenite (so no frame header makes it reserve more than a chunk ahead of the data).
async fn connect(
    request: Request,
    config: WebSocketConfig,
    tls: Option<Arc<rustls::ClientConfig>>,
    max_message_size: usize,
    read_size: usize,
) -> Result<(Ws, Response), tungstenite::Error> {
    use tungstenite::error::{TlsError, UrlError};
    use tungstenite::stream::Mode;
    use tungstenite::Error as E;

    let mode = tungstenite::client::uri_mode(request.uri())?;
    let host = request.uri().host().ok_or(E::Url(UrlError::NoHostName))?;
    // `[::1]` in a URL; rustls and the resolver want the address without brackets.
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
        .to_string();
    let port = request.uri().port_u16().unwrap_or(match mode {
        Mode::Plain => 80,
        Mode::Tls => 443,
    });
    let tcp = TcpStream::connect((host.as_str(), port)).await?;
    tcp.set_nodelay(true)?;
    let stream = match mode {
        Mode::Plain => Stream::Plain(tcp),
        Mode::Tls => {
            let config = tls.unwrap_or_else(super::tls::default_config);
            let name = rustls::pki_types::ServerName::try_from(host)
                .map_err(|_| E::Tls(TlsError::InvalidDnsName))?;
            let connector = tokio_rustls::TlsConnector::from(config);
            Stream::Tls(Box::new(connector.connect(name, tcp).await?))
        }
    };
    let wire = Wire::with_buffer(stream, max_message_size, read_size);
    tokio_tungstenite::client_async_with_config(request, wire, Some(config)).await
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
            "a message of {size} bytes exceeds max_message_size ({}); raise `defaults.max_message_size` if messages this large are expected",
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
        E::Http(response) => describe_refusal(response),
        E::Url(u) => format!("invalid URL: {u}"),
        E::ConnectionClosed | E::AlreadyClosed => "the connection is closed".into(),
        other => other.to_string(),
    }
}

/// An upgrade answered with another HTTP status: where a redirect points, or the start of the
/// body that says why (what arrived with the headers; the handshake reads no further).
fn describe_refusal(response: &tungstenite::http::Response<Option<Vec<u8>>>) -> String {
    let status = response.status();
    if status.is_redirection() {
        if let Some(to) = response.headers().get("location") {
            return format!(
                "the server redirected the upgrade (HTTP {status}) to {}; wsrun does not follow redirects, so use that URL",
                String::from_utf8_lossy(to.as_bytes())
            );
        }
    }
    let body = response.body().as_deref().unwrap_or_default();
    let body = String::from_utf8_lossy(body);
    match body.trim() {
        "" => format!("the server refused the upgrade with HTTP {status} (and no body)"),
        body => format!(
            "the server refused the upgrade with HTTP {status}: {}",
            crate::report::truncate(body, 300)
        ),
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
