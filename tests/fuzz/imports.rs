//! Importers on mutated exports: reading any HAR or Insomnia text never panics, and whatever an
//! import writes loads and prepares as a collection (`wsrun validate` clean), however odd the
//! names, URLs, headers and messages it carried over.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use wsrun::internals::{from_har, from_insomnia};
use wsrun::internals::{write_import as write, Import};
use wsrun::Collection;

use super::{iterations, mutate, Rng};

/// Seeds: the committed fixtures, and small exports full of awkward characters.
fn seeds() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/imports");
    let mut out: Vec<Vec<u8>> = ["chrome.har", "playwright.har", "insomnia.json"]
        .iter()
        .map(|f| std::fs::read(dir.join(f)).expect("read an import fixture"))
        .collect();
    let odd = serde_json::json!({"log": {"entries": [{
        "_resourceType": "websocket",
        "request": {"url": "wss://h/a b\n\u{2028}'\"{{x}}#", "headers": [
            {"name": "Authorization", "value": "Bearer {{ t }}\n"},
            {"name": "Cookie", "value": "a={{ b"},
            {"name": "X-É", "value": "\u{85}"}]},
        "_webSocketMessages": [
            {"type": "send", "time": 1e300, "opcode": 1, "data": "{\"k\\n\": \"}}{{\"}"},
            {"type": "receive", "time": -5, "opcode": 1, "data": "{\"a\\u2028\": [1, {\"b\": null}]}"},
            {"type": "receive", "time": 2, "opcode": 2, "data": "AQID"},
            {"type": "receive", "time": 2.5, "opcode": 1, "data": "{\"d\": \"\u{7f}\u{9f}\u{fffe}\u{feff}\"}"},
            {"type": "receive", "time": 2.6, "opcode": 1, "data": "{\"d\": \"\u{7f}\u{9f}\u{fffe}\u{feff}\"}"},
            {"type": "receive", "time": 3, "opcode": 9, "data": ""}]}]}});
    out.push(odd.to_string().into_bytes());
    let insomnia = serde_json::json!({"_type": "export", "__export_format": 4, "resources": [
        {"_id": "wrk_1", "_type": "workspace", "name": "w\n- x: 1"},
        {"_id": "env_1", "_type": "environment", "parentId": "wrk_1",
         "data": {"mocks": {"m": 1}, "a b": "{{ _.x }}", "t": "{% now %}"}},
        {"_id": "ws_1", "_type": "websocket_request", "parentId": "wrk_1", "name": "# not a comment",
         "url": "{{ _.mocks.m }}/{{ _.env.HOME }}/{{ env }}/{{ last_id }}", "headers": [{"name": "Cookie", "value": "{{ _.t }}"}],
         "authentication": {"type": "basic", "username": "{{ u }}", "password": "p"}},
        {"_id": "p_1", "_type": "websocket_payload", "parentId": "ws_1", "value": "{{ message.x }}"}]});
    out.push(insomnia.to_string().into_bytes());
    out
}

/// Loads and prepares what `import` writes (its replay files written in `dir`); panics (a
/// finding) when it does not.
fn written_collection_is_valid(import: &Import, dir: &Path) {
    let written = write::collection(import, "fuzz");
    for (name, text) in &written.replays {
        std::fs::write(dir.join(name), text).expect("write a replay file");
    }
    let path = dir.join("fuzz.yaml");
    let collection = match Collection::parse(&written.yaml, &path) {
        Ok(c) => c,
        Err(e) => panic!(
            "the written collection does not load: {e}\n{}",
            written.yaml
        ),
    };
    if let Err(e) = wsrun::prepare(collection, &Default::default()) {
        panic!(
            "the written collection does not prepare: {e}\n{}",
            written.yaml
        );
    }
}

#[test]
fn importing_any_export_never_panics_and_writes_a_valid_collection() {
    let corpus = seeds();
    let mut rng = Rng(0x1234_5678_9ABC_DEF1);
    let mut failures = Vec::new();
    let n = iterations();
    let dir = tempfile::tempdir().expect("a folder for replay files");
    for i in 0..corpus.len() + n {
        let input = match corpus.get(i) {
            Some(seed) => seed.clone(),
            None => {
                let base = rng.pick(&corpus).clone();
                mutate(&mut rng, &base, &corpus)
            }
        };
        let text = String::from_utf8_lossy(&input);
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            for import in [
                from_har::parse(&text, "fuzz.har"),
                from_insomnia::parse(&text, "fuzz.json"),
            ]
            .into_iter()
            .flatten()
            {
                written_collection_is_valid(&import, dir.path());
            }
        }));
        if outcome.is_err() {
            failures.push(input);
        }
    }
    if !failures.is_empty() {
        let dir = std::env::temp_dir().join("wsrun-fuzz-imports");
        let _ = std::fs::create_dir_all(&dir);
        for (i, f) in failures.iter().enumerate() {
            let _ = std::fs::write(dir.join(format!("failure-{i}.json")), f);
        }
        panic!(
            "imports: {} of {n} inputs failed; saved to {}",
            failures.len(),
            dir.display()
        );
    }
    eprintln!("imports: {n} executions, every written collection valid");
}
