//! Local WebSocket test servers for the integration tests (`mod common;`).
//!
//! Every server binds `127.0.0.1:0`, accepts any number of concurrent clients, ignores the
//! request path, and stops when its [`TestServer`] handle is dropped.
//!
//! The servers run on one shared background runtime, not on the caller's, so they keep serving
//! while a test thread blocks — a plain `#[test]` waiting on a `wsrun` subprocess, or a
//! `#[tokio::test]` calling a blocking engine API. Constructors are therefore plain `fn`s that can
//! be called from sync and async code alike.

// Each test binary compiles this module and uses only some of the servers.
#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Map, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio::sync::broadcast;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::header::SEC_WEBSOCKET_PROTOCOL;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

mod recording;
mod trades;
// Used by some test binaries only, like the rest of this module.
#[allow(unused_imports)]
pub use recording::{recorder, recording_echo, Received};
#[allow(unused_imports)]
pub use trades::{faulty_trades, Fault, Trades};

/// Server side of one WebSocket connection.
pub type Ws = WebSocketStream<TcpStream>;

/// Trade id (`"t"`) of the first message of every Binance-format stream.
pub const FIRST_TRADE_ID: u64 = 4_221_990_001;
/// Event time (`"E"`, ms) of the first message of every Binance-format stream.
pub const FIRST_EVENT_MS: u64 = 1_732_460_000_123;

/// A running test server; dropping it aborts the accept loop and every open connection.
pub struct TestServer {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl TestServer {
    /// `ws://127.0.0.1:PORT` (append any path; servers ignore it).
    pub fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Number of TCP connections accepted so far (including failed handshakes).
    pub fn connections(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // The accept task owns the JoinSet of connections, so this aborts them too.
        self.task.abort();
    }
}

/// The one background runtime the test servers run on (also for a test file's own servers).
pub fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("test-servers")
            .enable_all()
            .build()
            .expect("build the test-server runtime")
    })
}

/// Binds a loopback port and runs `handler` on every accepted TCP connection.
fn serve<F, Fut>(handler: F) -> TestServer
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    // Bind synchronously so the port is known (and listening) before we return.
    let std_listener =
        std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback test port");
    std_listener
        .set_nonblocking(true)
        .expect("make the listener non-blocking");
    let addr = std_listener.local_addr().expect("read the bound address");
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&accepted);
    let task = runtime().spawn(async move {
        let listener = TcpListener::from_std(std_listener).expect("register the listener");
        let mut conns = JoinSet::new();
        while let Ok((tcp, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let _ = tcp.set_nodelay(true);
            conns.spawn(handler(tcp));
            while conns.try_join_next().is_some() {}
        }
    });
    TestServer {
        addr,
        accepted,
        task,
    }
}

/// Completes the server handshake; `None` if the client gave up or spoke something else.
async fn accept(tcp: TcpStream) -> Option<Ws> {
    tokio_tungstenite::accept_async(tcp).await.ok()
}

/// Reads and discards messages (pings are still answered) until the client leaves.
async fn drain(mut ws: Ws) {
    while let Some(Ok(_)) = ws.next().await {}
}

async fn send_texts(ws: &mut Ws, texts: impl IntoIterator<Item = String>) -> Option<()> {
    for text in texts {
        ws.send(Message::text(text)).await.ok()?;
    }
    Some(())
}

fn counter_msg(i: usize) -> String {
    json!({ "n": i }).to_string()
}

// ---------------------------------------------------------------------------------------------
// Binance-format trades
// ---------------------------------------------------------------------------------------------

/// Deterministic per-message noise (the splitmix64 finalizer of `i`): no randomness, and the
/// `i`-th trade can be computed without generating the ones before it.
fn noise(i: usize) -> u64 {
    let mut x = (i as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Formats an integer count of 10^-8 units as a Binance decimal string, e.g. `97012.34000000`.
fn decimal8(units: u64) -> String {
    format!("{}.{:08}", units / 100_000_000, units % 100_000_000)
}

/// The `i`-th (0-based) message of every Binance-format stream; deterministic.
pub fn binance_trade(i: usize) -> String {
    let r = noise(i);
    let event_ms = FIRST_EVENT_MS + 100 * i as u64;
    // Price wanders within +-20.00 USDT of 97012.34, always in whole cents.
    let cents = 9_701_234 - 2_000 + (r >> 8) % 4_001;
    // Quantity between 0.00001000 and 0.02000999.
    let qty_units = 1_000 + (r >> 24) % 2_000_000;
    json!({
        "e": "trade",
        "E": event_ms,
        "s": "BTCUSDT",
        "t": FIRST_TRADE_ID + i as u64,
        "p": decimal8(cents * 1_000_000),
        "q": decimal8(qty_units),
        "T": event_ms - 1 - (r >> 48) % 3,
        "m": r & 1 == 1,
        "M": true,
    })
    .to_string()
}

/// `Some(id)` if `text` is a Binance `SUBSCRIBE`/`UNSUBSCRIBE` request.
fn subscribe_id(text: &str) -> Option<Value> {
    let request: Value = serde_json::from_str(text).ok()?;
    let method = request.get("method")?.as_str()?;
    if method != "SUBSCRIBE" && method != "UNSUBSCRIBE" {
        return None;
    }
    Some(request.get("id").cloned().unwrap_or(Value::Null))
}

/// Streams `n` trades `interval` apart, answering (UN)SUBSCRIBE in order with the trades.
/// With `wait_for_subscribe`, nothing is streamed before the first SUBSCRIBE.
async fn binance_conn(mut ws: Ws, n: usize, interval: Duration, wait_for_subscribe: bool) {
    let mut streaming = !wait_for_subscribe;
    let mut sent = 0;
    let mut next_at = Instant::now();
    loop {
        let due = async {
            if Instant::now() < next_at {
                tokio::time::sleep_until(next_at).await;
            }
        };
        tokio::select! {
            biased;
            incoming = ws.next() => {
                let Some(Ok(msg)) = incoming else { return };
                let Some(id) = msg.to_text().ok().and_then(subscribe_id) else { continue };
                let reply = json!({ "result": null, "id": id }).to_string();
                if ws.send(Message::text(reply)).await.is_err() {
                    return;
                }
                if !streaming {
                    streaming = true;
                    next_at = Instant::now();
                }
            }
            () = due, if streaming && sent < n => {
                if ws.send(Message::text(binance_trade(sent))).await.is_err() {
                    return;
                }
                sent += 1;
                next_at += interval;
            }
        }
    }
}

/// Sends `n` Binance trades (`interval` apart, the first at once), then stays open.
/// A `SUBSCRIBE` at any time is answered `{"result":null,"id":N}` between trades.
pub fn binance_stream(n: usize, interval: Duration) -> TestServer {
    serve(move |tcp| async move {
        if let Some(ws) = accept(tcp).await {
            binance_conn(ws, n, interval, false).await;
        }
    })
}

/// Sends nothing until the client's first `SUBSCRIBE`, replies `{"result":null,"id":N}`,
/// then streams `n` trades `interval` apart and stays open.
pub fn binance_subscribe(n: usize, interval: Duration) -> TestServer {
    serve(move |tcp| async move {
        if let Some(ws) = accept(tcp).await {
            binance_conn(ws, n, interval, true).await;
        }
    })
}

/// Sends `n` Binance trades back to back (buffered, one flush), then stays open.
pub fn flood(n: usize) -> TestServer {
    serve(move |tcp| async move {
        let Some(mut ws) = accept(tcp).await else {
            return;
        };
        for i in 0..n {
            if ws.feed(Message::text(binance_trade(i))).await.is_err() {
                return;
            }
        }
        if ws.flush().await.is_ok() {
            drain(ws).await;
        }
    })
}

/// Sends Binance trades for as long as the client reads them, as fast as the socket takes them:
/// pre-encoded frames written straight to the TCP stream, so that even a debug build of this
/// server outruns the client and the client always has a frame waiting.
pub fn firehose() -> TestServer {
    serve(move |tcp| async move {
        let Some(ws) = accept(tcp).await else {
            return;
        };
        let mut chunk = Vec::new();
        for i in 0..512 {
            let text = binance_trade(i);
            chunk.push(0x81); // FIN, text
            match text.len() {
                n if n < 126 => chunk.push(n as u8),
                n => {
                    chunk.push(126);
                    chunk.extend_from_slice(&(n as u16).to_be_bytes());
                }
            }
            chunk.extend_from_slice(text.as_bytes());
        }
        let mut tcp = ws.into_inner();
        while tcp.write_all(&chunk).await.is_ok() {}
    })
}

// ---------------------------------------------------------------------------------------------
// Generic servers
// ---------------------------------------------------------------------------------------------

/// Echoes every text and binary message back unchanged.
pub fn echo() -> TestServer {
    serve(|tcp| async move {
        let Some(mut ws) = accept(tcp).await else {
            return;
        };
        while let Some(Ok(msg)) = ws.next().await {
            if (msg.is_text() || msg.is_binary()) && ws.send(msg).await.is_err() {
                return;
            }
        }
    })
}

/// A chat room: each text message is broadcast to every *other* connected client.
pub fn chat() -> TestServer {
    let (room, _) = broadcast::channel::<(usize, String)>(1024);
    let next_id = Arc::new(AtomicUsize::new(0));
    serve(move |tcp| {
        // Join the room before the handshake completes, so a client that has connected
        // never misses a message sent after its connect returned.
        let mut inbox = room.subscribe();
        let room = room.clone();
        let me = next_id.fetch_add(1, Ordering::SeqCst);
        async move {
            let Some(mut ws) = accept(tcp).await else {
                return;
            };
            loop {
                tokio::select! {
                    incoming = ws.next() => match incoming {
                        Some(Ok(Message::Text(text))) => {
                            let _ = room.send((me, text.to_string()));
                        }
                        Some(Ok(_)) => {}
                        _ => return,
                    },
                    post = inbox.recv() => match post {
                        Ok((from, text)) if from != me => {
                            if ws.send(Message::text(text)).await.is_err() {
                                return;
                            }
                        }
                        Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                        Err(broadcast::error::RecvError::Closed) => return,
                    },
                }
            }
        }
    })
}

/// Sends `after` messages `{"n":0}`, `{"n":1}`, … then closes with `code` and `reason`.
pub fn closer(code: u16, reason: &str, after: usize) -> TestServer {
    let reason = reason.to_owned();
    serve(move |tcp| {
        let reason = reason.clone();
        async move {
            let Some(mut ws) = accept(tcp).await else {
                return;
            };
            if send_texts(&mut ws, (0..after).map(counter_msg))
                .await
                .is_none()
            {
                return;
            }
            let frame = CloseFrame {
                code: CloseCode::from(code),
                reason: reason.into(),
            };
            if ws.close(Some(frame)).await.is_ok() {
                drain(ws).await; // wait for the client's close reply
            }
        }
    })
}

/// Sends `after` messages `{"n":0}`, `{"n":1}`, … then drops the TCP connection without a
/// close frame (FIN, not RST: the write side is shut down and the read side drained first).
pub fn dropper(after: usize) -> TestServer {
    serve(move |tcp| async move {
        let Some(mut ws) = accept(tcp).await else {
            return;
        };
        if send_texts(&mut ws, (0..after).map(counter_msg))
            .await
            .is_none()
        {
            return;
        }
        let mut tcp = ws.into_inner();
        if tcp.shutdown().await.is_ok() {
            let mut sink = [0u8; 4096];
            let read_to_eof = async { while matches!(tcp.read(&mut sink).await, Ok(1..)) {} };
            let _ = tokio::time::timeout(Duration::from_secs(2), read_to_eof).await;
        }
    })
}

/// Accepts the WebSocket and never sends a message (it keeps reading, so pings still get
/// their automatic pong and a client close is still answered).
pub fn silent() -> TestServer {
    serve(|tcp| async move {
        if let Some(ws) = accept(tcp).await {
            drain(ws).await;
        }
    })
}

/// Sends the given text messages in order on connect, then stays open.
pub fn text_server(msgs: Vec<String>) -> TestServer {
    let msgs = Arc::new(msgs);
    serve(move |tcp| {
        let msgs = Arc::clone(&msgs);
        async move {
            let Some(mut ws) = accept(tcp).await else {
                return;
            };
            if send_texts(&mut ws, msgs.iter().cloned()).await.is_some() {
                drain(ws).await;
            }
        }
    })
}

/// Sends the given binary messages in order on connect, then stays open.
pub fn binary_server(msgs: Vec<Vec<u8>>) -> TestServer {
    let msgs = Arc::new(msgs);
    serve(move |tcp| {
        let msgs = Arc::clone(&msgs);
        async move {
            let Some(mut ws) = accept(tcp).await else {
                return;
            };
            for bytes in msgs.iter() {
                if ws.send(Message::binary(bytes.clone())).await.is_err() {
                    return;
                }
            }
            drain(ws).await;
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Handshake inspection
// ---------------------------------------------------------------------------------------------

/// [`header_echo_with`]`(true)`: agrees to the first requested subprotocol.
pub fn header_echo() -> TestServer {
    header_echo_with(true)
}

/// On connect sends one JSON object: every request header (lower-case name → value, repeated
/// headers joined with `", "`), plus `"path"` (the request path, without the query), `"query"`
/// (only if there is one) and, only if the client requested subprotocols, `"subprotocol"`: the
/// first requested one when `accept_subprotocol`, else `null` (the server then answers without
/// `Sec-WebSocket-Protocol`, which RFC 6455 clients such as tungstenite reject).
pub fn header_echo_with(accept_subprotocol: bool) -> TestServer {
    serve(move |tcp| async move {
        let mut report = None;
        // The `ErrorResponse` type is tungstenite's, not ours to shrink.
        #[allow(clippy::result_large_err)]
        let callback = |request: &Request, response: Response| {
            let (echo, response) = inspect_request(request, response, accept_subprotocol);
            report = Some(echo);
            Ok::<Response, ErrorResponse>(response)
        };
        let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(tcp, callback).await else {
            return;
        };
        let text = report.unwrap_or_default().to_string();
        if ws.send(Message::text(text)).await.is_ok() {
            drain(ws).await;
        }
    })
}

/// Builds the header-echo object and, if asked to, agrees to the first requested subprotocol.
fn inspect_request(request: &Request, mut response: Response, accept: bool) -> (Value, Response) {
    let mut echo = Map::new();
    for name in request.headers().keys() {
        let values: Vec<String> = request
            .headers()
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        echo.insert(name.as_str().to_owned(), Value::String(values.join(", ")));
    }
    echo.insert(
        "path".into(),
        Value::String(request.uri().path().to_owned()),
    );
    if let Some(query) = request.uri().query() {
        echo.insert("query".into(), Value::String(query.to_owned()));
    }
    if let Some(first) = first_subprotocol(request) {
        let agreed = accept.then(|| HeaderValue::from_str(&first).ok()).flatten();
        if let Some(value) = agreed {
            response.headers_mut().insert(SEC_WEBSOCKET_PROTOCOL, value);
            echo.insert("subprotocol".into(), Value::String(first));
        } else {
            echo.insert("subprotocol".into(), Value::Null);
        }
    }
    (Value::Object(echo), response)
}

fn first_subprotocol(request: &Request) -> Option<String> {
    request
        .headers()
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .find(|p| !p.is_empty())
        .map(str::to_owned)
}

// ---------------------------------------------------------------------------------------------
// Nothing listening
// ---------------------------------------------------------------------------------------------

/// A `ws://` URL whose port was just free: bound on port 0, then released, so connecting is
/// refused (barring another process grabbing that exact port in between).
pub fn refused_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let addr = listener.local_addr().expect("read the bound address");
    drop(listener);
    format!("ws://{addr}")
}
