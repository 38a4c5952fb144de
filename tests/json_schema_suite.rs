//! The official JSON-Schema-Test-Suite (tests/data/json-schema-test-suite: the required tests of
//! drafts 4, 6, 7, 2019-09 and 2020-12) run through wsrun's schema layer — the same compile
//! options and `$ref` retriever the `schema:` matcher and `contract:` use, with the suite's
//! remote schemas served from its `remotes/` folder.
//!
//! Every case must give the suite's answer, except the ones listed in `KNOWN_FAILURES`, which
//! the pass rate in docs/design.md counts; a case that starts passing fails this test too, so
//! the list (and docs/design.md) stay true.

use std::path::{Path, PathBuf};

use serde_json::Value;
use wsrun::internals::{Draft, LocalFiles, Schema, SchemaOptions as Options};

/// The suite's convention: remote schemas are served at this URL.
const REMOTES_URL: &str = "http://localhost:1234/";

/// Cases this validator answers differently from the suite: `draft/file: group: test`.
/// Both: a custom meta-schema that leaves out the validation vocabulary should turn `minimum`
/// off; the `jsonschema` crate (0.61) still applies it.
const KNOWN_FAILURES: &[&str] = &[
    "draft2019-09/vocabulary: schema that uses custom metaschema with with no validation vocabulary: no validation: invalid number, but it still validates",
    "draft2020-12/vocabulary: schema that uses custom metaschema with with no validation vocabulary: no validation: invalid number, but it still validates",
];

fn suite() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/json-schema-test-suite")
}

fn draft(name: &str) -> Draft {
    match name {
        "draft4" => Draft::Draft4,
        "draft6" => Draft::Draft6,
        "draft7" => Draft::Draft7,
        "draft2019-09" => Draft::Draft201909,
        _ => Draft::Draft202012,
    }
}

/// Runs one draft's files; returns (cases run, the names of the cases answered wrongly).
fn run_draft(name: &str) -> (usize, Vec<String>) {
    let dir = suite().join("tests").join(name);
    let options = Options {
        draft: Some(draft(name)),
        files: LocalFiles::default().mount(REMOTES_URL, &suite().join("remotes")),
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("a suite file").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let (mut run, mut wrong) = (0, Vec::new());
    for file in files {
        let stem = file
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(&file).expect("read a suite file");
        let groups: Vec<Value> = serde_json::from_str(&text).expect("parse a suite file");
        for group in &groups {
            let about = group["description"].as_str().unwrap_or("?");
            let compiled = Schema::compile(&group["schema"], None, about, &options);
            for case in group["tests"].as_array().into_iter().flatten() {
                run += 1;
                let label = format!(
                    "{name}/{stem}: {about}: {}",
                    case["description"].as_str().unwrap_or("?")
                );
                let expected = case["valid"].as_bool().expect("a `valid` flag");
                let right = match &compiled {
                    Ok(schema) => schema.is_valid(&case["data"]) == expected,
                    Err(_) => false,
                };
                if !right {
                    wrong.push(label);
                }
            }
        }
    }
    (run, wrong)
}

#[test]
fn the_official_json_schema_suite_passes_for_every_draft_claimed() {
    let mut table = Vec::new();
    let mut all_wrong = Vec::new();
    for name in ["draft4", "draft6", "draft7", "draft2019-09", "draft2020-12"] {
        let (run, wrong) = run_draft(name);
        table.push(format!("{name}: {}/{run}", run - wrong.len()));
        all_wrong.extend(wrong);
    }
    println!("{}", table.join("\n"));
    let unexpected: Vec<&String> = all_wrong
        .iter()
        .filter(|w| !KNOWN_FAILURES.contains(&w.as_str()))
        .collect();
    let fixed: Vec<&&str> = KNOWN_FAILURES
        .iter()
        .filter(|k| !all_wrong.iter().any(|w| w == *k))
        .collect();
    assert!(
        fixed.is_empty(),
        "these cases now pass: remove them from KNOWN_FAILURES and update the pass rate in docs/design.md:\n{fixed:#?}"
    );
    assert!(
        unexpected.is_empty(),
        "{} cases answered wrongly (not in KNOWN_FAILURES):\n{}\n{}",
        unexpected.len(),
        unexpected
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        table.join("\n")
    );
}
