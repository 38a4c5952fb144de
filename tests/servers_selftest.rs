//! Self-tests for the servers in `tests/common`, driven by a plain tokio-tungstenite client.

mod common;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::time::{timeout, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::error::{Error, ProtocolError, SubProtocolError};
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

const WAIT: Duration = Duration::from_secs(5);
const QUIET: Duration = Duration::from_millis(300);

async fn connect(url: &str) -> Client {
    let (ws, _) = timeout(WAIT, tokio_tungstenite::connect_async(url))
        .await
        .expect("connect in time")
        .expect("handshake succeeds");
    ws
}

/// Next data or close message (pings/pongs skipped); panics on timeout or end of stream.
async fn next_msg(ws: &mut Client) -> Message {
    loop {
        let msg = timeout(WAIT, ws.next())
            .await
            .expect("a message in time")
            .expect("stream still open")
            .expect("no protocol error");
        if !matches!(msg, Message::Ping(_) | Message::Pong(_)) {
            return msg;
        }
    }
}

async fn next_text(ws: &mut Client) -> String {
    match next_msg(ws).await {
        Message::Text(text) => text.to_string(),
        other => panic!("expected a text message, got {other:?}"),
    }
}

async fn next_json(ws: &mut Client) -> Value {
    serde_json::from_str(&next_text(ws).await).expect("message is JSON")
}

async fn assert_quiet(ws: &mut Client) {
    if let Ok(msg) = timeout(QUIET, ws.next()).await {
        panic!("expected silence, got {msg:?}");
    }
}

fn is_decimal8(s: &str) -> bool {
    let Some((int, frac)) = s.split_once('.') else {
        return false;
    };
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.len() == 8
        && frac.bytes().all(|b| b.is_ascii_digit())
}

fn assert_trade_shape(trade: &Value) {
    assert_eq!(trade["e"], "trade");
    assert_eq!(trade["s"], "BTCUSDT");
    assert_eq!(trade["M"], true);
    assert!(trade["m"].is_boolean(), "m is a bool: {trade}");
    let (e_ms, t_ms) = (trade["E"].as_u64(), trade["T"].as_u64());
    assert!(
        matches!((e_ms, t_ms), (Some(e), Some(t)) if t <= e),
        "E/T integers: {trade}"
    );
    for key in ["p", "q"] {
        let value = trade[key].as_str().expect("p and q are strings");
        assert!(is_decimal8(value), "{key}={value} has 8 decimals");
        let number: f64 = value.parse().expect("p and q hold numbers");
        assert!(number > 0.0, "{key}={value} is positive");
    }
}

#[tokio::test]
async fn binance_stream_sends_n_trades_then_stays_open() {
    let server = common::binance_stream(5, Duration::ZERO);
    let mut ws = connect(&format!("{}/ws/btcusdt@trade", server.url())).await;
    let mut trades = Vec::new();
    for _ in 0..5 {
        trades.push(next_json(&mut ws).await);
    }
    for (i, trade) in trades.iter().enumerate() {
        assert_trade_shape(trade);
        assert_eq!(trade["t"], json!(common::FIRST_TRADE_ID + i as u64));
    }
    assert_eq!(trades[0]["E"], json!(common::FIRST_EVENT_MS));
    assert_quiet(&mut ws).await;
    ws.send(Message::text("ignored")).await.expect("still open");
    assert_quiet(&mut ws).await;
}

/// The trade ids and event times of the first `n` messages of a `faulty_trades` server.
async fn faulty(faults: Vec<common::Fault>, clock: bool, n: usize) -> Vec<Value> {
    let server = common::faulty_trades(common::Trades {
        count: n,
        interval: Duration::ZERO,
        clock,
        faults,
    });
    let mut ws = connect(&server.url()).await;
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(next_json(&mut ws).await);
    }
    assert_quiet(&mut ws).await;
    out
}

fn ids(trades: &[Value]) -> Vec<u64> {
    trades
        .iter()
        .map(|t| t["t"].as_u64().expect("an id") - common::FIRST_TRADE_ID)
        .collect()
}

#[tokio::test]
async fn faulty_trades_without_faults_is_a_clean_binance_stream() {
    let trades = faulty(vec![], false, 5).await;
    trades.iter().for_each(assert_trade_shape);
    assert_eq!(ids(&trades), [0, 1, 2, 3, 4]);
    assert_eq!(trades[0]["E"], json!(common::FIRST_EVENT_MS));
}

#[tokio::test]
async fn faulty_trades_puts_gaps_duplicates_and_swaps_where_asked() {
    use common::Fault::*;
    let gap = faulty(vec![Gap { at: 3, missing: 2 }], false, 5).await;
    assert_eq!(ids(&gap), [0, 1, 4, 5, 6]);
    let dup = faulty(vec![Duplicate { at: 3 }], false, 4).await;
    assert_eq!(ids(&dup), [0, 1, 1, 3]);
    let swap = faulty(vec![Swap { at: 2 }], false, 4).await;
    assert_eq!(ids(&swap), [0, 2, 1, 3]);
}

#[tokio::test]
async fn faulty_trades_renames_a_field_and_ages_timestamps() {
    use common::Fault::*;
    let renamed = faulty(
        vec![Rename {
            at: 2,
            field: "p".into(),
            to: "price".into(),
        }],
        false,
        3,
    )
    .await;
    assert!(renamed[0].get("p").is_some() && renamed[1].get("p").is_none());
    assert!(renamed[1].get("price").is_some());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64;
    let stale = faulty(
        vec![Stale {
            at: 2,
            by_ms: 60_000,
        }],
        true,
        3,
    )
    .await;
    let age = |t: &Value| now - t["E"].as_i64().expect("an event time");
    assert!(age(&stale[0]).abs() < 5_000, "fresh: {}", stale[0]);
    assert!(
        (55_000..65_000).contains(&age(&stale[2])),
        "stale: {}",
        stale[2]
    );
}

#[tokio::test]
async fn binance_stream_is_deterministic_across_clients() {
    let server = common::binance_stream(20, Duration::ZERO);
    let (mut a, mut b) = (connect(&server.url()).await, connect(&server.url()).await);
    for i in 0..20 {
        let (ta, tb) = (next_text(&mut a).await, next_text(&mut b).await);
        assert_eq!(ta, tb);
        assert_eq!(ta, common::binance_trade(i));
    }
    assert_eq!(common::binance_trade(0), common::binance_trade(0));
    assert_ne!(common::binance_trade(0), common::binance_trade(1));
}

#[tokio::test]
async fn binance_stream_respects_interval() {
    let server = common::binance_stream(3, Duration::from_millis(100));
    let mut ws = connect(&server.url()).await;
    let start = Instant::now();
    for _ in 0..3 {
        next_json(&mut ws).await;
    }
    assert!(
        start.elapsed() >= Duration::from_millis(190),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn binance_stream_answers_subscribe_between_trades() {
    let server = common::binance_stream(10, Duration::from_millis(30));
    let mut ws = connect(&server.url()).await;
    assert_trade_shape(&next_json(&mut ws).await);
    let subscribe = json!({"method": "SUBSCRIBE", "params": ["btcusdt@trade"], "id": 3});
    ws.send(Message::text(subscribe.to_string()))
        .await
        .expect("send SUBSCRIBE");
    let mut ids = Vec::new();
    let mut reply = None;
    while ids.len() < 9 {
        let msg = next_json(&mut ws).await;
        match msg.get("t") {
            Some(t) => ids.push(t.as_u64().expect("t is an integer")),
            None => reply = Some(msg),
        }
    }
    assert_eq!(reply, Some(json!({"result": null, "id": 3})));
    let expected: Vec<u64> = (1..10).map(|i| common::FIRST_TRADE_ID + i).collect();
    assert_eq!(ids, expected, "trades stay in order around the reply");
}

#[tokio::test]
async fn binance_subscribe_waits_then_replies_first() {
    let server = common::binance_subscribe(3, Duration::ZERO);
    let mut ws = connect(&server.url()).await;
    assert_quiet(&mut ws).await;
    ws.send(Message::text(
        r#"{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":7}"#,
    ))
    .await
    .expect("send SUBSCRIBE");
    assert_eq!(next_json(&mut ws).await, json!({"result": null, "id": 7}));
    for i in 0..3 {
        assert_eq!(next_text(&mut ws).await, common::binance_trade(i));
    }
    assert_quiet(&mut ws).await;
}

#[tokio::test]
async fn binance_stream_serves_many_clients_at_once() {
    let server = common::binance_stream(10, Duration::from_millis(5));
    let clients = (0..20).map(|_| {
        let url = server.url();
        tokio::spawn(async move {
            let mut ws = connect(&url).await;
            for i in 0..10 {
                assert_eq!(next_text(&mut ws).await, common::binance_trade(i));
            }
        })
    });
    for client in futures_util::future::join_all(clients).await {
        client.expect("client task succeeds");
    }
    assert_eq!(server.connections(), 20);
}

#[tokio::test]
async fn flood_sends_everything_in_order() {
    let server = common::flood(5_000);
    let mut ws = connect(&server.url()).await;
    for i in 0..5_000 {
        let trade = next_json(&mut ws).await;
        assert_eq!(trade["t"], json!(common::FIRST_TRADE_ID + i));
    }
    assert_quiet(&mut ws).await;
}

#[tokio::test]
async fn echo_returns_text_and_binary_unchanged() {
    let server = common::echo();
    let (mut a, mut b) = (connect(&server.url()).await, connect(&server.url()).await);
    a.send(Message::text("héllo")).await.expect("send text");
    b.send(Message::binary(vec![0u8, 159, 255]))
        .await
        .expect("send binary");
    assert_eq!(next_text(&mut a).await, "héllo");
    assert_eq!(next_msg(&mut b).await, Message::binary(vec![0u8, 159, 255]));
    assert_quiet(&mut a).await;
}

#[tokio::test]
async fn chat_broadcasts_to_everyone_else() {
    let server = common::chat();
    let mut alice = connect(&server.url()).await;
    let mut bob = connect(&server.url()).await;
    let mut carol = connect(&server.url()).await;
    alice
        .send(Message::text("hi from alice"))
        .await
        .expect("alice sends");
    assert_eq!(next_text(&mut bob).await, "hi from alice");
    assert_eq!(next_text(&mut carol).await, "hi from alice");
    bob.send(Message::text("hi from bob"))
        .await
        .expect("bob sends");
    assert_eq!(next_text(&mut alice).await, "hi from bob");
    assert_eq!(next_text(&mut carol).await, "hi from bob");
    assert_quiet(&mut alice).await;
    assert_quiet(&mut bob).await;
}

#[tokio::test]
async fn chat_survives_a_client_leaving() {
    let server = common::chat();
    let mut alice = connect(&server.url()).await;
    let bob = connect(&server.url()).await;
    let mut carol = connect(&server.url()).await;
    drop(bob);
    carol
        .send(Message::text("still here?"))
        .await
        .expect("carol sends");
    assert_eq!(next_text(&mut alice).await, "still here?");
}

#[tokio::test]
async fn closer_sends_then_closes_with_code_and_reason() {
    let server = common::closer(4001, "bye now", 2);
    let mut ws = connect(&server.url()).await;
    assert_eq!(next_json(&mut ws).await, json!({"n": 0}));
    assert_eq!(next_json(&mut ws).await, json!({"n": 1}));
    match next_msg(&mut ws).await {
        Message::Close(Some(frame)) => {
            assert_eq!(frame.code, CloseCode::from(4001));
            assert_eq!(frame.reason.as_str(), "bye now");
        }
        other => panic!("expected a close frame, got {other:?}"),
    }
    let end = timeout(WAIT, ws.next()).await.expect("stream ends in time");
    assert!(
        end.is_none(),
        "clean end after the close handshake: {end:?}"
    );
}

#[tokio::test]
async fn closer_with_zero_messages_closes_at_once() {
    let server = common::closer(1000, "", 0);
    let mut ws = connect(&server.url()).await;
    match next_msg(&mut ws).await {
        Message::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::Normal),
        other => panic!("expected a close frame, got {other:?}"),
    }
}

#[tokio::test]
async fn dropper_drops_tcp_without_close_frame() {
    let server = common::dropper(2);
    let mut ws = connect(&server.url()).await;
    assert_eq!(next_json(&mut ws).await, json!({"n": 0}));
    assert_eq!(next_json(&mut ws).await, json!({"n": 1}));
    let end = timeout(WAIT, ws.next())
        .await
        .expect("connection ends in time");
    assert!(
        matches!(
            end,
            Some(Err(Error::Protocol(
                ProtocolError::ResetWithoutClosingHandshake
            )))
        ),
        "expected a reset without close handshake, got {end:?}"
    );
}

/// A request for the header-echo server carrying custom headers and two subprotocols.
fn request_with_headers(url: &str) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    let mut request = format!("{url}/some/path?x=1")
        .into_client_request()
        .expect("valid URL");
    let headers = request.headers_mut();
    headers.insert("X-Api-Key", HeaderValue::from_static("k-123"));
    headers.insert("Authorization", HeaderValue::from_static("Bearer s3cret"));
    headers.insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("v1.wsrun, v2.wsrun"),
    );
    request
}

#[tokio::test]
async fn header_echo_reports_headers_path_and_agreed_subprotocol() {
    let server = common::header_echo();
    let request = request_with_headers(&server.url());
    let (mut ws, response) = timeout(WAIT, tokio_tungstenite::connect_async(request))
        .await
        .expect("connect in time")
        .expect("handshake succeeds");
    let agreed = response
        .headers()
        .get("sec-websocket-protocol")
        .expect("a subprotocol");
    assert_eq!(agreed, "v1.wsrun");
    let echo = next_json(&mut ws).await;
    assert_eq!(echo["x-api-key"], "k-123");
    assert_eq!(echo["authorization"], "Bearer s3cret");
    assert_eq!(echo["sec-websocket-protocol"], "v1.wsrun, v2.wsrun");
    assert_eq!(echo["host"], server.addr().to_string());
    assert_eq!(echo["path"], "/some/path");
    assert_eq!(echo["query"], "x=1");
    assert_eq!(echo["subprotocol"], "v1.wsrun");
    assert_quiet(&mut ws).await;
}

#[tokio::test]
async fn header_echo_without_subprotocol_has_no_subprotocol_key() {
    let server = common::header_echo();
    let mut ws = connect(&server.url()).await;
    let echo = next_json(&mut ws).await;
    assert_eq!(echo["path"], "/");
    assert!(echo.get("subprotocol").is_none(), "{echo}");
    assert!(echo.get("query").is_none(), "{echo}");
    assert!(echo["sec-websocket-key"].is_string(), "{echo}");
}

#[tokio::test]
async fn header_echo_can_refuse_the_subprotocol() {
    let server = common::header_echo_with(false);
    let request = request_with_headers(&server.url());
    let refused = timeout(WAIT, tokio_tungstenite::connect_async(request))
        .await
        .expect("handshake ends in time");
    assert!(
        matches!(
            refused,
            Err(Error::Protocol(
                ProtocolError::SecWebSocketSubProtocolError(SubProtocolError::NoSubProtocol)
            ))
        ),
        "tungstenite rejects a server that ignores the requested subprotocol: {refused:?}"
    );
    // Without a subprotocol request the same server works normally.
    let mut ws = connect(&server.url()).await;
    assert_eq!(next_json(&mut ws).await["path"], "/");
}

#[tokio::test]
async fn silent_sends_nothing_but_answers_pings() {
    let server = common::silent();
    let mut ws = connect(&server.url()).await;
    assert_quiet(&mut ws).await;
    ws.send(Message::Ping("hi".into()))
        .await
        .expect("send ping");
    let pong = timeout(WAIT, ws.next()).await.expect("pong in time");
    assert!(
        matches!(pong, Some(Ok(Message::Pong(ref p))) if p.as_ref() == b"hi"),
        "{pong:?}"
    );
}

#[tokio::test]
async fn text_server_sends_messages_in_order() {
    let msgs = vec!["one".to_owned(), r#"{"two":2}"#.to_owned(), String::new()];
    let server = common::text_server(msgs.clone());
    let mut ws = connect(&server.url()).await;
    for expected in &msgs {
        assert_eq!(&next_text(&mut ws).await, expected);
    }
    assert_quiet(&mut ws).await;
}

#[tokio::test]
async fn binary_server_sends_messages_in_order() {
    let msgs = vec![vec![1u8, 2, 3], vec![], vec![0xff; 1000]];
    let server = common::binary_server(msgs.clone());
    let mut ws = connect(&server.url()).await;
    for expected in msgs {
        assert_eq!(next_msg(&mut ws).await, Message::binary(expected));
    }
    assert_quiet(&mut ws).await;
}

#[tokio::test]
async fn refused_url_refuses_connections() {
    let url = common::refused_url();
    assert!(url.starts_with("ws://127.0.0.1:"), "{url}");
    let result = timeout(WAIT, tokio_tungstenite::connect_async(&url))
        .await
        .expect("fails fast");
    match result {
        Err(Error::Io(err)) => assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused),
        other => panic!("expected connection refused, got {other:?}"),
    }
}

#[tokio::test]
async fn dropping_the_handle_stops_server_and_connections() {
    let server = common::silent();
    let url = server.url();
    let mut ws = connect(&url).await;
    drop(server);
    let end = timeout(WAIT, ws.next())
        .await
        .expect("open connection ends");
    assert!(!matches!(end, Some(Ok(_))), "connection was cut: {end:?}");
    let refused = timeout(WAIT, tokio_tungstenite::connect_async(&url)).await;
    assert!(matches!(refused, Ok(Err(_))), "new connections fail");
}

/// Servers run on their own runtime, so a blocking client on a plain test thread works.
#[test]
fn servers_work_from_sync_tests() {
    let server = common::text_server(vec!["sync".to_owned()]);
    let (mut ws, _) = tokio_tungstenite::tungstenite::connect(server.url()).expect("connect");
    let msg = ws.read().expect("read one message");
    assert_eq!(msg, Message::text("sync"));
}
