//! `wsrun merge` inputs: the JSON reports of a run's shards, some given twice, some missing,
//! some mutated (bytes flipped, histograms that do not decode, shard numbers past the count,
//! other content hashes). Reading, checking, merging and rendering them never panics; a shard
//! given twice or missing is always detected when the reports themselves are intact.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use serde_json::{json, Value};
use wsrun::merge_shards;
use wsrun::Latency;
use wsrun::Threshold;
use wsrun::{content_hash, CollectionId, Shard, ShardOf, ShardProblem};
use wsrun::{
    html, human, json, junit, CollectionReport, Failure, Outcome, RequestReport, RunReport,
    StepReport,
};
use wsrun::{LoadReport, StepCounts, ThresholdResult};

use super::{iterations, mutate, Rng};

/// Shard `index` of `count` of one run: a plain request of its own and its share of a load.
fn shard_report(rng: &mut Rng, index: u32, count: u32) -> Value {
    let mut connect = Latency::new();
    let mut step = Latency::new();
    let users = 1 + rng.below(4) as u64;
    for _ in 0..users {
        connect.record(Duration::from_micros(100 + rng.below(5_000) as u64));
        step.record(Duration::from_micros(50 + rng.below(50_000) as u64));
    }
    let failed = rng.below(2) as u64;
    let load = LoadReport {
        users,
        elapsed: Duration::from_millis(10 + rng.below(1_000) as u64),
        shards: 1,
        opened: users,
        connect,
        iterations: users,
        failed,
        received: users,
        errors: if failed > 0 {
            vec![("step 1 expect: no message within 1s".into(), failed)]
        } else {
            Vec::new()
        },
        steps: vec![StepCounts {
            runs: users,
            failed,
        }],
        thresholds: vec![ThresholdResult::new(&Threshold::no_failures())],
        ..LoadReport::default()
    };
    let mut load_request = RequestReport::new("load".into(), 9);
    load_request.steps = vec![StepReport {
        index: 1,
        keyword: "expect",
        line: 12,
        duration: Duration::from_millis(1),
        outcome: Outcome::Passed,
        messages: users,
        latency: None,
        latencies: Some(step),
    }];
    load_request.load = Some(Box::new(load));
    let mut plain = RequestReport::new(format!("plain {index}"), 2);
    if rng.below(3) == 0 {
        plain.error = Some(Failure::new("could not connect"));
    }
    let run = RunReport {
        collections: vec![CollectionReport {
            path: "c.yaml".into(),
            name: "c".into(),
            env: None,
            requests: vec![plain, load_request],
            duration: Duration::from_millis(20),
        }],
        duration: Duration::from_millis(30),
        shard: ShardOf::Part(Shard {
            index,
            count,
            collections: vec![CollectionId {
                path: "c.yaml".into(),
                env: None,
                hash: content_hash("requests: []\n"),
            }],
        }),
        ..RunReport::default()
    };
    json::report(&run)
}

/// A change to a report that keeps it JSON.
fn corrupt(rng: &mut Rng, doc: &mut Value) {
    let load = &mut doc["collections"][0]["requests"][1];
    match rng.below(6) {
        0 => load["load"]["connect"]["histogram"] = json!("not base64 at all"),
        1 => {
            load["steps"][0]["latency"]["histogram"] =
                json!("HISTFAAAACl4nJNpmSzMwMDAxAABzFCaEUzOmNZg")
        }
        2 => doc["shard"]["index"] = json!(rng.pick(&[0u64, 7, u64::from(u32::MAX) + 1, 1 << 40])),
        3 => doc["shard"]["count"] = json!(rng.pick(&[0u64, 1, 3, u64::from(u32::MAX)])),
        4 => doc["shard"]["collections"][0]["content_hash"] = json!(content_hash("other")),
        _ => doc["shard"] = rng.pick(&[json!(null), json!("1/2"), json!({})]).clone(),
    }
}

/// What a set of reports lacks or repeats, before anything is mutated.
struct Expected {
    duplicate: bool,
    missing: bool,
    /// Users of each distinct shard, for the sum a partial merge must show.
    users: u64,
}

/// Renders merged results every way a merge writes them.
fn render(merged: &RunReport) {
    let style = human::Style::default();
    let mut out = String::new();
    for c in &merged.collections {
        out.push_str(&human::collection_header(&style, &c.path, c.env.as_deref()));
        for r in &c.requests {
            out.push_str(&human::request(&style, &c.path, r));
        }
    }
    out.push_str(&human::summary(&style, merged));
    let _ = json::report(merged).to_string();
    let _ = junit::report(merged);
    let _ = html::report(merged);
}

/// The shards of runs of 1 to 5 shards: `runs[n - 1]` holds the n shards of a run of n. Built
/// once: encoding histograms is most of the cost of an execution.
fn runs(rng: &mut Rng) -> Vec<Vec<Value>> {
    (1..=5u32)
        .map(|count| (1..=count).map(|k| shard_report(rng, k, count)).collect())
        .collect()
}

/// One execution: shards taken, some repeated or left out, maybe mutated, then merged.
fn one(rng: &mut Rng, runs: &[Vec<Value>], corpus: &[Vec<u8>]) -> Result<(), String> {
    let run = rng.pick(runs);
    let count = run.len() as u32;
    let mut docs: Vec<(String, Value)> = run
        .iter()
        .enumerate()
        .map(|(i, doc)| (format!("s{}.json", i + 1), doc.clone()))
        .collect();
    if count > 1 && rng.below(3) == 0 {
        docs.remove(rng.below(docs.len()));
    }
    if rng.below(3) == 0 {
        let (_, copy) = docs[rng.below(docs.len())].clone();
        docs.push(("again.json".into(), copy));
    }
    let mut seen = std::collections::HashMap::new();
    for (_, d) in &docs {
        let users = d["collections"][0]["requests"][1]["load"]["users"]
            .as_u64()
            .unwrap_or(0);
        seen.entry(d["shard"]["index"].as_u64()).or_insert(users);
    }
    let expected = Expected {
        duplicate: seen.len() < docs.len(),
        missing: seen.len() < count as usize,
        users: seen.values().sum(),
    };
    let mutated = rng.below(2) == 0;
    let mut texts: Vec<(String, Vec<u8>)> = Vec::new();
    for (name, mut doc) in docs {
        if mutated && rng.below(2) == 0 {
            corrupt(rng, &mut doc);
        }
        let mut text = doc.to_string().into_bytes();
        if mutated && rng.below(3) == 0 {
            text = mutate(rng, &text, corpus);
        }
        texts.push((name, text));
    }
    let mut reports = Vec::new();
    for (name, text) in &texts {
        let read = serde_json::from_slice::<Value>(text)
            .map_err(|e| e.to_string())
            .and_then(|doc| wsrun::read_report(&doc));
        match read {
            Ok(r) => reports.push((name.clone(), r)),
            Err(e) if mutated => assert!(!e.is_empty()),
            Err(e) => return Err(format!("an intact report was refused: {e}")),
        }
    }
    if reports.is_empty() {
        return Ok(());
    }
    let allow = rng.below(2) == 0;
    match merge_shards(reports.clone(), allow) {
        Ok((merged, warnings)) => {
            if !mutated {
                check_partial(&expected, &merged, &warnings)?;
            }
            render(&merged);
        }
        Err(problems) if !mutated => {
            let has = |f: fn(&ShardProblem) -> bool| problems.iter().any(f);
            let dup = has(|p| matches!(p, ShardProblem::Duplicate { .. }));
            let gap = has(|p| matches!(p, ShardProblem::Missing { .. }));
            if (dup, gap) != (expected.duplicate, expected.missing) {
                return Err(format!(
                    "expected duplicate {} missing {}, found {problems:?}",
                    expected.duplicate, expected.missing
                ));
            }
        }
        Err(problems) => assert!(problems.iter().all(|p| !p.to_string().is_empty())),
    }
    Ok(())
}

/// An intact merge: strict ones only when nothing is wrong; partial ones name every problem and
/// count each shard once.
fn check_partial(
    expected: &Expected,
    merged: &RunReport,
    warnings: &[ShardProblem],
) -> Result<(), String> {
    let dup = warnings
        .iter()
        .any(|p| matches!(p, ShardProblem::Duplicate { .. }));
    let gap = warnings
        .iter()
        .any(|p| matches!(p, ShardProblem::Missing { .. }));
    if (dup, gap) != (expected.duplicate, expected.missing) {
        return Err(format!(
            "expected duplicate {} missing {}, warned {warnings:?}",
            expected.duplicate, expected.missing
        ));
    }
    let users = merged.collections[0]
        .requests
        .iter()
        .find_map(|r| r.load.as_ref())
        .map_or(0, |l| l.users);
    if users != expected.users {
        return Err(format!(
            "merged {users} users, the distinct shards hold {}",
            expected.users
        ));
    }
    Ok(())
}

#[test]
fn merging_any_shard_reports_never_panics_and_always_finds_duplicates_and_gaps() {
    let corpus = super::corpus();
    let mut rng = Rng(0x5EED_0F5A_A4D5_0001);
    let runs = runs(&mut rng);
    // A third of the other targets' count: each execution decodes (inflates) up to a dozen
    // histograms, ~10 ms in a debug build.
    let n = (iterations() / 3).max(1);
    let mut failures = Vec::new();
    for i in 0..n {
        let mut local = Rng(rng.next() | 1);
        match catch_unwind(AssertUnwindSafe(|| one(&mut local, &runs, &corpus))) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failures.push(format!("execution {i}: {e}")),
            Err(_) => failures.push(format!("execution {i}: panicked")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {n}: {failures:#?}",
        failures.len()
    );
    eprintln!("merge: {n} executions, no panic, every duplicate and gap found");
}
