//! Mock servers and recordings, end to end over loopback: mocks are defined in YAML, driven
//! with a plain tokio-tungstenite client, and recorded with `wsrun::record`.

use std::path::{Path, PathBuf};
use std::time::Duration;
use wsrun::internals::Masker;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::time::{timeout, Instant};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use wsrun::{Collection, MockDef};
use wsrun::{MockServer, Recording};

type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

const WAIT: Duration = Duration::from_secs(5);

/// A scratch folder, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("wsrun-mock-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(dir.join("fixtures")).unwrap();
        Self(dir)
    }

    fn write(&self, name: &str, text: &str) -> &Self {
        std::fs::write(self.0.join(name), text).unwrap();
        self
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The mock named `m` of a collection whose `mocks:` section is `m: <body>`.
fn mock_def(body: &str, dir: &Path) -> MockDef {
    let yaml = format!("mocks:\n  m:\n{}\nrequests: []\n", indent(body, 4));
    let collection =
        Collection::parse(&yaml, &dir.join("c.yaml")).unwrap_or_else(|e| panic!("{e}"));
    collection.mocks.into_iter().next().unwrap().1
}

fn indent(text: &str, by: usize) -> String {
    text.lines()
        .map(|l| format!("{}{l}", " ".repeat(by)))
        .collect::<Vec<_>>()
        .join("\n")
}

async fn start(body: &str, dir: &Path) -> MockServer {
    MockServer::start("m", &mock_def(body, dir), dir, 0)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn connect(url: &str) -> Client {
    timeout(WAIT, tokio_tungstenite::connect_async(url))
        .await
        .expect("connect timed out")
        .expect("connect failed")
        .0
}

/// The next text or binary message (or close frame).
async fn next(ws: &mut Client) -> Message {
    loop {
        let message = timeout(WAIT, ws.next())
            .await
            .expect("no message within 5s")
            .expect("connection ended")
            .expect("connection failed");
        if !matches!(message, Message::Ping(_) | Message::Pong(_)) {
            return message;
        }
    }
}

async fn next_n(ws: &mut Client, n: usize) -> Vec<Message> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(next(ws).await);
    }
    out
}

async fn next_json(ws: &mut Client) -> Value {
    match next(ws).await {
        Message::Text(t) => serde_json::from_str(t.as_str()).expect("JSON"),
        other => panic!("expected a JSON text, got {other:?}"),
    }
}

async fn send_text(ws: &mut Client, text: &str) {
    ws.send(Message::text(text)).await.unwrap();
}

/// Nothing arrives for `d`.
async fn assert_quiet(ws: &mut Client, d: Duration) {
    if let Ok(Some(m)) = timeout(d, ws.next()).await {
        panic!("unexpected message {m:?}");
    }
}

fn close_code(message: &Message) -> Option<u16> {
    match message {
        Message::Close(Some(frame)) => Some(frame.code.into()),
        _ => None,
    }
}

/// Ten messages, 20 ms apart, in every payload form; JSON with unusual key order and spacing.
const TEN: &str = r#"{"ms":0,"json":{"z":1,"a":"first"}}
{"ms":20,"json":{"n":2, "x":[1, 2.50]}}
{"ms":40,"text":"plain text"}

{"ms":60,"binary":"AAEC/w=="}
{"ms":80,"json":{"n":5}}
{"ms":100,"json":{"n":6}}
{"ms":120,"json":"a JSON string"}
{"ms":140,"json":{"n":8}}
{"ms":160,"json":{"n":9}}
{"ms":180,"json":{"n":10}}
"#;

fn ten_messages() -> Vec<Message> {
    Recording::parse(TEN, "ten")
        .unwrap()
        .messages()
        .cloned()
        .collect()
}

#[tokio::test]
async fn replay_sends_the_recording_exactly_at_its_pace() {
    let dir = TempDir::new();
    dir.write("fixtures/ten.jsonl", TEN);
    let mock = start("replay: fixtures/ten.jsonl", &dir.0).await;
    assert!(mock.url().starts_with("ws://127.0.0.1:"), "{}", mock.url());
    let started = Instant::now();
    let mut ws = connect(mock.url()).await;
    let got = next_n(&mut ws, 10).await;
    let took = started.elapsed();
    assert_eq!(got[0], Message::text(r#"{"z":1,"a":"first"}"#));
    assert_eq!(got[1], Message::text(r#"{"n":2, "x":[1, 2.50]}"#));
    assert_eq!(got[2], Message::text("plain text"));
    assert_eq!(got[3], Message::binary(vec![0u8, 1, 2, 255]));
    assert_eq!(got[6], Message::text(r#""a JSON string""#));
    assert_eq!(got, ten_messages());
    assert!(took >= Duration::from_millis(150), "too fast: {took:?}");
    assert!(took < Duration::from_secs(2), "too slow: {took:?}");
    assert_quiet(&mut ws, Duration::from_millis(100)).await;
}

#[tokio::test]
async fn the_binance_fixture_replays_fast_and_in_order() {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("collections");
    let def = mock_def("replay: fixtures/btcusdt-trades.jsonl", &base);
    let mock = MockServer::start("binance", &def, &base, 0).await.unwrap();
    let mut ws = connect(mock.url()).await;
    let started = Instant::now();
    let mut last_id = 0;
    for _ in 0..20 {
        let Message::Text(text) = next(&mut ws).await else {
            panic!("expected text");
        };
        assert!(text.starts_with(r#"{"e":"trade","E":"#), "{text}");
        let v: Value = serde_json::from_str(text.as_str()).unwrap();
        let keys: Vec<&str> = text
            .split(',')
            .filter_map(|f| f.trim_start_matches('{').split('"').nth(1))
            .collect();
        assert_eq!(keys, ["e", "E", "s", "t", "p", "q", "T", "m", "M"]);
        assert_eq!(v["s"], "BTCUSDT");
        let id = v["t"].as_u64().unwrap();
        assert!(id > last_id);
        last_id = id;
        assert!(v["T"].as_u64().unwrap() <= v["E"].as_u64().unwrap());
        assert!(v["p"].as_str().unwrap().split('.').nth(1).unwrap().len() == 8);
    }
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    let recording = Recording::load(&base.join("fixtures/btcusdt-trades.jsonl"))
        .await
        .unwrap();
    assert!(
        (250..=350).contains(&recording.len()),
        "{}",
        recording.len()
    );
}

#[tokio::test]
async fn interval_overrides_the_recorded_pace() {
    let dir = TempDir::new();
    // Recorded a second apart: only `interval` makes these tests fast.
    let slow: String = (0..10)
        .map(|i| format!("{{\"ms\":{},\"json\":{{\"i\":{i}}}}}\n", i * 1000))
        .collect();
    dir.write("fixtures/slow.jsonl", &slow);

    let fast = start("{replay: fixtures/slow.jsonl, interval: 0ms}", &dir.0).await;
    let started = Instant::now();
    let mut ws = connect(fast.url()).await;
    let got = next_n(&mut ws, 10).await;
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(got[9], Message::text(r#"{"i":9}"#));

    let paced = start("{replay: fixtures/slow.jsonl, interval: 30ms}", &dir.0).await;
    let started = Instant::now();
    let mut ws = connect(paced.url()).await;
    let got = next_n(&mut ws, 10).await;
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(250), "{took:?}");
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert_eq!(got[0], Message::text(r#"{"i":0}"#));
}

#[tokio::test]
async fn bare_json_lines_are_sent_back_to_back() {
    let dir = TempDir::new();
    dir.write("fixtures/bare.jsonl", "{\"a\":1}\n[1,2]\n\"s\"\n");
    let mock = start("replay: fixtures/bare.jsonl", &dir.0).await;
    let mut ws = connect(mock.url()).await;
    let got = next_n(&mut ws, 3).await;
    assert_eq!(
        got,
        [
            Message::text("{\"a\":1}"),
            Message::text("[1,2]"),
            Message::text("\"s\"")
        ]
    );
}

#[tokio::test]
async fn loop_starts_again_at_the_end() {
    let dir = TempDir::new();
    dir.write(
        "fixtures/three.jsonl",
        "{\"ms\":0,\"json\":1}\n{\"ms\":10,\"json\":2}\n{\"ms\":20,\"json\":3}\n",
    );
    let mock = start("{replay: fixtures/three.jsonl, loop: true}", &dir.0).await;
    let mut ws = connect(mock.url()).await;
    let got = next_n(&mut ws, 9).await;
    let texts: Vec<String> = got
        .iter()
        .map(|m| m.to_text().unwrap().to_string())
        .collect();
    assert_eq!(texts, ["1", "2", "3", "1", "2", "3", "1", "2", "3"]);
}

#[tokio::test]
async fn echo_sends_every_message_back_unchanged() {
    let dir = TempDir::new();
    let mock = start("echo: true", &dir.0).await;
    let mut ws = connect(mock.url()).await;
    send_text(&mut ws, "hello").await;
    send_text(&mut ws, r#"{"b": 1, "a": 2}"#).await;
    ws.send(Message::binary(vec![9u8, 8, 7])).await.unwrap();
    assert_eq!(next(&mut ws).await, Message::text("hello"));
    assert_eq!(next(&mut ws).await, Message::text(r#"{"b": 1, "a": 2}"#));
    assert_eq!(next(&mut ws).await, Message::binary(vec![9u8, 8, 7]));
}

const BINANCE_RULES: &str = r#"on:
  - match: { $.method: SUBSCRIBE, $.params: { len: { gte: 1 } } }
    reply: { json: { result: null, id: "{{ message.id }}" } }
  - match: { $.method: LIST_SUBSCRIPTIONS }
    reply:
      - { json: { result: ["btcusdt@trade"], id: "{{ message.id }}" } }
      - { text: "listed {{ message.id }}", delay: 20ms }
  - text: { matches: "^ping" }
    reply: { text: pong }
  - match: { $.method: { exists: true } }
    reply: { json: { error: "unknown method {{ message.method }}" } }"#;

#[tokio::test]
async fn rules_reply_with_templates_that_keep_their_types() {
    let dir = TempDir::new();
    let mock = start(BINANCE_RULES, &dir.0).await;
    let mut ws = connect(mock.url()).await;
    send_text(
        &mut ws,
        r#"{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":1}"#,
    )
    .await;
    let reply = next_json(&mut ws).await;
    assert_eq!(reply, json!({"result": null, "id": 1}));
    assert!(reply["id"].is_u64());

    send_text(&mut ws, r#"{"method":"LIST_SUBSCRIPTIONS","id":"abc"}"#).await;
    assert_eq!(
        next_json(&mut ws).await,
        json!({"result": ["btcusdt@trade"], "id": "abc"})
    );
    assert_eq!(next(&mut ws).await, Message::text("listed abc"));

    send_text(&mut ws, "ping 1").await;
    assert_eq!(next(&mut ws).await, Message::text("pong"));
}

#[tokio::test]
async fn the_first_matching_rule_wins() {
    let dir = TempDir::new();
    let mock = start(BINANCE_RULES, &dir.0).await;
    let mut ws = connect(mock.url()).await;
    // SUBSCRIBE with no params fails rule 1's `len`, so the catch-all rule 4 answers.
    send_text(&mut ws, r#"{"method":"SUBSCRIBE","params":[],"id":2}"#).await;
    assert_eq!(
        next_json(&mut ws).await,
        json!({"error": "unknown method SUBSCRIBE"})
    );
    // Rule 1 and rule 4 both match: only rule 1 replies.
    send_text(&mut ws, r#"{"method":"SUBSCRIBE","params":["x"],"id":3}"#).await;
    assert_eq!(next_json(&mut ws).await, json!({"result": null, "id": 3}));
    assert_quiet(&mut ws, Duration::from_millis(100)).await;
}

#[tokio::test]
async fn garbage_is_ignored_and_the_next_message_answered() {
    let dir = TempDir::new();
    let mock = start(BINANCE_RULES, &dir.0).await;
    let mut ws = connect(mock.url()).await;
    send_text(&mut ws, "not json at all").await;
    send_text(&mut ws, r#"{"method": "SUBSCRIBE", "#).await;
    send_text(&mut ws, "").await;
    ws.send(Message::binary(vec![0xffu8, 0x00])).await.unwrap();
    send_text(&mut ws, r#"{"no_method": true}"#).await;
    send_text(
        &mut ws,
        r#"{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":9}"#,
    )
    .await;
    assert_eq!(next_json(&mut ws).await, json!({"result": null, "id": 9}));
    assert_quiet(&mut ws, Duration::from_millis(100)).await;
}

#[tokio::test]
async fn close_after_closes_with_the_code() {
    let dir = TempDir::new();
    dir.write("fixtures/ten.jsonl", TEN);
    let mock = start(
        "{replay: fixtures/ten.jsonl, interval: 0ms, close_after: 3, close_code: 4001}",
        &dir.0,
    )
    .await;
    let mut ws = connect(mock.url()).await;
    let got = next_n(&mut ws, 4).await;
    assert_eq!(&got[..3], &ten_messages()[..3]);
    assert_eq!(close_code(&got[3]), Some(4001));

    let plain = start("{replay: fixtures/ten.jsonl, close_after: 1}", &dir.0).await;
    let mut ws = connect(plain.url()).await;
    let got = next_n(&mut ws, 2).await;
    assert_eq!(close_code(&got[1]), Some(u16::from(CloseCode::Normal)));
}

#[tokio::test]
async fn a_rule_can_close_the_connection_after_replying() {
    let dir = TempDir::new();
    let mock = start(
        "on:\n  - match: { $.op: bye }\n    reply: { text: goodbye }\n    close: 4000",
        &dir.0,
    )
    .await;
    let mut ws = connect(mock.url()).await;
    send_text(&mut ws, r#"{"op":"bye"}"#).await;
    assert_eq!(next(&mut ws).await, Message::text("goodbye"));
    assert_eq!(close_code(&next(&mut ws).await), Some(4000));
}

#[tokio::test]
async fn replay_echo_and_rules_share_one_connection() {
    let dir = TempDir::new();
    dir.write("fixtures/ten.jsonl", TEN);
    let mock = start(
        "replay: fixtures/ten.jsonl\ninterval: 50ms\necho: true\non:\n  - text: hi\n    reply: { text: hello }",
        &dir.0,
    )
    .await;
    let mut ws = connect(mock.url()).await;
    assert_eq!(next(&mut ws).await, ten_messages()[0]);
    send_text(&mut ws, "hi").await;
    let got = next_n(&mut ws, 11).await;
    let hi = got
        .iter()
        .position(|m| *m == Message::text("hi"))
        .expect("echo");
    assert_eq!(got[hi + 1], Message::text("hello"));
    let replayed: Vec<Message> = got
        .into_iter()
        .filter(|m| *m != Message::text("hi") && *m != Message::text("hello"))
        .collect();
    assert_eq!(replayed, ten_messages()[1..]);
}

#[tokio::test]
async fn fifty_clients_each_get_the_whole_replay() {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("collections");
    let def = mock_def(
        "{replay: fixtures/btcusdt-trades.jsonl, interval: 2ms}",
        &base,
    );
    let mock = MockServer::start("binance", &def, &base, 0).await.unwrap();
    let expected: Vec<Message> = Recording::load(&base.join("fixtures/btcusdt-trades.jsonl"))
        .await
        .unwrap()
        .messages()
        .take(100)
        .cloned()
        .collect();
    let clients: Vec<_> = (0..50)
        .map(|_| {
            let url = mock.url().to_string();
            tokio::spawn(async move {
                let mut ws = connect(&url).await;
                next_n(&mut ws, 100).await
            })
        })
        .collect();
    for client in clients {
        assert_eq!(client.await.unwrap(), expected);
    }
}

#[tokio::test]
async fn a_client_leaving_mid_replay_does_not_disturb_another() {
    let dir = TempDir::new();
    dir.write("fixtures/ten.jsonl", TEN);
    let mock = start("replay: fixtures/ten.jsonl", &dir.0).await;
    let mut leaver = connect(mock.url()).await;
    let mut stayer = connect(mock.url()).await;
    next_n(&mut leaver, 3).await;
    drop(leaver); // no close handshake: the TCP connection just goes
    assert_eq!(next_n(&mut stayer, 10).await, ten_messages());

    let mut polite = connect(mock.url()).await;
    let mut other = connect(mock.url()).await;
    next_n(&mut polite, 2).await;
    polite.close(None).await.unwrap();
    assert_eq!(next_n(&mut other, 10).await, ten_messages());
}

#[tokio::test]
async fn malformed_replay_files_name_the_file_and_line() {
    let dir = TempDir::new();
    dir.write(
        "fixtures/bad.jsonl",
        "{\"ms\":0,\"json\":1}\n\n{\"ms\":5,\"json\":{\"unclosed\":\n",
    );
    let def = mock_def("replay: fixtures/bad.jsonl", &dir.0);
    let err = MockServer::start("m", &def, &dir.0, 0)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("fixtures/bad.jsonl:3: not valid JSON"),
        "{err}"
    );

    dir.write("fixtures/bad2.jsonl", "{\"ms\":\"soon\",\"text\":\"x\"}\n");
    let def = mock_def("replay: fixtures/bad2.jsonl", &dir.0);
    let err = MockServer::start("m", &def, &dir.0, 0)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("fixtures/bad2.jsonl:1: `ms` must be"), "{err}");

    let def = mock_def("replay: fixtures/missing.jsonl", &dir.0);
    let err = MockServer::start("m", &def, &dir.0, 0)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cannot read replay file") && err.contains("fixtures/missing.jsonl"),
        "{err}"
    );
}

#[tokio::test]
async fn invalid_rules_and_busy_ports_fail_at_start() {
    let dir = TempDir::new();
    let def = mock_def("on:\n  - reply: { binary: '@@not base64' }", &dir.0);
    let err = MockServer::start("m", &def, &dir.0, 0)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("mock `m`: rule 1: reply 1: `binary` is not valid base64"),
        "{err}"
    );

    let def = mock_def("{close_after: 1, close_code: 1005}", &dir.0);
    let err = MockServer::start("m", &def, &dir.0, 0)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("1005 cannot be sent"), "{err}");

    let first = start("echo: true", &dir.0).await;
    let def = mock_def("echo: true", &dir.0);
    let err = MockServer::start("m", &def, &dir.0, first.addr().port())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("mock `m`: cannot listen on 127.0.0.1:"),
        "{err}"
    );
}

#[tokio::test]
async fn stop_and_drop_end_the_server() {
    let dir = TempDir::new();
    let mock = start("echo: true", &dir.0).await;
    let url = mock.url().to_string();
    let mut ws = connect(&url).await;
    mock.stop().await;
    let ended = timeout(WAIT, ws.next())
        .await
        .expect("connection still open");
    assert!(!matches!(ended, Some(Ok(Message::Text(_)))));
    assert!(tokio_tungstenite::connect_async(&url).await.is_err());

    let mock = start("echo: true", &dir.0).await;
    let url = mock.url().to_string();
    let mut ws = connect(&url).await;
    drop(mock);
    let ended = timeout(WAIT, ws.next())
        .await
        .expect("connection still open");
    assert!(!matches!(ended, Some(Ok(Message::Text(_)))));
}

/// `wsrun record`'s connection to `url`.
fn spec(url: &str) -> wsrun::internals::ConnectSpec {
    wsrun::internals::connect_spec(url).unwrap()
}

#[tokio::test]
async fn record_then_replay_round_trips_exactly() {
    let dir = TempDir::new();
    dir.write("fixtures/ten.jsonl", TEN);
    let source = start("replay: fixtures/ten.jsonl", &dir.0).await;
    let out = dir.0.join("fixtures/recorded.jsonl");
    let seen = std::sync::Mutex::new(Vec::new());
    let progress = |n: u64, secs: f64| seen.lock().unwrap().push((n, secs));
    let n = wsrun::internals::record(
        &spec(source.url()),
        &out,
        &[],
        Some(10),
        None,
        Some(&progress),
        &Masker::default(),
    )
    .await
    .unwrap();
    assert_eq!(n, 10);
    assert_eq!(seen.lock().unwrap().last().map(|p| p.0), Some(10));

    let recorded = Recording::load(&out).await.unwrap();
    let times: Vec<Duration> = recorded.times().collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    assert!(times[9] >= Duration::from_millis(150), "{times:?}");

    let replay = start("replay: fixtures/recorded.jsonl", &dir.0).await;
    let mut ws = connect(replay.url()).await;
    assert_eq!(next_n(&mut ws, 10).await, ten_messages());
}

#[tokio::test]
async fn record_sends_first_and_stops_on_close_or_duration() {
    let dir = TempDir::new();
    let mock = start(BINANCE_RULES, &dir.0).await;
    let out = dir.0.join("sub.jsonl");
    let subscribe = r#"{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":1}"#.to_string();
    let started = Instant::now();
    let n = wsrun::internals::record(
        &spec(mock.url()),
        &out,
        &[subscribe],
        None,
        Some(Duration::from_millis(300)),
        None,
        &Masker::default(),
    )
    .await
    .unwrap();
    assert_eq!(n, 1);
    assert!(started.elapsed() < Duration::from_secs(2));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.ends_with(",\"json\":{\"result\":null,\"id\":1}}\n"),
        "{text}"
    );

    dir.write("fixtures/ten.jsonl", TEN);
    let closing = start("{replay: fixtures/ten.jsonl, close_after: 4}", &dir.0).await;
    let n = wsrun::internals::record(
        &spec(closing.url()),
        &out,
        &[],
        None,
        None,
        None,
        &Masker::default(),
    )
    .await
    .unwrap();
    assert_eq!(n, 4);
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 4);

    let err = wsrun::internals::record(
        &spec("ws://127.0.0.1:1/"),
        &out,
        &[],
        None,
        None,
        None,
        &Masker::default(),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("could not connect to ws://127.0.0.1:1/: connection refused"),
        "{err}"
    );
}
