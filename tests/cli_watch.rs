//! `wsrun watch` through the binary, against loopback servers: what it prints when piped, `--path`,
//! `--send`, lines on stdin, `--save`, the ends of a watch (count, duration, the server's close,
//! Ctrl-C) and the handshake flags with masked secrets.

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;
mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `wsrun watch ARGS` in `dir`, stdin empty, stdout piped.
fn watch(dir: &std::path::Path, args: &[&str]) -> cli::Run {
    let out = Command::new(env!("CARGO_BIN_EXE_wsrun"))
        .arg("watch")
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run wsrun watch");
    cli::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn piped_output_is_one_compact_json_per_message() {
    let server = common::text_server(vec![
        "{\n  \"b\": 1,\n  \"a\": [1, 2.50]\n}".into(),
        "plain \"text\"".into(),
        r#"{"n":12345678901234567890123}"#.into(),
    ]);
    let ws = cli::Workspace::new();
    let run = watch(ws.path(), &[&server.url(), "--count", "3"]);
    assert_eq!(run.code, 0, "{}", run.output());
    assert_eq!(
        run.stdout,
        "{\"b\":1,\"a\":[1,2.50]}\n\"plain \\\"text\\\"\"\n{\"n\":12345678901234567890123}\n"
    );
    assert!(
        run.stderr.ends_with("3 message(s); --count reached\n"),
        "{}",
        run.stderr
    );
}

#[test]
fn path_prints_only_the_values_it_selects() {
    let server = common::binance_stream(10, Duration::from_millis(5));
    let ws = cli::Workspace::new();
    let run = watch(ws.path(), &[&server.url(), "--path", "$.t", "--count", "3"]);
    assert_eq!(run.code, 0, "{}", run.output());
    assert_eq!(run.stdout, "4221990001\n4221990002\n4221990003\n");

    let bad = watch(
        ws.path(),
        &[&server.url(), "--path", "$.t[", "--count", "1"],
    );
    assert_eq!(bad.code, 2, "{}", bad.output());
    assert!(bad.stderr.starts_with("error: --path: "), "{}", bad.stderr);
}

#[test]
fn send_frames_go_out_first_and_the_echo_comes_back() {
    let server = common::echo();
    let ws = cli::Workspace::new();
    let run = watch(
        ws.path(),
        &[
            &server.url(),
            "--send",
            r#"{"op": "hello"}"#,
            "--send",
            "two",
            "--count",
            "2",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.output());
    assert_eq!(run.stdout, "{\"op\":\"hello\"}\n\"two\"\n");
}

#[test]
fn save_writes_a_recording_that_replays_the_same_messages() {
    let server = common::binance_stream(5, Duration::from_millis(10));
    let ws = cli::Workspace::new();
    let run = watch(
        ws.path(),
        &[&server.url(), "--save", "rec/trades.jsonl", "--count", "5"],
    );
    assert_eq!(run.code, 0, "{}", run.output());
    assert_eq!(run.stdout.lines().count(), 5, "{}", run.stdout);
    assert!(
        run.stderr
            .contains("5 message(s), saved to rec/trades.jsonl"),
        "{}",
        run.stderr
    );
    let text = std::fs::read_to_string(ws.path().join("rec/trades.jsonl")).expect("saved");
    let recording = wsrun::Recording::parse(&text, "trades.jsonl").expect("replayable");
    let texts: Vec<String> = recording
        .messages()
        .map(|m| m.to_text().expect("text").to_string())
        .collect();
    let expected: Vec<String> = (0..5).map(common::binance_trade).collect();
    assert_eq!(texts, expected);
    assert!(text.lines().all(|l| l.starts_with("{\"ms\":")), "{text}");
}

#[test]
fn stdin_lines_are_sent_and_its_end_does_not_end_the_watch() {
    let server = common::echo();
    let mut child = Command::new(env!("CARGO_BIN_EXE_wsrun"))
        .args(["watch", &server.url(), "--duration", "1s"])
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start wsrun watch");
    let started = Instant::now();
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(b"{\"typed\": 1}\n\n  \nsecond line\n")
        .expect("type lines");
    drop(stdin);
    let out = child.wait_with_output().expect("wait for wsrun watch");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert_eq!(
        stdout, "{\"typed\":1}\n\"second line\"\n",
        "blank lines are not sent"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "the end of stdin ended the watch after {:?}",
        started.elapsed()
    );
    assert!(stderr.contains("--duration passed"), "{stderr}");
}

#[test]
fn ctrl_c_ends_the_watch_cleanly_with_what_was_saved() {
    let server = common::binance_stream(100_000, Duration::from_millis(2));
    let ws = cli::Workspace::new();
    let mut child = Command::new(env!("CARGO_BIN_EXE_wsrun"))
        .args(["watch", &server.url(), "--save", "live.jsonl"])
        .current_dir(ws.path())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start wsrun watch");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("a first message");
    assert!(first.contains("\"e\":\"trade\""), "{first}");
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("send SIGINT");
    assert!(status.success());
    let out = child.wait_with_output().expect("wait for wsrun watch");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("stopped (Ctrl-C)"), "{stderr}");
    let saved = std::fs::read_to_string(ws.path().join("live.jsonl")).expect("saved");
    assert!(!saved.is_empty() && saved.ends_with('\n'), "{saved}");
    wsrun::Recording::parse(&saved, "live.jsonl").expect("a whole recording");
}

#[test]
fn the_server_closing_ends_the_watch_and_a_drop_is_an_error() {
    let ws = cli::Workspace::new();
    let closer = common::closer(4001, "bye now", 2);
    let run = watch(ws.path(), &[&closer.url()]);
    assert_eq!(run.code, 0, "{}", run.output());
    assert_eq!(run.stdout, "{\"n\":0}\n{\"n\":1}\n");
    assert!(
        run.stderr.contains(
            "2 message(s); the server closed the connection (code 4001, reason \"bye now\")"
        ),
        "{}",
        run.stderr
    );

    let dropper = common::dropper(1);
    let run = watch(ws.path(), &[&dropper.url()]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stderr.contains(
            "error: the connection failed after 1 message(s): the connection was dropped"
        ),
        "{}",
        run.stderr
    );

    let run = watch(ws.path(), &[&common::refused_url()]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(run.stderr.contains("connection refused"), "{}", run.stderr);
}

#[test]
fn headers_and_subprotocols_go_into_the_handshake_and_secrets_are_masked() {
    let server = common::header_echo();
    let ws = cli::Workspace::new();
    let run = watch(
        ws.path(),
        &[
            &format!("{}/feed?key={{{{ key }}}}", server.url()),
            "--header",
            "Authorization: Bearer {{ token }}",
            "--header",
            "X-Client: wsrun-test",
            "--subprotocol",
            "json",
            "--secret",
            "token=tok-1234567",
            "--secret",
            "key=k-7654321",
            "--count",
            "1",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.output());
    let echo: serde_json::Value = serde_json::from_str(run.stdout.trim()).expect("one JSON");
    assert_eq!(echo["authorization"], "***");
    assert_eq!(echo["x-client"], "wsrun-test");
    assert_eq!(echo["subprotocol"], "json");
    assert_eq!(echo["query"], "key=***");
    assert!(
        !run.output().contains("1234567") && !run.output().contains("7654321"),
        "{}",
        run.output()
    );
    assert!(
        run.stderr.contains("/feed?key=***"),
        "the URL is masked too: {}",
        run.stderr
    );
}

#[test]
fn usage_errors_exit_2_before_connecting() {
    let server = common::silent();
    let ws = cli::Workspace::new();
    let run = watch(ws.path(), &[&server.url(), "--protocol", "socket.io"]);
    assert_eq!(run.code, 2, "{}", run.output());
    assert_eq!(
        run.stderr,
        "error: --protocol socket.io: unknown protocol; wsrun speaks raw, socketio, graphql-ws, stomp, jsonrpc, mqtt, graphql-ws-legacy, signalr, phoenix, actioncable\n"
    );

    let run = watch(ws.path(), &[&server.url(), "--send", "{{ nope }}"]);
    assert_eq!(run.code, 2, "{}", run.output());
    assert!(run.stderr.contains("--send: "), "{}", run.stderr);

    let run = watch(ws.path(), &[&server.url(), "--header", "no-colon"]);
    assert_eq!(run.code, 2, "{}", run.output());
    assert_eq!(server.connections(), 0);

    let run = watch(
        ws.path(),
        &[&server.url(), "--protocol", "raw", "--duration", "100ms"],
    );
    assert_eq!(run.code, 0, "`raw` is plain frames: {}", run.output());
}

/// `wsrun serve` of `c.yaml` in `ws`, stopped when dropped; its first line names the URL. Its
/// stdout stays open (it prints a line per client).
struct Serving {
    child: std::process::Child,
    url: String,
    _stdout: BufReader<std::process::ChildStdout>,
}

impl Serving {
    fn start(ws: &cli::Workspace) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wsrun"))
            .args(["serve", "c.yaml"])
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
        Serving {
            child,
            url,
            _stdout: stdout,
        }
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn protocol_does_the_handshake_and_prints_each_message_as_its_envelope() {
    let ws = cli::Workspace::new();
    ws.write(
        "c.yaml",
        "mocks:\n  chat: { protocol: socketio, on: [ { match: { $.event: hi }, reply: { emit: { event: hello, args: [1] } } } ] }\nrequests: []\n",
    );
    let server = Serving::start(&ws);
    // The Socket.IO handshake (open packet, namespace connect) is the protocol's: the one
    // message shown is the event, as the steps would see it.
    let run = watch(
        ws.path(),
        &[
            &server.url,
            "--protocol",
            "socketio",
            "--send",
            r#"42["hi"]"#,
            "--count",
            "1",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.output());
    assert_eq!(
        run.stdout,
        "{\"event\":\"hello\",\"args\":[1],\"namespace\":\"/\"}\n"
    );
}

#[test]
fn signalr_does_the_handshake_and_prints_the_hubs_invocations_as_envelopes() {
    let ws = cli::Workspace::new();
    ws.write(
        "c.yaml",
        "mocks:\n  hub: { protocol: signalr, signalr: { invoke: [ { target: Welcome, args: [hi, 2] } ] } }\nrequests: []\n",
    );
    let server = Serving::start(&ws);
    // The handshake answer `{}` is the protocol's: the one message shown is the invocation.
    let run = watch(
        ws.path(),
        &[&server.url, "--protocol", "signalr", "--count", "1"],
    );
    assert_eq!(run.code, 0, "{}", run.output());
    assert_eq!(
        run.stdout,
        "{\"target\":\"Welcome\",\"arguments\":[\"hi\",2]}\n"
    );
}

#[test]
fn graphql_ws_legacy_acks_and_prints_data_as_graphql_ws_envelopes() {
    let ws = cli::Workspace::new();
    ws.write(
        "c.yaml",
        "mocks:\n  gql: { protocol: graphql-ws-legacy, graphql-ws-legacy: { keep_alive: true }, on: [ { match: { $.type: subscribe }, reply: { next: [ { data: { n: 1 } } ] } } ] }\nrequests: []\n",
    );
    let server = Serving::start(&ws);
    // `connection_ack` and the `ka` are the protocol's; `data` shows as graphql-ws's `next`.
    let run = watch(
        ws.path(),
        &[
            &server.url,
            "--protocol",
            "graphql-ws-legacy",
            "--send",
            r#"{"id":"1","type":"start","payload":{"query":"subscription { n }"}}"#,
            "--count",
            "1",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.output());
    assert_eq!(
        run.stdout,
        "{\"id\":\"1\",\"type\":\"next\",\"payload\":{\"data\":{\"n\":1}}}\n"
    );
}

#[test]
fn protocol_phoenix_and_actioncable_show_replies_as_envelopes() {
    let ws = cli::Workspace::new();
    ws.write(
        "c.yaml",
        "mocks:\n  endpoint: { protocol: phoenix }\nrequests: []\n",
    );
    let server = Serving::start(&ws);
    let join = r#"["1","1","room:lobby","phx_join",{}]"#;
    let run = watch(
        ws.path(),
        &[
            &server.url,
            "--protocol",
            "phoenix",
            "--send",
            join,
            "--count",
            "1",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.output());
    assert_eq!(
        run.stdout,
        "{\"topic\":\"room:lobby\",\"event\":\"phx_reply\",\"payload\":{\"status\":\"ok\",\"response\":{}},\"ref\":\"1\"}\n"
    );

    // Action Cable's `welcome` is the handshake, not a message: the first one is the answer.
    let ws = cli::Workspace::new();
    ws.write(
        "c.yaml",
        "mocks:\n  cable: { protocol: actioncable }\nrequests: []\n",
    );
    let server = Serving::start(&ws);
    let subscribe = r#"{"command":"subscribe","identifier":"{\"channel\":\"ChatChannel\"}"}"#;
    let run = watch(
        ws.path(),
        &[
            &server.url,
            "--protocol",
            "actioncable",
            "--send",
            subscribe,
            "--count",
            "1",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.output());
    assert_eq!(
        run.stdout,
        "{\"type\":\"confirm_subscription\",\"channel\":\"ChatChannel\",\"params\":{}}\n"
    );
}
