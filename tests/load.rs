//! Latency and load end to end, where the output varies between runs and the checks are on
//! ranges and on the JSON report: measured round trips, `latency:` limits that fail with the
//! time taken, `repeat` distributions, loads with a duration, `--shard auto/N`, and `wsrun merge`
//! of shard reports (histograms added exactly, thresholds judged again, foreign files refused).

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;
mod common;

use serde_json::Value;
use wsrun::{Latency, Stat};

/// A mock that answers every message after `delay`, and `requests` using it.
fn slow(delay: &str, requests: &str) -> String {
    format!(
        "mocks:\n  slow: {{ on: [ {{ reply: {{ text: pong, delay: {delay} }} }} ] }}\nrequests:\n{requests}"
    )
}

fn report(ws: &cli::Workspace, name: &str) -> Value {
    let text = std::fs::read_to_string(ws.path().join(name)).expect("the report was written");
    serde_json::from_str(&text).expect("the report is JSON")
}

fn requests(report: &Value) -> Vec<Value> {
    report["collections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["requests"].as_array().unwrap().clone())
        .collect()
}

/// The number in `text` just before `unit` after `after`: `took 123ms` → 123.
fn number_before(text: &str, after: &str, unit: &str) -> f64 {
    let rest = &text[text
        .find(after)
        .unwrap_or_else(|| panic!("no `{after}` in {text}"))
        + after.len()..];
    let end = rest
        .find(unit)
        .unwrap_or_else(|| panic!("no `{unit}` in {rest}"));
    rest[..end]
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("not a number: {}", &rest[..end]))
}

#[test]
fn a_round_trip_slower_than_its_limit_fails_naming_the_time_it_took() {
    let ws = cli::Workspace::new();
    let yaml = slow(
        "120ms",
        "  - name: slow answer\n    url: \"{{ mocks.slow.url }}\"\n    steps:\n      - send: ping\n      - expect: { text: pong, latency: { lt: 50ms } }\n",
    );
    let run = ws.run_collection(&yaml, &[]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stdout
            .contains("step 2 expect c.yaml:8: the round trip took "),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("ms, wanted < 50ms"), "{}", run.stdout);
    let took = number_before(&run.stdout, "the round trip took ", "ms");
    assert!((120.0..5000.0).contains(&took), "{took}");
}

#[test]
fn a_percentile_over_its_limit_fails_naming_the_statistic_and_the_count() {
    let ws = cli::Workspace::new();
    let yaml = slow(
        "60ms",
        "  - name: slow answers\n    url: \"{{ mocks.slow.url }}\"\n    repeat: 3\n    steps:\n      - send: ping\n      - expect: { text: pong, latency: { p95: { lt: 20ms }, min: { gt: 1ms } } }\n",
    );
    let run = ws.run_collection(&yaml, &[]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(run.stdout.contains(": latency p95 was "), "{}", run.stdout);
    assert!(
        run.stdout.contains("wanted < 20ms (over 3 round trips)"),
        "{}",
        run.stdout
    );
    // The `min` limit held, so it is not named.
    assert!(!run.stdout.contains("latency min"), "{}", run.stdout);
}

#[test]
fn every_report_carries_the_round_trip_of_a_send_and_its_answer() {
    let server = common::echo();
    let ws = cli::Workspace::new();
    let yaml = format!(
        "requests:\n  - name: once\n    url: {u}\n    steps:\n      - send: a\n      - expect: {{ text: a }}\n      - send: b\n      - sleep: 1ms\n      - expect: {{ text: b }}\n  - name: repeated\n    url: {u}\n    repeat: 100\n    steps:\n      - send: {{ json: {{ id: 1 }} }}\n      - wait_for: {{ json: {{ $.id: 1 }} }}\n",
        u = server.url()
    );
    let run = ws.run_collection(&yaml, &["--report", "json=r.json"]);
    assert_eq!(run.code, 0, "{}", run.output());
    let doc = report(&ws, "r.json");
    let [once, repeated] = requests(&doc).try_into().unwrap();
    let latency_ms: Vec<Value> = once["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["latency_ms"].clone())
        .collect();
    // Only the expect directly after its send measures a round trip.
    assert!(
        latency_ms[1].as_f64().is_some_and(|ms| ms > 0.0),
        "{latency_ms:?}"
    );
    for i in [0, 2, 3, 4] {
        assert!(latency_ms[i].is_null(), "step {}: {latency_ms:?}", i + 1);
    }
    assert!(once["steps"][1]["latency"].is_null());

    let step = &repeated["steps"][1];
    let dist = &step["latency"];
    assert_eq!(dist["count"], 100, "{dist}");
    let histogram = Latency::decode(dist["histogram"].as_str().unwrap()).unwrap();
    assert_eq!(histogram.count(), 100);
    let stat = |key: &str| dist[key].as_f64().unwrap();
    assert!(stat("min_ms") <= stat("p50_ms") && stat("p50_ms") <= stat("p95_ms"));
    assert!(stat("p95_ms") <= stat("p99_ms") && stat("p99_ms") <= stat("max_ms"));
    assert_eq!(
        step["latency_ms"].as_f64(),
        Some(stat("p50_ms")),
        "a repeated step's latency_ms is its median"
    );
    assert_eq!(
        histogram.stat_ms(Stat::Percentile(95.0)),
        Some(stat("p95_ms"))
    );
    assert_eq!(repeated["steps"][0]["messages"], 0);
    assert_eq!(step["messages"], 100);
}

#[test]
fn a_load_with_a_duration_repeats_until_it_ends_and_reports_its_timeline() {
    let server = common::echo();
    let ws = cli::Workspace::new();
    let yaml = format!(
        "requests:\n  - name: for a while\n    url: {}\n    load: {{ users: 20, ramp: 200ms, duration: 1500ms }}\n    thresholds: {{ failed: {{ lte: 0 }}, connect_p95: {{ lt: 5s }}, \"step 3 p99\": {{ lt: 5s }}, msgs_per_s: {{ gt: 1 }} }}\n    steps:\n      - sleep: 10ms\n      - send: hi\n      - expect: {{ text: hi }}\n",
        server.url()
    );
    let run = ws.run_collection(
        &yaml,
        &["--report", "json=r.json", "--report", "html=r.html"],
    );
    assert_eq!(run.code, 0, "{}", run.output());
    assert_eq!(server.connections(), 20);
    let doc = report(&ws, "r.json");
    let request = &requests(&doc)[0];
    let load = &request["load"];
    assert_eq!(load["users"], 20);
    assert_eq!(load["connections"]["opened"], 20);
    assert_eq!(load["connect"]["count"], 20);
    let iterations = load["iterations"].as_u64().unwrap();
    assert!(
        iterations > 40,
        "users repeat until the duration ends: {iterations}"
    );
    assert_eq!(
        request["steps"][2]["latency"]["count"].as_u64(),
        Some(iterations)
    );
    assert_eq!(load["steps"][2]["runs"].as_u64(), Some(iterations));
    assert_eq!(load["messages"]["received"].as_u64(), Some(iterations));
    let elapsed = load["elapsed_ms"].as_f64().unwrap();
    assert!((1500.0..10_000.0).contains(&elapsed), "{elapsed}");
    let points = load["timeline"]["points"].as_array().unwrap();
    assert!(points.len() >= 2, "{points:?}");
    assert_eq!(points[0]["connections"], 20, "all connected after the ramp");
    let names: Vec<&str> = load["thresholds"]
        .as_array()
        .unwrap()
        .iter()
        .inspect(|t| assert_eq!(t["passed"], true, "{t}"))
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["failed", "connect_p95", "step 3 p99", "msgs_per_s"]);
    let html = std::fs::read_to_string(ws.path().join("r.html")).unwrap();
    assert!(html.contains("open connections") && html.contains("round trip (ms)"));
    assert!(
        html.contains("connect_p95 &lt; 5s"),
        "thresholds are listed"
    );
}

#[test]
fn a_load_step_over_its_percentile_limit_fails_as_a_threshold_with_its_value() {
    let ws = cli::Workspace::new();
    let yaml = slow(
        "50ms",
        "  - name: slow load\n    url: \"{{ mocks.slow.url }}\"\n    load: { users: 5 }\n    steps:\n      - send: ping\n      - expect: { text: pong, latency: { p99: { lt: 10ms } } }\n",
    );
    let run = ws.run_collection(&yaml, &[]);
    assert_eq!(run.code, 1, "{}", run.output());
    let measured = number_before(
        &run.stdout,
        "threshold `step 2 p99` failed: measured ",
        "ms",
    );
    assert!(measured >= 50.0, "{measured}");
    assert!(run.stdout.contains("wanted < 10ms"), "{}", run.stdout);
}

/// A suite of one plain request and a load of 4 users whose threshold only the whole load meets.
fn sharded_suite(ws: &cli::Workspace, url: &str) {
    ws.write(
        "suite.yaml",
        &format!(
            "requests:\n  - name: plain\n    url: {url}\n    steps:\n      - send: a\n      - expect: {{ text: a }}\n  - name: load\n    url: {url}\n    load: {{ users: 4 }}\n    repeat: 3\n    thresholds: {{ iterations: {{ gte: 12 }} }}\n    steps:\n      - send: b\n      - expect: {{ text: b }}\n"
        ),
    );
}

#[test]
fn merged_shards_add_up_their_loads_exactly_and_judge_the_thresholds_again() {
    let server = common::echo();
    let ws = cli::Workspace::new();
    sharded_suite(&ws, &server.url());
    let mut counts = Vec::new();
    for k in 1..=2 {
        let run = ws.wsrun(&[
            "suite.yaml",
            "--shard",
            &format!("{k}/2"),
            "--report",
            &format!("json=shard{k}.json"),
        ]);
        // Alone, a shard's 2 users make 6 iterations: a share of the total, which the
        // merge judges.
        assert_eq!(run.code, 0, "{}", run.output());
        assert!(
            run.stdout
                .contains("○ iterations ≥ 12  (6 in this shard, judged at merge)"),
            "{}",
            run.stdout
        );
        let doc = report(&ws, &format!("shard{k}.json"));
        let load = requests(&doc)
            .into_iter()
            .find(|r| r["name"] == "load")
            .unwrap();
        counts.push(load["steps"][1]["latency"]["count"].as_u64().unwrap());
    }
    let run = ws.wsrun(&[
        "merge",
        "shard1.json",
        "shard2.json",
        "--report",
        "json=merged.json",
        "--report",
        "junit=merged.xml",
        "--report",
        "html=merged.html",
    ]);
    assert_eq!(run.code, 0, "{}", run.output());
    assert!(
        run.stdout
            .contains("4 users, 2 shards · 4 connected, 0 failed · 12 iterations, 0 failed"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("✓ iterations ≥ 12  (12)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("2 requests: 2 passed"),
        "{}",
        run.stdout
    );
    let merged = report(&ws, "merged.json");
    assert_eq!(merged["passed"], true);
    assert_eq!(merged["summary"]["requests"], 2);
    let all = requests(&merged);
    assert_eq!(
        all.iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["plain", "load"],
        "file order"
    );
    let load = &all[1];
    let dist = &load["steps"][1]["latency"];
    assert_eq!(dist["count"].as_u64(), Some(counts.iter().sum::<u64>()));
    assert_eq!(
        Latency::decode(dist["histogram"].as_str().unwrap())
            .unwrap()
            .count(),
        12
    );
    assert_eq!(load["load"]["shards"], 2);
    assert_eq!(load["load"]["connect"]["count"], 4);
    assert_eq!(load["error"], Value::Null);
    let junit = std::fs::read_to_string(ws.path().join("merged.xml")).unwrap();
    assert!(
        junit.contains("tests=\"2\"") && junit.contains("failures=\"0\""),
        "{junit}"
    );
    assert!(std::fs::read_to_string(ws.path().join("merged.html"))
        .unwrap()
        .contains("2 shards"));
}

#[test]
fn merging_a_file_that_is_not_a_wsrun_report_names_it_and_exits_2() {
    let server = common::echo();
    let ws = cli::Workspace::new();
    sharded_suite(&ws, &server.url());
    let run = ws.wsrun(&["suite.yaml", "--report", "json=good.json"]);
    assert_eq!(run.code, 0, "{}", run.output());
    ws.write(
        "other.json",
        "{\"format\": \"k6-summary\", \"metrics\": {}}",
    );
    ws.write("text.json", "not json at all");
    let run = ws.wsrun(&[
        "merge",
        "good.json",
        "other.json",
        "--report",
        "json=m.json",
    ]);
    assert_eq!(run.code, 2, "{}", run.output());
    assert_eq!(
        run.stderr,
        "error: other.json: not a wsrun-report/1 document (its `format` is `k6-summary`); merge reads what `--report json=FILE` writes\n"
    );
    assert!(!ws.path().join("m.json").exists(), "nothing is written");
    let run = ws.wsrun(&["merge", "text.json"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .starts_with("error: text.json: not a wsrun-report/1 document: not JSON"),
        "{}",
        run.stderr
    );
    let run = ws.wsrun(&["merge", "missing.json"]);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (2, "error: missing.json: no such file\n")
    );
}

#[test]
fn shard_auto_takes_its_index_from_a_kubernetes_indexed_job() {
    let server = common::echo();
    let ws = cli::Workspace::new();
    sharded_suite(&ws, &server.url());
    let explicit = ws.wsrun(&["suite.yaml", "--shard", "2/2"]);
    let auto = ws.wsrun_env(
        &["suite.yaml", "--shard", "auto/2"],
        &[("JOB_COMPLETION_INDEX", "1")],
    );
    assert_eq!(auto.stdout, explicit.stdout);
    assert!(auto.stdout.contains("2 users"), "{}", auto.stdout);
    let unset = ws.wsrun(&["suite.yaml", "--shard", "auto/2"]);
    assert_eq!(unset.code, 2);
    assert!(
        unset
            .stderr
            .contains("`--shard auto/N` takes the shard from JOB_COMPLETION_INDEX"),
        "{}",
        unset.stderr
    );
    let past = ws.wsrun_env(
        &["suite.yaml", "--shard", "auto/2"],
        &[("JOB_COMPLETION_INDEX", "2")],
    );
    assert_eq!(past.code, 2, "index 2 is the third of 2 shards");
}
