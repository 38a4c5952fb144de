//! The official RFC 9535 JSONPath compliance suite (tests/data/jsonpath-cts), run through
//! wsrun's JSONPath layer, fast path included: every one of its cases must pass.

use serde_json::Value;
use wsrun::JsonPath;

fn cases() -> Vec<Value> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/jsonpath-cts/cts.json"
    ))
    .expect("read the compliance suite");
    let suite: Value = serde_json::from_str(&text).expect("parse the compliance suite");
    suite["tests"].as_array().expect("a `tests` array").clone()
}

fn check(case: &Value) -> Result<(), String> {
    let name = case["name"].as_str().unwrap_or("?");
    let selector = case["selector"].as_str().ok_or("no selector")?;
    let parsed = JsonPath::parse(selector);
    if case["invalid_selector"] == Value::Bool(true) {
        return match parsed {
            Ok(_) => Err(format!("{name}: `{selector}` is invalid but was accepted")),
            Err(_) => Ok(()),
        };
    }
    let path = parsed.map_err(|e| format!("{name}: `{selector}` rejected: {e}"))?;
    let doc = &case["document"];
    let got: Vec<Value> = path.query(doc).into_iter().cloned().collect();
    let located: Vec<String> = path
        .query_located(doc)
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    let mut for_each = Vec::new();
    path.for_each(doc, |v| {
        for_each.push(v.clone());
        true
    });
    if got != for_each {
        return Err(format!("{name}: query and for_each disagree"));
    }
    let expected: Vec<(Vec<Value>, Vec<Value>)> = match case.get("result") {
        Some(r) => vec![(
            r.as_array().cloned().unwrap_or_default(),
            case["result_paths"].as_array().cloned().unwrap_or_default(),
        )],
        None => case["results"]
            .as_array()
            .into_iter()
            .flatten()
            .zip(case["results_paths"].as_array().into_iter().flatten())
            .map(|(r, p)| {
                (
                    r.as_array().cloned().unwrap_or_default(),
                    p.as_array().cloned().unwrap_or_default(),
                )
            })
            .collect(),
    };
    let located: Vec<Value> = located.into_iter().map(Value::String).collect();
    if expected.iter().any(|(r, p)| *r == got && *p == located) {
        Ok(())
    } else {
        Err(format!(
            "{name}: `{selector}` gave {got:?} at {located:?}, expected one of {expected:?}"
        ))
    }
}

#[test]
fn every_rfc9535_compliance_case_passes() {
    let cases = cases();
    assert_eq!(cases.len(), 703, "the suite has 703 cases");
    let failures: Vec<String> = cases.iter().filter_map(|c| check(c).err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
