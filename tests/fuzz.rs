//! Fuzzing without nightly: a deterministic, coverage-blind mutation fuzzer over three targets —
//! collection loading, template expansion, matcher evaluation (with JSONPath). Each must never
//! panic. Seeds live in `tests/fuzz/corpus/`; any input that ever crashed is kept there as a
//! regression seed. `WSRUN_FUZZ_ITERS=N` sets the executions per target (CI runs a short pass;
//! `docs/robustness.md` records a long one).

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use serde_json::{json, Value};
use wsrun::collection::Collection;
use wsrun::jsonpath::JsonPath;
use wsrun::matcher::{Matcher, Subject};
use wsrun::template::{Scope, TValue, Template};

/// xorshift64*: small, fast, reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const TOKENS: &[&str] = &[
    "{{",
    "}}",
    "{{ n }}",
    "{{ env.HOME }}",
    "{{ mocks.m.url }}",
    "{{ a.b.0 }}",
    "$",
    "$.",
    "$..",
    "[?@.a > 1]",
    "[*]",
    "['x']",
    "[0]",
    "[-1]",
    "length(@)",
    ": ",
    "- ",
    "\n",
    "\n  ",
    "\n    - ",
    "{",
    "}",
    "[",
    "]",
    "'",
    "\"",
    ",",
    "&a ",
    "*a",
    "<<: ",
    "!!binary ",
    "~",
    "null",
    "true",
    "1e309",
    "-0",
    "99999999999999999999",
    "expect:",
    "json:",
    "count: ",
    "within: 1ms",
    "matches: '('",
    "type: integer",
    "gt: ",
    "len: ",
    "any: true",
    "send:",
    "close:",
    "1s",
    "0ms",
    "\u{0}",
    "\u{FEFF}",
    "é",
    "\t",
    "#",
    "---\n",
    "...\n",
];

fn mutate(rng: &mut Rng, input: &[u8], corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(6) {
            0 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
            1 if !out.is_empty() => {
                let end = (at + rng.below(16)).min(out.len());
                out.drain(at.min(end)..end);
            }
            2 => {
                let token = rng.pick(TOKENS).as_bytes();
                out.splice(at..at, token.iter().copied());
            }
            3 if !out.is_empty() => {
                let start = rng.below(out.len());
                let end = (start + rng.below(64)).min(out.len());
                let chunk = out[start..end].to_vec();
                out.splice(at..at, chunk);
            }
            4 => {
                let other = rng.pick(corpus);
                let start = rng.below(other.len());
                let end = (start + rng.below(128)).min(other.len());
                out.splice(at..at, other[start..end].iter().copied());
            }
            _ => out.insert(at, rng.below(256) as u8),
        }
    }
    out.truncate(64 * 1024);
    out
}

fn corpus() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("the fuzz corpus folder")
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| std::fs::read(f).expect("read a seed"))
        .collect()
}

fn iterations() -> usize {
    std::env::var("WSRUN_FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3_000)
}

/// Runs `target` on `iterations()` mutated inputs; fails listing any input that panicked.
fn fuzz(name: &str, seed: u64, target: impl Fn(&[u8])) {
    let corpus = corpus();
    let mut rng = Rng(seed);
    let mut crashes = Vec::new();
    for input in &corpus {
        if catch_unwind(AssertUnwindSafe(|| target(input))).is_err() {
            crashes.push(input.clone());
        }
    }
    let n = iterations();
    for _ in 0..n {
        let base = rng.pick(&corpus).clone();
        let input = mutate(&mut rng, &base, &corpus);
        if catch_unwind(AssertUnwindSafe(|| target(&input))).is_err() {
            crashes.push(input);
        }
    }
    if !crashes.is_empty() {
        let dir = std::env::temp_dir().join(format!("wsrun-fuzz-{name}"));
        let _ = std::fs::create_dir_all(&dir);
        for (i, c) in crashes.iter().enumerate() {
            let _ = std::fs::write(dir.join(format!("crash-{i}.yaml")), c);
        }
        panic!(
            "{name}: {} of {n} inputs panicked; saved to {} (add them to tests/fuzz/corpus)",
            crashes.len(),
            dir.display()
        );
    }
    eprintln!("{name}: {n} executions, no panic");
}

#[test]
fn loading_any_bytes_never_panics() {
    fuzz("load", 0x9E37_79B9_7F4A_7C15, |bytes| {
        let text = String::from_utf8_lossy(bytes);
        if let Ok(c) = Collection::parse(&text, Path::new("fuzz.yaml")) {
            // A collection that loads must also prepare (or fail) cleanly.
            let _ = wsrun::plan::prepare(c, &Default::default());
        }
    });
}

#[test]
fn expanding_any_template_never_panics() {
    let vars: HashMap<String, Value> = [
        ("n".to_string(), json!(1)),
        ("a".to_string(), json!({"b": [1, {"c": null}]})),
        ("s".to_string(), json!("text")),
    ]
    .into_iter()
    .collect();
    fuzz("template", 0xD1B5_4A32_D192_ED03, |bytes| {
        let text = String::from_utf8_lossy(bytes);
        let scope = Scope {
            vars: Some(&vars),
            ..Scope::default()
        };
        for line in text.lines().take(64) {
            if let Ok(t) = Template::parse(line) {
                let _ = t.expand(&scope);
                let _ = t.expand_value(&scope);
            }
            if let Ok(tv) = TValue::from_value(json!({ "k": line, "l": [line, 1] })) {
                let _ = tv.expand(&scope);
            }
        }
    });
}

#[test]
fn evaluating_any_matcher_and_path_never_panics() {
    let docs = [
        json!({"e": "trade", "p": "97012.34000000", "t": 4221990001u64, "a": [{"b": 2, "c": "x"}, {"b": 1}]}),
        json!([1, "2", null, true, {"a": {"a": {"a": []}}}]),
        json!("plain"),
        json!(-1.5e300),
    ];
    fuzz("matcher", 0x94D0_49BB_1331_11EB, |bytes| {
        let text = String::from_utf8_lossy(bytes);
        for line in text.lines().take(64) {
            if let Ok(path) = JsonPath::parse(line.trim()) {
                for d in &docs {
                    let _ = path.query(d);
                    let _ = path.query_located(d);
                    let _ = path.pointers(d);
                }
            }
            let Some((_, rest)) = line.split_once(':') else {
                continue;
            };
            let yaml = format!("m: {rest}");
            let Ok(Value::Object(map)) = serde_saphyr::from_str::<Value>(&yaml) else {
                continue;
            };
            let Some(v) = map.get("m").cloned() else {
                continue;
            };
            if let Ok(m) = Matcher::from_value(v) {
                if let Ok(r) = m.resolve(&Scope::default()) {
                    for d in &docs {
                        let _ = r.mismatch(Subject::Json(d));
                    }
                    let _ = r.mismatch(Subject::Bytes(&bytes[..bytes.len().min(32)]));
                }
            }
        }
    });
}
