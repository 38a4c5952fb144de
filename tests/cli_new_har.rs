//! `wsrun new --from-har FILE.har` through the binary: the collection and replay files written
//! from a Chrome export (seconds, text and binary frames, credentials) and a Playwright one
//! (milliseconds), kept as insta snapshots; both validate clean and run green offline at once,
//! the Playwright one also against a real echo server with `--env live`; bad input is exit 2.

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;
mod common;

/// A fixture of `tests/data/imports/`.
fn fixture(name: &str) -> String {
    let path = format!("{}/tests/data/imports/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path).expect("read the fixture")
}

fn read(ws: &cli::Workspace, name: &str) -> String {
    std::fs::read_to_string(ws.path().join(name)).expect("a file wsrun new wrote")
}

/// Validates, then runs under `CI` (nothing may be written): both must pass.
fn validates_and_runs_green(ws: &cli::Workspace, collection: &str, requests: &str) {
    let valid = ws.wsrun(&["validate", collection]);
    assert_eq!(valid.code, 0, "{}", valid.output());
    assert_eq!(
        valid.stdout,
        format!("✓ {collection}: {requests} request(s) OK\n")
    );
    let run = ws.wsrun_env(&[collection], &[("CI", "true")]);
    assert_eq!(run.code, 0, "{}", run.output());
    let summary = if requests == "1" {
        "1 request: 1 passed".to_string()
    } else {
        format!("{requests} requests: {requests} passed")
    };
    assert!(run.stdout.contains(&summary), "{}", run.stdout);
}

#[test]
fn a_chrome_har_becomes_a_collection_that_runs_green_offline() {
    let ws = cli::Workspace::new();
    ws.write("chrome.har", &fixture("chrome.har"));
    let made = ws.wsrun(&["new", "--from-har", "chrome.har", "--out", "chrome.yaml"]);
    assert_eq!(made.code, 0, "{}", made.output());
    insta::assert_snapshot!("chrome_har_output", made.output());
    let yaml = read(&ws, "chrome.yaml");
    insta::assert_snapshot!("chrome_har_collection", yaml);
    insta::assert_snapshot!("chrome_har_replay_stream", read(&ws, "chrome.ws.jsonl"));
    insta::assert_snapshot!("chrome_har_replay_chat", read(&ws, "chrome.lobby.jsonl"));
    // Credentials the browser sent are secrets, never written in clear.
    for secret in ["s3cr3t-c00kie-value", "eyJhbGciOiJIUzI1NiJ9"] {
        assert!(!yaml.contains(secret), "{secret} in:\n{yaml}");
    }
    validates_and_runs_green(&ws, "chrome.yaml", "2");
}

#[test]
fn a_playwright_har_in_milliseconds_runs_offline_and_against_a_real_echo_server() {
    let ws = cli::Workspace::new();
    let server = common::echo();
    let har = fixture("playwright.har").replace("ws://127.0.0.1:9", &server.url());
    ws.write("pw.har", &har);
    let made = ws.wsrun(&["new", "--from-har", "pw.har", "--out", "pw.yaml"]);
    assert_eq!(made.code, 0, "{}", made.output());
    let yaml = read(&ws, "pw.yaml").replace(&server.addr().to_string(), "ECHO");
    insta::assert_snapshot!("playwright_har_collection", yaml);
    // Milliseconds read as milliseconds: the replies came 12.5, 51 and 90 ms in.
    insta::assert_snapshot!("playwright_har_replay", read(&ws, "pw.echo.jsonl"));
    validates_and_runs_green(&ws, "pw.yaml", "1");
    let live = ws.wsrun(&["pw.yaml", "--env", "live"]);
    assert_eq!(live.code, 0, "{}", live.output());
    assert!(
        live.stdout.contains("1 request: 1 passed"),
        "{}",
        live.stdout
    );
    assert_eq!(server.connections(), 1);
}

#[test]
fn what_is_not_a_har_with_websockets_is_a_usage_error() {
    let ws = cli::Workspace::new();
    ws.write("broken.har", "{\"log\": ");
    ws.write("other.har", "{\"entries\": []}");
    let page = r#"{"log": {"version": "1.2", "entries": [
        {"_resourceType": "document", "request": {"url": "https://x.test/"}},
        {"_resourceType": "script", "request": {"url": "https://x.test/app.js"}}]}}"#;
    ws.write("page.har", page);
    for (file, message) in [
        (
            "broken.har",
            "error: broken.har: not JSON (EOF while parsing a value at line 1 column 8)\n",
        ),
        (
            "other.har",
            "error: other.har: not a HAR file (it has no `log.entries` list)\n",
        ),
        (
            "page.har",
            "error: no WebSocket connections in page.har (2 entries, none with _resourceType websocket)\n",
        ),
        ("missing.har", "error: cannot read missing.har: No such file or directory (os error 2)\n"),
    ] {
        let run = ws.wsrun(&["new", "--from-har", file]);
        assert_eq!((run.code, run.stderr.as_str()), (2, message), "{file}");
        assert_eq!(run.stdout, "");
    }
    assert!(!ws.path().join("page.yaml").exists());
    // `--url` names the live server of a recording; an import has the export's URLs.
    let url = ws.wsrun(&["new", "--from-har", "page.har", "--url", "ws://x"]);
    assert_eq!(url.code, 2, "{}", url.output());
    assert!(
        url.stderr.starts_with(
            "error: the argument '--from-har <FILE.har>' cannot be used with '--url <URL>'"
        ),
        "{}",
        url.stderr
    );
}

#[test]
fn existing_files_are_kept_unless_forced() {
    let ws = cli::Workspace::new();
    ws.write("pw.har", &fixture("playwright.har"));
    ws.write("pw.echo.jsonl", "{\"text\": \"mine\"}\n");
    let kept = ws.wsrun(&["new", "--from-har", "pw.har"]);
    assert_eq!(kept.code, 2, "{}", kept.output());
    assert_eq!(
        kept.stderr,
        "error: pw.echo.jsonl exists; choose another --out, or --force to overwrite it\n"
    );
    assert!(!ws.path().join("pw.yaml").exists(), "nothing is written");
    let forced = ws.wsrun(&["new", "--from-har", "pw.har", "--force"]);
    assert_eq!(forced.code, 0, "{}", forced.output());
    assert_ne!(read(&ws, "pw.echo.jsonl"), "{\"text\": \"mine\"}\n");
}

#[test]
fn names_and_data_with_line_breaks_stay_inside_their_yaml_values() {
    // A key and values holding a newline, U+2028 and a quote: the collection must still
    // validate and run, and no comment may spill onto a line of its own.
    let ws = cli::Workspace::new();
    let received = serde_json::json!({"a\nb": "x\u{2028}y", "q": "it's \"quoted\"\r\n- z: 1"});
    let har = serde_json::json!({"log": {"entries": [{
    "_resourceType": "websocket",
    "request": {"url": "ws://127.0.0.1:9/odd\npath", "headers": [
        {"name": "X-Note", "value": "one\ntwo"}]},
    "_webSocketMessages": [
        {"type": "send", "time": 1.0, "opcode": 1, "data": "line\nbreak"},
        {"type": "receive", "time": 1.5, "opcode": 1, "data": received.to_string()},
        {"type": "receive", "time": 1.6, "opcode": 1, "data": received.to_string()}
    ]}]}});
    ws.write("odd.har", &har.to_string());
    let made = ws.wsrun(&["new", "--from-har", "odd.har"]);
    assert_eq!(made.code, 0, "{}", made.output());
    let yaml = read(&ws, "odd.yaml");
    for l in yaml.lines() {
        let t = l.trim_start();
        assert!(
            t.is_empty() || t.starts_with('#') || t.contains(':') || t.starts_with("- "),
            "a stray line: {l:?}\n{yaml}"
        );
    }
    assert!(!yaml.contains('\u{2028}'), "{yaml}");
    validates_and_runs_green(&ws, "odd.yaml", "1");
}
