//! In-process WebSocket mock servers (docs/mocks.md, "Mocks and recordings"): replay a recording, echo, scripted replies.
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
//!   whose envelopes the rules see and which answers what no rule answered; each protocol's
//!   side is its folder's `mock.rs` (`src/protocol/<name>/mock.rs`: JSON-RPC's `methods:`;
//!   graphql-ws's `connection_init`, `ping` and unanswered subscriptions; Socket.IO's
//!   handshake and pings; STOMP's small broker, whose subscribers get each other's messages).
//!
//! The replay format is described in [`replay`].

mod connection;
mod http;
pub(crate) mod protocol;
mod replay;
mod rules;

use connection::accept_loop;
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
    /// Subprotocols it agrees to besides its protocol's.
    subprotocols: Vec<String>,
    /// Agree to permessage-deflate when a client offers it.
    compression: bool,
    /// HTTP routes answered on the same port (`http.rs`).
    http: Vec<http::Route>,
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
        let speaker = crate::protocol::mock(def).map_err(invalid)?;
        let http = http::compile(&def.http, &scope).map_err(invalid)?;
        if let Some(bad) = def.subprotocols.iter().find(|p| {
            p.is_empty() || tokio_tungstenite::tungstenite::http::HeaderValue::from_str(p).is_err()
        }) {
            return Err(invalid(format!(
                "subprotocol {bad:?} cannot be sent in a handshake header"
            )));
        }
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
            subprotocols: def.subprotocols.clone(),
            compression: def.compression.unwrap_or(true),
            http,
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
