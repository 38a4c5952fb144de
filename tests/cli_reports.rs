//! Reports (JUnit, JSON, HTML), `--jobs`, `--shard` and secret masking, end to end through the
//! binary against loopback servers.

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;
mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;

/// Two collections with passing and failing requests against `server` (a 50-trade stream).
fn two_collections(ws: &cli::Workspace, url: &str) {
    ws.write(
        "suite/a.yaml",
        &format!(
            r#"name: A
requests:
  - name: trades pass
    url: "{url}/ws"
    steps:
      - expect: {{ json: {{ $.e: trade }} }}
  - name: symbol fails
    url: "{url}/ws"
    steps:
      - expect: {{ json: {{ $.s: ETHUSDT }} }}
  - name: count passes
    url: "{url}/ws"
    steps:
      - expect: {{ count: 25, json: {{ $.p: {{ gt: 0 }} }} }}
"#
        ),
    );
    ws.write(
        "suite/b.yaml",
        &format!(
            r#"name: B
requests:
  - name: type fails
    url: "{url}/ws"
    steps:
      - expect: {{ json: {{ $.T: {{ type: string }} }} }}
  - name: id passes
    url: "{url}/ws"
    steps:
      - expect: {{ json: {{ $.t: {{ gte: 1 }} }} }}
"#
        ),
    );
}

#[test]
fn junit_has_a_testsuite_per_collection_and_a_testcase_per_request() {
    let server = common::binance_stream(50, Duration::from_millis(1));
    let ws = cli::Workspace::new();
    two_collections(&ws, &server.url());
    let run = ws.wsrun(&[
        "suite",
        "--report",
        "junit=out/junit.xml",
        "--report",
        "json=out/r.json",
    ]);
    assert_eq!(run.code, 1, "{}", run.output());
    let xml = std::fs::read_to_string(ws.path().join("out/junit.xml")).expect("junit written");
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites"));
    assert!(
        xml.contains("<testsuites name=\"wsrun\" tests=\"5\" failures=\"2\""),
        "{xml}"
    );
    assert!(
        xml.contains("<testsuite name=\"suite/a.yaml\" tests=\"3\" failures=\"1\""),
        "{xml}"
    );
    assert!(
        xml.contains("<testsuite name=\"suite/b.yaml\" tests=\"2\" failures=\"1\""),
        "{xml}"
    );
    assert_eq!(xml.matches("<testcase ").count(), 5);
    assert_eq!(xml.matches("<failure ").count(), 2);
    assert!(
        xml.contains("classname=\"suite/a.yaml\" name=\"symbol fails\""),
        "{xml}"
    );
    assert!(xml.contains("expected  &quot;ETHUSDT&quot;"), "{xml}");
    assert!(xml.contains("actual    &quot;BTCUSDT&quot;"), "{xml}");
    assert!(
        xml.contains("<system-out>"),
        "the transcript goes to system-out"
    );
}

#[test]
fn the_json_report_holds_every_request_with_its_steps() {
    let server = common::binance_stream(50, Duration::from_millis(1));
    let ws = cli::Workspace::new();
    two_collections(&ws, &server.url());
    let run = ws.wsrun(&["suite", "--report", "json=r.json"]);
    assert_eq!(run.code, 1);
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(ws.path().join("r.json")).unwrap()).unwrap();
    assert_eq!(report["format"], "wsrun-report/1");
    assert_eq!(report["passed"], false);
    assert_eq!(report["summary"]["requests"], 5);
    assert_eq!(report["summary"]["failed"], 2);
    let names: Vec<&str> = report["collections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["requests"].as_array().unwrap())
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "trades pass",
            "symbol fails",
            "count passes",
            "type fails",
            "id passes"
        ]
    );
    let failing = &report["collections"][0]["requests"][1];
    let step = &failing["steps"][0];
    assert_eq!(step["status"], "failed");
    assert_eq!(step["line"], 10);
    assert_eq!(step["failure"]["path"], "$.s");
    // Values are JSON values, not their JSON text.
    assert_eq!(step["failure"]["expected"], "ETHUSDT", "{step}");
    assert_eq!(step["failure"]["actual"], "BTCUSDT");
    assert_eq!(step["failure"]["message"]["s"], "BTCUSDT");
    let count = &report["collections"][0]["requests"][2];
    assert_eq!(count["steps"][0]["messages"], 25);
    assert_eq!(count["transcript"]["frames"][0]["direction"], "received");
}

#[test]
fn the_html_report_is_self_contained_and_charts_the_rate() {
    let server = common::binance_stream(200, Duration::from_millis(2));
    let ws = cli::Workspace::new();
    two_collections(&ws, &server.url());
    let run = ws.wsrun(&["suite", "--report", "html=r.html"]);
    assert_eq!(run.code, 1);
    let html = std::fs::read_to_string(ws.path().join("r.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<svg"), "a rate chart");
    assert!(html.contains("<polyline"), "with a line per connection");
    assert!(html.contains("symbol fails"));
    assert!(html.contains("&quot;ETHUSDT&quot;"));
    for external in [
        "<script",
        "<link",
        "src=\"http",
        "href=\"http",
        "@import",
        "url(",
    ] {
        assert!(
            !html.contains(external),
            "the page must not load `{external}`"
        );
    }
}

#[test]
fn jobs_keep_output_and_reports_in_file_order() {
    let server = common::binance_stream(50, Duration::from_millis(1));
    let ws = cli::Workspace::new();
    two_collections(&ws, &server.url());
    let one = ws.wsrun(&["suite", "--jobs", "1", "--report", "json=one.json"]);
    let six = ws.wsrun(&["suite", "--jobs", "6", "--report", "json=six.json"]);
    assert_eq!(one.code, 1);
    assert_eq!(six.code, 1);
    assert_eq!(one.stdout, six.stdout);
    let names = |file: &str| -> Vec<String> {
        let v: Value =
            serde_json::from_str(&std::fs::read_to_string(ws.path().join(file)).unwrap()).unwrap();
        v["collections"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| c["requests"].as_array().unwrap().clone())
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names("one.json"), names("six.json"));
}

#[test]
fn shards_cover_every_request_exactly_once() {
    let server = common::binance_stream(50, Duration::from_millis(1));
    let ws = cli::Workspace::new();
    two_collections(&ws, &server.url());
    let mut seen = Vec::new();
    for k in 1..=2 {
        let file = format!("s{k}.json");
        let shard = format!("{k}/2");
        let run = ws.wsrun(&[
            "suite",
            "--shard",
            &shard,
            "--report",
            &format!("json={file}"),
        ]);
        assert!(run.code == 0 || run.code == 1, "{}", run.output());
        let v: Value =
            serde_json::from_str(&std::fs::read_to_string(ws.path().join(&file)).unwrap()).unwrap();
        for c in v["collections"].as_array().unwrap() {
            for r in c["requests"].as_array().unwrap() {
                seen.push(format!(
                    "{}::{}",
                    c["path"].as_str().unwrap(),
                    r["name"].as_str().unwrap()
                ));
            }
        }
    }
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(
        seen.len(),
        5,
        "each request runs once across the shards: {seen:?}"
    );
    assert_eq!(unique.len(), 5);
}

#[test]
fn secrets_never_appear_in_output_or_reports() {
    let server = common::header_echo();
    let ws = cli::Workspace::new();
    ws.write(
        "c.yaml",
        &format!(
            r#"name: secrets
vars: {{ api_key: key-from-vars-123 }}
secrets: [api_key]
requests:
  - name: echoes credentials
    url: "{}/ws"
    headers:
      Authorization: "Bearer header-token-456"
      X-Api-Key: "{{{{ api_key }}}}"
      X-Cli: "{{{{ cli_token }}}}"
    steps:
      - expect: {{ json: {{ $.authorization: nope }} }}
"#,
            server.url()
        ),
    );
    let run = ws.wsrun(&[
        "c.yaml",
        "-v",
        "--secret",
        "cli_token=cli-secret-789",
        "--report",
        "json=r.json",
        "--report",
        "junit=r.xml",
        "--report",
        "html=r.html",
    ]);
    assert_eq!(run.code, 1, "{}", run.output());
    let mut everything = run.output();
    for f in ["r.json", "r.xml", "r.html"] {
        everything.push_str(&std::fs::read_to_string(ws.path().join(f)).unwrap());
    }
    for secret in ["key-from-vars-123", "header-token-456", "cli-secret-789"] {
        assert!(
            !everything.contains(secret),
            "`{secret}` leaked:\n{everything}"
        );
    }
    assert!(run.stdout.contains("***"), "{}", run.stdout);
}

/// Renders the HTML report in headless Chromium (Debian's `chromium`, which `.ci/run` installs)
/// and checks the screenshot is a real page, not a blank or an error page.
#[test]
fn the_html_report_renders_in_headless_chromium() {
    let Some(chromium) = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
    else {
        eprintln!("chromium is not installed: `.ci/run` installs it; skipping the screenshot");
        return;
    };
    let server = common::binance_stream(200, Duration::from_millis(2));
    let ws = cli::Workspace::new();
    two_collections(&ws, &server.url());
    let run = ws.wsrun(&["suite", "--report", "html=r.html"]);
    assert_eq!(run.code, 1);
    let page = ws.path().join("r.html");
    let shot = ws.path().join("shot.png");
    let profile = ws.path().join("chromium-profile");
    let out = std::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1100,1300",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = std::fs::read(&shot).expect("a screenshot");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    // A blank 1100×1300 page compresses to a few KB; the report (text, table, chart) to far more.
    assert!(
        png.len() > 30_000,
        "the screenshot looks blank ({} bytes)",
        png.len()
    );
}

fn read(ws: &cli::Workspace, name: &str) -> String {
    std::fs::read_to_string(ws.path().join(name)).unwrap_or_else(|e| panic!("read {name}: {e}"))
}

/// Secrets in every rendering a run meets, each to be masked in every output: a value holding
/// `"`, `\`, `/` and `é` sent as JSON (so echoed JSON-escaped) and as text written with `\u`
/// and `\/` escapes; a field of a secret map; a value a `capture` stores under a secret name.
const RENDERINGS: &str = r#"name: renderings
secrets: [quoted, creds, token]
vars:
  quoted: 'q"uo\te/é-secret'
  creds: { user: u, pass: p4ss-map-secret }
requests:
  - name: json escaped
    url: "ws://SERVER"
    steps:
      - send: { json: { q: "{{ quoted }}" } }
      - expect: { json: { $.q: nope } }
  - name: unicode escaped
    url: "ws://SERVER"
    steps:
      - send: '{"u": "q\u0022uo\\te\/\u00e9-secret"}'
      - expect: { json: { $.u: nope } }
  - name: map field
    url: "ws://SERVER"
    steps:
      - send: "user=u pass={{ creds.pass }}"
      - expect: { text: nope }
  - name: captured
    url: "ws://SERVER"
    steps:
      - send: { json: { token: captured-secret-5150 } }
      - expect: { json: { $.token: { exists: true } } }
      - capture: { token: $.token }
      - send: "token={{ token }}"
      - expect: { text: nope }
"#;

#[test]
fn secrets_escaped_in_json_in_a_secret_map_or_captured_never_appear_in_output_or_reports() {
    let server = common::echo();
    let ws = cli::Workspace::new();
    ws.write("c.yaml", &RENDERINGS.replace("ws://SERVER", &server.url()));
    let run = ws.wsrun(&[
        "c.yaml",
        "-v",
        "--report",
        "json=r.json",
        "--report",
        "junit=r.xml",
        "--report",
        "html=r.html",
    ]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stdout.contains("4 requests: 0 passed, 4 failed"),
        "{}",
        run.output()
    );
    let outputs = [
        ("the terminal (-v)", run.output()),
        ("the JSON report", read(&ws, "r.json")),
        ("the JUnit report", read(&ws, "r.xml")),
        ("the HTML report", read(&ws, "r.html")),
    ];
    for (output, text) in &outputs {
        // Masking replaces a secret whole, so any piece of one is a leak.
        for rendering in [
            "é-secret",
            "u00e9-secret",
            "uo\\te",
            "uo\\\\te",
            "p4ss-map-secret",
            "captured-secret-5150",
        ] {
            assert!(
                !text.contains(rendering),
                "`{rendering}` leaked into {output}:\n{text}"
            );
        }
    }
    assert!(run.stdout.contains("pass=***"), "{}", run.stdout);
    assert!(run.stdout.contains("token=***"), "{}", run.stdout);
}

/// Three requests on an echo server: the first fails after 400 ms (or, with `first_waits`,
/// waits 5 s for a message that never comes), the second passes at once, the third waits 5 s.
fn slow_failure_then_fast_pass(ws: &cli::Workspace, url: &str, first_timeout: &str) {
    ws.write(
        "c.yaml",
        &format!(
            r#"requests:
  - name: slow failure
    url: "{url}"
    steps:
      - wait_for: {{ json: {{ $.never: 1 }}, timeout: {first_timeout} }}
  - name: fast pass
    url: "{url}"
    steps:
      - send: hi
      - expect: {{ text: hi }}
  - name: still waiting
    url: "{url}"
    steps:
      - wait_for: {{ json: {{ $.never: 1 }}, timeout: 5s }}
"#
        ),
    );
}

/// The names and statuses of the requests in a JSON report, with its summary and `stopped`.
fn reported(ws: &cli::Workspace, file: &str) -> (Vec<(String, bool)>, Value, Value) {
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(ws.path().join(file)).unwrap()).unwrap();
    let requests = v["collections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["requests"].as_array().unwrap().clone())
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["passed"].as_bool().unwrap(),
            )
        })
        .collect();
    (requests, v["summary"].clone(), v["stopped"].clone())
}

#[test]
fn fail_fast_with_jobs_keeps_a_later_request_that_finished_before_an_earlier_slow_failure() {
    let server = common::echo();
    let ws = cli::Workspace::new();
    slow_failure_then_fast_pass(&ws, &server.url(), "400ms");
    let run = ws.wsrun(&[
        "c.yaml",
        "--jobs",
        "2",
        "--fail-fast",
        "--report",
        "json=r.json",
    ]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(run.stdout.contains("✗ slow failure"), "{}", run.output());
    assert!(run.stdout.contains("✓ fast pass"), "{}", run.output());
    assert!(!run.stdout.contains("still waiting"), "{}", run.output());
    assert!(
        run.stdout.contains("2 requests: 1 passed, 1 failed"),
        "{}",
        run.output()
    );
    let (requests, summary, stopped) = reported(&ws, "r.json");
    assert_eq!(
        requests,
        [("slow failure".into(), false), ("fast pass".into(), true)]
    );
    assert_eq!(summary["passed"], 1, "{summary}");
    assert_eq!(summary["failed"], 1, "{summary}");
    assert_eq!(stopped, "fail_fast");
}

#[test]
fn the_run_timeout_with_jobs_keeps_a_later_request_that_finished_before_an_earlier_one_was_cut() {
    let server = common::echo();
    let ws = cli::Workspace::new();
    slow_failure_then_fast_pass(&ws, &server.url(), "5s");
    let run = ws.wsrun(&[
        "c.yaml",
        "--jobs",
        "2",
        "--timeout",
        "400ms",
        "--report",
        "json=r.json",
    ]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stdout
            .contains("the run timed out after 400ms (--timeout)"),
        "{}",
        run.output()
    );
    assert!(run.stdout.contains("✓ fast pass"), "{}", run.output());
    let (requests, summary, stopped) = reported(&ws, "r.json");
    assert_eq!(
        requests[..2],
        [("slow failure".into(), false), ("fast pass".into(), true)]
    );
    assert_eq!(summary["passed"], 1, "{summary}");
    assert_eq!(stopped, "timeout");
}
