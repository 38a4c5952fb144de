//! What wsrun puts on the wire is what the collection wrote: objects keep the key order of the
//! YAML (sends, templates, protocol envelopes), checked byte for byte by a server that records
//! the frames it received.

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;
mod common;

use cli::Workspace;

/// Runs `steps` (YAML, indented for a request's `steps:`) against a recorder; the texts it got.
fn sent_by(steps: &str, extra: &str) -> Vec<String> {
    let (server, received) = common::recorder();
    let run = Workspace::new().run_collection(
        &format!(
            "{extra}requests:\n  - name: sends\n    url: {}\n{steps}",
            server.url()
        ),
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.output());
    // The run ends with a close the server reads after the last text: every text is in.
    received.texts()
}

#[test]
fn json_objects_are_sent_in_the_key_order_of_the_yaml() {
    let texts = sent_by(
        r#"    steps:
      - send: { json: { type: subscribe, z: 1, a: 2, m: 3 } }
      - send:
          json:
            type: order
            zeta: { y: 1, x: [ { d: 1, c: 2 } ] }
            alpha: [3, { b: true, a: null }]
      - sleep: 200ms
"#,
        "",
    );
    assert_eq!(
        texts,
        [
            r#"{"type":"subscribe","z":1,"a":2,"m":3}"#,
            r#"{"type":"order","zeta":{"y":1,"x":[{"d":1,"c":2}]},"alpha":[3,{"b":true,"a":null}]}"#,
        ]
    );
}

#[test]
fn templates_expanded_into_json_keep_the_key_order_of_the_yaml_and_of_the_variable() {
    let texts = sent_by(
        r#"    steps:
      - send: { json: { type: "{{ kind }}", when: "{{ order }}", id: 7 } }
      - sleep: 200ms
"#,
        "vars:\n  kind: trade\n  order: { side: sell, qty: 2, price: 10 }\n",
    );
    assert_eq!(
        texts,
        [r#"{"type":"trade","when":{"side":"sell","qty":2,"price":10},"id":7}"#]
    );
}

#[test]
fn a_json_rpc_call_is_sent_with_its_params_in_the_order_written() {
    let texts = sent_by(
        r#"    protocol: jsonrpc
    steps:
      - notify: { method: log, params: { level: info, at: 3, app: x } }
      - sleep: 200ms
"#,
        "",
    );
    assert_eq!(
        texts,
        [r#"{"jsonrpc":"2.0","method":"log","params":{"level":"info","at":3,"app":"x"}}"#]
    );
}

/// A collection reading one message from `server` with `step`.
fn reading(server: &common::TestServer, step: &str) -> String {
    format!(
        "requests:\n  - name: reads\n    url: {}\n    steps:\n      - {step}\n",
        server.url()
    )
}

#[test]
fn the_json_report_shows_a_received_message_in_its_wire_order() {
    let server = common::text_server(vec![r#"{"z":1,"a":2,"m":{"y":3,"b":4}}"#.into()]);
    let ws = Workspace::new();
    let run = ws.run_collection(
        &reading(&server, "expect: {json: {$.a: 3}}"),
        &["--report", "json=r.json"],
    );
    assert_eq!(run.code, 1, "{}", run.output());
    let report = std::fs::read_to_string(ws.path().join("r.json")).expect("the JSON report");
    let report: serde_json::Value = serde_json::from_str(&report).expect("JSON");
    let message = &report["collections"][0]["requests"][0]["steps"][0]["failure"]["message"];
    assert_eq!(
        serde_json::to_string(message).expect("a value"),
        r#"{"z":1,"a":2,"m":{"y":3,"b":4}}"#,
        "{report:#}"
    );
}

#[test]
fn a_snapshot_keeps_its_keys_sorted_whatever_order_the_server_sends() {
    let ws = Workspace::new();
    for (text, code) in [
        (r#"{"z":1,"a":{"y":2,"b":3}}"#, 0),
        (r#"{"a":{"b":3,"y":2},"z":1}"#, 0),
    ] {
        let server = common::text_server(vec![text.into()]);
        let run = ws.run_collection(
            &reading(&server, "snapshot: {name: order}"),
            &["--update-snapshots"],
        );
        assert_eq!(run.code, code, "{}", run.output());
        let stored = std::fs::read_to_string(ws.path().join("__snapshots__/c__order.snap"))
            .expect("the snapshot");
        let body = stored
            .splitn(3, "---\n")
            .nth(2)
            .expect("a body after the header");
        assert_eq!(
            body,
            "{\n  \"a\": {\n    \"b\": 3,\n    \"y\": 2\n  },\n  \"z\": 1\n}\n"
        );
    }
    // Without updating, the reordered message matches the stored snapshot.
    let server = common::text_server(vec![r#"{"z":1,"a":{"y":2,"b":3}}"#.into()]);
    let run = ws.run_collection(&reading(&server, "snapshot: {name: order}"), &[]);
    assert_eq!(run.code, 0, "{}", run.output());
}

#[test]
fn long_numbers_are_sent_as_written_not_as_doubles() {
    let texts = sent_by(
        r#"    steps:
      - send: { json: { type: "{{ kind }}", id: 12345678901234567890123, p: 0.123456789012345678901234567890 } }
      - send: { json: { nested: { list: [18446744073709551616, 1.5, -99999999999999999999.5], small: 7 } } }
      - sleep: 200ms
"#,
        "vars:\n  kind: big\n",
    );
    assert_eq!(
        texts,
        [
            r#"{"type":"big","id":12345678901234567890123,"p":0.123456789012345678901234567890}"#,
            r#"{"nested":{"list":[18446744073709551616,1.5,-99999999999999999999.5],"small":7}}"#,
        ]
    );
}

#[test]
fn a_send_with_reply_sends_its_long_numbers_as_written() {
    let server = common::echo();
    let run = Workspace::new().run_collection(
        &format!(
            r#"requests:
  - name: reply
    url: {}
    steps:
      - send:
          json: {{ id: 12345678901234567890123, n: 1 }}
          reply: {{ match: $.n, json: {{ $.id: {{ gt: 1 }} }} }}
"#,
            server.url()
        ),
        &["-v"],
    );
    assert_eq!(run.code, 0, "{}", run.output());
    assert!(
        run.stdout
            .contains(r#"default → {"id":12345678901234567890123,"n":1}"#),
        "{}",
        run.output()
    );
    assert!(
        run.stdout
            .contains(r#"default ← {"id":12345678901234567890123,"n":1}"#),
        "{}",
        run.output()
    );
}
