//! Every matcher, passing and failing, through the real `wsrun` binary: a `text_server` sends a
//! crafted JSON message and one `expect` checks it.

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;
mod common;

use cli::{Run, Workspace};

/// A Binance-format trade with a few extra fields to match against.
const MSG: &str = r#"{"e":"trade","E":1732460000123,"s":"BTCUSDT","t":4221990001,"p":"97012.34000000","q":"0.00120000","m":true,"M":false,"f":2.5,"z":null,"tags":["spot","btc","usdt"],"items":[{"id":1},{"id":5},{"id":2}],"o":{"k":1,"name":"x"},"empty":[]}"#;

/// Runs one `expect` whose `json:` block is `checks` (YAML lines indented by 12 spaces are
/// added) against a server that sends `message`.
fn expect_json(message: &str, checks: &str) -> Run {
    let server = common::text_server(vec![message.to_owned()]);
    let url = server.url();
    let mut yaml = format!(
        "requests:\n  - name: matchers\n    url: {url}\n    timeout: 2s\n    steps:\n      - expect:\n          json:\n"
    );
    for line in checks.trim().lines() {
        yaml.push_str("            ");
        yaml.push_str(line.trim());
        yaml.push('\n');
    }
    let run = Workspace::new().run_collection(&yaml, &[]);
    Run {
        code: run.code,
        stdout: run.stdout.replace(&url, "ws://SERVER"),
        stderr: run.stderr.replace(&url, "ws://SERVER"),
    }
}

/// `expect_json` on [`MSG`].
fn check(checks: &str) -> Run {
    expect_json(MSG, checks)
}

#[track_caller]
fn assert_passes(checks: &str) {
    let run = check(checks);
    assert_eq!(
        run.code,
        0,
        "expected `{checks}` to pass:\n{}",
        run.output()
    );
    assert!(run.stdout.contains("✓ matchers"), "{}", run.output());
}

/// Asserts the run failed at step 1 (line 6) and the failure block holds every `needle`.
#[track_caller]
fn assert_fails(checks: &str, needles: &[&str]) -> Run {
    let run = check(checks);
    assert_eq!(
        run.code,
        1,
        "expected `{checks}` to fail:\n{}",
        run.output()
    );
    assert!(
        run.stdout
            .contains("✗ matchers\n      step 1 expect c.yaml:6"),
        "{}",
        run.output()
    );
    for needle in needles {
        assert!(
            run.stdout.contains(needle),
            "expected {needle:?} for `{checks}`:\n{}",
            run.output()
        );
    }
    run
}

// ---------------------------------------------------------------------------------------------
// Equality
// ---------------------------------------------------------------------------------------------

#[test]
fn plain_values_mean_equality_for_strings_numbers_booleans_and_null() {
    assert_passes(
        r#"
        $.e: trade
        $.t: 4221990001
        $.f: 2.5
        $.m: true
        $.M: false
        $.z: null
        $.p: "97012.34000000"
        "#,
    );
}

#[test]
fn plain_equality_fails_naming_path_expected_and_actual() {
    let run = assert_fails(
        "$.s: ETHUSDT",
        &[
            "$.s does not match",
            "path      $.s",
            "expected  \"ETHUSDT\"",
            "actual    \"BTCUSDT\"",
        ],
    );
    insta::assert_snapshot!(run.output());
}

#[test]
fn null_equality_fails_on_a_value_that_is_not_null() {
    assert_fails("$.t: null", &["expected  null", "actual    4221990001"]);
    assert_fails("$.z: 0", &["expected  0", "actual    null"]);
}

#[test]
fn eq_compares_numbers_by_value() {
    assert_passes("$.t: {eq: 4221990001}");
    assert_passes("$.f: {eq: 2.50}");
    assert_passes("$.o.k: {eq: 1.0}");
}

#[test]
fn eq_compares_objects_and_arrays_whole() {
    assert_passes(
        r#"
        $.o: {eq: {k: 1, name: x}}
        $.tags: {eq: [spot, btc, usdt]}
        $.empty: {eq: []}
        "#,
    );
    assert_fails(
        "$.tags: {eq: [spot, btc]}",
        &[
            "$.tags does not match",
            "actual    [\"spot\",\"btc\",\"usdt\"]",
        ],
    );
}

#[test]
fn eq_fails_naming_expected_and_actual() {
    assert_fails(
        "$.t: {eq: 4221990002}",
        &["expected  4221990002", "actual    4221990001"],
    );
}

#[test]
fn ne_passes_on_a_different_value_and_fails_on_the_same() {
    assert_passes("$.s: {ne: ETHUSDT}");
    assert_passes("$.z: {ne: 0}");
    assert_fails(
        "$.s: {ne: BTCUSDT}",
        &["expected  not \"BTCUSDT\"", "actual    \"BTCUSDT\""],
    );
}

// ---------------------------------------------------------------------------------------------
// exists
// ---------------------------------------------------------------------------------------------

#[test]
fn exists_true_passes_on_present_paths_even_when_null() {
    assert_passes(
        r#"
        $.o.k: {exists: true}
        $.z: {exists: true}
        "#,
    );
}

#[test]
fn exists_true_fails_when_the_path_selects_nothing() {
    let run = assert_fails(
        "$.o.missing: {exists: true}",
        &[
            "$.o.missing selected nothing",
            "expected  to exist",
            "actual    (nothing)",
        ],
    );
    insta::assert_snapshot!(run.output());
}

#[test]
fn exists_false_passes_when_the_path_selects_nothing() {
    assert_passes("$.o.missing: {exists: false}");
    assert_passes("$.items[?@.id > 100]: {exists: false}");
}

#[test]
fn exists_false_fails_naming_the_value_that_is_there() {
    let run = assert_fails(
        "$.o.k: {exists: false}",
        &[
            "$.o.k should not exist",
            "expected  not to exist",
            "actual    1",
        ],
    );
    insta::assert_snapshot!(run.output());
}

#[test]
fn a_path_that_selects_nothing_fails_a_plain_equality() {
    assert_fails(
        "$.nope: 1",
        &[
            "$.nope selected nothing",
            "expected  1",
            "actual    (nothing)",
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// type
// ---------------------------------------------------------------------------------------------

#[test]
fn type_matches_every_json_type() {
    assert_passes(
        r#"
        $.s: {type: string}
        $.f: {type: number}
        $.t: {type: number}
        $['t']: {type: integer}
        $.E: {type: integer}
        $.m: {type: boolean}
        $.z: {type: "null"}
        $.tags: {type: array}
        $.o: {type: object}
        "#,
    );
}

#[test]
fn type_integer_fails_on_a_fraction() {
    assert_fails(
        "$.f: {type: integer}",
        &[
            "$.f does not match",
            "expected  type integer",
            "actual    2.5",
        ],
    );
}

#[test]
fn type_fails_on_each_wrong_type() {
    for (check, actual) in [
        ("$.p: {type: number}", "actual    \"97012.34000000\""),
        ("$.t: {type: string}", "actual    4221990001"),
        ("$.m: {type: string}", "actual    true"),
        ("$.z: {type: object}", "actual    null"),
        ("$.o: {type: array}", "actual    {\"k\":1,\"name\":\"x\"}"),
        (
            "$.tags: {type: object}",
            "actual    [\"spot\",\"btc\",\"usdt\"]",
        ),
        ("$.s: {type: boolean}", "actual    \"BTCUSDT\""),
        ("$.s: {type: \"null\"}", "actual    \"BTCUSDT\""),
    ] {
        let expected_type = check
            .split("type: ")
            .nth(1)
            .map(|t| t.trim_end_matches('}').trim_matches('"'))
            .unwrap_or_default();
        assert_fails(check, &[&format!("expected  type {expected_type}"), actual]);
    }
}

#[test]
fn type_null_written_plainly_matches_null() {
    assert_passes("$.z: {type: null}");
}

// ---------------------------------------------------------------------------------------------
// matches
// ---------------------------------------------------------------------------------------------

#[test]
fn matches_tests_a_regex_against_a_string() {
    assert_passes(
        r#"
        $.p: {matches: '^\d+\.\d{8}$'}
        $.s: {matches: 'USDT$'}
        $.e: {matches: '^tr'}
        "#,
    );
}

#[test]
fn matches_fails_naming_the_regex() {
    let run = assert_fails(
        "$.s: {matches: '^ETH'}",
        &["expected  matches /^ETH/", "actual    \"BTCUSDT\""],
    );
    insta::assert_snapshot!(run.output());
}

// ---------------------------------------------------------------------------------------------
// gt / gte / lt / lte
// ---------------------------------------------------------------------------------------------

#[test]
fn comparisons_work_on_numbers() {
    // A path may appear once per `json:` map, so the bracket spelling checks it again.
    assert_passes(
        r#"
        $.t: {gt: 4221990000, lt: 4221990002}
        $['t']: {gte: 4221990001, lte: 4221990001}
        $.f: {gt: 2, lt: 3}
        $['f']: {gte: 2.5, lte: 2.5}
        "#,
    );
}

#[test]
fn comparisons_fail_on_numbers_at_the_edge() {
    assert_fails("$.f: {gt: 2.5}", &["expected  gt 2.5", "actual    2.5"]);
    assert_fails("$.f: {lt: 2.5}", &["expected  lt 2.5", "actual    2.5"]);
    assert_fails("$.f: {gte: 2.6}", &["expected  gte 2.6", "actual    2.5"]);
    assert_fails("$.f: {lte: 2.4}", &["expected  lte 2.4", "actual    2.5"]);
}

#[test]
fn comparisons_read_binance_price_strings_as_numbers() {
    assert_passes(
        r#"
        $.p: {gt: 0}
        $['p']: {gt: 97000, lt: 97100}
        $["p"]: {gte: 97012.34, lte: 97012.34}
        $.q: {gt: 0.001, lt: 0.01}
        $..p: {gt: "97000.5"}
        "#,
    );
}

#[test]
fn comparisons_on_binance_price_strings_fail_at_the_edge() {
    let run = assert_fails(
        "$.p: {gt: 97012.34}",
        &["expected  gt 97012.34", "actual    \"97012.34000000\""],
    );
    insta::assert_snapshot!(run.output());
    assert_fails(
        "$.q: {lte: 0.0011}",
        &["expected  lte 0.0011", "actual    \"0.00120000\""],
    );
}

#[test]
fn comparing_a_string_that_is_not_a_number_with_a_number_fails() {
    assert_fails("$.s: {gt: 1}", &["expected  gt 1", "actual    \"BTCUSDT\""]);
    assert_fails("$.z: {lt: 1}", &["expected  lt 1", "actual    null"]);
}

#[test]
fn all_keys_of_one_matcher_must_hold() {
    assert_passes("$.t: {type: integer, gt: 0, ne: 5}");
    assert_fails(
        "$.f: {type: number, gt: 1, lt: 2}",
        &["$.f does not match", "expected  lt 2", "actual    2.5"],
    );
}

// ---------------------------------------------------------------------------------------------
// contains, len, in
// ---------------------------------------------------------------------------------------------

#[test]
fn contains_finds_a_substring_or_an_array_item() {
    assert_passes(
        r#"
        $.s: {contains: USD}
        $.tags: {contains: btc}
        "#,
    );
}

#[test]
fn contains_fails_on_a_missing_substring_or_item() {
    assert_fails(
        "$.s: {contains: ETH}",
        &["expected  contains \"ETH\"", "actual    \"BTCUSDT\""],
    );
    let run = assert_fails(
        "$.tags: {contains: eth}",
        &[
            "expected  contains \"eth\"",
            "actual    [\"spot\",\"btc\",\"usdt\"]",
        ],
    );
    insta::assert_snapshot!(run.output());
}

#[test]
fn len_checks_the_length_of_arrays_strings_and_objects() {
    assert_passes(
        r#"
        $.tags: {len: 3}
        $.empty: {len: 0}
        $.s: {len: 7}
        $.o: {len: 2}
        "#,
    );
}

#[test]
fn len_fails_on_a_different_length() {
    assert_fails(
        "$.tags: {len: 2}",
        &["expected  len 2", "actual    [\"spot\",\"btc\",\"usdt\"]"],
    );
}

#[test]
fn len_takes_a_nested_matcher() {
    assert_passes(
        r#"
        $.tags: {len: {gt: 2}}
        $.items: {len: {gte: 3, lte: 3}}
        $.s: {len: {lt: 10}}
        "#,
    );
}

#[test]
fn len_with_a_nested_matcher_fails_naming_it() {
    let run = assert_fails(
        "$.tags: {len: {gt: 3}}",
        &[
            "expected  len gt 3",
            "actual    [\"spot\",\"btc\",\"usdt\"]",
        ],
    );
    insta::assert_snapshot!(run.output());
}

#[test]
fn in_passes_when_the_value_is_one_of_the_list() {
    assert_passes(
        r#"
        $.s: {in: [ETHUSDT, BTCUSDT]}
        $.t: {in: [1, 4221990001]}
        $.z: {in: [0, null]}
        "#,
    );
}

#[test]
fn in_fails_listing_the_options() {
    let run = assert_fails(
        "$.s: {in: [ETHUSDT, BNBUSDT]}",
        &[
            "expected  one of [\"ETHUSDT\", \"BNBUSDT\"]",
            "actual    \"BTCUSDT\"",
        ],
    );
    insta::assert_snapshot!(run.output());
}

// ---------------------------------------------------------------------------------------------
// Paths that select several nodes
// ---------------------------------------------------------------------------------------------

#[test]
fn every_selected_node_must_match() {
    assert_passes(
        r#"
        $.items[*].id: {type: integer, gt: 0}
        $.tags[*]: {type: string}
        "#,
    );
}

#[test]
fn every_node_must_match_and_the_failure_names_the_exact_node() {
    let run = assert_fails(
        "$.items[*].id: {lt: 3}",
        &["$['items'][1]['id']", "expected  lt 3", "actual    5"],
    );
    insta::assert_snapshot!(run.output());
}

#[test]
fn any_true_passes_when_one_node_matches() {
    assert_passes(
        r#"
        $.items[*].id: {gt: 4, any: true}
        $.tags[*]: {eq: usdt, any: true}
        "#,
    );
}

#[test]
fn any_true_fails_when_no_node_matches() {
    assert_fails(
        "$.items[*].id: {gt: 10, any: true}",
        &["no node of $.items[*].id matches", "expected  gt 10"],
    );
}

#[test]
fn any_true_failure_does_not_single_out_one_node() {
    let run = assert_fails(
        "$.items[*].id: {gt: 10, any: true}",
        &["no node of $.items[*].id matches"],
    );
    assert!(
        !run.stdout.contains("$['items'][0]['id']"),
        "{}",
        run.output()
    );
}

#[test]
fn filter_selectors_follow_rfc_9535() {
    assert_passes(
        r#"
        $.items[?@.id > 4].id: 5
        $.items[?@.id < 3].id: {lt: 3}
        $..k: 1
        $.tags[-1]: usdt
        $.tags[0:2]: {in: [spot, btc]}
        "#,
    );
}

#[test]
fn the_first_failing_path_of_several_is_reported() {
    let run = assert_fails(
        r#"
        $.e: trade
        $.s: ETHUSDT
        $.t: 0
        "#,
        &["$.s does not match"],
    );
    assert!(
        !run.stdout.contains("$.t does not match"),
        "{}",
        run.output()
    );
}

// ---------------------------------------------------------------------------------------------
// Big numbers: exact beyond 2^53, and shown as the server sent them
// ---------------------------------------------------------------------------------------------

/// Integers past 2^53 (where doubles start skipping) and past 2^64, as strings and as numbers.
const BIG: &str = r#"{"id":"9007199254740993","n":9007199254740993,"huge":"18446744073709551617","neg":"-18446744073709551617","dec":"0.30000000000000000001","exp":"1.5e3","big":12345678901234567890123}"#;

#[test]
fn numeric_strings_past_2_pow_53_compare_exactly() {
    let passes = [
        "$.id: 9007199254740993",
        "$.id: {gt: 9007199254740992}",
        "$.id: {lt: 9007199254740994}",
        "$.n: {eq: \"9007199254740993\"}",
        "$.n: {gt: \"9007199254740992\"}",
        "$.huge: {gt: \"18446744073709551616\", lt: \"18446744073709551618\"}",
        "$.huge: {gt: 18446744073709551615}",
        "$.neg: {lt: \"-18446744073709551616\"}",
        "$.dec: {gt: \"0.3\", lt: \"0.30000000000000000002\"}",
        "$.exp: {eq: 1500, gt: \"1499.9999999999999999999\"}",
    ];
    for checks in passes {
        let run = expect_json(BIG, checks);
        assert_eq!(
            run.code,
            0,
            "expected `{checks}` to pass:\n{}",
            run.output()
        );
    }
    let fails = [
        ("$.id: 9007199254740992", "expected  9007199254740992"),
        (
            "$.n: {eq: \"9007199254740992\"}",
            "expected  \"9007199254740992\"",
        ),
        (
            "$.id: {lte: 9007199254740992}",
            "expected  lte 9007199254740992",
        ),
        (
            "$.huge: {eq: \"18446744073709551616\"}",
            "actual    \"18446744073709551617\"",
        ),
        (
            "$.dec: {eq: \"0.3\"}",
            "actual    \"0.30000000000000000001\"",
        ),
    ];
    for (checks, needle) in fails {
        let run = expect_json(BIG, checks);
        assert_eq!(
            run.code,
            1,
            "expected `{checks}` to fail:\n{}",
            run.output()
        );
        assert!(
            run.stdout.contains(needle),
            "{needle:?} for `{checks}`:\n{}",
            run.output()
        );
    }
}

#[test]
fn a_big_integer_in_a_failure_is_shown_as_the_server_sent_it() {
    let run = expect_json(BIG, "$.big: 1");
    assert_eq!(run.code, 1, "{}", run.output());
    insta::assert_snapshot!(run.output(), @r#"
    c.yaml
      ✗ matchers
          step 1 expect c.yaml:6: $.big does not match
            path      $.big
            expected  1
            actual    12345678901234567890123
            message   {"id":"9007199254740993","n":9007199254740993,"huge":"18446744073709551617","neg":"-18446744073709551617","dec":"0.30000000000000000001","exp":"1.5e3","big":12345678901234567890123}

    1 request: 0 passed, 1 failed
    "#);
}
