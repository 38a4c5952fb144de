//! In-process WebSocket mock servers (docs/format.md, "Mocks and recordings"): replay a recording, echo, scripted replies.
//!
//! Every client is served independently: the replay starts when it connects, and a client that
//! leaves (or sends garbage) affects nobody else. Each connection has one writer fed through a
//! bounded channel by the replay and by the responder, so a slow client gets backpressure.
//!
//! - `replay:` starts when the client connects; `interval:` replaces the recorded pace
//!   (`0ms`: back to back); `loop: true` starts again after the last message.
//! - `echo: true` sends every text and binary message back unchanged (before any rule's reply).
//! - `on:` rules are tried in order and the first whose matchers all hold replies: `match:`
//!   paths need a JSON text, `text:` a text message; a rule with neither matches anything,
//!   binary included. Replies are templates over the collection's variables and
//!   `{{ message… }}` (the JSON, else the text, else the base64 of the bytes); a reply whose
//!   template cannot be expanded is skipped (names are checked at load, so only a field the
//!   message lacks does that). Matchers are resolved once, when the mock starts serving, with
//!   the collection's variables in scope.
//! - `close_after: N` counts every message sent to that client (replayed, echoed, replies).
//! - Anything a client sends that fits no rule, non-JSON text included, is otherwise ignored; a
//!   WebSocket protocol error ends only that client's connection.
//! - `protocol:` other than `raw`: each client gets a session of that protocol (`protocol.rs`),
//!   whose envelopes the rules see and which answers what no rule answered (`jsonrpc.rs`:
//!   `methods:`; `graphql_ws.rs`: `connection_init`, `ping`, unanswered subscriptions;
//!   `socketio.rs`: the handshake and pings; `stomp.rs`: a small broker, whose subscribers get
//!   each other's messages).
//!
//! The replay format is described in [`replay`].

mod graphql_ws;
mod jsonrpc;
mod protocol;
mod replay;
mod rules;
mod socketio;
mod stomp;

use protocol::{Answer, Session, Speaker};
pub use replay::Recording;
use rules::{envelope, render, Incoming, Rule};

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{FutureExt, SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{sleep, sleep_until, timeout, Instant};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::collection::MockDef;
use crate::template::Scope;

/// Per-connection socket buffers: small, so that many clients stay cheap.
const BUFFER_SIZE: usize = 8 << 10;
/// Messages queued for one client before its producers wait.
const CHANNEL_CAPACITY: usize = 64;
/// How long a client may take to complete the WebSocket handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait for the client's reply after the mock closes a connection.
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// The close code of `close_after` when `close_code` is not given.
const DEFAULT_CLOSE_CODE: u16 = 1000;

/// Why a mock could not start.
#[derive(Debug, thiserror::Error)]
pub enum MockError {
    #[error("{file}:{line}: {message}")]
    Replay {
        file: String,
        line: usize,
        message: String,
    },
    #[error("cannot read replay file {file}: {source}")]
    ReadReplay {
        file: String,
        source: std::io::Error,
    },
    #[error("mock `{mock}`: cannot listen on {addr}: {source}")]
    Bind {
        mock: String,
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("mock `{mock}`: {message}")]
    Invalid { mock: String, message: String },
}

/// The mock `name` of a collection (its first one when None), or why there is none.
pub fn select<'a>(
    collection: &'a crate::collection::Collection,
    name: Option<&str>,
) -> Result<(&'a str, &'a MockDef), String> {
    let chosen = match name {
        Some(name) => collection.mocks.iter().find(|(n, _)| n == name),
        None => collection.mocks.first(),
    };
    match chosen {
        Some((n, def)) => Ok((n.as_str(), def)),
        None => {
            let names: Vec<&str> = collection.mocks.iter().map(|(n, _)| n.as_str()).collect();
            Err(match name {
                Some(m) if names.is_empty() => {
                    format!("no mock named `{m}`: the collection defines no `mocks`")
                }
                Some(m) => format!("no mock named `{m}` (mocks: {})", names.join(", ")),
                None => "the collection defines no `mocks`".to_string(),
            })
        }
    }
}

/// Why a mock could not be served on its own.
#[derive(Debug)]
pub enum StandaloneError {
    /// No such mock (the words say which there are).
    Unknown(String),
    /// Mock `.0` could not load or listen.
    Mock(String, MockError),
    /// The collection's variables do not resolve.
    Vars(crate::collection::LoadError),
}

/// Serves mock `name` of `collection` (its first when None) on its own, as `wsrun serve` and
/// Python's `wsrun.serve` do: on `port` (0: a free one), its replies seeing the collection's
/// variables (default environment) and its own URL.
pub async fn serve_standalone(
    collection: &crate::collection::Collection,
    name: Option<&str>,
    port: u16,
) -> Result<MockServer, StandaloneError> {
    let (name, def) = select(collection, name).map_err(StandaloneError::Unknown)?;
    let failed = |e| StandaloneError::Mock(name.to_string(), e);
    let bound = MockServer::bind(name, def, &collection.base_dir(), port)
        .await
        .map_err(failed)?;
    let urls = HashMap::from([(name.to_string(), bound.url())]);
    let vars = crate::plan::collection_vars(collection.clone(), &Default::default(), &urls)
        .map_err(StandaloneError::Vars)?;
    bound.serve(Arc::new(vars)).map_err(failed)
}

/// A running mock server; it stops when dropped (or with [`MockServer::stop`]).
#[derive(Debug)]
pub struct MockServer {
    name: String,
    addr: SocketAddr,
    url: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

/// A mock listening but not serving yet: its URL is known, so the variables that name it can be
/// resolved before its replies need them ([`BoundMock::serve`]). Clients that connect meanwhile
/// wait in the listen queue.
pub struct BoundMock {
    name: String,
    def: MockDef,
    replay: Option<Recording>,
    listener: TcpListener,
    addr: SocketAddr,
}

impl BoundMock {
    /// `ws://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// Compiles the rules with `vars` in scope (the collection's resolved variables, which the
    /// rules' matchers and replies may name) and starts serving.
    pub fn serve(self, vars: Arc<HashMap<String, Value>>) -> Result<MockServer, MockError> {
        let behaviour = Arc::new(Behaviour::build(&self.name, &self.def, self.replay, vars)?);
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(accept_loop(self.listener, behaviour, stopped));
        Ok(MockServer {
            url: format!("ws://{}", self.addr),
            name: self.name,
            addr: self.addr,
            stop: Some(stop),
            task: Some(task),
        })
    }
}

impl MockServer {
    /// Loads the mock's replay file (relative to `base_dir`), compiles its rules and listens on
    /// `127.0.0.1:port` (`0` picks a free port). Its rules see no variables; [`MockServer::bind`]
    /// then [`BoundMock::serve`] give them the collection's.
    pub async fn start(
        name: &str,
        def: &MockDef,
        base_dir: &Path,
        port: u16,
    ) -> Result<MockServer, MockError> {
        Self::bind(name, def, base_dir, port)
            .await?
            .serve(Arc::default())
    }

    /// Loads the mock's replay file (relative to `base_dir`) and listens on `127.0.0.1:port`
    /// (`0` picks a free port), without serving yet.
    pub async fn bind(
        name: &str,
        def: &MockDef,
        base_dir: &Path,
        port: u16,
    ) -> Result<BoundMock, MockError> {
        let replay = match &def.replay {
            Some(file) => Some(Recording::load(&replay_path(base_dir, &file.value)).await?),
            None => None,
        };
        let close_code = def.close_code.unwrap_or(DEFAULT_CLOSE_CODE);
        check_close_code(close_code).map_err(|m| MockError::Invalid {
            mock: name.to_string(),
            message: format!("`close_code`: {m}"),
        })?;
        let wanted = SocketAddr::from(([127, 0, 0, 1], port));
        let bind_error = |addr, source| MockError::Bind {
            mock: name.to_string(),
            addr,
            source,
        };
        let listener = TcpListener::bind(wanted)
            .await
            .map_err(|e| bind_error(wanted, e))?;
        let addr = listener.local_addr().map_err(|e| bind_error(wanted, e))?;
        Ok(BoundMock {
            name: name.to_string(),
            def: def.clone(),
            replay,
            listener,
            addr,
        })
    }

    /// `ws://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops listening and ends every connection, waiting until they are gone.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        // Aborting the accept task drops its listener and its JoinSet, which aborts every
        // connection task.
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// What a mock does, compiled once at start and shared by its connections.
struct Behaviour {
    replay: Option<Recording>,
    /// The collection's resolved variables, for the rules' replies.
    vars: Arc<HashMap<String, Value>>,
    interval: Option<Duration>,
    looped: bool,
    echo: bool,
    rules: Vec<Rule>,
    close_after: Option<u64>,
    close_code: u16,
    speaker: Option<Box<dyn Speaker>>,
}

impl Behaviour {
    fn build(
        name: &str,
        def: &MockDef,
        replay: Option<Recording>,
        vars: Arc<HashMap<String, Value>>,
    ) -> Result<Self, MockError> {
        let invalid = |message: String| MockError::Invalid {
            mock: name.to_string(),
            message,
        };
        let scope = Scope {
            vars: Some(&vars),
            ..Scope::default()
        };
        let rules = def
            .on
            .iter()
            .enumerate()
            .map(|(i, rule)| {
                Rule::compile(&rule.value, &scope)
                    .map_err(|m| invalid(format!("rule {}: {m}", i + 1)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let close_code = def.close_code.unwrap_or(DEFAULT_CLOSE_CODE);
        let speaker = protocol::speaker(def).map_err(invalid)?;
        Ok(Self {
            replay,
            vars: vars.clone(),
            interval: def.interval.map(|d| d.0),
            looped: def.looped,
            echo: def.echo,
            rules,
            close_after: def.close_after,
            close_code,
            speaker,
        })
    }
}

fn replay_path(base_dir: &Path, file: &Path) -> PathBuf {
    if base_dir.as_os_str().is_empty() {
        file.to_path_buf()
    } else {
        base_dir.join(file)
    }
}

/// A code a server may send in a close frame (RFC 6455 §7.4).
pub(crate) fn check_close_code(code: u16) -> Result<(), String> {
    if CloseCode::from(code).is_allowed() {
        Ok(())
    } else {
        Err(format!(
            "{code} cannot be sent in a close frame; use 1000–1003, 1007–1014 or 3000–4999"
        ))
    }
}

/// What the writer of a connection is asked to do.
enum Out {
    Send(Message),
    Close(u16),
}

/// The writer has gone: the connection is closing.
struct Gone;

type Ws = WebSocketStream<TcpStream>;

async fn accept_loop(
    listener: TcpListener,
    behaviour: Arc<Behaviour>,
    mut stopped: oneshot::Receiver<()>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => {
                    connections.spawn(serve_connection(tcp, behaviour.clone()));
                }
                // Out of file descriptors or similar: back off instead of spinning.
                Err(_) => sleep(Duration::from_millis(20)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    connections.shutdown().await;
}

fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(BUFFER_SIZE)
        .write_buffer_size(BUFFER_SIZE)
}

/// Serves one client until it leaves or the mock closes it.
async fn serve_connection(tcp: TcpStream, behaviour: Arc<Behaviour>) {
    let _ = tcp.set_nodelay(true);
    let speaks = behaviour
        .speaker
        .as_ref()
        .map_or(&[][..], |s| s.subprotocols());
    let agree = protocol::Agree(speaks);
    let handshake = tokio_tungstenite::accept_hdr_async_with_config(tcp, agree, Some(ws_config()));
    let Ok(Ok(ws)) = timeout(HANDSHAKE_TIMEOUT, handshake).await else {
        return;
    };
    let (sink, stream) = ws.split();
    let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
    let writer = write_loop(sink, rx, behaviour.close_after, behaviour.close_code).fuse();
    let mut session = behaviour.speaker.as_ref().map(|s| s.session());
    if let Some(session) = session.as_mut() {
        let mut greeting = Vec::new();
        session.greet(&mut greeting);
        for answer in greeting {
            let _ = tx.try_send(Out::Send(answer.message));
        }
    }
    let inbound = session.as_mut().and_then(|s| s.inbound());
    let forward = forward_loop(inbound, tx.clone());
    let reader = read_loop(stream, tx.clone(), &behaviour, session).fuse();
    let replay = async {
        replay_loop(&behaviour, tx).await;
        std::future::pending::<()>().await
    };
    tokio::pin!(writer, reader, replay, forward);
    tokio::select! {
        // The client closed or vanished.
        _ = &mut reader => {}
        // The mock closed: let the client answer the close frame.
        _ = &mut writer => {
            let _ = timeout(CLOSE_GRACE, &mut reader).await;
        }
        _ = &mut replay => {}
        _ = &mut forward => {}
    }
}

/// Passes frames from elsewhere (`Session::inbound`) to the client; never ends by itself.
async fn forward_loop(inbound: Option<mpsc::UnboundedReceiver<Message>>, tx: mpsc::Sender<Out>) {
    if let Some(mut inbound) = inbound {
        while let Some(message) = inbound.recv().await {
            if send(&tx, Out::Send(message)).await.is_err() {
                break;
            }
        }
    }
    std::future::pending::<()>().await
}

/// The single writer of a connection; counts messages for `close_after`.
async fn write_loop(
    mut sink: SplitSink<Ws, Message>,
    mut rx: mpsc::Receiver<Out>,
    close_after: Option<u64>,
    close_code: u16,
) {
    let mut sent = 0u64;
    if close_after == Some(0) {
        return close(&mut sink, close_code).await;
    }
    while let Some(out) = rx.recv().await {
        match out {
            Out::Send(message) => {
                if sink.send(message).await.is_err() {
                    return;
                }
                sent += 1;
                if close_after == Some(sent) {
                    return close(&mut sink, close_code).await;
                }
            }
            Out::Close(code) => return close(&mut sink, code).await,
        }
    }
}

async fn close(sink: &mut SplitSink<Ws, Message>, code: u16) {
    let frame = CloseFrame {
        code: CloseCode::from(code),
        reason: "".into(),
    };
    let _ = sink.send(Message::Close(Some(frame))).await;
}

/// Reads the client's messages and answers them (echo, rules) until it closes or vanishes.
/// A protocol error ends only this connection.
async fn read_loop(
    mut stream: SplitStream<Ws>,
    tx: mpsc::Sender<Out>,
    behaviour: &Behaviour,
    mut session: Option<Box<dyn Session + '_>>,
) {
    // Answers sent later (a JSON-RPC method's `delay`); they end with the connection.
    let mut later = JoinSet::new();
    loop {
        let mut answers = Vec::new();
        let next_tick = session.as_ref().and_then(|s| s.next_tick());
        let next = match (next_tick, session.as_mut()) {
            (Some(at), Some(s)) => tokio::select! {
                next = stream.next() => next,
                _ = sleep_until(at) => {
                    s.tick(&mut answers);
                    for answer in answers {
                        let _ = send(&tx, Out::Send(answer.message)).await;
                    }
                    continue;
                }
            },
            _ => stream.next().await,
        };
        let Some(Ok(message)) = next else {
            break;
        };
        if matches!(message, Message::Close(_)) {
            break;
        }
        let incoming = match session.as_mut() {
            None => Incoming::new(message),
            Some(s) => {
                let envelope = s.receive(&message, &mut answers);
                envelope.map(|e| Incoming::envelope(message, e))
            }
        };
        if let Some(incoming) = incoming {
            // Once the writer has gone, keep reading so the close handshake can finish.
            let _ = respond(
                &incoming,
                &tx,
                behaviour,
                session.as_deref_mut(),
                &mut answers,
            )
            .await;
        }
        for answer in answers {
            match answer.delay {
                None => {
                    let _ = send(&tx, Out::Send(answer.message)).await;
                }
                Some(delay) => {
                    let tx = tx.clone();
                    later.spawn(async move {
                        sleep(delay).await;
                        let _ = send(&tx, Out::Send(answer.message)).await;
                    });
                }
            }
        }
        while later.try_join_next().is_some() {}
    }
}

/// Echo, then the first rule that holds; with a protocol, the protocol's own answer (in
/// `answers`) when no rule holds.
async fn respond(
    incoming: &Incoming,
    tx: &mpsc::Sender<Out>,
    behaviour: &Behaviour,
    mut session: Option<&mut (dyn Session + '_)>,
    answers: &mut Vec<Answer>,
) -> Result<(), Gone> {
    if behaviour.echo {
        send(tx, Out::Send(incoming.original.clone())).await?;
    }
    let Some(rule) = behaviour.rules.iter().find(|r| r.holds(incoming)) else {
        if let (Some(s), Some(envelope)) = (session, &incoming.json) {
            s.answer(envelope, answers);
        }
        return Ok(());
    };
    let scope = Scope {
        vars: Some(&behaviour.vars),
        message: incoming.scope_value(),
        ..Default::default()
    };
    for reply in &rule.replies {
        if let Some(delay) = reply.delay {
            sleep(delay.0).await;
        }
        let envelope = session
            .as_deref_mut()
            .and_then(|s| envelope(reply, &scope).map(|e| s.encode(e)));
        let messages = envelope.unwrap_or_else(|| render(reply, &scope).into_iter().collect());
        for message in messages {
            send(tx, Out::Send(message)).await?;
        }
    }
    if let Some(code) = rule.close {
        send(tx, Out::Close(code)).await?;
    }
    Ok(())
}

async fn send(tx: &mpsc::Sender<Out>, out: Out) -> Result<(), Gone> {
    tx.send(out).await.map_err(|_| Gone)
}

/// Sends the recording to one client, at the recorded pace or every `interval`, looping if
/// asked; stops when the connection's writer has gone.
async fn replay_loop(behaviour: &Behaviour, tx: mpsc::Sender<Out>) {
    let Some(recording) = behaviour.replay.as_ref().filter(|r| !r.is_empty()) else {
        return;
    };
    let cycle = match behaviour.interval {
        Some(step) => step * recording.len() as u32,
        None => recording.cycle(),
    };
    let mut start = Instant::now();
    loop {
        for (i, entry) in recording.entries.iter().enumerate() {
            let offset = match behaviour.interval {
                Some(step) => step * i as u32,
                None => entry.at,
            };
            let due = start + offset;
            if due > Instant::now() {
                sleep_until(due).await;
            }
            if send(&tx, Out::Send(entry.message.clone())).await.is_err() {
                return;
            }
        }
        if !behaviour.looped {
            return;
        }
        start += cycle;
        tokio::task::yield_now().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_close_codes_are_refused() {
        assert!(check_close_code(1000).is_ok());
        assert!(check_close_code(4001).is_ok());
        assert!(check_close_code(1005).is_err());
        assert!(check_close_code(999).is_err());
    }
}
