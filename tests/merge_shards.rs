//! `wsrun merge` takes every shard of one run once: a shard given twice, a missing shard,
//! shards of other collections or of another split, and reports that do not say which shard
//! they hold are exit 2 — or, with `--allow-partial`, named warnings beside a merge in which a
//! shard given twice counts once.

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;
mod common;

use serde_json::Value;

const HINT: &str = "(--allow-partial merges them anyway, warning about each)\n";

/// A load of 4 users and a plain request, run as shard `k` of `n` into `s{k}of{n}.json`.
fn shard(ws: &cli::Workspace, url: &str, k: u32, n: u32) {
    let yaml = format!(
        "requests:\n  - name: plain\n    url: {url}\n    steps:\n      - send: hi\n      - expect: {{ text: hi }}\n  - name: load\n    url: {url}\n    load: {{ users: 4 }}\n    steps:\n      - send: hi\n      - expect: {{ text: hi }}\n"
    );
    ws.write("c.yaml", &yaml);
    let (shard, report) = (format!("{k}/{n}"), format!("json=s{k}of{n}.json"));
    let run = ws.wsrun(&["c.yaml", "--shard", &shard, "--report", &report]);
    assert_eq!(run.code, 0, "{}", run.output());
}

fn load_users(ws: &cli::Workspace, file: &str) -> Value {
    let text = std::fs::read_to_string(ws.path().join(file)).expect("the merged report");
    let doc: Value = serde_json::from_str(&text).expect("JSON");
    let requests = doc["collections"][0]["requests"]
        .as_array()
        .unwrap()
        .clone();
    let load = requests
        .iter()
        .find(|r| r["name"] == "load")
        .expect("the load");
    load["load"].clone()
}

#[test]
fn a_shard_given_twice_is_exit_2_and_counted_once_with_allow_partial() {
    let server = common::echo();
    let ws = cli::Workspace::new();
    shard(&ws, &server.url(), 1, 2);
    shard(&ws, &server.url(), 2, 2);
    std::fs::copy(ws.path().join("s1of2.json"), ws.path().join("again.json")).unwrap();
    let run = ws.wsrun(&["merge", "s1of2.json", "s2of2.json", "again.json"]);
    assert_eq!(run.code, 2, "{}", run.output());
    assert_eq!(
        run.stderr,
        format!("error[duplicate-shard]: again.json and s1of2.json are both shard 1/2: merging would count its results twice\n{HINT}")
    );
    assert_eq!(run.stdout, "");
    let run = ws.wsrun(&[
        "merge",
        "s1of2.json",
        "s2of2.json",
        "again.json",
        "--allow-partial",
        "--report",
        "json=m.json",
    ]);
    assert_eq!(run.code, 0, "{}", run.output());
    assert_eq!(
        run.stderr,
        "warning[duplicate-shard]: again.json and s1of2.json are both shard 1/2: merging would count its results twice; merged anyway (--allow-partial)\n"
    );
    let load = load_users(&ws, "m.json");
    assert_eq!(
        (load["users"].as_u64(), load["shards"].as_u64()),
        (Some(4), Some(2))
    );
}

#[test]
fn a_missing_shard_is_exit_2_naming_it() {
    let server = common::echo();
    let ws = cli::Workspace::new();
    shard(&ws, &server.url(), 1, 3);
    shard(&ws, &server.url(), 3, 3);
    let run = ws.wsrun(&["merge", "s1of3.json", "s3of3.json"]);
    assert_eq!(run.code, 2, "{}", run.output());
    assert_eq!(
        run.stderr,
        format!("error[missing-shard]: 1 shard of 3 missing (2): the merged results would lack its requests\n{HINT}")
    );
    let run = ws.wsrun(&["merge", "s1of3.json", "--allow-partial"]);
    assert_eq!(run.code, 0, "{}", run.output());
    assert_eq!(
        run.stderr,
        "warning[missing-shard]: 2 shards of 3 missing (2..3): the merged results would lack their requests; merged anyway (--allow-partial)\n"
    );
}

#[test]
fn shards_of_another_version_of_a_collection_are_exit_2() {
    let server = common::echo();
    let ws = cli::Workspace::new();
    shard(&ws, &server.url(), 1, 2);
    let other = common::echo();
    shard(&ws, &other.url(), 2, 2);
    let run = ws.wsrun(&["merge", "s1of2.json", "s2of2.json"]);
    assert_eq!(run.code, 2, "{}", run.output());
    assert!(
        run.stderr.starts_with(
            "error[other-collections]: s2of2.json ran another version of c.yaml (fnv1a64:"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.ends_with(&format!(
            ") than s1of2.json: not shards of one run of the same collections\n{HINT}"
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn shards_of_another_split_and_whole_runs_are_exit_2() {
    let server = common::echo();
    let ws = cli::Workspace::new();
    shard(&ws, &server.url(), 1, 2);
    shard(&ws, &server.url(), 2, 3);
    let run = ws.wsrun(&["merge", "s1of2.json", "s2of3.json"]);
    assert_eq!(run.code, 2, "{}", run.output());
    assert!(
        run.stderr.starts_with("error[other-shard-count]: s2of3.json is shard 2/3, but s1of2.json is shard 1/2: not shards of one run\n"),
        "{}",
        run.stderr
    );
    let run = ws.wsrun(&["c.yaml", "--report", "json=whole.json"]);
    assert_eq!(run.code, 0, "{}", run.output());
    let run = ws.wsrun(&["merge", "whole.json", "whole.json"]);
    assert_eq!(run.code, 2, "{}", run.output());
    assert_eq!(
        run.stderr,
        format!("error[duplicate-shard]: whole.json and whole.json are both a whole run (no --shard): merging would count its results twice\n{HINT}")
    );
    let run = ws.wsrun(&["merge", "whole.json"]);
    assert_eq!(run.code, 0, "{}", run.output());
}

#[test]
fn a_report_that_does_not_say_its_shard_is_exit_2() {
    let server = common::echo();
    let ws = cli::Workspace::new();
    shard(&ws, &server.url(), 1, 1);
    let text = std::fs::read_to_string(ws.path().join("s1of1.json")).unwrap();
    let mut doc: Value = serde_json::from_str(&text).unwrap();
    doc.as_object_mut().unwrap().remove("shard");
    ws.write("old.json", &doc.to_string());
    let run = ws.wsrun(&["merge", "old.json"]);
    assert_eq!(run.code, 2, "{}", run.output());
    assert_eq!(
        run.stderr,
        format!("error[unknown-shard]: old.json does not say which shard it holds (a report of an older wsrun): run the shards again to merge them safely\n{HINT}")
    );
}
