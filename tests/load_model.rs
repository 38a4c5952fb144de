//! Load models end to end against the echo server: ramping stages and an arrival rate (an open
//! model whose arrivals past `max_users` are dropped and counted), as the terminal, the JSON and
//! the HTML report give them; with `--shard`, thresholds on totals judged by `wsrun merge`.
//! Assertions are on counts the model fixes, never on how fast anything ran.

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;
mod common;

use serde_json::Value;

fn load_of(ws: &cli::Workspace, file: &str) -> Value {
    let text = std::fs::read_to_string(ws.path().join(file)).expect("the report was written");
    let doc: Value = serde_json::from_str(&text).expect("the report is JSON");
    doc["collections"][0]["requests"][0]["load"].clone()
}

#[test]
fn stages_are_in_the_json_report_with_each_user_connected_once() {
    let server = common::echo();
    let ws = cli::Workspace::new();
    let yaml = format!(
        "requests:\n  - name: ramping\n    url: {}\n    load:\n      stages:\n        - {{ duration: 200ms, users: 4 }}\n        - {{ duration: 200ms, users: 4 }}\n        - {{ duration: 200ms, users: 0 }}\n    steps:\n      - send: hi\n      - expect: {{ text: hi }}\n",
        server.url()
    );
    let run = ws.run_collection(&yaml, &["--report", "json=r.json"]);
    assert_eq!(run.code, 0, "{}", run.output());
    assert!(
        run.stdout.contains(
            "stages 4 users over 200ms, 4 over 200ms, 0 over 200ms · 4 connected, 0 failed"
        ),
        "{}",
        run.stdout
    );
    let load = load_of(&ws, "r.json");
    assert_eq!(load["model"], "stages");
    assert_eq!(
        load["stages"],
        serde_json::json!([
            { "duration_ms": 200.0, "users": 4 },
            { "duration_ms": 200.0, "users": 4 },
            { "duration_ms": 200.0, "users": 0 }
        ])
    );
    assert_eq!(load["arrivals"], Value::Null);
    assert_eq!(load["users"], 4);
    assert_eq!(load["duration_ms"], 600.0);
    // Each user runs once from its start to its stop: one connection each, every iteration
    // passing (at least one each).
    assert_eq!(load["connections"]["opened"], 4);
    let iterations = load["iterations"].as_u64().unwrap();
    assert!(iterations >= 4, "{iterations}");
    assert_eq!(load["failed"], 0);
}

#[test]
fn every_arrival_of_the_rate_starts_a_user_or_is_dropped() {
    let server = common::echo();
    let ws = cli::Workspace::new();
    let yaml = format!(
        "requests:\n  - name: arrivals\n    url: {}\n    load: {{ arrival_rate: 20/s, duration: 1s, max_users: 50 }}\n    steps:\n      - send: hi\n      - expect: {{ text: hi }}\n",
        server.url()
    );
    let run = ws.run_collection(&yaml, &["--report", "json=r.json"]);
    assert_eq!(run.code, 0, "{}", run.output());
    let load = load_of(&ws, "r.json");
    assert_eq!(load["model"], "arrival_rate");
    let a = &load["arrivals"];
    assert_eq!(
        (a["rate_per_s"].as_f64(), a["max_users"].as_u64()),
        (Some(20.0), Some(50))
    );
    // 20/s for 1s is 20 arrivals: the schedule is kept however late the runtime is.
    let (started, dropped) = (
        a["started"].as_u64().unwrap(),
        a["dropped"].as_u64().unwrap(),
    );
    assert_eq!(started + dropped, 20, "{a}");
    // Each arrival is one user running the steps once on its own connection.
    assert_eq!(load["connections"]["opened"].as_u64(), Some(started));
    assert_eq!(load["iterations"].as_u64(), Some(started));
    assert!(
        run.stdout.contains(&format!(
            "arrival rate 20/s for 1.00s, at most 50 users · 20 arrivals: {started} started, {dropped} dropped · "
        )),
        "{}",
        run.stdout
    );
}

#[test]
fn arrivals_past_max_users_are_dropped_counted_and_thresholdable() {
    let server = common::echo();
    let ws = cli::Workspace::new();
    // Each user takes at least 600ms: one at a time, arrivals 50ms apart for 1s, so about two
    // of the twenty start and the others are dropped.
    let yaml = format!(
        "requests:\n  - name: busy\n    url: {}\n    load: {{ arrival_rate: 20/s, duration: 1s, max_users: 1 }}\n    thresholds: {{ dropped_arrivals: {{ lte: 0 }} }}\n    steps:\n      - sleep: 600ms\n",
        server.url()
    );
    let run = ws.run_collection(&yaml, &["--report", "json=r.json"]);
    assert_eq!(run.code, 1, "{}", run.output());
    let load = load_of(&ws, "r.json");
    let a = &load["arrivals"];
    let (started, dropped) = (
        a["started"].as_u64().unwrap(),
        a["dropped"].as_u64().unwrap(),
    );
    assert_eq!(started + dropped, 20, "{a}");
    // However late a busy machine ran it: one user at a time, each at least 600ms.
    let most = 1 + load["elapsed_ms"].as_f64().unwrap() as u64 / 600;
    assert!(
        started >= 1 && started <= most.min(19) && dropped > 0,
        "{load}"
    );
    assert!(
        run.stdout.contains(&format!(
            "threshold `dropped_arrivals` failed: measured {dropped}, wanted ≤ 0"
        )),
        "{}",
        run.stdout
    );
}

/// A load of 4 users running the steps 5 times each, with `iterations: {gte: 20}`: run as
/// shard `k` of 2 into `s{k}.json`.
fn iterations_shard(ws: &cli::Workspace, url: &str, k: u32, threshold: &str) -> cli::Run {
    let yaml = format!(
        "requests:\n  - name: load\n    url: {url}\n    repeat: 5\n    load: {{ users: 4 }}\n    thresholds: {{ {threshold} }}\n    steps:\n      - send: hi\n      - expect: {{ text: hi }}\n"
    );
    ws.write("c.yaml", &yaml);
    let (shard, report) = (format!("{k}/2"), format!("json=s{k}.json"));
    let html = format!("html=s{k}.html");
    ws.wsrun(&[
        "c.yaml", "--shard", &shard, "--report", &report, "--report", &html,
    ])
}

#[test]
fn shards_leave_totals_to_the_merge_which_judges_the_sum() {
    let server = common::echo();
    let ws = cli::Workspace::new();
    for k in 1..=2 {
        // Each shard ran 10 iterations of the 20 wanted: not its to judge.
        let run = iterations_shard(&ws, &server.url(), k, "iterations: { gte: 20 }");
        assert_eq!(run.code, 0, "{}", run.output());
        assert!(
            run.stdout
                .contains("○ iterations ≥ 20  (10 in this shard, judged at merge)"),
            "{}",
            run.stdout
        );
        let t = &load_of(&ws, &format!("s{k}.json"))["thresholds"];
        let t = t
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == "iterations")
            .unwrap();
        assert_eq!(
            (t["passed"].as_bool(), t["judged_at_merge"].as_bool()),
            (Some(true), Some(true))
        );
        let html = std::fs::read_to_string(ws.path().join(format!("s{k}.html"))).unwrap();
        assert!(
            html.contains("<tr><td>iterations ≥ 20</td><td>10 in this shard, judged at merge</td><td class=\"muted\">judged at merge</td></tr>"),
            "{html}"
        );
    }
    let run = ws.wsrun(&["merge", "s1.json", "s2.json", "--report", "json=m.json"]);
    assert_eq!(run.code, 0, "{}", run.output());
    assert!(
        run.stdout.contains("✓ iterations ≥ 20  (20)"),
        "{}",
        run.stdout
    );
    let t = &load_of(&ws, "m.json")["thresholds"];
    let t = t
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "iterations")
        .unwrap();
    assert_eq!(
        (t["passed"].as_bool(), t["judged_at_merge"].as_bool()),
        (Some(true), Some(false))
    );
}

#[test]
fn the_merge_fails_a_total_that_every_shard_left_to_it() {
    let server = common::echo();
    let ws = cli::Workspace::new();
    for k in 1..=2 {
        let run = iterations_shard(&ws, &server.url(), k, "iterations: { gte: 30 }");
        assert_eq!(run.code, 0, "{}", run.output());
    }
    let run = ws.wsrun(&["merge", "s1.json", "s2.json"]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stdout
            .contains("threshold `iterations` failed: measured 20, wanted ≥ 30"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_shard_fails_an_upper_limit_on_a_count_that_its_share_already_breaks() {
    let server = common::echo();
    let ws = cli::Workspace::new();
    // 10 iterations in this shard: the total is at least 10, over the limit whatever the
    // other shard did.
    let run = iterations_shard(&ws, &server.url(), 1, "iterations: { lte: 8 }");
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stdout
            .contains("threshold `iterations` failed: measured 10, wanted ≤ 8"),
        "{}",
        run.stdout
    );
}

/// The text between the first `from` and the next `to` after it.
fn between<'a>(text: &'a str, from: &str, to: &str) -> &'a str {
    let start = text.find(from).unwrap_or_else(|| panic!("no `{from}`"));
    let rest = &text[start..];
    &rest[..rest
        .find(to)
        .unwrap_or_else(|| panic!("no `{to}` after `{from}`"))
        + to.len()]
}

#[test]
fn the_html_report_opens_a_passing_load_on_its_table_and_charts() {
    let server = common::echo();
    let ws = cli::Workspace::new();
    let yaml = format!(
        "requests:\n  - name: plain\n    url: {url}\n    steps:\n      - send: a\n      - expect: {{ text: a }}\n  - name: steady\n    url: {url}\n    load: {{ users: 2, duration: 1500ms }}\n    steps:\n      - send: hi\n      - expect: {{ text: hi }}\n      - sleep: 100ms\n",
        url = server.url()
    );
    let run = ws.run_collection(&yaml, &["--report", "html=r.html"]);
    assert_eq!(run.code, 0, "{}", run.output());
    let html = std::fs::read_to_string(ws.path().join("r.html")).unwrap();
    // A passing plain request stays folded; a passing load is open.
    assert!(
        html.contains(
            "<details class=\"req passed\"><summary><span class=\"pass\">✓</span> plain "
        ),
        "{html}"
    );
    let load = between(
        &html,
        "<details class=\"req passed\" open><summary><span class=\"pass\">✓</span> steady ",
        "</details>\n",
    );
    // It opens on the load's numbers, its latency table, then its charts; the steps after.
    let order = [
        "<p class=\"load\"><b>Load</b>",
        "<table class=\"latency\">",
        "aria-label=\"Round trips and messages over time\"",
        "aria-label=\"Open connections over time\"",
        "<table class=\"thresholds\">",
        "<th>step</th>",
    ];
    let at: Vec<usize> = order
        .iter()
        .map(|m| load.find(m).unwrap_or_else(|| panic!("no `{m}` in {load}")))
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{order:?} at {at:?}");
    let chart = between(
        load,
        "aria-label=\"Round trips and messages over time\"",
        "</svg>",
    );
    for axis in [
        ">time (s)</text>",
        ">round trip (ms)</text>",
        ">messages/s</text>",
    ] {
        assert!(chart.contains(axis), "no axis label `{axis}` in {chart}");
    }
    let legend = between(chart, "<g class=\"legend\">", "</g>");
    for name in ["p50", "p95", "p99", "messages/s"] {
        assert!(
            legend.contains(&format!(">{name}</text>")),
            "no `{name}` in {legend}"
        );
        assert!(chart.contains(&format!(
            "<polyline class=\"series\" data-series=\"{name}\""
        )));
    }
    let users = between(load, "aria-label=\"Open connections over time\"", "</svg>");
    assert!(users.contains(">connections</text>") && users.contains(">open connections</text>"));
}
