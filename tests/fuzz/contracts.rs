//! Fuzz target over AsyncAPI documents and JSON Schemas: mutated seeds (`$ref` cycles, misspelt
//! keys and keywords, `oneOf` messages, trees) loaded as a `contract:` and as a `schema:`, then a few messages
//! checked. Never a panic, never more than a few seconds for one input, and a document whose
//! payload key is misspelt never loads as a contract that accepts everything.

use std::path::Path;
use std::time::{Duration, Instant};

use wsrun::internals::{loading_from, schema_file, Contract};

use super::{catch_unwind, iterations, mutate, AssertUnwindSafe, Rng};

const SEEDS: &[&str] = &[
    "asyncapi: 2.6.0\ninfo: {title: t, version: '1'}\nchannels:\n  trades:\n    subscribe:\n      message:\n        name: trade\n        payload: {type: object, required: [p], properties: {p: {$ref: '#/components/schemas/d'}}}\ncomponents:\n  schemas:\n    d: {type: string, pattern: '^\\d+$'}\n",
    "asyncapi: 3.0.0\ninfo: {title: t, version: '1'}\nchannels:\n  trades:\n    address: /t\n    messages:\n      m:\n        oneOf:\n          - {name: a, payload: {type: object, required: [p]}}\n          - $ref: '#/components/messages/b'\ncomponents:\n  messages:\n    b: {payload: {schemaFormat: 'application/schema+json;version=draft-07', schema: {required: [q]}}}\n",
    "asyncapi: 3.0.0\ninfo: {title: t, version: '1'}\nchannels:\n  trades:\n    address: /t\n    messages:\n      m: {payload: {$ref: '#/components/schemas/a'}}\ncomponents:\n  schemas:\n    a: {$ref: '#/components/schemas/b'}\n    b: {allOf: [{$ref: '#/components/schemas/a'}]}\n",
    "{\"$defs\": {\"a\": {\"$ref\": \"#/$defs/b\"}, \"b\": {\"$ref\": \"#/$defs/a\"}}, \"$ref\": \"#/$defs/a\"}",
    "{\"type\": \"object\", \"required\": [\"v\"], \"properties\": {\"v\": {\"type\": \"integer\"}, \"children\": {\"items\": {\"$ref\": \"#\"}}}}",
    "{\"type\": \"object\", \"requried\": [\"p\"], \"properties\": {\"p\": {\"Type\": \"string\"}}}",
    "{\"$id\": \"https://x/t\", \"$anchor\": \"n\", \"anyOf\": [{\"type\": \"string\"}, {\"$ref\": \"#n\"}]}",
];

const MESSAGES: &[&str] = &[
    "{\"p\":\"1\"}",
    "{\"q\":1}",
    "{\"v\":1,\"children\":[{\"v\":\"x\"}]}",
    "[]",
    "not json",
    "{\"zz\":1}",
];

/// A 2.6 and a 3.0 message whose payload key is spelt some other way.
fn misspelt(key: &str, v3: bool) -> String {
    if v3 {
        format!("asyncapi: 3.0.0\ninfo: {{title: t, version: '1'}}\nchannels:\n  trades:\n    address: /t\n    messages:\n      m: {{name: m, {key}: {{type: object, required: [p]}}}}\n")
    } else {
        format!("asyncapi: 2.6.0\ninfo: {{title: t, version: '1'}}\nchannels:\n  trades:\n    subscribe:\n      message: {{name: m, {key}: {{type: object, required: [p]}}}}\n")
    }
}

/// Loads `bytes` as an AsyncAPI document and as a schema in `dir`, and checks each message.
fn drive(dir: &Path, bytes: &[u8]) {
    let _ = std::fs::write(dir.join("doc.yaml"), bytes);
    let _ = std::fs::write(dir.join("s.json"), bytes);
    if let Ok(c) = Contract::load(&dir.join("doc.yaml"), "doc.yaml", "trades") {
        for m in MESSAGES {
            let _ = c.check(m, 1);
        }
    }
    let schema = loading_from(dir, || schema_file("s.json"));
    if let Ok(s) = schema {
        for m in MESSAGES {
            if let Ok(v) = serde_json::from_str(m) {
                let _ = (s.is_valid(&v), s.errors(&v));
            }
        }
    }
}

#[test]
fn loading_any_contract_or_schema_never_panics_or_hangs() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let corpus: Vec<Vec<u8>> = SEEDS.iter().map(|s| s.as_bytes().to_vec()).collect();
    let mut rng = Rng(0xC0FF_EE00_D15E_A5E5);
    let mut failures = Vec::new();
    let n = iterations();
    for i in 0..n + corpus.len() {
        let input = match corpus.get(i) {
            Some(seed) => seed.clone(),
            None => {
                let base = rng.pick(&corpus).clone();
                mutate(&mut rng, &base, &corpus)
            }
        };
        let started = Instant::now();
        if catch_unwind(AssertUnwindSafe(|| drive(dir.path(), &input))).is_err() {
            failures.push(format!("panicked: {}", String::from_utf8_lossy(&input)));
        } else if started.elapsed() > Duration::from_secs(5) {
            failures.push(format!(
                "took {:?}: {}",
                started.elapsed(),
                String::from_utf8_lossy(&input)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {n}:\n{}",
        failures.len(),
        failures.join("\n---\n")
    );
    eprintln!("contracts: {n} executions, no panic, none slow");
}

#[test]
fn a_misspelt_payload_key_never_loads_as_a_contract_that_accepts_everything() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("doc.yaml");
    for key in [
        "paylaod", "Payload", "payload_", "payloads", "pay load", "schema", "x",
    ] {
        for v3 in [false, true] {
            std::fs::write(&path, misspelt(key, v3)).expect("write the document");
            match Contract::load(&path, "doc.yaml", "trades") {
                Err(e) => assert!(e.contains(&format!("unknown key `{key}`")), "{e}"),
                Ok(c) => assert!(
                    c.check("{\"zz\":1}", 1).is_err(),
                    "`{key}` (3.0: {v3}) loaded as a contract accepting everything"
                ),
            }
        }
    }
}
