//! Mocks through the binary: the offline default and channel protocol collections, mocks named in a URL, `wsrun serve` answering a
//! plain client and stopping on SIGINT, and `wsrun record` → `replay:` with exact values.

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;
mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

#[test]
fn the_offline_default_collection_passes() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new(env!("CARGO_BIN_EXE_wsrun"))
        .arg(format!("{root}/collections/websocket.yaml"))
        .env("NO_COLOR", "1")
        .output()
        .expect("run wsrun");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("(env: local)"), "{stdout}");
    assert!(stdout.contains("2 requests: 2 passed"), "{stdout}");
}

/// The channel protocols' collections run offline against their own mocks.
#[test]
fn the_phoenix_and_action_cable_collections_pass_offline() {
    let root = env!("CARGO_MANIFEST_DIR");
    for (file, requests) in [("phoenix.yaml", 2), ("actioncable.yaml", 2)] {
        let out = Command::new(env!("CARGO_BIN_EXE_wsrun"))
            .arg(format!("{root}/collections/{file}"))
            .env("NO_COLOR", "1")
            .output()
            .expect("run wsrun");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{file}: {stdout}");
        let summary = format!("{requests} requests: {requests} passed");
        assert!(stdout.contains(&summary), "{file}: {stdout}");
    }
}

#[test]
fn mocks_can_be_named_in_a_request_url_directly() {
    let ws = cli::Workspace::new();
    let run = ws.run_collection(
        r#"mocks:
  echo: { echo: true }
requests:
  - name: echo
    url: "{{ mocks.echo.url }}/anything"
    steps:
      - send: { json: { n: 1 } }
      - expect: { json: { $.n: 1 } }
"#,
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.output());
}

#[test]
fn wsrun_serve_answers_a_plain_client_and_stops_on_sigint() {
    let ws = cli::Workspace::new();
    ws.write(
        "c.yaml",
        r#"mocks:
  exchange:
    on:
      - match: { $.method: SUBSCRIBE }
        reply: { json: { result: null, id: "{{ message.id }}" } }
requests: []
"#,
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_wsrun"))
        .args(["serve", "c.yaml", "--mock", "exchange"])
        .current_dir(ws.path())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start wsrun serve");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("the URL line");
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("ws://"))
        .unwrap_or_else(|| panic!("no URL in {first:?}"))
        .to_string();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let clients = (0..50).map(|id| {
            let url = url.clone();
            async move {
                let (mut c, _) = tokio_tungstenite::connect_async(url)
                    .await
                    .expect("connect");
                let sub =
                    format!(r#"{{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":{id}}}"#);
                c.send(Message::text(sub)).await.expect("send");
                let reply = tokio::time::timeout(Duration::from_secs(10), c.next())
                    .await
                    .expect("a reply in time")
                    .expect("a message")
                    .expect("no error");
                let v: serde_json::Value = serde_json::from_str(reply.to_text().unwrap()).unwrap();
                assert_eq!(v, serde_json::json!({"result": null, "id": id}));
            }
        });
        futures_util::future::join_all(clients).await;
    });

    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("send SIGINT");
    assert!(status.success());
    let code = child.wait().expect("wait for wsrun serve");
    assert_eq!(code.code(), Some(0));
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).expect("the rest of stdout");
    assert!(rest.contains("stopped"), "{rest}");
}

#[test]
fn a_recorded_stream_replays_into_a_collection_that_checks_exact_values() {
    let server = common::binance_stream(30, Duration::from_millis(2));
    let ws = cli::Workspace::new();
    let url = format!("{}/ws/btcusdt@trade", server.url());
    let rec = ws.wsrun(&[
        "record",
        &url,
        "--out",
        "fixtures/trades.jsonl",
        "--count",
        "10",
    ]);
    assert_eq!(rec.code, 0, "{}", rec.output());
    assert!(
        rec.stdout.contains("recorded 10 message(s)"),
        "{}",
        rec.stdout
    );

    let first: serde_json::Value = serde_json::from_str(&common::binance_trade(0)).unwrap();
    let tenth: serde_json::Value = serde_json::from_str(&common::binance_trade(9)).unwrap();
    let run = ws.run_collection(
        &format!(
            r#"mocks:
  recorded: {{ replay: fixtures/trades.jsonl }}
requests:
  - name: replayed
    url: "{{{{ mocks.recorded.url }}}}"
    steps:
      - expect: {{ json: {{ $.t: {t0}, $.p: "{p0}", $.q: "{q0}", $.E: {e0} }} }}
      - expect: {{ count: 8 }}
      - expect: {{ json: {{ $.t: {t9}, $.p: "{p9}" }} }}
      - no_message: 200ms
"#,
            t0 = first["t"],
            p0 = first["p"].as_str().unwrap(),
            q0 = first["q"].as_str().unwrap(),
            e0 = first["E"],
            t9 = tenth["t"],
            p9 = tenth["p"].as_str().unwrap(),
        ),
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.output());
}

#[test]
fn wsrun_serve_replies_with_the_collection_variables() {
    let ws = cli::Workspace::new();
    ws.write(
        "c.yaml",
        r#"vars: {venue: binance}
mocks:
  exchange:
    on:
      - reply: { json: { venue: "{{ venue }}", id: "{{ message.id }}" } }
requests: []
"#,
    );
    /// Ends `wsrun serve` however the test ends.
    struct Serving(std::process::Child);
    impl Drop for Serving {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = Serving(
        Command::new(env!("CARGO_BIN_EXE_wsrun"))
            .args(["serve", "c.yaml"])
            .current_dir(ws.path())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start wsrun serve"),
    );
    let mut stdout = BufReader::new(child.0.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("the URL line");
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("ws://"))
        .unwrap_or_else(|| panic!("no URL in {first:?}"))
        .to_string();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let reply = rt.block_on(async {
        let (mut c, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("connect");
        c.send(Message::text(r#"{"id": 3}"#)).await.expect("send");
        tokio::time::timeout(Duration::from_secs(10), c.next())
            .await
            .expect("a reply in time")
            .expect("a message")
            .expect("no error")
    });
    drop(child);
    let v: serde_json::Value = serde_json::from_str(reply.to_text().unwrap()).unwrap();
    assert_eq!(v, serde_json::json!({"venue": "binance", "id": 3}));
}

#[test]
fn record_takes_the_connection_flags_and_masks_secrets_in_the_file() {
    let server = common::header_echo();
    let ws = cli::Workspace::new();
    let rec = ws.wsrun(&[
        "record",
        &format!("{}/feed", server.url()),
        "--out",
        "hello.jsonl",
        "--count",
        "1",
        "--header",
        "Authorization: Bearer {{ token }}",
        "--header",
        "X-Client: wsrun",
        "--subprotocol",
        "chat.v2",
        "--secret",
        "token=s3cr3t-t0ken",
        "--no-compression",
    ]);
    assert_eq!(rec.code, 0, "{}", rec.output());
    let saved = std::fs::read_to_string(ws.path().join("hello.jsonl")).expect("the recording");
    let line: serde_json::Value = serde_json::from_str(saved.trim()).expect("one JSON line");
    let echo = &line["json"];
    assert_eq!(echo["authorization"], "***", "{saved}");
    assert_eq!(echo["x-client"], "wsrun");
    assert_eq!(echo["subprotocol"], "chat.v2");
    assert_eq!(echo["path"], "/feed");
    assert!(echo.get("sec-websocket-extensions").is_none(), "{saved}");
    assert!(!saved.contains("s3cr3t"), "{saved}");
    assert!(!rec.output().contains("s3cr3t"), "{}", rec.output());

    let unknown = ws.wsrun(&[
        "record",
        &server.url(),
        "--out",
        "x.jsonl",
        "--header",
        "Authorization: Bearer {{ tokn }}",
        "--secret",
        "token=x",
    ]);
    assert_eq!(unknown.code, 2, "{}", unknown.output());
    assert!(
        unknown
            .stderr
            .contains("--header Authorization: unknown variable `tokn`"),
        "{}",
        unknown.output()
    );
}

#[test]
fn the_offline_binance_user_data_collection_passes() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new(env!("CARGO_BIN_EXE_wsrun"))
        .arg(format!("{root}/collections/binance-user-data.yaml"))
        .arg("-v")
        .env("NO_COLOR", "1")
        .env_remove("BINANCE_API_KEY")
        .output()
        .expect("run wsrun");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("1 request: 1 passed"), "{stdout}");
    // The API key is a secret: masked in the -v transcript of the http steps.
    assert!(stdout.contains("http →   X-MBX-APIKEY: ***"), "{stdout}");
    assert!(!stdout.contains("offline-api-key"), "{stdout}");
}

/// A mock answers HTTP routes and WebSocket upgrades on one port: a route's Set-Cookie is kept
/// by the jar and sent on the next `http` step; an unknown path is 404, a known path with
/// another method 405.
#[test]
fn a_mock_answers_http_routes_beside_its_websocket() {
    let ws = cli::Workspace::new();
    let run = ws.run_collection(
        r#"mocks:
  api:
    echo: true
    http:
      - method: POST
        path: /login
        status: 201
        headers: { Set-Cookie: "sid=s3cr3t; Path=/", X-Mock: "{{ who }}" }
        json: { token: "tok-{{ who }}" }
      - { method: ANY, path: /whoami, body: plain words }
vars: { who: ada }
requests:
  - name: routes
    url: "{{ mocks.api.url }}/ws"
    steps:
      - http:
          method: POST
          url: "{{ mocks.api.http_url }}/login?x=1"
          expect: { status: 201, headers: { X-Mock: ada }, json: { $.token: tok-ada } }
          capture: { token: $.token }
      - http: { method: DELETE, url: "{{ mocks.api.http_url }}/whoami", capture_headers: { kind: Content-Type } }
      - http: { url: "{{ mocks.api.http_url }}/nothing", expect: { status: 404, json: { $.error: no route for /nothing } } }
      - http: { url: "{{ mocks.api.http_url }}/login", expect: { status: 405 } }
      - send: { text: "{{ token }} {{ kind }}" }
      - expect: { text: "tok-ada text/plain; charset=utf-8" }
"#,
        &["-v"],
    );
    let out = run.output();
    assert_eq!(run.code, 0, "{out}");
    // The cookie the route set goes back on the next http step (masked: it is a credential).
    assert!(out.contains("http →   Cookie: sid=***"), "{out}");
    assert!(!out.contains("s3cr3t"), "{out}");
}
