use super::checks::{Checks, PathCheck};
use super::sequence::Property;
use super::*;

fn facts(lines: &[&str]) -> Facts {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    Facts::of(&Recording::parse(&text, "t.jsonl").expect("a recording"))
}

fn matchers(checks: &Checks) -> Vec<(&str, &str)> {
    checks
        .json
        .iter()
        .map(|PathCheck { path, matcher, .. }| (path.as_str(), matcher.as_str()))
        .collect()
}

/// Six messages with a constant, a varying integer, a numeric string, an enum, a nested object
/// and an optional field.
const MIXED: [&str; 6] = [
    r#"{"type":"trade","id":1,"price":"10.50","side":"buy","book":{"venue":"x","depth":3},"note":"hi"}"#,
    r#"{"type":"trade","id":2,"price":"11.25","side":"sell","book":{"venue":"x","depth":5}}"#,
    r#"{"type":"trade","id":3,"price":"9.00","side":"buy","book":{"venue":"x","depth":4}}"#,
    r#"{"type":"trade","id":4,"price":"10.75","side":"buy","book":{"venue":"x","depth":1}}"#,
    r#"{"type":"trade","id":5,"price":"12.00","side":"sell","book":{"venue":"x","depth":9}}"#,
    r#"{"type":"trade","id":6,"price":"10.10","side":"buy","book":{"venue":"x","depth":2}}"#,
];

#[test]
fn each_kind_of_field_gets_its_matcher_in_the_order_received() {
    let f = facts(&MIXED);
    assert_eq!((f.messages, f.json), (6, 6));
    let checks = Checks::of(&f);
    assert_eq!(
        matchers(&checks),
        [
            ("$.type", "trade"),
            ("$.id", "{ type: integer }"),
            ("$.price", r"{ matches: '^\d+\.\d{2}$', gt: 0 }"),
            ("$.side", "{ in: [buy, sell] }"),
            ("$.book.venue", "x"),
            ("$.book.depth", "{ type: integer }"),
        ]
    );
    assert_eq!(checks.json[0].why, "the same in all 6 messages");
    assert_eq!(
        checks.json[3].why,
        "only these values: \"buy\" ×4, \"sell\" ×2"
    );
    assert_eq!(checks.unchecked.len(), 1);
    assert_eq!(checks.unchecked[0].path, "$.note");
    assert_eq!(checks.unchecked[0].why, "not in every message (in 1 of 6)");
    let stream: Vec<(&str, Property)> = checks
        .stream
        .iter()
        .map(|s| (s.path.as_str(), s.property))
        .collect();
    assert_eq!(stream, [("$.id", Property::Consecutive)]);
}

#[test]
fn numeric_strings_get_a_pattern_from_their_decimals_and_a_bound_from_their_sign() {
    let check = |values: &[&str]| {
        let lines: Vec<String> = values
            .iter()
            .map(|v| format!("{{\"v\":\"{v}\"}}"))
            .collect();
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        Checks::of(&facts(&lines)).json[0].matcher.clone()
    };
    assert_eq!(check(&["1", "22", "333"]), r"{ matches: '^\d+$', gt: 0 }");
    assert_eq!(
        check(&["1.5", "0.25", "3.125"]),
        r"{ matches: '^\d+\.\d+$', gt: 0 }"
    );
    assert_eq!(
        check(&["0", "1.5", "2"]),
        r"{ matches: '^\d+(\.\d+)?$', gte: 0 }"
    );
    assert_eq!(
        check(&["-1.50", "2.00", "0.10"]),
        r"{ matches: '^-?\d+\.\d{2}$' }"
    );
    assert_eq!(check(&["1.5", "n/a", "2"]), "{ type: string }");
}

#[test]
fn arrays_check_their_items_and_mixed_types_are_left_to_the_snapshot() {
    let f = facts(&[
        r#"{"bids":[["1.5","2"],["1.4","3"]],"tags":[],"x":null,"at":[{"k":1}]}"#,
        r#"{"bids":[["1.6","1"]],"tags":["a"],"x":"s","at":[{"k":2},{"k":3,"j":true}]}"#,
    ]);
    let checks = Checks::of(&f);
    assert_eq!(
        matchers(&checks),
        [
            ("$.bids[*][*]", r"{ matches: '^\d+(\.\d+)?$', gt: 0 }"),
            ("$.tags", "{ type: array }"),
            ("$.at[*].k", "{ type: integer }"),
        ]
    );
    let unchecked: Vec<(&str, &str)> = checks
        .unchecked
        .iter()
        .map(|u| (u.path.as_str(), u.why.as_str()))
        .collect();
    assert_eq!(
        unchecked,
        [
            ("$.tags[*]", "not in every message (in 1 of 2)"),
            ("$.x", "several types: null | string"),
            ("$.at[*].j", "not in every message (in 1 of 2)"),
        ]
    );
}

#[test]
fn odd_keys_are_quoted_in_paths_and_non_json_messages_get_no_field_checks() {
    let f = facts(&[r#"{"a b":1,"it's":2}"#, r#"{"a b":1,"it's":3}"#]);
    let checks = Checks::of(&f);
    let paths: Vec<&str> = checks.json.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(paths, ["$['a b']", r"$['it\'s']"]);

    let f = facts(&[
        r#"{"json":{"a":1}}"#,
        r#"{"text":"hello"}"#,
        r#"{"binary":"AQID"}"#,
    ]);
    assert_eq!((f.messages, f.json, f.binary), (3, 1, 1));
    assert_eq!(Checks::of(&f), Checks::default());
}

#[test]
fn one_message_proves_no_constant_and_no_order() {
    let f = facts(&[r#"{"e":"trade","t":7}"#]);
    let checks = Checks::of(&f);
    assert_eq!(
        matchers(&checks),
        [("$.e", "{ type: string }"), ("$.t", "{ type: integer }")]
    );
    assert!(checks.stream.is_empty());
}
