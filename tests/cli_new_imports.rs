//! `wsrun new --from-insomnia | --from-postman | --from-bruno` through the binary: the collection
//! written from each tool's documented export format (kept as insta snapshots) validates clean,
//! runs green offline against its echo mock at once, and one request of each runs against a real
//! echo server with `--env live`; credentials never appear in it; bad input is exit 2.

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;
mod common;

/// The path of a fixture of `tests/data/imports/`.
fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/imports")
        .join(name)
}

/// Copies a fixture file or folder into the workspace, its `ws://127.0.0.1:9` replaced by `url`.
fn copy(ws: &cli::Workspace, name: &str, url: &str) {
    let from = fixture(name);
    let files: Vec<std::path::PathBuf> = if from.is_dir() {
        walk(&from)
    } else {
        vec![from.clone()]
    };
    let root = from.parent().expect("fixtures have a folder");
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read a fixture");
        let relative = file.strip_prefix(root).expect("inside the fixtures");
        ws.write(
            &relative.to_string_lossy(),
            &text.replace("ws://127.0.0.1:9", url),
        );
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read a fixture folder") {
        let path = entry.expect("a fixture entry").path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn read(ws: &cli::Workspace, name: &str) -> String {
    std::fs::read_to_string(ws.path().join(name)).expect("a file wsrun new wrote")
}

/// Validates, then runs under `CI`: both pass, every request.
fn validates_and_runs_green(ws: &cli::Workspace, collection: &str, requests: usize) {
    let valid = ws.wsrun(&["validate", collection]);
    assert_eq!(
        (valid.code, valid.stdout.as_str()),
        (
            0,
            format!("✓ {collection}: {requests} request(s) OK\n").as_str()
        ),
        "{}",
        valid.output()
    );
    let run = ws.wsrun_env(&[collection], &[("CI", "true")]);
    assert_eq!(run.code, 0, "{}", run.output());
    let summary = match requests {
        1 => "1 request: 1 passed".to_string(),
        n => format!("{n} requests: {n} passed"),
    };
    assert!(run.stdout.contains(&summary), "{}", run.stdout);
}

#[test]
fn an_insomnia_export_becomes_a_collection_that_runs_offline_and_live() {
    let ws = cli::Workspace::new();
    let server = common::echo();
    copy(&ws, "insomnia.json", &server.url());
    let made = ws.wsrun(&[
        "new",
        "--from-insomnia",
        "insomnia.json",
        "--out",
        "feeds.yaml",
    ]);
    assert_eq!(made.code, 0, "{}", made.output());
    insta::assert_snapshot!("insomnia_output", made.output());
    let yaml = read(&ws, "feeds.yaml");
    insta::assert_snapshot!(
        "insomnia_collection",
        yaml.replace(&server.url(), "ws://ECHO")
    );
    // The environment's token and the Basic password are secrets, never written.
    for secret in ["tok-8f2e1d", "p4ssw0rd", "ZmVlZDpwNHNzdzByZA=="] {
        assert!(!yaml.contains(secret), "{secret} in:\n{yaml}");
    }
    validates_and_runs_green(&ws, "feeds.yaml", 2);
    let live = ws.wsrun(&[
        "feeds.yaml",
        "--env",
        "live",
        "--filter",
        "Ticker",
        "--secret",
        "ticker_authorization=Basic abc",
    ]);
    assert_eq!(live.code, 0, "{}", live.output());
    assert!(
        live.stdout.contains("1 request: 1 passed"),
        "{}",
        live.stdout
    );
    assert_eq!(server.connections(), 1);
}

#[test]
fn what_is_not_an_insomnia_v4_export_with_websockets_is_a_usage_error() {
    let ws = cli::Workspace::new();
    ws.write("broken.json", "[1, 2");
    ws.write(
        "v3.json",
        r#"{"_type": "export", "__export_format": 3, "resources": []}"#,
    );
    ws.write("postman.json", r#"{"info": {"name": "x"}, "item": []}"#);
    ws.write(
        "http.json",
        r#"{"_type": "export", "__export_format": 4, "resources": [
            {"_id": "wrk_1", "_type": "workspace", "name": "W"},
            {"_id": "req_1", "_type": "request", "parentId": "wrk_1", "url": "https://x.test"}]}"#,
    );
    for (file, message) in [
        (
            "broken.json",
            "error: broken.json: not JSON (EOF while parsing a list at line 1 column 5)\n",
        ),
        (
            "v3.json",
            "error: v3.json: Insomnia export format 3; this reads format 4 (Insomnia › Export › \"Insomnia v4 (JSON)\")\n",
        ),
        (
            "postman.json",
            "error: postman.json: not an Insomnia export (it has no `__export_format: 4` and `resources`)\n",
        ),
        (
            "http.json",
            "error: no WebSocket requests in http.json (2 resources, none of _type websocket_request)\n",
        ),
    ] {
        let run = ws.wsrun(&["new", "--from-insomnia", file]);
        assert_eq!((run.code, run.stderr.as_str()), (2, message), "{file}");
    }
}

#[test]
fn a_postman_yaml_collection_becomes_a_collection_that_runs_offline_and_live() {
    let ws = cli::Workspace::new();
    let server = common::echo();
    copy(&ws, "postman", &server.url());
    let made = ws.wsrun(&["new", "--from-postman", "postman", "--out", "feeds.yaml"]);
    assert_eq!(made.code, 0, "{}", made.output());
    insta::assert_snapshot!("postman_output", made.output());
    let yaml = read(&ws, "feeds.yaml");
    insta::assert_snapshot!(
        "postman_collection",
        yaml.replace(&server.url(), "ws://ECHO")
    );
    validates_and_runs_green(&ws, "feeds.yaml", 2);
    let live = ws.wsrun(&["feeds.yaml", "--env", "live", "--filter", "Ticker", "-v"]);
    assert_eq!(live.code, 0, "{}", live.output());
    // The saved messages went out in their order, the variables filled in.
    let sent: Vec<&str> = live
        .stdout
        .lines()
        .filter_map(|l| l.trim().strip_prefix("default → "))
        // Frames only: the handshake (`-v`) is a request line and indented headers.
        .filter(|f| !f.starts_with("GET ") && !f.starts_with(' '))
        .collect();
    assert_eq!(sent.len(), 4, "{}", live.stdout);
    assert!(
        sent[0].starts_with(r#"{"op":"subscribe","symbol":"BTC-USD","id":""#)
            && sent[0].ends_with(r#""}"#),
        "{}",
        sent[0]
    );
    assert_eq!(
        sent[1..],
        ["ping", "[binary] 4 bytes: 01 02 03 ff", "[close] 1000"]
    );

    // One request file on its own.
    let one = ws.wsrun(&[
        "new",
        "--from-postman",
        "postman/Private/Account.request.yaml",
        "--out",
        "account.yaml",
    ]);
    assert_eq!(one.code, 0, "{}", one.output());
    validates_and_runs_green(&ws, "account.yaml", 1);
}

#[test]
fn what_is_not_a_postman_collection_with_websockets_is_a_usage_error() {
    let ws = cli::Workspace::new();
    ws.write("empty/readme.txt", "nothing here");
    ws.write(
        "http/List.request.yaml",
        "$kind: http-request\nurl: https://x.test\nmethod: GET\n",
    );
    ws.write(
        "broken/Bad.request.yaml",
        "$kind: websocket-request\nurl: [\n",
    );
    ws.write("other.yaml", "name: not a request\n");
    for (path, message) in [
        (
            "empty",
            "error: empty: not a Postman collection folder (no `*.request.yaml` file in it)\n",
        ),
        (
            "http",
            "error: no WebSocket requests in http (1 request files, none with `$kind: websocket-request`)\n",
        ),
        (
            "other.yaml",
            "error: other.yaml: not a Postman request (`$kind` is missing)\n",
        ),
    ] {
        let run = ws.wsrun(&["new", "--from-postman", path]);
        assert_eq!((run.code, run.stderr.as_str()), (2, message), "{path}");
    }
    let broken = ws.wsrun(&["new", "--from-postman", "broken"]);
    assert_eq!(broken.code, 2, "{}", broken.output());
    assert!(
        broken
            .stderr
            .starts_with("error: broken/Bad.request.yaml: not valid YAML ("),
        "{}",
        broken.stderr
    );
}

#[test]
fn a_bruno_folder_becomes_a_collection_that_runs_offline_and_live() {
    let ws = cli::Workspace::new();
    let server = common::echo();
    copy(&ws, "bruno", &server.url());
    let made = ws.wsrun(&["new", "--from-bruno", "bruno", "--out", "feeds.yaml"]);
    assert_eq!(made.code, 0, "{}", made.output());
    insta::assert_snapshot!("bruno_output", made.output());
    let yaml = read(&ws, "feeds.yaml");
    insta::assert_snapshot!("bruno_collection", yaml.replace(&server.url(), "ws://ECHO"));
    validates_and_runs_green(&ws, "feeds.yaml", 2);
    // `live` reads the Bearer token from the environment, as Bruno's `process.env` did.
    let live = ws.wsrun_env(
        &["feeds.yaml", "--env", "live", "--filter", "Ticker", "-v"],
        &[("ACCOUNT_TOKEN", "t0k3n")],
    );
    assert_eq!(live.code, 0, "{}", live.output());
    let sent: Vec<&str> = live
        .stdout
        .lines()
        .filter_map(|l| l.trim().strip_prefix("default → "))
        // Frames only: the handshake (`-v`) is a request line and indented headers.
        .filter(|f| !f.starts_with("GET ") && !f.starts_with(' '))
        .collect();
    assert_eq!(
        sent,
        [
            r#"{"op":"subscribe","symbol":"BTC-USD"}"#,
            "ping",
            "[close] 1000"
        ],
        "{}",
        live.stdout
    );
}

#[test]
fn what_is_not_a_bruno_folder_with_websockets_is_a_usage_error() {
    let ws = cli::Workspace::new();
    ws.write(
        "http/Health.bru",
        "meta {\n  name: Health\n  type: http\n  seq: 1\n}\n\nget {\n  url: https://x.test\n}\n",
    );
    ws.write("broken/Chat.bru", "meta {\n  name: Chat\n  type: ws\n");
    ws.write("junk/notes.bru", "hello: there\n");
    for (dir, message) in [
        (
            "http",
            "error: no WebSocket requests in http (1 .bru file, none with `meta { type: ws }`)\n",
        ),
        (
            "broken",
            "error: broken/Chat.bru:3: the `meta` block is not closed with `}`\n",
        ),
        (
            "junk",
            "error: junk/notes.bru:1: expected a block such as `meta {`, found `hello: there`\n",
        ),
        (
            "missing",
            "error: cannot read missing: No such file or directory (os error 2)\n",
        ),
    ] {
        let run = ws.wsrun(&["new", "--from-bruno", dir]);
        assert_eq!((run.code, run.stderr.as_str()), (2, message), "{dir}");
    }
}
