//! In-process WebSocket mock servers (SPEC §6): replay a recording, echo, scripted replies.
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
//!   binary included. Replies are templates over `{{ message… }}` (the JSON, else the text,
//!   else the base64 of the bytes); a reply whose template cannot be expanded is skipped.
//!   Matchers are resolved once, at start, with no variables in scope.
//! - `close_after: N` counts every message sent to that client (replayed, echoed, replies).
//! - Anything a client sends that fits no rule, non-JSON text included, is otherwise ignored; a
//!   WebSocket protocol error ends only that client's connection.
//!
//! # Replay format
//!
//! A replay file (`replay: FILE.jsonl`, written by `wsrun record`) holds one JSON value per line;
//! blank lines are ignored. A line is a *record* when it is an object with exactly one of the
//! keys `json`, `text` or `binary` and no keys other than those and `ms`:
//!
//! ```text
//! {"ms": 12, "json": {"e": "trade", "p": "97012.34000000"}}   a JSON text frame, sent verbatim
//! {"ms": 40, "text": "hello"}                                  a text frame
//! {"ms": 75, "binary": "AQID"}                                 a binary frame (standard base64)
//! ```
//!
//! `ms` (optional) is when the message was received, in milliseconds since the recording's
//! connection opened; a replay sends each message that long after the client connects (unless
//! the mock sets `interval:`). A record without `ms` keeps the previous line's time, i.e. it is
//! sent right after it. Any other line is a bare JSON value, sent as a text frame as written,
//! with no timing of its own. (A bare value that happens to look like a record, such as
//! `{"text": "hi"}`, must be wrapped: `{"json": {"text": "hi"}}`.) The `json` payload is sent
//! exactly as it is written in the file, so key order and number formatting are preserved.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{FutureExt, SinkExt, StreamExt};
use serde_json::value::RawValue;
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{sleep, sleep_until, timeout, Instant};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::collection::{MockDef, MockReply, MockRule};
use crate::jsonpath::JsonPath;
use crate::matcher::{Resolved, Subject};
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

/// A running mock server; it stops when dropped (or with [`MockServer::stop`]).
#[derive(Debug)]
pub struct MockServer {
    name: String,
    addr: SocketAddr,
    url: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl MockServer {
    /// Loads the mock's replay file (relative to `base_dir`), compiles its rules and listens on
    /// `127.0.0.1:port` (`0` picks a free port).
    pub async fn start(
        name: &str,
        def: &MockDef,
        base_dir: &Path,
        port: u16,
    ) -> Result<MockServer, MockError> {
        let behaviour = Arc::new(Behaviour::build(name, def, base_dir).await?);
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
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(accept_loop(listener, behaviour, stopped));
        Ok(MockServer {
            name: name.to_string(),
            addr,
            url: format!("ws://{addr}"),
            stop: Some(stop),
            task: Some(task),
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

/// A replay file in memory, shared by every client of a mock.
#[derive(Debug, Clone, Default)]
pub struct Recording {
    entries: Vec<Entry>,
}

#[derive(Debug, Clone)]
struct Entry {
    /// When to send it, relative to the start of the replay.
    at: Duration,
    message: Message,
}

impl Recording {
    /// Reads a replay file; errors name the file and line.
    pub async fn load(path: &Path) -> Result<Self, MockError> {
        let file = path.display().to_string();
        let bytes = tokio::fs::read(path)
            .await
            .map_err(|source| MockError::ReadReplay {
                file: file.clone(),
                source,
            })?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            MockError::Replay {
                file: file.clone(),
                line: 1 + valid.iter().filter(|b| **b == b'\n').count(),
                message: "not UTF-8 text".into(),
            }
        })?;
        Self::parse(&text, &file)
    }

    /// Parses the text of a replay file; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Self, MockError> {
        let mut entries = Vec::new();
        let mut at = Duration::ZERO;
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let (ms, message) = parse_line(line).map_err(|message| MockError::Replay {
                file: file.to_string(),
                line: index + 1,
                message,
            })?;
            if let Some(ms) = ms {
                at = Duration::from_millis(ms);
            }
            entries.push(Entry { at, message });
        }
        Ok(Self { entries })
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The messages in order.
    pub fn messages(&self) -> impl Iterator<Item = &Message> {
        self.entries.iter().map(|e| &e.message)
    }

    /// Each message's recorded time, relative to the start of the recording.
    pub fn times(&self) -> impl Iterator<Item = Duration> + '_ {
        self.entries.iter().map(|e| e.at)
    }

    /// How long one pass lasts when looping at the recorded pace: up to the last message, plus
    /// the mean gap between messages so that the seam looks like the rest of the stream.
    fn cycle(&self) -> Duration {
        let last = self.entries.last().map_or(Duration::ZERO, |e| e.at);
        match self.entries.len() {
            0 | 1 => last,
            n => last + last / (n as u32 - 1),
        }
    }
}

const PAYLOAD_KEYS: [&str; 3] = ["json", "text", "binary"];

/// One line of a replay file: its time (if it has one) and the message.
fn parse_line(line: &str) -> Result<(Option<u64>, Message), String> {
    let raw: &RawValue = serde_json::from_str(line).map_err(|e| format!("not valid JSON: {e}"))?;
    match as_record(raw)? {
        Some(record) => Ok(record),
        None => Ok((None, Message::text(raw.get()))),
    }
}

/// Reads `{"ms": …, "json"|"text"|"binary": …}`; `None` when the line is a bare value.
fn as_record(raw: &RawValue) -> Result<Option<(Option<u64>, Message)>, String> {
    let Ok(fields) = serde_json::from_str::<BTreeMap<String, &RawValue>>(raw.get()) else {
        return Ok(None);
    };
    let is_record = fields.keys().any(|k| PAYLOAD_KEYS.contains(&k.as_str()))
        && fields
            .keys()
            .all(|k| k == "ms" || PAYLOAD_KEYS.contains(&k.as_str()));
    if !is_record {
        return Ok(None);
    }
    let payloads: Vec<&str> = PAYLOAD_KEYS
        .into_iter()
        .filter(|k| fields.contains_key(*k))
        .collect();
    let [kind] = payloads.as_slice() else {
        return Err(format!(
            "a line holds one of `json`, `text` or `binary`, not several ({})",
            payloads.join(", ")
        ));
    };
    let ms = match fields.get("ms") {
        Some(v) => serde_json::from_str::<Option<u64>>(v.get()).map_err(|_| {
            format!(
                "`ms` must be a whole number of milliseconds, found {}",
                v.get()
            )
        })?,
        None => None,
    };
    let value = fields[*kind].get();
    let message = match *kind {
        "json" => Message::text(value),
        "text" => Message::text(
            serde_json::from_str::<String>(value)
                .map_err(|_| format!("`text` must be a string, found {value}"))?,
        ),
        _ => Message::binary(decode_base64(value)?),
    };
    Ok(Some((ms, message)))
}

fn decode_base64(value: &str) -> Result<Vec<u8>, String> {
    let text = serde_json::from_str::<String>(value)
        .map_err(|_| format!("`binary` must be a base64 string, found {value}"))?;
    base64::engine::general_purpose::STANDARD
        .decode(text.as_bytes())
        .map_err(|e| format!("`binary` is not valid base64: {e}"))
}

/// What a mock does, compiled once at start and shared by its connections.
struct Behaviour {
    replay: Option<Recording>,
    interval: Option<Duration>,
    looped: bool,
    echo: bool,
    rules: Vec<Rule>,
    close_after: Option<u64>,
    close_code: u16,
}

impl Behaviour {
    async fn build(name: &str, def: &MockDef, base_dir: &Path) -> Result<Self, MockError> {
        let invalid = |message: String| MockError::Invalid {
            mock: name.to_string(),
            message,
        };
        let replay = match &def.replay {
            Some(file) => Some(Recording::load(&replay_path(base_dir, file)).await?),
            None => None,
        };
        let rules = def
            .on
            .iter()
            .enumerate()
            .map(|(i, rule)| {
                Rule::compile(rule).map_err(|m| invalid(format!("rule {}: {m}", i + 1)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let close_code = def.close_code.unwrap_or(DEFAULT_CLOSE_CODE);
        check_close_code(close_code).map_err(|m| invalid(format!("`close_code`: {m}")))?;
        Ok(Self {
            replay,
            interval: def.interval.map(|d| d.0),
            looped: def.looped,
            echo: def.echo,
            rules,
            close_after: def.close_after,
            close_code,
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
fn check_close_code(code: u16) -> Result<(), String> {
    if CloseCode::from(code).is_allowed() {
        Ok(())
    } else {
        Err(format!(
            "{code} cannot be sent in a close frame; use 1000–1003, 1007–1014 or 3000–4999"
        ))
    }
}

/// A scripted reply rule with its matchers resolved.
struct Rule {
    matches: Vec<(JsonPath, Resolved)>,
    text: Option<Resolved>,
    replies: Vec<MockReply>,
    close: Option<u16>,
}

impl Rule {
    fn compile(rule: &MockRule) -> Result<Self, String> {
        let scope = Scope::default();
        let matches = rule
            .matches
            .0
            .iter()
            .map(|(path, m)| {
                m.resolve(&scope)
                    .map(|r| (path.clone(), r))
                    .map_err(|e| format!("`{path}`: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let text = match &rule.text {
            Some(m) => Some(m.resolve(&scope).map_err(|e| format!("`text`: {e}"))?),
            None => None,
        };
        for (i, reply) in rule.reply.iter().enumerate() {
            check_reply(reply).map_err(|m| format!("reply {}: {m}", i + 1))?;
        }
        if let Some(code) = rule.close {
            check_close_code(code).map_err(|m| format!("`close`: {m}"))?;
        }
        Ok(Self {
            matches,
            text,
            replies: rule.reply.clone(),
            close: rule.close,
        })
    }

    /// Whether every matcher of the rule holds for `incoming`.
    fn holds(&self, incoming: &Incoming) -> bool {
        if !self.matches.is_empty() {
            let Some(json) = &incoming.json else {
                return false;
            };
            if !self.matches.iter().all(|(p, m)| path_holds(p, m, json)) {
                return false;
            }
        }
        match (&self.text, &incoming.text) {
            (None, _) => true,
            (Some(m), Some(text)) => m.mismatch(Subject::Json(text)).is_none(),
            (Some(_), None) => false,
        }
    }
}

/// A reply has exactly one payload; a literal `binary` must be base64.
fn check_reply(reply: &MockReply) -> Result<(), String> {
    let count = [
        reply.json.is_some(),
        reply.text.is_some(),
        reply.binary.is_some(),
    ]
    .into_iter()
    .filter(|b| *b)
    .count();
    if count != 1 {
        return Err("a reply has exactly one of `json`, `text` or `binary`".into());
    }
    if let Some(t) = reply.binary.as_ref().filter(|t| !t.has_vars()) {
        let text = t.expand(&Scope::default()).map_err(|e| e.to_string())?;
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map_err(|e| format!("`binary` is not valid base64: {e}"))?;
    }
    Ok(())
}

/// A path's matcher over a message, as `expect` applies it: the path must select something
/// (unless `exists: false`), and every selected node must match (one, with `any: true`).
fn path_holds(path: &JsonPath, matcher: &Resolved, doc: &Value) -> bool {
    let nodes = path.query(doc);
    match (matcher.exists(), nodes.is_empty()) {
        (Some(false), empty) => return empty,
        (_, true) => return false,
        _ => {}
    }
    let ok = |node: &&Value| matcher.mismatch(Subject::Json(node)).is_none();
    if matcher.any {
        nodes.iter().any(ok)
    } else {
        nodes.iter().all(ok)
    }
}

/// A message from a client, in the forms rules and templates look at.
struct Incoming {
    original: Message,
    /// The parsed text, when it is JSON.
    json: Option<Value>,
    /// The text as a JSON string, for `text:` matchers.
    text: Option<Value>,
    /// A binary message as base64, for `{{ message }}`.
    base64: Option<Value>,
}

impl Incoming {
    fn new(message: Message) -> Option<Self> {
        let (json, text, base64) = match &message {
            Message::Text(t) => (
                serde_json::from_str(t.as_str()).ok(),
                Some(Value::String(t.as_str().to_string())),
                None,
            ),
            Message::Binary(b) => (
                None,
                None,
                Some(Value::String(
                    base64::engine::general_purpose::STANDARD.encode(b),
                )),
            ),
            _ => return None,
        };
        Some(Self {
            original: message,
            json,
            text,
            base64,
        })
    }

    /// What `{{ message }}` names: the JSON, else the text, else the base64 of the bytes.
    fn scope_value(&self) -> Option<&Value> {
        self.json
            .as_ref()
            .or(self.text.as_ref())
            .or(self.base64.as_ref())
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
    let handshake = tokio_tungstenite::accept_async_with_config(tcp, Some(ws_config()));
    let Ok(Ok(ws)) = timeout(HANDSHAKE_TIMEOUT, handshake).await else {
        return;
    };
    let (sink, stream) = ws.split();
    let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
    let writer = write_loop(sink, rx, behaviour.close_after, behaviour.close_code).fuse();
    let reader = read_loop(stream, tx.clone(), &behaviour).fuse();
    let replay = async {
        replay_loop(&behaviour, tx).await;
        std::future::pending::<()>().await
    };
    tokio::pin!(writer, reader, replay);
    tokio::select! {
        // The client closed or vanished.
        _ = &mut reader => {}
        // The mock closed: let the client answer the close frame.
        _ = &mut writer => {
            let _ = timeout(CLOSE_GRACE, &mut reader).await;
        }
        _ = &mut replay => {}
    }
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
async fn read_loop(mut stream: SplitStream<Ws>, tx: mpsc::Sender<Out>, behaviour: &Behaviour) {
    while let Some(Ok(message)) = stream.next().await {
        if matches!(message, Message::Close(_)) {
            break;
        }
        let Some(incoming) = Incoming::new(message) else {
            continue;
        };
        // Once the writer has gone, keep reading so the close handshake can finish.
        let _ = respond(&incoming, &tx, behaviour).await;
    }
}

async fn respond(
    incoming: &Incoming,
    tx: &mpsc::Sender<Out>,
    behaviour: &Behaviour,
) -> Result<(), Gone> {
    if behaviour.echo {
        send(tx, Out::Send(incoming.original.clone())).await?;
    }
    let Some(rule) = behaviour.rules.iter().find(|r| r.holds(incoming)) else {
        return Ok(());
    };
    let scope = Scope {
        message: incoming.scope_value(),
        ..Default::default()
    };
    for reply in &rule.replies {
        if let Some(delay) = reply.delay {
            sleep(delay.0).await;
        }
        if let Some(message) = render(reply, &scope) {
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

/// A reply with its templates expanded; `None` when a template names something the incoming
/// message lacks (or a templated `binary` is not base64): that reply is skipped.
fn render(reply: &MockReply, scope: &Scope<'_>) -> Option<Message> {
    if let Some(json) = &reply.json {
        return json
            .expand(scope)
            .ok()
            .map(|v| Message::text(v.to_string()));
    }
    if let Some(text) = &reply.text {
        return text.expand(scope).ok().map(Message::text);
    }
    let b64 = reply.binary.as_ref()?.expand(scope).ok()?;
    base64::engine::general_purpose::STANDARD
        .decode(b64.as_bytes())
        .ok()
        .map(Message::binary)
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

    fn text(m: &Message) -> &str {
        match m {
            Message::Text(t) => t.as_str(),
            other => panic!("not text: {other:?}"),
        }
    }

    #[test]
    fn records_and_bare_values_parse() {
        let r = Recording::parse(
            "{\"ms\": 5, \"json\": {\"b\":1, \"a\":2}}\n\n{\"text\":\"hi\"}\n{\"ms\":9,\"binary\":\"AQID\"}\n[1, 2]\n{\"ms\":3,\"other\":1}\n",
            "x.jsonl",
        )
        .unwrap();
        let msgs: Vec<&Message> = r.messages().collect();
        assert_eq!(text(msgs[0]), "{\"b\":1, \"a\":2}");
        assert_eq!(text(msgs[1]), "hi");
        assert_eq!(msgs[2], &Message::binary(vec![1u8, 2, 3]));
        assert_eq!(text(msgs[3]), "[1, 2]");
        assert_eq!(text(msgs[4]), "{\"ms\":3,\"other\":1}");
        let times: Vec<u128> = r.times().map(|t| t.as_millis()).collect();
        assert_eq!(times, [5, 5, 9, 9, 9]);
    }

    #[test]
    fn bad_lines_name_file_and_line() {
        let err = Recording::parse("{\"json\":1}\n\n{oops\n", "f.jsonl").unwrap_err();
        assert!(
            err.to_string().starts_with("f.jsonl:3: not valid JSON"),
            "{err}"
        );
        let err = Recording::parse("{\"json\":1,\"text\":\"a\"}", "f.jsonl").unwrap_err();
        assert!(err.to_string().contains("not several"), "{err}");
        let err = Recording::parse("{\"ms\":-1,\"json\":1}", "f.jsonl").unwrap_err();
        assert!(err.to_string().contains("`ms` must be"), "{err}");
        let err = Recording::parse("{\"binary\":\"!!\"}", "f.jsonl").unwrap_err();
        assert!(err.to_string().contains("base64"), "{err}");
    }

    #[test]
    fn the_loop_seam_uses_the_mean_gap() {
        let r = Recording::parse(
            "{\"ms\":0,\"json\":1}\n{\"ms\":20,\"json\":2}\n{\"ms\":40,\"json\":3}",
            "f",
        )
        .unwrap();
        assert_eq!(r.cycle(), Duration::from_millis(60));
    }

    #[test]
    fn reserved_close_codes_are_refused() {
        assert!(check_close_code(1000).is_ok());
        assert!(check_close_code(4001).is_ok());
        assert!(check_close_code(1005).is_err());
        assert!(check_close_code(999).is_err());
    }
}
