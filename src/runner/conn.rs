//! One WebSocket connection of a request: opening it (TLS, headers, subprotocols, timeouts),
//! the protocol it speaks inside the frames (`crate::protocol`), its inbox, and the frames it
//! records in the transcript.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::time::{Instant, Sleep};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Bytes, Message};
use tokio_tungstenite::WebSocketStream;

pub use super::recorder::Recorder;
use super::stream::Stream;
use super::wire::Wire;
use crate::protocol::{Protocol, Raw};
use crate::report::{Direction, FrameData};

mod closed;
mod extensions;
mod inbox;
mod open;
mod speak;
mod upgrade;

pub use speak::serve_until;

use open::connect;
pub use open::{describe_ws_error, human_size};

type Ws = WebSocketStream<Wire<Stream>>;

pub use crate::protocol::Incoming;
pub use closed::Closed;

/// A read's deadline passed.
#[derive(Debug)]
pub(super) struct Elapsed;

/// What a connection waiting for frames gets first.
enum Event {
    Frame(Option<tungstenite::Result<Message>>),
    /// The protocol's tick is due.
    Tick,
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
    /// The proxy to tunnel through (`proxy:` or the environment), if any.
    pub proxy: Option<crate::runner::proxy::Proxy>,
    /// Offer permessage-deflate (`compression: false` turns it off).
    pub compression: bool,
}

/// An open connection with its inbox of frames read but not yet consumed by a step.
pub struct Conn {
    /// Its name in transcripts: the connection's, `NAME#2` for its second socket (`connect`).
    pub name: Arc<str>,
    /// Which socket of its connection this is, from 1.
    pub socket: u32,
    ws: Ws,
    inbox: inbox::Inbox,
    /// When the message `recv` last returned arrived, if it waited in the inbox; `None` when
    /// it was read from the socket just then.
    arrived: Option<Instant>,
    closed: Option<Closed>,
    pongs: VecDeque<Bytes>,
    /// Set once we sent a close frame.
    pub close_sent: bool,
    protocol: Box<dyn Protocol>,
    /// Frames the protocol asked to send, reused.
    out: Vec<Message>,
    /// When the protocol's next tick is due, if it has one.
    tick_at: Option<Instant>,
    last_id: u64,
    /// The request's `contract:`, checking every message this connection reads. Boxed: most
    /// connections have none, and inline it is a quarter of a load user's connection.
    pub contract: Option<Box<crate::contract::Watch>>,
    /// The timer of reads with a deadline, kept between reads: a step's reads share one
    /// deadline, so one timer serves them all instead of one per message (see [`Conn::read_until`]).
    timer: Option<(Instant, Pin<Box<Sleep>>)>,
    /// Reads since the clock was last compared with the deadline (see [`Conn::read_until`]).
    unclocked: u32,
    /// The opening handshake until the request takes it for its transcript.
    handshake: Option<Box<crate::report::Handshake>>,
    /// What the server agreed on for permessage-deflate, and the compressor (made with the
    /// first message sent: a connection that sends nothing keeps none).
    agreed: Option<crate::runner::wire::Agreed>,
    deflater: Option<Box<crate::runner::wire::Deflater>>,
}

/// The transcript copies small payloads (`Recorder::received_text`): a shared one would pin
/// tungstenite's read buffer, which then can never be reused (measured: 56× more `recvfrom`
/// calls and ~8% slower on a firehose). A large one is kept shared: copying it would cost more.
const COPY_LIMIT: usize = 4096;

/// How many reads a deadline may go unchecked while frames keep coming (a firehose never lets
/// the timer be asked): a clock read per this many messages.
const CLOCK_EVERY: u32 = 64;

/// The inbox may not grow past this while a step (a ping) reads ahead.
const INBOX_LIMIT: usize = 100_000;

/// A load's connections read through a buffer this small (grown only for a bigger frame), so
/// that thousands of them stay a few KB each (bench/RESULTS.md, "Latency and load"): the wire's
/// own and tungstenite's.
pub const LEAN_BUFFER: usize = 512;

impl Conn {
    /// Opens the connection within its `connect_timeout`, speaking no protocol (`raw`).
    pub async fn open(spec: &ConnectSpec) -> Result<Conn, String> {
        Self::open_with(spec, Box::new(Raw)).await
    }

    /// Opens the connection within its `connect_timeout` for `protocol`, which may first change
    /// the URL and the subprotocols; its handshake is [`Conn::handshake`].
    pub async fn open_with(
        spec: &ConnectSpec,
        protocol: Box<dyn Protocol>,
    ) -> Result<Conn, String> {
        Self::open_buffered(spec, protocol, super::wire::READ_SIZE).await
    }

    /// [`Conn::open_with`] reading through buffers of `buffer` bytes ([`LEAN_BUFFER`] for a load).
    pub async fn open_buffered(
        spec: &ConnectSpec,
        protocol: Box<dyn Protocol>,
        buffer: usize,
    ) -> Result<Conn, String> {
        let mut prepared = spec.clone();
        protocol.prepare(&mut prepared.url, &mut prepared.subprotocols)?;
        let spec = &prepared;
        let (request, offered) = open::request(spec)?;
        let mut config = WebSocketConfig::default();
        config.max_message_size = Some(spec.max_message_size);
        config.max_frame_size = Some(spec.max_message_size);
        // The handshake is ours (`upgrade.rs`), so this is the read buffer's whole size.
        config.read_buffer_size = buffer;
        config.write_buffer_size = buffer.min(config.write_buffer_size);
        // A load's thousands of users (the lean buffer) keep no transcript to show it in.
        let mut handshake = (buffer > LEAN_BUFFER).then(|| open::sent(&spec.name, &request));
        let connecting = connect(request, config, spec, buffer);
        let (mut ws, response) = tokio::time::timeout(spec.connect_timeout, connecting)
            .await
            .map_err(|_| {
                format!(
                    "could not connect to {} within {}",
                    spec.url,
                    crate::duration::format_duration(spec.connect_timeout)
                )
            })?
            .map_err(|e| match open::no_subprotocol(&e) {
                true => protocol.unagreed(open::failure(spec, e), None),
                false => open::failure(spec, e),
            })?;
        if let Some(h) = &mut handshake {
            open::answered(h, &response);
        }
        open::check_subprotocol(spec, &response).map_err(|e| {
            let agreed = response.headers().get("sec-websocket-protocol");
            protocol.unagreed(e, agreed.and_then(|v| v.to_str().ok()))
        })?;
        let agreed = extensions::agree(&mut ws, &response, offered)
            .map_err(|e| format!("could not connect to {}: {e}", spec.url))?;
        Ok(Conn {
            name: spec.name.as_str().into(),
            socket: 1,
            ws,
            inbox: inbox::Inbox::default(),
            arrived: None,
            closed: None,
            pongs: VecDeque::new(),
            close_sent: false,
            tick_at: protocol.tick_every().map(|every| Instant::now() + every),
            protocol,
            out: Vec::new(),
            last_id: 0,
            contract: None,
            timer: None,
            unclocked: 0,
            handshake: handshake.map(Box::new),
            agreed,
            deflater: None,
        })
    }

    /// The name of its connection (without the `#N` of a later socket).
    pub fn base_name(&self) -> &str {
        let suffix = format!("#{}", self.socket);
        match self.socket {
            1 => &self.name,
            _ => self
                .name
                .strip_suffix(suffix.as_str())
                .unwrap_or(&self.name),
        }
    }

    /// The opening handshake, for the transcript (once; `None` for a load's connections).
    pub fn take_handshake(&mut self) -> Option<crate::report::Handshake> {
        self.handshake.take().map(|h| *h)
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
            Message::Text(t) => {
                self.protocol.sent(t.as_str());
                FrameData::Text(t.clone())
            }
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
        let message = self.compressed(message);
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
        if self.closed.is_none() && !self.close_sent {
            self.protocol.farewell(&mut self.out);
            self.flush(rec).await?;
        }
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
        if let Some((at, m)) = self.inbox.pop_front() {
            self.arrived = Some(at);
            return Ok(m);
        }
        self.arrived = None;
        loop {
            if let Some(closed) = &self.closed {
                return Err(RecvError::Closed(closed.clone()));
            }
            match self.read_until(deadline, rec).await {
                Err(Elapsed) => return Err(RecvError::Timeout),
                Ok(Some(m)) => return Ok(m),
                Ok(None) => continue,
            }
        }
    }

    /// When the message `recv` last returned arrived, if it had waited in the inbox (read while
    /// a `sleep` ran); `None` when it was read from the socket just then.
    pub fn arrived(&self) -> Option<Instant> {
        self.arrived
    }

    /// Reads the next frame (data messages are returned; control frames recorded and absorbed),
    /// unless `deadline` passes first. A frame that is already there is taken at once; otherwise the connection's timer waits
    /// beside the socket (set again only when the deadline changes: one timer for a step's
    /// reads, not one per message).
    pub(super) async fn read_until(
        &mut self,
        deadline: Instant,
        rec: &mut Recorder,
    ) -> Result<Option<Incoming>, Elapsed> {
        if let Some(queued) = self.queued(rec) {
            self.answer(rec).await;
            return Ok(queued);
        }
        // A server faster than us always has a frame ready, and the timer below is only asked
        // when none is: the clock is read every `CLOCK_EVERY` reads as well.
        self.unclocked += 1;
        if self.unclocked >= CLOCK_EVERY {
            self.unclocked = 0;
            if Instant::now() >= deadline {
                return Err(Elapsed);
            }
        }
        if self.tick_at.is_none() {
            // One look at the socket: a `Pending` here leaves the frame for the wait below.
            let ws = &mut self.ws;
            let now = std::future::poll_fn(|cx| Poll::Ready(ws.poll_next_unpin(cx))).await;
            if let Poll::Ready(next) = now {
                let taken = self.take(next, rec);
                self.answer(rec).await;
                return Ok(taken);
            }
        }
        let mut timer = match self.timer.take() {
            Some((at, timer)) if at == deadline => timer,
            Some((_, mut timer)) => {
                timer.as_mut().reset(deadline);
                timer
            }
            None => Box::pin(tokio::time::sleep_until(deadline)),
        };
        let event = tokio::select! {
            biased;
            event = self.next_event() => Some(event),
            () = timer.as_mut() => None,
        };
        // Not put back if this future is dropped mid-wait: the next read makes a new one.
        self.timer = Some((deadline, timer));
        match event {
            None => Err(Elapsed),
            Some(Event::Tick) => {
                Box::pin(self.tick(rec)).await;
                Ok(None)
            }
            Some(Event::Frame(next)) => {
                let taken = self.take(next, rec);
                self.answer(rec).await;
                Ok(taken)
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
            match self.read_until(deadline, rec).await {
                Err(Elapsed) => return Err(RecvError::Timeout),
                Ok(Some(m)) => {
                    if self.inbox.len() >= INBOX_LIMIT {
                        return Err(RecvError::Closed(speak::overflow()));
                    }
                    self.inbox.push_back(m);
                }
                Ok(None) => {}
            }
        }
    }

    /// The next frame, or the protocol's tick when it comes first. Dropping it loses nothing:
    /// until it returns, the frame stays in the stream.
    async fn next_event(&mut self) -> Event {
        match self.tick_at {
            None => Event::Frame(self.ws.next().await),
            Some(at) => tokio::select! {
                next = self.ws.next() => Event::Frame(next),
                _ = tokio::time::sleep_until(at) => Event::Tick,
            },
        }
    }

    /// The request's contract checks a message the steps get (not what the protocol absorbed):
    /// a frame as it is, or the payload of a protocol's envelope.
    fn check_contract(&mut self, incoming: Option<&Incoming>) {
        let (Some(contract), Some(incoming)) = (&mut self.contract, incoming) else {
            return;
        };
        match incoming {
            Incoming::Text(t) => contract.observe(Some(t.as_str())),
            Incoming::Binary(_) => contract.observe(None),
            Incoming::Envelope(v) => match self.protocol.payload(v) {
                crate::protocol::Payload::Json(doc) => contract.observe_json(&doc),
                crate::protocol::Payload::Text(text) => contract.observe(Some(&text)),
                crate::protocol::Payload::None => {}
            },
        }
    }

    /// A frame read: data messages are returned; control frames recorded and absorbed. What
    /// the protocol answers waits for [`Conn::answer`].
    fn take(
        &mut self,
        next: Option<tungstenite::Result<Message>>,
        rec: &mut Recorder,
    ) -> Option<Incoming> {
        match next {
            Some(Ok(Message::Text(t))) => {
                if t.len() <= COPY_LIMIT {
                    rec.received_text(&self.name, t.as_str(), self.ws.get_ref().read_at());
                } else {
                    rec.record(&self.name, Direction::Received, FrameData::Text(t.clone()));
                }
                let incoming = self.decode(Incoming::Text(t), rec);
                self.check_contract(incoming.as_ref());
                incoming
            }
            Some(Ok(Message::Binary(b))) => {
                if b.len() <= COPY_LIMIT {
                    rec.received_binary(&self.name, &b, self.ws.get_ref().read_at());
                } else {
                    rec.record(
                        &self.name,
                        Direction::Received,
                        FrameData::Binary(b.clone()),
                    );
                }
                let incoming = self.decode(Incoming::Binary(b), rec);
                self.check_contract(incoming.as_ref());
                incoming
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
                    broken: error.is_some(),
                    error,
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
                    broken: matches!(
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
                        broken: false,
                    });
                }
                None
            }
        }
    }

    /// Ends the TCP connection once the closing handshake is done, so that the server sees the
    /// client leave at once rather than when the request ends (a TLS stream says close_notify).
    pub async fn release(&mut self) {
        use tokio::io::AsyncWriteExt;
        let _ =
            tokio::time::timeout(Duration::from_millis(250), self.ws.get_mut().shutdown()).await;
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
