//! A load cut short by the run's `--timeout`: what it measured until then is kept, marked as
//! stopped, in the terminal and in every report (JSON, JUnit, HTML), and survives `wsrun merge`.

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;
mod common;

use serde_json::Value;

/// The first request of a JSON report, once the report is checked against its schema.
fn load_of(ws: &cli::Workspace, name: &str) -> Value {
    let text = std::fs::read_to_string(ws.path().join(name)).expect("the report was written");
    let doc: Value = serde_json::from_str(&text).expect("the report is JSON");
    let schema: Value = serde_json::from_str(include_str!("../schema/wsrun-report.schema.json"))
        .expect("the schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{name}: {errors:#?}");
    doc["collections"][0]["requests"][0].clone()
}

/// A 20-second load of 4 users against an echo server, cut by `--timeout 1s`.
fn cut_load(ws: &cli::Workspace, url: &str) -> cli::Run {
    let yaml = format!(
        "requests:\n  - name: long load\n    url: {url}\n    load: {{ users: 4, duration: 20s }}\n    steps:\n      - sleep: 20ms\n      - send: hi\n      - expect: {{ text: hi }}\n"
    );
    ws.write("c.yaml", &yaml);
    ws.wsrun_within(
        &[
            "c.yaml",
            "--timeout",
            "1s",
            "--report",
            "json=r.json",
            "--report",
            "junit=r.xml",
            "--report",
            "html=r.html",
        ],
        std::time::Duration::from_secs(15),
    )
}

#[test]
fn a_load_cut_by_the_timeout_keeps_its_results_marked_as_stopped_in_every_report() {
    let server = common::echo();
    let ws = cli::Workspace::new();
    let run = cut_load(&ws, &server.url());
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stdout
            .contains("✗ long load\n      error: the run timed out after 1.00s (--timeout): the load was stopped after "),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "stopped by the run's timeout: 4 users, for 20.00s · 4 connected, 0 failed · "
        ),
        "{}",
        run.stdout
    );
    let request = load_of(&ws, "r.json");
    let load = &request["load"];
    assert_eq!(load["stopped"], "timeout", "{request}");
    assert_eq!(load["users"], 4);
    assert_eq!(load["connections"]["opened"], 4);
    let iterations = load["iterations"].as_u64().expect("iterations");
    assert!(
        iterations >= 8,
        "4 users ran for about a second: {iterations}"
    );
    assert_eq!(load["failed"], 0);
    assert_eq!(load["messages"]["received"].as_u64(), Some(iterations));
    let elapsed = load["elapsed_ms"].as_f64().expect("elapsed");
    assert!((900.0..5_000.0).contains(&elapsed), "{elapsed}");
    assert!(request["error"]["summary"].as_str().is_some_and(
        |s| s.starts_with("the run timed out after 1.00s (--timeout): the load was stopped after ")
    ));
    let junit = std::fs::read_to_string(ws.path().join("r.xml")).expect("junit");
    assert!(
        junit.contains("<failure message=\"the run timed out after 1.00s (--timeout): the load was stopped after "),
        "{junit}"
    );
    assert!(
        junit.contains(&format!(
            "s ({iterations} iterations, 0 failed)\" type=\"connection\">"
        )),
        "{junit}"
    );
    let html = std::fs::read_to_string(ws.path().join("r.html")).expect("html");
    assert!(
        html.contains("<b>Load</b> (stopped by the run's timeout): 4 users, for 20.00s"),
        "{html}"
    );
}

#[test]
fn merged_shards_of_a_cut_load_stay_stopped_and_say_so() {
    let server = common::echo();
    let ws = cli::Workspace::new();
    let yaml = format!(
        "requests:\n  - name: long load\n    url: {}\n    load: {{ users: 4, duration: 20s }}\n    steps:\n      - sleep: 20ms\n      - send: hi\n      - expect: {{ text: hi }}\n",
        server.url()
    );
    ws.write("c.yaml", &yaml);
    for k in ["1", "2"] {
        let shard = format!("{k}/2");
        let report = format!("json=s{k}.json");
        let run = ws.wsrun_within(
            &[
                "c.yaml",
                "--shard",
                &shard,
                "--timeout",
                "1s",
                "--report",
                &report,
            ],
            std::time::Duration::from_secs(15),
        );
        assert_eq!(run.code, 1, "{}", run.output());
    }
    let run = ws.wsrun(&["merge", "s1.json", "s2.json", "--report", "json=m.json"]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stdout
            .contains("\ntimed out: the run passed its --timeout\n"),
        "no made-up `of 0ms`: {}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("error: a shard's run timed out (--timeout): the load was stopped after "),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "stopped by the run's timeout: 4 users, for 20.00s, 2 shards · 4 connected, 0 failed · "
        ),
        "{}",
        run.stdout
    );
    let load = &load_of(&ws, "m.json")["load"];
    assert_eq!(load["stopped"], "timeout");
    assert_eq!(load["shards"], 2);
    assert!(
        load["iterations"].as_u64().is_some_and(|n| n >= 8),
        "{load}"
    );
}
