//! Matchers: parsing, resolving and evaluating, on values and bytes.

use super::*;
use crate::template::Scope;
use serde_json::json;

fn m(yaml: Value) -> Resolved {
    Matcher::from_value(yaml)
        .unwrap()
        .resolve(&Scope::default())
        .unwrap()
}

fn ok(matcher: Value, v: Value) -> bool {
    m(matcher).mismatch(Subject::Json(&v)).is_none()
}

#[test]
fn plain_values_mean_equality_including_null() {
    assert!(ok(json!("trade"), json!("trade")));
    assert!(!ok(json!("trade"), json!("kline")));
    assert!(ok(json!(null), json!(null)));
    assert!(!ok(json!(null), json!(0)));
    assert!(ok(json!(1), json!(1.0)));
}

#[test]
fn numeric_strings_compare_as_numbers() {
    assert!(ok(json!({"gt": 0}), json!("97012.34000000")));
    assert!(!ok(json!({"lt": 100}), json!("97012.34000000")));
    assert!(ok(json!({"gte": "10", "lte": 10}), json!(10)));
    assert!(ok(json!(97012.34), json!("97012.34000000")));
}

#[test]
fn large_integers_compare_exactly() {
    assert!(ok(
        json!({"gt": 9007199254740992u64}),
        json!(9007199254740993u64)
    ));
}

#[test]
fn every_key_of_one_matcher_must_hold() {
    let r = Matcher::from_entries(vec![
        ("matches".into(), json!("^\\d+\\.\\d+$")),
        ("gt".into(), json!(0)),
    ])
    .unwrap()
    .resolve(&Scope::default())
    .unwrap();
    assert!(r.mismatch(Subject::Json(&json!("1.5"))).is_none());
    assert_eq!(
        r.mismatch(Subject::Json(&json!("0.0"))).as_deref(),
        Some("gt 0")
    );
    assert_eq!(
        r.mismatch(Subject::Json(&json!("abc"))).as_deref(),
        Some("matches /^\\d+\\.\\d+$/")
    );
}

#[test]
fn type_contains_len_in_ne_and_not() {
    assert!(ok(json!({"type": "integer"}), json!(5)));
    assert!(!ok(json!({"type": "integer"}), json!(5.5)));
    assert!(ok(json!({"type": "number"}), json!(5)));
    assert!(ok(json!({"contains": "USD"}), json!("BTCUSDT")));
    assert!(ok(json!({"contains": 2}), json!([1, 2, 3])));
    assert!(ok(json!({"contains": "a"}), json!({"a": 1})));
    assert!(ok(json!({"len": 3}), json!([1, 2, 3])));
    assert!(ok(json!({"len": {"gt": 2}}), json!("abcd")));
    assert!(ok(json!({"in": ["BTCUSDT", "ETHUSDT"]}), json!("ETHUSDT")));
    assert!(!ok(json!({"in": ["BTCUSDT"]}), json!("XRP")));
    assert!(ok(json!({"ne": "x"}), json!("y")));
    assert!(ok(json!({"not": {"contains": "x"}}), json!("yyy")));
}

#[test]
fn unknown_matcher_keys_suggest_the_closest() {
    let err = Matcher::from_value(json!({"gtt": 1})).unwrap_err();
    assert!(
        err.starts_with("unknown matcher `gtt` (did you mean `gt`?)"),
        "{err}"
    );
    let err = Matcher::from_value(json!({"type": "int"})).unwrap_err();
    assert!(err.contains("unknown type `int`"), "{err}");
}

#[test]
fn binary_matchers_use_length_and_base64() {
    let r = m(json!({"len": 3}));
    assert!(r.mismatch(Subject::Bytes(&[1, 2, 3])).is_none());
    let r = m(json!({"eq": "AQID"}));
    assert!(r.mismatch(Subject::Bytes(&[1, 2, 3])).is_none());
    assert!(r.mismatch(Subject::Bytes(&[1, 2])).is_some());
}
