//! Every step, passing and failing, through the real `wsrun` binary against loopback servers.
//!
//! Collections name their server `ws://SERVER`; the helpers put the real URL in before the run
//! and take it out of the output again, so snapshots do not depend on the random port.

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;
mod common;

use std::time::Duration;

use cli::{Run, Workspace};

/// The placeholder collections use for the test server's URL.
const SERVER: &str = "ws://SERVER";

/// `run` with every occurrence of the server URL replaced by `ws://SERVER`.
fn unserve(run: Run, url: &str) -> Run {
    Run {
        code: run.code,
        stdout: run.stdout.replace(url, SERVER),
        stderr: run.stderr.replace(url, SERVER),
    }
}

/// Writes `yaml` (with `ws://SERVER` → `url`) as `c.yaml` in `ws` and runs `wsrun c.yaml ARGS`.
fn run_in(ws: &Workspace, url: &str, yaml: &str, args: &[&str]) -> Run {
    unserve(ws.run_collection(&yaml.replace(SERVER, url), args), url)
}

/// Same, in a fresh workspace.
fn run(url: &str, yaml: &str, args: &[&str]) -> Run {
    run_in(&Workspace::new(), url, yaml, args)
}

#[track_caller]
fn assert_passed(run: &Run) {
    assert_eq!(run.code, 0, "expected a pass:\n{}", run.output());
    assert!(
        run.stderr.is_empty(),
        "nothing on stderr:\n{}",
        run.output()
    );
    assert!(
        !run.stdout.contains('✗'),
        "no failed request:\n{}",
        run.output()
    );
}

#[track_caller]
fn assert_failed(run: &Run, needle: &str) {
    assert_eq!(run.code, 1, "expected a failed request:\n{}", run.output());
    assert!(
        run.stdout.contains(needle),
        "expected {needle:?} in the output:\n{}",
        run.output()
    );
}

// ---------------------------------------------------------------------------------------------
// send and expect
// ---------------------------------------------------------------------------------------------

#[test]
fn send_text_comes_back_from_echo_and_expect_text_matches_it() {
    let server = common::echo();
    let r = run(
        &server.url(),
        r#"
requests:
  - name: echo text
    url: ws://SERVER
    steps:
      - send: {text: hello}
      - expect: {text: hello}
      - send: hello again
      - expect: {text: {matches: '^hello a'}}
"#,
        &[],
    );
    assert_passed(&r);
    assert!(r.stdout.contains("✓ echo text"), "{}", r.output());
    assert!(r.stdout.contains("1 request: 1 passed"), "{}", r.output());
}

#[test]
fn expect_text_fails_naming_expected_actual_and_the_message() {
    let server = common::echo();
    let r = run(
        &server.url(),
        r#"
requests:
  - name: echo text
    url: ws://SERVER
    steps:
      - send: {text: hello}
      - expect: {text: goodbye}
"#,
        &[],
    );
    assert_failed(&r, "step 2 expect c.yaml:7: the text does not match");
    insta::assert_snapshot!(r.output());
}

#[test]
fn send_json_comes_back_from_echo_and_expect_json_checks_each_path() {
    let server = common::echo();
    let r = run(
        &server.url(),
        r#"
requests:
  - name: echo json
    url: ws://SERVER
    steps:
      - send: {json: {a: 1, b: [true, null], s: "x y", o: {k: 2.5}}}
      - expect:
          json:
            $.a: 1
            $.b[0]: true
            $.b[1]: null
            $.s: x y
            $.o.k: 2.5
"#,
        &[],
    );
    assert_passed(&r);
}

#[test]
fn expect_json_fails_naming_the_path_expected_and_actual() {
    let server = common::echo();
    let r = run(
        &server.url(),
        r#"
requests:
  - name: echo json
    url: ws://SERVER
    steps:
      - send: {json: {a: 1, s: BTCUSDT}}
      - expect: {json: {$.a: 1, $.s: ETHUSDT}}
"#,
        &[],
    );
    assert_failed(&r, "step 2 expect c.yaml:7: $.s does not match");
    insta::assert_snapshot!(r.output());
}

#[test]
fn send_binary_comes_back_from_echo_and_expect_binary_checks_length_and_bytes() {
    let server = common::echo();
    let r = run(
        &server.url(),
        r#"
requests:
  - name: echo binary
    url: ws://SERVER
    steps:
      - send: {binary: AAEC/w==}
      - expect: {binary: {len: 4}}
      - send: {binary: AAEC/w==}
      - expect: {binary: {eq: AAEC/w==}}
      - send: {binary: AAEC/w==}
      - expect: {binary: {len: {gte: 4, lt: 5}}}
"#,
        &["-v"],
    );
    assert_passed(&r);
    assert!(
        r.stdout.contains("default → [binary] <4 bytes>")
            && r.stdout.contains("default ← [binary] <4 bytes>"),
        "{}",
        r.output()
    );
}

#[test]
fn expect_binary_fails_when_the_length_differs() {
    let server = common::echo();
    let r = run(
        &server.url(),
        r#"
requests:
  - name: echo binary
    url: ws://SERVER
    steps:
      - send: {binary: AAEC/w==}
      - expect: {binary: {len: 3}}
"#,
        &[],
    );
    assert_failed(
        &r,
        "step 2 expect c.yaml:7: the binary message does not match",
    );
    insta::assert_snapshot!(r.output());
}

#[test]
fn expect_binary_fails_when_the_bytes_differ() {
    let server = common::echo();
    let r = run(
        &server.url(),
        r#"
requests:
  - name: echo binary
    url: ws://SERVER
    steps:
      - send: {binary: AAEC/w==}
      - expect: {binary: {eq: AAEC}}
"#,
        &[],
    );
    assert_failed(&r, "the binary message does not match");
    assert!(r.stdout.contains("<4 bytes> AAEC/w=="), "{}", r.output());
}

#[test]
fn expect_binary_fails_when_a_text_message_arrives() {
    let server = common::text_server(vec!["hello".into()]);
    let r = run(
        &server.url(),
        r#"
requests:
  - name: wants bytes
    url: ws://SERVER
    steps:
      - expect: {binary: {len: 5}}
"#,
        &[],
    );
    assert_failed(&r, "expected a binary message, got a text one");
    assert!(r.stdout.contains("message   hello"), "{}", r.output());
}

#[test]
fn expect_text_and_json_fail_when_a_binary_message_arrives() {
    let server = common::binary_server(vec![vec![0, 1, 2, 255]]);
    let r = run(
        &server.url(),
        r#"
requests:
  - name: wants text
    url: ws://SERVER
    steps:
      - expect: {text: hi}
  - name: wants json
    url: ws://SERVER
    steps:
      - expect: {json: {$.a: 1}}
"#,
        &[],
    );
    assert_failed(&r, "expected a text message, got a binary one");
    assert!(
        r.stdout
            .contains("expected a JSON text message, got a binary one"),
        "{}",
        r.output()
    );
    assert!(r.stdout.contains("2 requests: 0 passed, 2 failed"));
}

#[test]
fn a_text_message_where_json_was_expected_fails_saying_it_is_not_json() {
    let server = common::text_server(vec!["hello there".into()]);
    let r = run(
        &server.url(),
        r#"
requests:
  - name: not json
    url: ws://SERVER
    steps:
      - expect: {json: {$.a: 1}}
"#,
        &[],
    );
    assert_failed(&r, "step 1 expect c.yaml:6: the message is not JSON");
    insta::assert_snapshot!(r.output());
}

#[test]
fn expect_takes_the_messages_in_the_order_they_arrived() {
    let server = common::text_server(vec!["one".into(), "two".into(), "three".into()]);
    let r = run(
        &server.url(),
        r#"
requests:
  - name: in order
    url: ws://SERVER
    steps:
      - sleep: 100ms
      - expect: {text: one}
      - expect: {text: two}
      - expect: {text: three}
"#,
        &[],
    );
    assert_passed(&r);
}

#[test]
fn expect_fails_on_the_first_message_even_if_a_later_one_would_match() {
    let server = common::text_server(vec!["one".into(), "two".into()]);
    let r = run(
        &server.url(),
        r#"
requests:
  - name: next only
    url: ws://SERVER
    steps:
      - expect: {text: two}
"#,
        &[],
    );
    assert_failed(&r, "the text does not match");
    assert!(r.stdout.contains("actual    \"one\""), "{}", r.output());
}

// ---------------------------------------------------------------------------------------------
// wait_for
// ---------------------------------------------------------------------------------------------

#[test]
fn wait_for_skips_messages_until_match() {
    let server = common::binance_stream(10, Duration::from_millis(5));
    let r = run(
        &server.url(),
        r#"
requests:
  - name: skip ahead
    url: ws://SERVER/ws/btcusdt@trade
    steps:
      - wait_for: {json: {$.t: 4221990005}}
      - expect: {json: {$.t: 4221990006}}
      - wait_for: {json: {$.t: {gte: 4221990009}}}
      - expect: {json: {$.t: 4221990010}}
"#,
        &[],
    );
    assert_passed(&r);
}

#[test]
fn wait_for_times_out_showing_why_the_last_skipped_message_did_not_match() {
    let server = common::text_server(vec![
        r#"{"s":"BTCUSDT","n":1}"#.into(),
        r#"{"s":"BNBUSDT","n":2}"#.into(),
    ]);
    let r = run(
        &server.url(),
        r#"
requests:
  - name: never comes
    url: ws://SERVER
    steps:
      - wait_for: {timeout: 300ms, json: {$.s: ETHUSDT}}
"#,
        &[],
    );
    assert_failed(&r, "no matching message within 300ms; 2 message(s) skipped");
    insta::assert_snapshot!(r.output());
}

#[test]
fn wait_for_timeout_is_not_extended_by_a_noisy_stream() {
    // 1000 trades 5ms apart: a per-message timeout would wait for the whole 5s stream and skip
    // all 1000; a timeout for the step as a whole gives up after ~60.
    let server = common::binance_stream(1000, Duration::from_millis(5));
    let r = run(
        &server.url(),
        r#"
requests:
  - name: noisy
    url: ws://SERVER
    steps:
      - wait_for: {timeout: 300ms, json: {$.s: ETHUSDT}}
"#,
        &[],
    );
    assert_failed(&r, "no matching message within 300ms; ");
    let skipped: u64 = r
        .stdout
        .split("within 300ms; ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a skipped count in:\n{}", r.output()));
    assert!(
        (1..1000).contains(&skipped),
        "skipped {skipped} messages:\n{}",
        r.output()
    );
}

#[test]
fn wait_for_on_a_silent_server_times_out() {
    let server = common::silent();
    let r = run(
        &server.url(),
        r#"
requests:
  - name: nothing at all
    url: ws://SERVER
    steps:
      - wait_for: {timeout: 200ms, json: {$.e: trade}}
"#,
        &[],
    );
    assert_failed(
        &r,
        "step 1 wait_for c.yaml:6: no matching message within 200ms",
    );
}

// ---------------------------------------------------------------------------------------------
// expect with count / within
// ---------------------------------------------------------------------------------------------

#[test]
fn expect_count_within_passes_when_the_stream_is_fast_enough() {
    let server = common::binance_stream(10, Duration::from_millis(10));
    let r = run(
        &server.url(),
        r#"
requests:
  - name: five trades
    url: ws://SERVER/ws/btcusdt@trade
    steps:
      - expect: {count: 5, within: 3s, json: {$.e: trade, $.p: {gt: 0}}}
      - expect: {json: {$.t: 4221990006}}
"#,
        &[],
    );
    assert_passed(&r);
}

#[test]
fn expect_count_within_fails_when_the_window_is_too_short_for_a_slow_stream() {
    // One trade at once, the next a second later: a 300ms window sees only the first.
    let server = common::binance_stream(5, Duration::from_secs(1));
    let r = run(
        &server.url(),
        r#"
requests:
  - name: slow stream
    url: ws://SERVER
    steps:
      - expect: {count: 3, within: 300ms, json: {$.e: trade}}
"#,
        &[],
    );
    assert_failed(
        &r,
        "step 1 expect c.yaml:6: received 1 of 3 messages within 300ms",
    );
    insta::assert_snapshot!(r.output());
}

#[test]
fn expect_count_fails_naming_which_message_did_not_match() {
    let server = common::text_server(vec![
        r#"{"n":0}"#.into(),
        r#"{"n":1}"#.into(),
        r#"{"n":7}"#.into(),
    ]);
    let r = run(
        &server.url(),
        r#"
requests:
  - name: third is off
    url: ws://SERVER
    steps:
      - expect: {count: 3, within: 2s, json: {$.n: {lt: 5}}}
"#,
        &[],
    );
    assert_failed(&r, "message 3 of 3: $.n does not match");
    assert!(r.stdout.contains("actual    7"), "{}", r.output());
}

#[test]
fn expect_count_fails_when_the_server_closes_before_enough_messages() {
    let server = common::closer(4001, "bye now", 2);
    let r = run(
        &server.url(),
        r#"
requests:
  - name: too few
    url: ws://SERVER
    steps:
      - expect: {count: 3, within: 2s}
"#,
        &[],
    );
    assert_failed(
        &r,
        r#"the server closed the connection (code 4001, reason "bye now"); received 2 of 3 messages"#,
    );
}

// ---------------------------------------------------------------------------------------------
// no_message
// ---------------------------------------------------------------------------------------------

#[test]
fn no_message_passes_on_a_silent_server() {
    let server = common::silent();
    let r = run(
        &server.url(),
        r#"
requests:
  - name: quiet please
    url: ws://SERVER
    steps:
      - no_message: {within: 200ms}
      - no_message: 100ms
"#,
        &[],
    );
    assert_passed(&r);
}

#[test]
fn no_message_fails_when_a_message_arrives() {
    let server = common::text_server(vec![r#"{"surprise":true}"#.into()]);
    let r = run(
        &server.url(),
        r#"
requests:
  - name: quiet please
    url: ws://SERVER
    steps:
      - no_message: {within: 300ms}
"#,
        &[],
    );
    assert_failed(
        &r,
        "step 1 no_message c.yaml:6: expected no message for 300ms, but one arrived",
    );
    insta::assert_snapshot!(r.output());
}

// ---------------------------------------------------------------------------------------------
// capture and templates
// ---------------------------------------------------------------------------------------------

#[test]
fn capture_then_use_in_a_later_expect() {
    let server = common::binance_stream(5, Duration::from_millis(5));
    let r = run(
        &server.url(),
        r#"
requests:
  - name: ids grow
    url: ws://SERVER/ws/btcusdt@trade
    steps:
      - expect: {json: {$.e: trade}}
      - capture: {first_id: $.t, symbol: $.s}
      - expect: {count: 4, within: 3s, json: {$.t: {gt: "{{ first_id }}"}, $.s: "{{ symbol }}"}}
"#,
        &[],
    );
    assert_passed(&r);
}

#[test]
fn a_captured_value_that_no_longer_matches_fails_with_the_value_expanded() {
    let server = common::text_server(vec![r#"{"id":5}"#.into(), r#"{"id":4}"#.into()]);
    let r = run(
        &server.url(),
        r#"
requests:
  - name: ids shrink
    url: ws://SERVER
    steps:
      - expect: {json: {$.id: {type: integer}}}
      - capture: {first: $.id}
      - expect: {json: {$.id: {gt: "{{ first }}"}}}
"#,
        &[],
    );
    assert_failed(&r, "step 3 expect c.yaml:8: $.id does not match");
    assert!(r.stdout.contains("expected  gt 5"), "{}", r.output());
    assert!(r.stdout.contains("actual    4"), "{}", r.output());
}

#[test]
fn a_whole_value_template_keeps_the_captured_type_when_sent() {
    let server = common::echo();
    let r = run(
        &server.url(),
        r#"
requests:
  - name: typed capture
    url: ws://SERVER
    steps:
      - send: {json: {n: 42, word: hi}}
      - expect: {json: {$.n: 42}}
      - capture: {x: $.n, w: $.word}
      - send: {json: {id: "{{ x }}", label: "id-{{ x }}", word: "{{ w }}"}}
      - expect:
          json:
            $.id: {type: integer, eq: 42}
            $.label: {type: string, eq: id-42}
            $.word: hi
"#,
        &["-v"],
    );
    assert_passed(&r);
    assert!(
        r.stdout
            .contains(r#"default → {"id":42,"label":"id-42","word":"hi"}"#),
        "the number went out as a number:\n{}",
        r.output()
    );
}

#[test]
fn capture_of_several_nodes_stores_an_array() {
    let server = common::text_server(vec![r#"{"items":[{"id":1},{"id":2}]}"#.into()]);
    let ws = Workspace::new();
    let r = run_in(
        &ws,
        &server.url(),
        r#"
requests:
  - name: many
    url: ws://SERVER
    steps:
      - expect:
      - capture: {ids: "$.items[*].id"}
      - send: {json: {ids: "{{ ids }}"}}
"#,
        &["-v"],
    );
    assert_passed(&r);
    assert!(
        r.stdout.contains(r#"default → {"ids":[1,2]}"#),
        "{}",
        r.output()
    );
}

#[test]
fn capture_before_any_expect_fails_saying_nothing_was_matched_yet() {
    let server = common::text_server(vec![r#"{"n":0}"#.into()]);
    let r = run(
        &server.url(),
        r#"
requests:
  - name: too early
    url: ws://SERVER
    steps:
      - capture: {x: $.n}
"#,
        &[],
    );
    assert_failed(
        &r,
        "step 1 capture c.yaml:6: nothing to capture from: no JSON message has been matched yet",
    );
}

#[test]
fn capture_of_a_missing_path_fails_naming_the_path() {
    let server = common::text_server(vec![r#"{"n":0}"#.into()]);
    let r = run(
        &server.url(),
        r#"
requests:
  - name: no such field
    url: ws://SERVER
    steps:
      - expect:
      - capture: {x: $.nope}
"#,
        &[],
    );
    assert_failed(
        &r,
        "step 2 capture c.yaml:7: capture `x`: $.nope selected nothing in the last matched message",
    );
    assert!(r.stdout.contains(r#"message   {"n":0}"#), "{}", r.output());
}

#[test]
fn builtin_uuid_and_now_ms_expand_in_a_send() {
    let server = common::echo();
    let r = run(
        &server.url(),
        r#"
requests:
  - name: builtins
    url: ws://SERVER
    steps:
      - send: {json: {id: "{{ uuid }}", at: "{{ now_ms }}"}}
      - expect:
          json:
            $.id: {matches: '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$'}
            $.at: {type: integer, gt: 1700000000000}
"#,
        &[],
    );
    assert_passed(&r);
}

// ---------------------------------------------------------------------------------------------
// ping, sleep, close, expect_close
// ---------------------------------------------------------------------------------------------

#[test]
fn ping_gets_its_pong_from_echo() {
    let server = common::echo();
    let r = run(
        &server.url(),
        r#"
requests:
  - name: ping pong
    url: ws://SERVER
    steps:
      - ping: hi
      - ping: {payload: again, timeout: 2s}
"#,
        &["-v"],
    );
    assert_passed(&r);
    for line in [
        "default → [ping] hi",
        "default ← [pong] hi",
        "default → [ping] again",
        "default ← [pong] again",
    ] {
        assert!(r.stdout.contains(line), "{line:?} in:\n{}", r.output());
    }
}

#[test]
fn a_silent_server_still_answers_pings() {
    let server = common::silent();
    let r = run(
        &server.url(),
        r#"
requests:
  - name: ping silent
    url: ws://SERVER
    steps:
      - ping: are you there
      - no_message: 100ms
"#,
        &["-v"],
    );
    assert_passed(&r);
    assert!(
        r.stdout.contains("default ← [pong] are you there"),
        "{}",
        r.output()
    );
}

#[test]
fn ping_keeps_the_messages_that_arrive_while_waiting_for_the_pong() {
    let server = common::binance_stream(5, Duration::from_millis(20));
    let r = run(
        &server.url(),
        r#"
requests:
  - name: ping in a stream
    url: ws://SERVER
    steps:
      - sleep: 150ms
      - ping: hi
      - expect: {json: {$.t: 4221990001}}
      - expect: {count: 4, within: 3s, json: {$.e: trade}}
"#,
        &[],
    );
    assert_passed(&r);
}

#[test]
fn sleep_lets_later_messages_pile_up_in_the_inbox() {
    // The second trade comes 300ms after the first; after sleeping 600ms it is already
    // buffered, so a 50ms expect finds it.
    let server = common::binance_stream(2, Duration::from_millis(300));
    let r = run(
        &server.url(),
        r#"
requests:
  - name: sleepy
    url: ws://SERVER
    steps:
      - expect: {json: {$.t: 4221990001}}
      - sleep: 600ms
      - expect: {timeout: 50ms, json: {$.t: 4221990002}}
"#,
        &[],
    );
    assert_passed(&r);
}

#[test]
fn close_sends_the_code_and_reason_and_waits_for_the_reply() {
    let server = common::echo();
    let r = run(
        &server.url(),
        r#"
requests:
  - name: polite close
    url: ws://SERVER
    steps:
      - send: {text: bye}
      - close: {code: 4000, reason: done}
"#,
        &["-v"],
    );
    assert_passed(&r);
    assert!(
        r.stdout.contains("default → [close] 4000 done"),
        "{}",
        r.output()
    );
    assert!(
        r.stdout.contains("default ← [close] 4000 done"),
        "{}",
        r.output()
    );
}

#[test]
fn send_after_close_fails() {
    let server = common::echo();
    let r = run(
        &server.url(),
        r#"
requests:
  - name: too late
    url: ws://SERVER
    steps:
      - close: {code: 1000}
      - send: {text: hi}
"#,
        &[],
    );
    assert_failed(&r, "step 2 send c.yaml:7: cannot send:");
}

#[test]
fn send_after_our_own_close_does_not_blame_the_server() {
    let server = common::echo();
    let r = run(
        &server.url(),
        r#"
requests:
  - name: too late
    url: ws://SERVER
    steps:
      - close: {code: 4000, reason: done}
      - send: {text: hi}
"#,
        &[],
    );
    assert_failed(&r, "step 2 send c.yaml:7: cannot send:");
    assert!(
        !r.stdout.contains("the server closed"),
        "wsrun closed this connection, not the server:\n{}",
        r.output()
    );
}

#[test]
fn expect_close_passes_with_the_servers_code_skipping_messages_before_it() {
    let server = common::closer(4001, "bye now", 2);
    let r = run(
        &server.url(),
        r#"
requests:
  - name: server closes
    url: ws://SERVER
    steps:
      - expect_close: {code: 4001}
  - name: any code will do
    url: ws://SERVER
    steps:
      - expect: {json: {$.n: 0}}
      - expect_close:
"#,
        &["-v"],
    );
    assert_passed(&r);
    assert!(
        r.stdout.contains("default ← [close] 4001 bye now"),
        "{}",
        r.output()
    );
}

#[test]
fn expect_close_with_a_wrong_code_fails_naming_both_codes() {
    let server = common::closer(4001, "bye now", 0);
    let r = run(
        &server.url(),
        r#"
requests:
  - name: wrong code
    url: ws://SERVER
    steps:
      - expect_close: {code: 1000}
"#,
        &[],
    );
    assert_failed(
        &r,
        "step 1 expect_close c.yaml:6: the server closed with another code",
    );
    assert!(
        r.stdout.contains("expected  close code 1000"),
        "{}",
        r.output()
    );
    assert!(
        r.stdout.contains("actual    close code 4001"),
        "{}",
        r.output()
    );
    insta::assert_snapshot!(r.output());
}

#[test]
fn expect_close_on_a_dropped_connection_fails_saying_there_was_no_close_frame() {
    let server = common::dropper(1);
    let r = run(
        &server.url(),
        r#"
requests:
  - name: dropped
    url: ws://SERVER
    steps:
      - expect_close: {code: 1000}
"#,
        &[],
    );
    assert_failed(
        &r,
        "step 1 expect_close c.yaml:6: the connection was dropped without a close frame",
    );
    insta::assert_snapshot!(r.output());
}

#[test]
fn expect_close_times_out_when_the_server_stays_open() {
    let server = common::silent();
    let r = run(
        &server.url(),
        r#"
requests:
  - name: stays open
    url: ws://SERVER
    steps:
      - expect_close: {timeout: 200ms}
"#,
        &[],
    );
    assert_failed(&r, "the server did not close the connection within 200ms");
}

#[test]
fn expect_after_the_server_closed_fails_with_its_code_and_reason() {
    let server = common::closer(4001, "bye now", 1);
    let r = run(
        &server.url(),
        r#"
requests:
  - name: gone
    url: ws://SERVER
    steps:
      - expect: {json: {$.n: 0}}
      - expect: {json: {$.n: 1}}
"#,
        &[],
    );
    assert_failed(
        &r,
        r#"step 2 expect c.yaml:7: the server closed the connection (code 4001, reason "bye now") before a message arrived"#,
    );
}

// ---------------------------------------------------------------------------------------------
// Several connections, headers, subprotocols
// ---------------------------------------------------------------------------------------------

const CHAT: &str = r#"
requests:
  - name: chat room
    connections:
      alice: {url: ws://SERVER}
      bob: {url: ws://SERVER}
    steps:
      - send: {conn: alice, json: {from: alice, text: hi bob}}
      - expect: {conn: bob, json: {$.from: alice, $.text: hi bob}}
      - no_message: {conn: alice, within: 100ms}
      - send: {conn: bob, text: hi alice}
      - expect: {conn: alice, text: hi alice}
"#;

#[test]
fn named_connections_alice_sends_and_bob_receives() {
    let server = common::chat();
    let r = run(&server.url(), CHAT, &[]);
    assert_passed(&r);
    assert_eq!(server.connections(), 2, "one TCP connection per alias");
}

#[test]
fn a_message_for_bob_does_not_satisfy_an_expect_on_alice() {
    let server = common::chat();
    let r = run(
        &server.url(),
        r#"
requests:
  - name: wrong inbox
    connections:
      alice: {url: ws://SERVER}
      bob: {url: ws://SERVER}
    steps:
      - send: {conn: alice, text: hi bob}
      - expect: {conn: alice, timeout: 300ms, text: hi bob}
"#,
        &[],
    );
    assert_failed(
        &r,
        "step 2 expect c.yaml:9 [alice]: no message within 300ms",
    );
}

#[test]
fn verbose_transcript_shows_direction_arrows_and_connection_names() {
    let server = common::chat();
    let r = run(&server.url(), CHAT, &["-v"]);
    assert_passed(&r);
    insta::assert_snapshot!(r.output());
}

#[test]
fn headers_path_query_and_subprotocol_reach_the_server() {
    let server = common::header_echo();
    let r = run(
        &server.url(),
        r#"
requests:
  - name: handshake
    url: ws://SERVER/some/path?x=1
    headers: {X-Api-Key: "k-{{ key }}", X-Plain: plain}
    subprotocols: [v1.wsrun, v2.wsrun]
    steps:
      - expect:
          json:
            $['x-api-key']: k-123
            $['x-plain']: plain
            $.path: /some/path
            $.query: x=1
            $['sec-websocket-protocol']: v1.wsrun, v2.wsrun
            $.subprotocol: v1.wsrun
"#,
        &["--var", "key=123"],
    );
    assert_passed(&r);
}

#[test]
fn each_named_connection_sends_its_own_headers() {
    let server = common::header_echo();
    let r = run(
        &server.url(),
        r#"
requests:
  - name: two clients
    connections:
      a: {url: ws://SERVER/a, headers: {X-Who: a}}
      b: {url: ws://SERVER/b, headers: {X-Who: b}}
    steps:
      - expect: {conn: a, json: {"$['x-who']": a, $.path: /a}}
      - expect: {conn: b, json: {"$['x-who']": b, $.path: /b}}
"#,
        &[],
    );
    assert_passed(&r);
}

const REFUSED_SUBPROTOCOL: &str = r#"
requests:
  - name: refused subprotocol
    url: ws://SERVER
    subprotocols: [v1.wsrun]
    steps:
      - expect: {json: {$.path: /}}
"#;

#[test]
fn a_refused_subprotocol_fails_the_request_with_a_clear_message() {
    let server = common::header_echo_with(false);
    let r = run(&server.url(), REFUSED_SUBPROTOCOL, &[]);
    assert_failed(&r, "✗ refused subprotocol");
    assert!(
        r.stdout.contains("could not connect to ws://SERVER")
            && r.stdout.to_lowercase().contains("subprotocol"),
        "{}",
        r.output()
    );
}

#[test]
fn a_refused_subprotocol_message_names_the_subprotocols_asked_for() {
    let server = common::header_echo_with(false);
    let r = run(&server.url(), REFUSED_SUBPROTOCOL, &[]);
    assert_failed(&r, "subprotocol");
    assert!(r.stdout.contains("v1.wsrun"), "{}", r.output());
    assert!(!r.stdout.contains("SubProtocol error"), "{}", r.output());
}

// ---------------------------------------------------------------------------------------------
// CLI options
// ---------------------------------------------------------------------------------------------

#[test]
fn verbose_transcript_of_a_single_connection_shows_every_frame() {
    let server = common::echo();
    let r = run(
        &server.url(),
        r#"
requests:
  - name: transcript
    url: ws://SERVER
    steps:
      - send: {text: hello}
      - expect: {text: hello}
      - send: {json: {a: 1}}
      - expect: {json: {$.a: 1}}
      - ping: hi
      - close: {code: 1000, reason: done}
"#,
        &["-v"],
    );
    assert_passed(&r);
    insta::assert_snapshot!(r.output());
}

const TWO_REQUESTS: &str = r#"
requests:
  - name: First fails
    url: ws://SERVER
    steps:
      - send: {text: one}
      - expect: {text: nope}
  - name: Second passes
    url: ws://SERVER
    steps:
      - send: {text: two}
      - expect: {text: two}
"#;

#[test]
fn without_fail_fast_every_request_runs() {
    let server = common::echo();
    let r = run(&server.url(), TWO_REQUESTS, &[]);
    assert_failed(&r, "✗ First fails");
    assert!(r.stdout.contains("✓ Second passes"), "{}", r.output());
    assert!(r.stdout.contains("2 requests: 1 passed, 1 failed"));
}

#[test]
fn fail_fast_stops_after_the_first_failed_request() {
    let server = common::echo();
    let r = run(&server.url(), TWO_REQUESTS, &["--fail-fast"]);
    assert_failed(&r, "✗ First fails");
    assert!(!r.stdout.contains("Second passes"), "{}", r.output());
    assert!(
        r.stdout
            .contains("stopped at the first failure (--fail-fast)"),
        "{}",
        r.output()
    );
    assert_eq!(
        server.connections(),
        1,
        "the second request never connected"
    );
}

#[test]
fn filter_runs_only_requests_whose_name_contains_the_text_ignoring_case() {
    let server = common::echo();
    let r = run(&server.url(), TWO_REQUESTS, &["--filter", "SECOND"]);
    assert_passed(&r);
    assert!(r.stdout.contains("✓ Second passes"), "{}", r.output());
    assert!(!r.stdout.contains("First fails"), "{}", r.output());
    assert!(r.stdout.contains("1 request: 1 passed"), "{}", r.output());
}

#[test]
fn a_filter_that_matches_no_request_is_reported() {
    let server = common::echo();
    let r = run(&server.url(), TWO_REQUESTS, &["--filter", "zzz"]);
    assert_ne!(r.code, 0, "{}", r.output());
    assert!(r.output().contains("zzz"), "{}", r.output());
}

#[test]
fn quiet_prints_only_failures_and_the_summary() {
    let server = common::echo();
    let r = run(&server.url(), TWO_REQUESTS, &["-q"]);
    assert_failed(&r, "✗ First fails");
    assert!(!r.stdout.contains("Second passes"), "{}", r.output());
    assert!(
        !r.stdout.contains("c.yaml\n"),
        "no collection header:\n{}",
        r.output()
    );
    assert!(r.stdout.contains("2 requests: 1 passed, 1 failed"));
}

const GREETING: &str = r#"
vars: {greeting: from-vars}
requests:
  - name: greeting
    url: ws://SERVER
    steps:
      - send: {text: "{{ greeting }}"}
      - expect: {text: "{{ expected }}"}
"#;

#[test]
fn vars_are_used_by_default() {
    let server = common::echo();
    let r = run(&server.url(), GREETING, &["--var", "expected=from-vars"]);
    assert_passed(&r);
}

#[test]
fn var_flag_overrides_vars() {
    let server = common::echo();
    let r = run(
        &server.url(),
        GREETING,
        &["--var", "greeting=from-cli", "--var", "expected=from-cli"],
    );
    assert_passed(&r);
}

const ENVIRONMENTS: &str = r#"
vars: {greeting: from-vars, shout: "{{ greeting }}!"}
environments:
  dev: {greeting: from-dev}
  prod: {greeting: from-prod}
requests:
  - name: env
    url: ws://SERVER
    steps:
      - send: {json: {g: "{{ greeting }}", s: "{{ shout }}"}}
      - expect: {json: {$.g: "{{ expected }}", $.s: "{{ expected }}!"}}
"#;

#[test]
fn env_flag_picks_the_environment_and_names_it_in_the_header() {
    let server = common::echo();
    let r = run(
        &server.url(),
        ENVIRONMENTS,
        &["--env", "prod", "--var", "expected=from-prod"],
    );
    assert_passed(&r);
    assert!(
        r.stdout.starts_with("c.yaml (env: prod)\n"),
        "{}",
        r.output()
    );
}

#[test]
fn without_env_flag_the_first_environment_is_used() {
    let server = common::echo();
    let r = run(&server.url(), ENVIRONMENTS, &["--var", "expected=from-dev"]);
    assert_passed(&r);
    assert!(
        r.stdout.starts_with("c.yaml (env: dev)\n"),
        "{}",
        r.output()
    );
}

#[test]
fn default_env_is_used_without_env_flag() {
    let server = common::echo();
    let yaml = ENVIRONMENTS.replace("requests:", "default_env: prod\nrequests:");
    let r = run(&server.url(), &yaml, &["--var", "expected=from-prod"]);
    assert_passed(&r);
    assert!(
        r.stdout.starts_with("c.yaml (env: prod)\n"),
        "{}",
        r.output()
    );
}

#[test]
fn var_flag_overrides_the_environment() {
    let server = common::echo();
    let r = run(
        &server.url(),
        ENVIRONMENTS,
        &[
            "--env",
            "prod",
            "--var",
            "greeting=from-cli",
            "--var",
            "expected=from-cli",
        ],
    );
    assert_passed(&r);
}

#[test]
fn vars_file_overrides_the_environment_and_var_flag_overrides_the_vars_file() {
    let server = common::echo();
    let ws = Workspace::new();
    ws.write("vars.yaml", "greeting: from-file\nexpected: from-file\n");
    let r = run_in(
        &ws,
        &server.url(),
        ENVIRONMENTS,
        &["--vars-file", "vars.yaml"],
    );
    assert_passed(&r);
    let r = run_in(
        &ws,
        &server.url(),
        ENVIRONMENTS,
        &[
            "--vars-file",
            "vars.yaml",
            "--var",
            "greeting=from-cli",
            "--var",
            "expected=from-cli",
        ],
    );
    assert_passed(&r);
}

#[test]
fn vars_file_values_keep_their_yaml_types() {
    let server = common::echo();
    let ws = Workspace::new();
    ws.write("vars.json", r#"{"n": 7, "flag": true}"#);
    let r = run_in(
        &ws,
        &server.url(),
        r#"
requests:
  - name: typed vars
    url: ws://SERVER
    steps:
      - send: {json: {n: "{{ n }}", flag: "{{ flag }}"}}
      - expect: {json: {$.n: {type: integer, eq: 7}, $.flag: {type: boolean, eq: true}}}
"#,
        &["--vars-file", "vars.json"],
    );
    assert_passed(&r);
}

#[test]
fn env_template_reads_the_process_environment() {
    let server = common::echo();
    let ws = Workspace::new();
    ws.write(
        "c.yaml",
        &r#"
requests:
  - name: from the environment
    url: ws://SERVER
    steps:
      - send: {text: "hello {{ env.WSRUN_TEST_WHO }}"}
      - expect: {text: hello tester}
"#
        .replace(SERVER, &server.url()),
    );
    let r = ws.wsrun_env(&["c.yaml"], &[("WSRUN_TEST_WHO", "tester")]);
    assert_passed(&r);
}

#[test]
fn env_template_with_an_unset_variable_stops_before_connecting() {
    let server = common::echo();
    let ws = Workspace::new();
    ws.write(
        "c.yaml",
        &r#"
requests:
  - name: from the environment
    url: ws://SERVER
    steps:
      - send: {text: "hello {{ env.WSRUN_TEST_SURELY_UNSET }}"}
"#
        .replace(SERVER, &server.url()),
    );
    let r = ws.wsrun(&["c.yaml"]);
    assert_eq!(r.code, 2, "{}", r.output());
    assert!(
        r.stderr
            .contains("c.yaml:6: environment variable `WSRUN_TEST_SURELY_UNSET` is not set"),
        "{}",
        r.output()
    );
    assert_eq!(server.connections(), 0, "nothing connected");
}

#[test]
fn run_timeout_stops_the_whole_run() {
    let server = common::silent();
    let r = run(
        &server.url(),
        r#"
requests:
  - name: sleeps too long
    url: ws://SERVER
    steps:
      - sleep: 30s
  - name: never runs
    url: ws://SERVER
    steps:
      - sleep: 10ms
"#,
        &["--timeout", "300ms"],
    );
    assert_failed(&r, "the run timed out after 300ms (--timeout)");
    assert!(
        r.stdout
            .contains("timed out: the run passed its --timeout of 300ms"),
        "{}",
        r.output()
    );
    assert!(!r.stdout.contains("never runs"), "{}", r.output());
}

// ---------------------------------------------------------------------------------------------
// Timeouts and connection failures
// ---------------------------------------------------------------------------------------------

#[test]
fn connection_refused_fails_the_request_with_exit_1() {
    let url = common::refused_url();
    let r = run(
        &url,
        r#"
requests:
  - name: nobody home
    url: ws://SERVER
    steps:
      - send: {text: hi}
"#,
        &[],
    );
    assert_failed(&r, "could not connect to ws://SERVER: connection refused");
    insta::assert_snapshot!(r.output());
}

#[test]
fn a_connection_failure_names_the_file_and_line_of_the_url() {
    let url = common::refused_url();
    let r = run(
        &url,
        r#"
requests:
  - name: nobody home
    url: ws://SERVER
"#,
        &[],
    );
    assert_failed(&r, "connection refused");
    assert!(r.stdout.contains("c.yaml:4"), "{}", r.output());
}

#[test]
fn a_silent_server_with_a_300ms_timeout_fails_with_no_message_within_300ms() {
    let server = common::silent();
    let r = run(
        &server.url(),
        r#"
requests:
  - name: silence
    url: ws://SERVER
    timeout: 300ms
    steps:
      - expect: {json: {$.e: trade}}
"#,
        &[],
    );
    assert_failed(&r, "step 1 expect c.yaml:7: no message within 300ms");
    insta::assert_snapshot!(r.output());
}

#[test]
fn step_timeout_beats_request_timeout_which_beats_defaults() {
    let server = common::silent();
    let r = run(
        &server.url(),
        r#"
defaults: {timeout: 250ms}
requests:
  - name: from defaults
    url: ws://SERVER
    steps:
      - expect:
  - name: from the request
    url: ws://SERVER
    timeout: 150ms
    steps:
      - expect:
  - name: from the step
    url: ws://SERVER
    timeout: 30s
    steps:
      - expect: {timeout: 100ms}
"#,
        &[],
    );
    assert_failed(&r, "step 1 expect c.yaml:7: no message within 250ms");
    assert!(
        r.stdout
            .contains("step 1 expect c.yaml:12: no message within 150ms"),
        "{}",
        r.output()
    );
    assert!(
        r.stdout
            .contains("step 1 expect c.yaml:17: no message within 100ms"),
        "{}",
        r.output()
    );
}

// ---------------------------------------------------------------------------------------------
// YAML scalars
// ---------------------------------------------------------------------------------------------

#[test]
fn plain_words_like_no_yes_and_on_stay_text() {
    let server = common::echo();
    let r = run(
        &server.url(),
        r#"
requests:
  - name: norway
    url: ws://SERVER
    steps:
      - send: {text: no}
      - expect: {text: "no"}
      - send: {text: "y"}
      - expect: {text: y}
      - send: {json: {country: NO, switch: on}}
      - expect: {json: {$.country: "NO", $.switch: "on"}}
"#,
        &[],
    );
    assert_passed(&r);
}
