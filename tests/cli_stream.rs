//! Stream properties and contracts whose output varies from run to run (ages, rates), or that
//! need Rust: the JSON and HTML reports of their failures, and a window larger than `unique`
//! remembers. The cases with fixed output are in tests/cases/stream/ and tests/cases/contract/.

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;
mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as u64
}

fn trades(
    count: usize,
    interval_ms: u64,
    clock: bool,
    faults: Vec<common::Fault>,
) -> common::TestServer {
    common::faulty_trades(common::Trades {
        count,
        interval: Duration::from_millis(interval_ms),
        clock,
        faults,
    })
}

/// The text between `before` and `after` in `text`.
fn between<'t>(text: &'t str, before: &str, after: &str) -> &'t str {
    let start = text
        .find(before)
        .unwrap_or_else(|| panic!("no `{before}` in:\n{text}"))
        + before.len();
    let rest = &text[start..];
    &rest[..rest
        .find(after)
        .unwrap_or_else(|| panic!("no `{after}` after `{before}` in:\n{text}"))]
}

#[test]
fn fresh_fails_on_stale_timestamps_naming_the_first_stale_message_and_its_age() {
    let server = trades(
        6,
        0,
        true,
        vec![common::Fault::Stale {
            at: 4,
            by_ms: 3_600_000,
        }],
    );
    let ws = cli::Workspace::new();
    let run = ws.run_collection(
        &format!(
            "requests:\n  - name: stale\n    url: {}\n    steps:\n      - expect: {{ count: 6, stream: {{ $.E: {{ fresh: 2s }}, $.T: {{ fresh: 2s }} }} }}\n",
            server.url()
        ),
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.output());
    let out = run.stdout;
    assert!(
        out.contains(
            "step 1 expect c.yaml:5: $.E is not within 2s of the receive time at message 4 of 6: "
        ),
        "{out}"
    );
    assert!(out.contains(" is 1h00m old when received"), "{out}");
    assert!(out.contains("broken    in 3 of 6 messages"), "{out}");
    assert!(
        out.contains("also      $.T is not within 2s of the receive time at message 4 of 6"),
        "{out}"
    );
    // The value shown is the stale event time the server sent.
    let shown: u64 = between(&out, "actual    ", "\n")
        .parse()
        .expect("an epoch time");
    assert!(now_ms() - shown >= 3_600_000, "{shown}");
}

#[test]
fn fresh_tells_epoch_seconds_from_milliseconds_by_magnitude() {
    let now = now_ms();
    let messages = vec![
        format!(r#"{{"ts": {}}}"#, now / 1000),
        format!(r#"{{"ts": {now}}}"#),
        format!(r#"{{"ts": {}.5}}"#, now / 1000),
        format!(r#"{{"ts": {}}}"#, now / 1000 - 7_200),
    ];
    let server = common::text_server(messages);
    let ws = cli::Workspace::new();
    let run = ws.run_collection(
        &format!(
            "requests:\n  - name: seconds\n    url: {}\n    steps:\n      - expect: {{ count: 4, stream: {{ $.ts: {{ fresh: 5s }} }} }}\n",
            server.url()
        ),
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stdout
            .contains("$.ts is not within 5s of the receive time at message 4 of 4: ")
            && run.stdout.contains(" is 2h00m old when received"),
        "{}",
        run.stdout
    );
}

#[test]
fn rate_fails_on_a_slow_stream_naming_the_rate_it_measured() {
    let server = trades(20, 100, false, vec![]);
    let ws = cli::Workspace::new();
    let run = ws.run_collection(
        &format!(
            "requests:\n  - name: slow\n    url: {}\n    steps:\n      - expect: {{ during: 1s, stream: {{ rate: {{ gte: 50 }} }} }}\n",
            server.url()
        ),
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.output());
    let rate: f64 = between(
        &run.stdout,
        "the rate is ",
        " messages/s, expected gte 50 (",
    )
    .parse()
    .expect("a rate");
    let count: u64 = between(&run.stdout, "expected gte 50 (", " messages in 1s)")
        .parse()
        .expect("a count");
    // 100 ms apart, the first at once: about 10 in a second, whatever the machine's load.
    assert!((5..=11).contains(&count), "{}", run.stdout);
    assert_eq!(rate, count as f64, "{}", run.stdout);
}

#[test]
fn rate_over_a_count_window_runs_from_the_step_start_to_its_last_message() {
    let server = trades(10, 50, false, vec![]);
    let ws = cli::Workspace::new();
    let run = ws.run_collection(
        &format!(
            "requests:\n  - name: paced\n    url: {}\n    steps:\n      - expect: {{ count: 10, stream: {{ rate: {{ gte: 1000 }} }} }}\n",
            server.url()
        ),
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.output());
    let rate: f64 = between(&run.stdout, "the rate is ", " messages/s")
        .parse()
        .expect("a rate");
    // Ten messages over ≈ 450 ms: about 22 per second.
    assert!((10.0..=30.0).contains(&rate), "{}", run.stdout);
}

/// A run with a gap in its ids, reported as JSON and HTML.
fn gap_reports() -> (cli::Run, Value, String) {
    let server = trades(
        10,
        0,
        false,
        vec![
            common::Fault::Gap { at: 4, missing: 2 },
            common::Fault::Gap { at: 8, missing: 1 },
        ],
    );
    let ws = cli::Workspace::new();
    let run = ws.run_collection(
        &format!(
            "requests:\n  - name: gaps\n    url: {}\n    steps:\n      - expect: {{ count: 10, stream: {{ $.t: {{ consecutive: true }}, rate: {{ gt: 0 }} }} }}\n",
            server.url()
        ),
        &["--report", "json=r.json", "--report", "html=r.html"],
    );
    let json = std::fs::read_to_string(ws.path().join("r.json")).expect("the JSON report");
    let html = std::fs::read_to_string(ws.path().join("r.html")).expect("the HTML report");
    (run, serde_json::from_str(&json).expect("JSON"), html)
}

#[test]
fn the_json_report_of_a_stream_failure_names_the_offending_message_and_lists_the_gaps() {
    let (run, report, _) = gap_reports();
    assert_eq!(run.code, 1, "{}", run.output());
    let failure = &report["collections"][0]["requests"][0]["steps"][0]["failure"];
    let v = &failure["stream"][0];
    assert_eq!(v["property"], "consecutive");
    assert_eq!(v["path"], "$.t");
    assert_eq!(
        (v["index"].as_u64(), v["window"].as_u64()),
        (Some(4), Some(10))
    );
    assert_eq!(v["value"], 4221990006u64);
    assert_eq!(
        v["previous"],
        serde_json::json!({ "index": 3, "value": 4221990003u64 })
    );
    assert_eq!(
        v["gaps"],
        serde_json::json!([
            { "from": 4221990004u64, "to": 4221990005u64 },
            { "from": 4221990010u64, "to": 4221990010u64 }
        ])
    );
    assert_eq!(
        (v["gaps_total"].as_u64(), v["missing_total"].as_u64()),
        (Some(2), Some(3))
    );
    let message: Value =
        serde_json::from_str(v["message"].as_str().expect("the message")).expect("JSON");
    assert_eq!(message["t"], 4221990006u64);
    assert_eq!(
        failure["stream"].as_array().map(Vec::len),
        Some(1),
        "rate held"
    );
}

#[test]
fn the_json_report_of_a_stream_failure_follows_the_report_schema() {
    let (_, report, _) = gap_reports();
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/schema/wsrun-report.schema.json"
        ))
        .expect("the report schema"),
    )
    .expect("JSON");
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn the_html_report_of_a_stream_failure_shows_the_offending_message_and_every_gap() {
    let (_, _, html) = gap_reports();
    assert!(
        html.contains("$.t is not consecutive at message 4 of 10"),
        "{html}"
    );
    assert!(html.contains("missing   4221990004..4221990005"), "{html}");
    assert!(html.contains("missing   4221990010"), "{html}");
}

#[test]
fn unique_over_more_values_than_it_remembers_passes_while_they_stay_in_order() {
    const N: usize = 120_000;
    let server = common::flood(N);
    let ws = cli::Workspace::new();
    let run = ws.run_collection(
        &format!(
            "requests:\n  - name: many\n    url: {}\n    timeout: 60s\n    steps:\n      - expect: {{ count: {N}, stream: {{ $.t: {{ unique: true, consecutive: true }} }} }}\n",
            server.url()
        ),
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.output());
}
