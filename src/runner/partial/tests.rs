//! The partial parse must be indistinguishable from the whole one for the paths it serves.

use serde_json::Value;

use super::*;

fn paths(list: &[&str]) -> Vec<JsonPath> {
    list.iter().map(|p| JsonPath::parse(p).unwrap()).collect()
}

/// What `path` finds in `text` parsed whole: the nodes and their normalized locations.
fn whole(path: &JsonPath, text: &str) -> Vec<(String, Value)> {
    let doc: Value = serde_json::from_str(text).unwrap();
    found(path, &doc)
}

fn found(path: &JsonPath, doc: &Value) -> Vec<(String, Value)> {
    path.query_located(doc)
        .into_iter()
        .map(|(at, v)| (at, v.clone()))
        .collect()
}

/// Parses every text in turn with one parser for `list` (so members are reused across
/// messages) and compares what each path finds with the whole parse.
fn assert_same(list: &[&str], texts: &[&str]) {
    let paths = paths(list);
    let mut partial = Partial::for_paths(&paths);
    assert!(!partial.is_whole(), "{list:?} should be parsed partially");
    for text in texts {
        partial.parse(text).unwrap();
        let full: Value = serde_json::from_str(text).unwrap();
        // A path to one node, answered from the members without making the document.
        for path in &paths {
            if let Some(node) = partial.select(path) {
                assert_eq!(node, path.walk(&full).unwrap(), "{path} in {text}");
            }
        }
        let doc = partial.doc().clone();
        for path in &paths {
            assert_eq!(found(path, &doc), whole(path, text), "{path} in {text}");
            // The fast path for simple chains too.
            assert_eq!(path.query(&doc), path.query(&full), "{path} in {text}");
        }
    }
}

#[test]
fn only_the_members_the_paths_read_are_kept() {
    let paths = paths(&["$.e", "$.data.s", "$['p']"]);
    let mut partial = Partial::for_paths(&paths);
    let text = r#"{"e":"trade","E":1,"data":{"s":"BTC","x":[1]},"p":"9.5","q":"1"}"#;
    partial.parse(text).unwrap();
    assert_eq!(
        partial.doc(),
        &serde_json::json!({"e": "trade", "data": {"s": "BTC", "x": [1]}, "p": "9.5"})
    );
    assert_eq!(
        partial.select(&paths[1]),
        Some(Some(&serde_json::json!("BTC")))
    );
}

#[test]
fn paths_that_read_more_than_one_member_parse_the_whole_message() {
    for list in [
        &["$.e", "$..t"][..],
        &["$"],
        &["$.a", "$[*]"],
        &["$.a[?@ > $.b]"],
    ] {
        assert!(Partial::for_paths(&paths(list)).is_whole(), "{list:?}");
    }
    let mut whole = Partial::for_paths(&paths(&["$..t"]));
    let text = r#"{"a":{"t":1},"t":2}"#;
    whole.parse(text).unwrap();
    assert_eq!(whole.doc(), &serde_json::from_str::<Value>(text).unwrap());
}

#[test]
fn the_last_of_duplicate_keys_wins_as_in_a_whole_parse() {
    assert_same(
        &["$.a", "$.b"],
        &[
            r#"{"a":1,"b":2,"a":3}"#,
            r#"{"a":"x","b":{"c":1},"a":{"c":2},"b":[1]}"#,
            r#"{"a":{"c":1},"a":"y"}"#,
        ],
    );
}

#[test]
fn escaped_keys_are_matched_by_what_they_spell() {
    assert_same(
        &["$.e", "$['a\"b']", "$['é']", "$['a b']"],
        &[
            r#"{"\u0065":"trade","a\"b":1,"\u00e9":2,"a\u0020b":3}"#,
            r#"{"e":"x","e\u0000":"y","a\u0022b":[1],"é":{"z":1}}"#,
        ],
    );
}

#[test]
fn numbers_keep_the_value_a_whole_parse_gives() {
    assert_same(
        &["$.big", "$.neg", "$.max", "$.float", "$.exp", "$.nested"],
        &[
            r#"{"big":12345678901234567890123,"neg":-9223372036854775808,"max":18446744073709551615,
                "float":0.1000000000000000055511151231257827,"exp":1E300,"nested":[1.5e-7,-0.0]}"#,
            r#"{"big":1,"neg":-1,"max":0,"float":2,"exp":-1e-400,"nested":{"n":1e2}}"#,
        ],
    );
}

#[test]
fn nested_members_and_members_that_come_and_go_between_messages() {
    assert_same(
        &[
            "$.data.s",
            "$.items[*].id",
            "$.items[?@.id > 1].id",
            "$.opt",
            "$.a..b",
        ],
        &[
            r#"{"data":{"s":"BTC","t":1},"items":[{"id":1},{"id":2}],"opt":"here","a":{"b":1,"c":{"b":2}}}"#,
            r#"{"data":{"t":2},"items":[],"a":[{"b":[{"b":3}]}]}"#,
            r#"{"opt":null,"data":"not an object","items":{"id":5}}"#,
            r#"{}"#,
            r#"{"opt":"back","data":{"s":"ETH"},"items":[{"id":3}]}"#,
            r#"{"opt":{"deep":[1,2,{"x":"y"}]},"data":{"s":"ETH","s":"BTC"}}"#,
            r#"{"opt":"a string again"}"#,
        ],
    );
}

#[test]
fn roots_that_are_not_objects_give_what_a_whole_parse_gives() {
    assert_same(
        &["$.a", "$['a'][0]"],
        &[
            r#"[1,{"a":2}]"#,
            r#""a""#,
            "3",
            "null",
            r#"{"a":[7]}"#,
            "[]",
            "true",
        ],
    );
}

#[test]
fn serde_json_raw_value_keys_read_as_a_whole_parse_reads_them() {
    let key = super::RAW_VALUE_KEY;
    assert_same(
        &["$.a", "$.b"],
        &[
            &format!(r#"{{"{key}":"{{\"a\":1}}"}}"#),
            &format!(r#"{{"a":{{"{key}":"[1,2]"}},"b":2}}"#),
            &format!(r#"{{"a":1,"{key}":"x"}}"#),
            r#"{"a":2}"#,
        ],
    );
    // Where the whole parse fails on it, the partial one fails alike.
    let mut partial = Partial::for_paths(&paths(&["$.a"]));
    let text = format!(r#"{{"x":{{"{key}":5}},"a":1}}"#);
    assert_eq!(
        partial.parse(&text).unwrap_err().to_string(),
        serde_json::from_str::<Value>(&text)
            .unwrap_err()
            .to_string()
    );
}

#[test]
fn texts_a_whole_parse_refuses_are_refused_with_the_same_error() {
    let deep = format!(
        r#"{{"a":1,"skipped":{}{}}}"#,
        "[".repeat(200),
        "]".repeat(200)
    );
    let bad = [
        "",
        "{",
        r#"{"a":1"#,
        r#"{"a":1} x"#,
        r#"{"a":1,}"#,
        r#"{"skipped":[1,2,],"a":1}"#,
        r#"{"skipped":"\ud800","a":1}"#,
        r#"{"skipped":"\x","a":1}"#,
        "{\"skipped\":\"a\u{1}b\",\"a\":1}",
        r#"{"skipped":01,"a":1}"#,
        r#"{"skipped":1e,"a":1}"#,
        r#"{"a":"\ud800"}"#,
        r#"{"a":[1,2}"#,
        r#"{"a":1e999999999999999999}"#,
        r#"{"skipped":-,"a":1}"#,
        r#"{1:2}"#,
        r#"[1,2,{"a":}]"#,
        deep.as_str(),
    ];
    let mut partial = Partial::for_paths(&paths(&["$.a"]));
    for text in bad {
        let whole = serde_json::from_str::<Value>(text).unwrap_err().to_string();
        let err = partial.parse(text).unwrap_err().to_string();
        assert_eq!(err, whole, "{text}");
        // A refused text leaves nothing of itself: nothing is selected until the next one.
        assert_eq!(partial.select(&paths(&["$.a"])[0]), None);
        assert_eq!(partial.doc(), &Value::Null);
        partial.parse(r#"{"b":1}"#).unwrap();
        assert_eq!(partial.doc(), &serde_json::json!({}));
    }
}

/// Every document of the RFC 9535 compliance suite under every valid query of it: the queries
/// that read one member as they are, and every query below a member of a wrapping object
/// (`$[0]` as `$.wrap[0]` over `{"skipped": …, "wrap": doc, "after": …}`), the documents
/// serialized compactly and pretty-printed.
#[test]
fn the_compliance_suite_finds_the_same_nodes_in_partial_and_whole_parses() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/jsonpath-cts/cts.json"
    ))
    .unwrap();
    let suite: Value = serde_json::from_str(&text).unwrap();
    let (mut direct, mut wrapped) = (0, 0);
    let compare = |path: &JsonPath, doc: &Value| {
        for text in [
            serde_json::to_string(doc).unwrap(),
            serde_json::to_string_pretty(doc).unwrap(),
        ] {
            let mut partial = Partial::for_paths([path]);
            partial.parse(&text).unwrap();
            assert_eq!(
                found(path, partial.doc()),
                whole(path, &text),
                "{path} in {text}"
            );
        }
    };
    for case in suite["tests"].as_array().unwrap() {
        let selector = case["selector"].as_str().unwrap();
        if case["invalid_selector"] == Value::Bool(true) {
            continue;
        }
        let doc = &case["document"];
        let path = JsonPath::parse(selector).unwrap();
        if path.member().is_some() {
            compare(&path, doc);
            direct += 1;
        }
        let below = JsonPath::parse(&format!("$.wrap{}", &selector[1..])).unwrap();
        if below.member().is_some() {
            let wrapper =
                serde_json::json!({"skipped": doc, "wrap": doc, "after": [doc, {"wrap": 1}]});
            compare(&below, &wrapper);
            wrapped += 1;
        }
    }
    assert!(direct >= 20, "only {direct} queries read one member");
    assert!(
        wrapped > 400,
        "only {wrapped} queries compared below a member"
    );
}

/// A small deterministic generator (xorshift), for the mutation test below.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Texts near JSON, made by editing JSON texts one character at a time with the characters
/// JSON's grammar turns on: the quick scan must never accept one serde_json refuses, and a
/// parse must give what a whole parse gives, or fail with its error.
#[test]
fn mutated_texts_are_judged_as_a_whole_parse_judges_them() {
    let seeds = [
        r#"{"e":"trade","E":1732460000123,"s":"BTCUSDT","t":4221990001,"p":"97012.34000000","q":"0.00010000","T":1732460000122,"m":true,"M":true}"#,
        r#"{"data":{"s":"BTC","x":[1,-2.5e3,{"y":null}]},"items":[{"id":1},{"id":"2"}],"opt":false}"#,
        r#"{ "a" : [ 0 , -0 , 1E2 , "x\"y\\u00e9" ] , "b" : { } , "c" : [ ] , "e" : "\ud83d\ude00" }"#,
        r#"[{"e":1},2]"#,
    ];
    let alphabet: Vec<char> = "{}[]\",:\\0123456789-+.eEtrufalsn \n\t\u{1}éxyd"
        .chars()
        .collect();
    let paths = paths(&[
        "$.e",
        "$.data.s",
        "$.items[*].id",
        "$.a[3]",
        "$.opt",
        "$.b",
        "$.c",
    ]);
    let names = Names::new(
        ["e", "data", "items", "a", "opt", "b", "c"]
            .iter()
            .map(|n| (*n).into())
            .collect(),
    );
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut partial = Partial::for_paths(&paths);
    let mut ranges = vec![scan::Found::default(); 7];
    let (mut accepted, mut refused, mut scanned) = (0, 0, 0);
    for round in 0..20_000 {
        let mut chars: Vec<char> = seeds[round % seeds.len()].chars().collect();
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(chars.len() + 1);
            let c = alphabet[rng.below(alphabet.len())];
            match rng.below(3) {
                0 => chars.insert(at, c),
                1 if at < chars.len() => {
                    chars.remove(at);
                }
                _ if at < chars.len() => chars[at] = c,
                _ => chars.push(c),
            }
        }
        let text: String = chars.into_iter().collect();
        let whole = serde_json::from_str::<Value>(&text);
        if scan::members(&text, &names, &mut ranges).is_some() {
            assert!(
                whole.is_ok(),
                "the scan accepted what serde_json refuses: {text}"
            );
            scanned += 1;
        }
        match (whole, partial.parse(&text)) {
            (Err(w), Err(p)) => {
                assert_eq!(p.to_string(), w.to_string(), "{text}");
                refused += 1;
            }
            (Ok(full), Ok(())) => {
                for path in &paths {
                    if let Some(node) = partial.select(path) {
                        assert_eq!(node, path.walk(&full).unwrap(), "{path} in {text}");
                    }
                }
                let doc = partial.doc().clone();
                for path in &paths {
                    assert_eq!(found(path, &doc), found(path, &full), "{path} in {text}");
                }
                accepted += 1;
            }
            (w, p) => panic!("{text}: whole {w:?}, partial {p:?}"),
        }
    }
    assert!(
        accepted > 1_000 && refused > 1_000 && scanned > 1_000,
        "{accepted} accepted ({scanned} by the scan), {refused} refused"
    );
}
