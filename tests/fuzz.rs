//! Fuzzing without nightly: a deterministic, coverage-blind mutation fuzzer over four targets —
//! collection loading, template expansion, matcher evaluation (with JSONPath), and finding
//! collections in random folder trees. Each must never panic (discovery never hang either).
//! Seeds live in `tests/fuzz/corpus/`; any input that ever crashed is kept there as a regression
//! seed. A fifth target generates rather than mutates: random secrets in random renderings,
//! masked and rendered as every report (JSON-escaped, STOMP-escaped…), must never show. `WSRUN_FUZZ_ITERS=N` sets the
//! executions per target (CI runs a short pass; `docs/robustness.md` records a long one).

#[path = "fuzz/imports.rs"]
mod imports;

use std::collections::{HashMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use std::time::Duration;

use serde_json::{json, Value};
use wsrun::internals::Masker;
use wsrun::internals::{Matcher, Subject};
use wsrun::internals::{Scope, TValue, Template};
use wsrun::Collection;
use wsrun::JsonPath;
use wsrun::{collection_files, is_collection};
use wsrun::{
    human, json, junit, CollectionReport, Direction, Failure, Frame, FrameData, Outcome,
    RequestReport, RunReport, Shown, StepReport,
};

#[path = "fuzz/contracts.rs"]
mod contracts;
#[path = "fuzz/data.rs"]
mod data;
#[path = "fuzz/escapes.rs"]
mod escapes;
#[path = "fuzz/merge.rs"]
mod merge;

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
    corpus_files().into_iter().map(|(_, bytes)| bytes).collect()
}

/// The seeds with their file names, sorted.
fn corpus_files() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("the fuzz corpus folder")
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| {
            let name = f
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read(f).expect("read a seed"))
        })
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
            let _ = wsrun::prepare(c, &Default::default());
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

// ---------------------------------------------------------------------------------------------
// Masking: random secrets in random renderings, through a real `Masker` and the real renderers
// ---------------------------------------------------------------------------------------------

/// What secrets are made of: what JSON escapes, what templates, masks and markup use, and text
/// from every plane.
const SECRET_PIECES: &[&str] = &[
    "a",
    "Z",
    "0",
    "7",
    "-",
    "_",
    " ",
    ".",
    "\"",
    "\\",
    "/",
    "'",
    "*",
    "***",
    "<",
    ">",
    "&",
    "{",
    "}",
    "{{",
    "}}",
    "{{ x }}",
    "\\u0041",
    "\\\"",
    "\n",
    "\t",
    "\r",
    "\u{1}",
    "\u{1f}",
    "\u{7f}",
    "é",
    "ß",
    "€",
    "\u{2028}",
    "\u{FEFF}",
    "\u{FFFE}",
    "😀",
    "\u{10FFFF}",
    "… (",
    " more bytes)",
    ":",
];

/// Every secret holds one of these: nothing else in a report does, so a secret found in an
/// output is a leak, never a coincidence of boilerplate.
const MARKERS: &[char] = &['\u{E000}', 'Ж', '\u{1F511}'];

fn random_secret(rng: &mut Rng) -> String {
    let mut pieces: Vec<String> = (0..2 + rng.below(10))
        .map(|_| rng.pick(SECRET_PIECES).to_string())
        .collect();
    let at = rng.below(pieces.len() + 1);
    pieces.insert(at, rng.pick(MARKERS).to_string());
    pieces.concat()
}

/// `s` as the inside of a JSON string, each character written as itself (where JSON allows),
/// with its short escape, or as `\uXXXX` (a surrogate pair outside the basic plane) in either
/// case: every way a JSON encoder may write it.
fn escape_randomly(rng: &mut Rng, s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let short = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '/' => Some("\\/"),
            '\u{8}' => Some("\\b"),
            '\u{c}' => Some("\\f"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            _ => None,
        };
        let must_escape = c == '"' || c == '\\' || (c as u32) < 0x20;
        match rng.below(3) {
            0 if !must_escape => out.push(c),
            1 if short.is_some() => out.push_str(short.unwrap_or_default()),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let hex = format!("{unit:04x}");
                    out.push_str("\\u");
                    out.push_str(&if rng.below(2) == 0 {
                        hex.to_uppercase()
                    } else {
                        hex
                    });
                }
            }
        }
    }
    out
}

/// The texts a secret may reach a report in.
fn renderings(rng: &mut Rng, secret: &str) -> Vec<String> {
    let noise = |rng: &mut Rng| rng.pick(SECRET_PIECES).repeat(rng.below(3));
    let json_message = json!({ "token": secret, "n": 1 }).to_string();
    let mut out = vec![
        // As it is, and inside a larger text with no separator.
        secret.to_string(),
        format!("{}{secret}{}", noise(rng), noise(rng)),
        // JSON-escaped inside a JSON message: as serde writes it, and with any mix of escapes.
        json_message.clone(),
        format!(
            r#"{{"k":"{}{}"}}"#,
            noise(rng).escape_default(),
            escape_randomly(rng, secret)
        ),
        // JSON text inside a JSON string (an envelope carrying a message as text).
        json!({ "data": json_message }).to_string(),
        // As a field of a map, shown as its JSON.
        json!({ "user": "u", "pass": secret }).to_string(),
        // Cut by a preview, anywhere.
        wsrun::internals::truncate(&json_message, rng.below(json_message.chars().count() + 2)),
    ];
    // Escaped by a protocol on the wire: a STOMP header, a Socket.IO frame.
    out.extend(escapes::stomp(rng, secret));
    out.extend(escapes::socketio(secret));
    out
}

/// A failure carrying the renderings in every field a report shows.
fn failure_with(rng: &mut Rng, secret: &str, texts: &[String]) -> Failure {
    Failure {
        summary: format!("expected {}", rng.pick(texts)),
        connection: None,
        line: Some(3),
        path: Some(format!("$['{}']", rng.pick(texts))),
        expected: Some(Shown::Value(json!({ "pass": secret }))),
        actual: Some(if rng.below(2) == 0 {
            Shown::Value(json!([secret, rng.pick(texts)]))
        } else {
            Shown::Text(rng.pick(texts).clone())
        }),
        message: Some(rng.pick(texts).clone()),
        detail: Some(texts.join("\n")),
        stream: Vec::new(),
    }
}

fn request_with(name: &str, failure: Failure, texts: &[String], in_step: bool) -> RequestReport {
    let mut r = RequestReport {
        name: name.into(),
        line: 2,
        duration: Duration::ZERO,
        error: None,
        steps: Vec::new(),
        transcript: Default::default(),
        rates: Vec::new(),
        load: None,
        captures: Vec::new(),
    };
    for (i, t) in texts.iter().enumerate() {
        r.transcript.push(Frame {
            at: Duration::from_millis(i as u64),
            direction: if i % 2 == 0 {
                Direction::Sent
            } else {
                Direction::Received
            },
            connection: "default".into(),
            data: FrameData::Text(t.clone().into()),
        });
    }
    r.transcript.push(Frame {
        at: Duration::ZERO,
        direction: Direction::Received,
        connection: "default".into(),
        data: FrameData::Close(Some(4001), texts.concat()),
    });
    if in_step {
        r.steps.push(StepReport {
            index: 1,
            keyword: "expect",
            line: 3,
            duration: Duration::ZERO,
            outcome: Outcome::Failed(failure),
            messages: 1,
            latency: None,
            latencies: None,
        });
    } else {
        r.error = Some(failure);
    }
    r
}

/// Every string in a JSON document, keys included.
fn json_strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|i| json_strings(i, out)),
        Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                json_strings(v, out);
            }
        }
        _ => {}
    }
}

#[test]
fn a_secret_in_any_rendering_never_appears_in_any_report() {
    let mut rng = Rng(0xA076_1D64_78BD_642F);
    let n = iterations();
    for i in 0..n {
        let secret = random_secret(&mut rng);
        // Where the secret comes from: a `--secret`, a field of a secret map, a capture.
        let mut masker = Masker::default();
        match rng.below(3) {
            0 => masker.extend([secret.clone()]),
            1 => masker.extend_value(&json!({ "user": "u", "creds": { "pass": secret, "n": 1 } })),
            _ => masker.name_secrets(["token".to_string()]),
        }
        if rng.below(4) == 0 {
            // Another secret beside it, possibly overlapping it.
            let other: String = secret.chars().skip(rng.below(3)).collect();
            masker.extend([other, random_secret(&mut rng)]);
        }
        // A capture under a secret's name comes during the request, before the report.
        masker.capture("token", &json!(secret));

        let texts = renderings(&mut rng, &secret);
        let (a, b) = (
            failure_with(&mut rng, &secret, &texts),
            failure_with(&mut rng, &secret, &texts),
        );
        let mut requests = vec![
            request_with("in a step", a, &texts, true),
            request_with("in the request", b, &texts, false),
        ];
        for r in &mut requests {
            masker.request(r);
        }
        let style = human::Style {
            verbose: true,
            ..Default::default()
        };
        let mut human = String::new();
        for r in &requests {
            human.push_str(&human::request(&style, "fuzz.yaml", r));
        }
        let run = RunReport {
            collections: vec![CollectionReport {
                path: "fuzz.yaml".into(),
                name: "fuzz".into(),
                env: None,
                requests,
                duration: Duration::ZERO,
            }],
            ..RunReport::default()
        };
        let mut json_texts = Vec::new();
        json_strings(&json::report(&run), &mut json_texts);
        let junit = junit::report(&run);

        // As it is, or as a protocol escaped it on the wire.
        let shows = |t: &str| t.contains(&secret) || escapes::shows_stomp_escaped(t, &secret);
        let leaks = [
            ("the terminal (-v)", shows(&human)),
            ("the JSON report", json_texts.iter().any(|t| shows(t))),
            (
                "the JUnit report",
                shows(&junit) || junit.contains(&junit::escape(&secret)),
            ),
        ];
        for (output, leaked) in leaks {
            assert!(
                !leaked,
                "iteration {i}: secret {secret:?} leaked into {output}\nrenderings: {texts:#?}\n\
                 terminal:\n{human}\njunit:\n{junit}"
            );
        }
    }
    eprintln!("mask: {n} executions, no secret shown");
}

/// What a file in a random tree holds.
fn random_file(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    const OTHERS: &[&[u8]] = &[
        b"kind: Deployment\nspec:\n  resources:\n    requests: {cpu: 100m}\n",
        b"requests: {cpu: 100m}\n",
        b"kind: A\n---\nkind: B\n",
        b"{\"requests\": [{\"name\": \"a\", \"url\": \"ws://127.0.0.1:9\"}]}",
        b"requests :\n  - name: a\n    url: ws://127.0.0.1:9\n",
        b"name: c\nvars: {a: 1}\nrequests:\n  - name: a\n    url: ws://127.0.0.1:9\n",
        b"requests:\n",
        b"- requests\n",
        b"title: [unclosed\n",
        b"",
        b"\xff\xfe\x00r\x00",
    ];
    // Mostly whole files: a tree with one that does not parse ends in that report, so trees
    // where discovery must find everything need most files intact.
    let mut bytes = match rng.below(10) {
        0..=3 => rng.pick(OTHERS).to_vec(),
        4..=7 => rng.pick(seeds).clone(),
        _ => {
            let base = rng.pick(seeds).clone();
            mutate(rng, &base, seeds)
        }
    };
    match rng.below(16) {
        0 => bytes.splice(0..0, "\u{FEFF}".bytes()).for_each(drop),
        1 => {
            let at = rng.below(bytes.len() + 1);
            bytes.insert(at, 0xC3 + rng.below(2) as u8 * 0x3C);
        }
        _ => {}
    }
    bytes
}

/// Fills `root` with a random tree: folders (some that discovery skips), YAML and other files,
/// and on Unix links to folders (`.`, `..`, siblings, themselves) and to files, some dangling.
fn random_tree(rng: &mut Rng, root: &Path, seeds: &[Vec<u8>]) {
    const DIRS: &[&str] = &["sub", "deep", "z", "target", "__snapshots__", ".git"];
    const FILES: &[&str] = &[
        "a.yaml",
        "b.yml",
        "c.yaml",
        "notes.txt",
        "d.json",
        ".hidden.yaml",
        "e.YAML",
        "f.yaml",
    ];
    let mut dirs = vec![root.to_path_buf()];
    for _ in 0..rng.below(4) {
        let parent = rng.pick(&dirs).clone();
        let dir = parent.join(rng.pick(DIRS));
        if std::fs::create_dir_all(&dir).is_ok() {
            dirs.push(dir);
        }
    }
    for _ in 0..1 + rng.below(5) {
        let dir = rng.pick(&dirs).clone();
        let _ = std::fs::write(dir.join(rng.pick(FILES)), random_file(rng, seeds));
    }
    #[cfg(unix)]
    for _ in 0..rng.below(4) {
        const TARGETS: &[&str] = &[".", "..", "sub", "../sub", "a.yaml", "missing.yaml", "loop"];
        const LINKS: &[&str] = &["loop", "here", "up.yaml", "link", "zz"];
        let dir = rng.pick(&dirs).clone();
        let _ = std::os::unix::fs::symlink(rng.pick(TARGETS), dir.join(rng.pick(LINKS)));
    }
}

/// The regular `.yaml`/`.yml` files of a tree outside the folders discovery skips, found
/// without following links: each that is a collection must be found, by some path.
fn plain_yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if name.starts_with('.') || name == "__snapshots__" || name == "target" {
            continue;
        }
        if kind.is_dir() {
            plain_yaml_files(&entry.path(), out);
        } else if kind.is_file() && (name.ends_with(".yaml") || name.ends_with(".yml")) {
            out.push(entry.path());
        }
    }
}

/// Discovery on one tree, or why it broke an invariant.
fn check_discovery(root: &Path) -> Result<(), String> {
    let (tx, rx) = std::sync::mpsc::channel();
    let dir = root.to_path_buf();
    std::thread::spawn(move || {
        let _ = tx.send(collection_files(std::slice::from_ref(&dir)));
    });
    let found = match rx.recv_timeout(std::time::Duration::from_secs(20)) {
        Ok(found) => found,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            return Err("discovery did not end within 20 s".into())
        }
        Err(_) => return Err("discovery panicked".into()),
    };
    let found = match found {
        Ok(files) => files,
        Err(e) if e.path == root && e.message.starts_with("no collections found") => Vec::new(),
        Err(e) => {
            // A reported file must really be unreadable or not YAML.
            return match is_collection(&e.path) {
                Err(_) => Ok(()),
                Ok(is) => Err(format!(
                    "reported {} (collection: {is}): {e}",
                    e.path.display()
                )),
            };
        }
    };
    let mut real = HashSet::new();
    for f in &found {
        if is_collection(f).ok() != Some(true) {
            return Err(format!(
                "returned {}, which is not a collection",
                f.display()
            ));
        }
        real.insert(std::fs::canonicalize(f).map_err(|e| e.to_string())?);
    }
    if real.len() != found.len() {
        return Err(format!("a collection found twice: {found:?}"));
    }
    let mut candidates = Vec::new();
    plain_yaml_files(root, &mut candidates);
    for f in candidates {
        let canonical = std::fs::canonicalize(&f).map_err(|e| e.to_string())?;
        match is_collection(&f) {
            Ok(true) if !real.contains(&canonical) => {
                return Err(format!("missed the collection {}", f.display()))
            }
            Err(e) => {
                return Err(format!(
                    "{} does not parse, yet was not reported: {e}",
                    f.display()
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

#[test]
fn discovering_any_folder_tree_never_panics_hangs_or_misses_a_collection() {
    // The alias bomb takes seconds per parse on a debug build: trees get the other seeds.
    let seeds: Vec<Vec<u8>> = corpus_files()
        .into_iter()
        .filter(|(name, _)| !name.contains("bomb"))
        .map(|(_, bytes)| bytes)
        .collect();
    let mut rng = Rng(0xA076_1D64_78BD_642F);
    // Each execution writes a whole tree, so the short pass takes a fiftieth of the others'.
    let n = (iterations() / 50).max(1);
    let mut failures = Vec::new();
    for i in 0..n {
        let dir = tempfile::tempdir().expect("a temporary folder");
        random_tree(&mut rng, dir.path(), &seeds);
        let outcome = catch_unwind(AssertUnwindSafe(|| check_discovery(dir.path())))
            .unwrap_or_else(|_| Err("panicked".into()));
        if let Err(why) = outcome {
            // Keep the tree for whoever reads the failure.
            let kept = std::env::temp_dir().join(format!("wsrun-fuzz-discover-{i}"));
            let _ = std::fs::remove_dir_all(&kept);
            let _ = std::fs::rename(dir.keep(), &kept);
            failures.push(format!("{}: {why}", kept.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {n} trees:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("discover: {n} trees, no panic, no hang, nothing missed");
}
