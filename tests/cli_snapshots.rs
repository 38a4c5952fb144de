//! Snapshot steps (docs/snapshots.md "Snapshots") through the real `wsrun` binary: pending
//! `.snap.new` files, `--update-snapshots`, diffs, shapes, redaction, CI, and
//! `wsrun snapshots accept|reject`.

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;
mod common;

use std::path::Path;

use cli::{Run, Workspace};

const SERVER: &str = "ws://SERVER";

/// A collection whose one request snapshots the next message as `first`; the server comes from
/// `--var url=…`, so one workspace can be pointed at different servers.
const FIRST: &str = r#"
requests:
  - name: snap
    url: "{{ url }}"
    timeout: 2s
    steps:
      - snapshot: {name: first}
"#;

const MSG_A: &str = r#"{"sym":"BTC","price":"1.5","id":7}"#;
/// `MSG_A` with `price` turned into a number and an `extra` field.
const MSG_B: &str = r#"{"sym":"BTC","price":1.5,"id":7,"extra":true}"#;

/// Runs `wsrun ARGS --var url=URL` in `ws` (extra `env` pairs set), URL replaced in the output.
fn run_with(ws: &Workspace, url: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
    let var = format!("url={url}");
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--var", &var]);
    let run = ws.wsrun_env(&all, env);
    Run {
        code: run.code,
        stdout: run.stdout.replace(url, SERVER),
        stderr: run.stderr.replace(url, SERVER),
    }
}

fn run(ws: &Workspace, url: &str, args: &[&str]) -> Run {
    run_with(ws, url, args, &[])
}

fn read(ws: &Workspace, name: &str) -> String {
    std::fs::read_to_string(ws.path().join(name)).unwrap_or_else(|e| panic!("read {name}: {e}"))
}

/// Every file under the workspace, relative and sorted.
fn files(ws: &Workspace) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).expect("inside root");
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut out = Vec::new();
    walk(ws.path(), ws.path(), &mut out);
    out.sort();
    out
}

/// The body of a `.snap` file (after the header).
fn body(text: &str) -> &str {
    let rest = text.strip_prefix("---\n").expect("a `---` header");
    let end = rest.find("\n---\n").expect("the header ends with `---`");
    &rest[end + 5..]
}

#[track_caller]
fn assert_code(run: &Run, code: i32) {
    assert_eq!(run.code, code, "{}", run.output());
}

// ---------------------------------------------------------------------------------------------
// The basic flow
// ---------------------------------------------------------------------------------------------

#[test]
fn a_first_run_fails_and_writes_a_pending_snapshot() {
    let server = common::text_server(vec![MSG_A.into()]);
    let ws = Workspace::new();
    ws.write("c.yaml", FIRST);
    let r = run(&ws, &server.url(), &["c.yaml"]);
    assert_code(&r, 1);
    assert!(
        r.stdout.contains(
            "step 1 snapshot c.yaml:7: no snapshot __snapshots__/c__first.snap yet; wrote __snapshots__/c__first.snap.new"
        ),
        "{}",
        r.output()
    );
    assert_eq!(files(&ws), ["__snapshots__/c__first.snap.new", "c.yaml"]);
    insta::assert_snapshot!("first_run_output", r.output());
    insta::assert_snapshot!(
        "first_run_pending_file",
        read(&ws, "__snapshots__/c__first.snap.new")
    );
}

#[test]
fn the_pending_snapshot_uses_the_insta_layout_with_pretty_key_sorted_json() {
    let server = common::text_server(vec![MSG_A.into()]);
    let ws = Workspace::new();
    ws.write("c.yaml", FIRST);
    assert_code(&run(&ws, &server.url(), &["c.yaml"]), 1);
    let text = read(&ws, "__snapshots__/c__first.snap.new");
    assert!(text.starts_with("---\n"), "{text}");
    let header = &text[..text.len() - body(&text).len()];
    for key in ["source:", "description:", "expression:"] {
        assert!(header.contains(key), "{key} in the header:\n{text}");
    }
    assert!(
        header.contains("c.yaml"),
        "the source names the collection:\n{text}"
    );
    assert_eq!(
        body(&text),
        "{\n  \"id\": 7,\n  \"price\": \"1.5\",\n  \"sym\": \"BTC\"\n}\n"
    );
}

#[test]
fn update_snapshots_passes_and_writes_the_snap() {
    let server = common::text_server(vec![MSG_A.into()]);
    let ws = Workspace::new();
    ws.write("c.yaml", FIRST);
    assert_code(&run(&ws, &server.url(), &["c.yaml"]), 1);
    let r = run(&ws, &server.url(), &["c.yaml", "--update-snapshots"]);
    assert_code(&r, 0);
    assert!(r.stdout.contains("✓ snap"), "{}", r.output());
    assert_eq!(
        files(&ws),
        ["__snapshots__/c__first.snap", "c.yaml"],
        "the .snap is written and the .snap.new is gone"
    );
    assert_eq!(
        body(&read(&ws, "__snapshots__/c__first.snap")),
        "{\n  \"id\": 7,\n  \"price\": \"1.5\",\n  \"sym\": \"BTC\"\n}\n"
    );
}

#[test]
fn update_snapshots_on_a_first_run_passes_at_once() {
    let server = common::text_server(vec![MSG_A.into()]);
    let ws = Workspace::new();
    ws.write("c.yaml", FIRST);
    let r = run(&ws, &server.url(), &["c.yaml", "--update-snapshots"]);
    assert_code(&r, 0);
    assert_eq!(files(&ws), ["__snapshots__/c__first.snap", "c.yaml"]);
}

#[test]
fn a_rerun_passes_against_the_stored_snapshot_and_writes_nothing() {
    let server = common::text_server(vec![MSG_A.into()]);
    let ws = Workspace::new();
    ws.write("c.yaml", FIRST);
    assert_code(
        &run(&ws, &server.url(), &["c.yaml", "--update-snapshots"]),
        0,
    );
    let stored = read(&ws, "__snapshots__/c__first.snap");
    let r = run(&ws, &server.url(), &["c.yaml"]);
    assert_code(&r, 0);
    assert!(r.stdout.contains("1 request: 1 passed"), "{}", r.output());
    assert_eq!(files(&ws), ["__snapshots__/c__first.snap", "c.yaml"]);
    assert_eq!(read(&ws, "__snapshots__/c__first.snap"), stored);
}

#[test]
fn a_passing_run_removes_a_stale_pending_snapshot() {
    let server = common::text_server(vec![MSG_A.into()]);
    let ws = Workspace::new();
    ws.write("c.yaml", FIRST);
    assert_code(
        &run(&ws, &server.url(), &["c.yaml", "--update-snapshots"]),
        0,
    );
    ws.write("__snapshots__/c__first.snap.new", "---\nstale\n---\n{}\n");
    assert_code(&run(&ws, &server.url(), &["c.yaml"]), 0);
    assert_eq!(files(&ws), ["__snapshots__/c__first.snap", "c.yaml"]);
}

#[test]
fn a_changed_message_fails_with_a_diff_naming_the_fields() {
    let a = common::text_server(vec![MSG_A.into()]);
    let b = common::text_server(vec![MSG_B.into()]);
    let ws = Workspace::new();
    ws.write("c.yaml", FIRST);
    assert_code(&run(&ws, &a.url(), &["c.yaml", "--update-snapshots"]), 0);
    let stored = read(&ws, "__snapshots__/c__first.snap");

    let r = run(&ws, &b.url(), &["c.yaml"]);
    assert_code(&r, 1);
    assert!(
        r.stdout.contains(
            "snapshot __snapshots__/c__first.snap differs (`price` changed, `extra` added)"
        ),
        "{}",
        r.output()
    );
    assert!(
        r.stdout.contains("-  \"price\": \"1.5\","),
        "{}",
        r.output()
    );
    assert!(r.stdout.contains("+  \"price\": 1.5,"), "{}", r.output());
    assert!(r.stdout.contains("+  \"extra\": true,"), "{}", r.output());
    insta::assert_snapshot!(r.output());

    assert_eq!(
        read(&ws, "__snapshots__/c__first.snap"),
        stored,
        "the accepted snapshot is untouched"
    );
    assert!(body(&read(&ws, "__snapshots__/c__first.snap.new")).contains("\"extra\": true"));
}

#[test]
fn a_removed_field_is_named_in_the_failure() {
    let a = common::text_server(vec![MSG_B.into()]);
    let b = common::text_server(vec![MSG_A.into()]);
    let ws = Workspace::new();
    ws.write("c.yaml", FIRST);
    assert_code(&run(&ws, &a.url(), &["c.yaml", "--update-snapshots"]), 0);
    let r = run(&ws, &b.url(), &["c.yaml"]);
    assert_code(&r, 1);
    assert!(
        r.stdout.contains("(`price` changed, `extra` removed)"),
        "{}",
        r.output()
    );
}

#[test]
fn snapshots_live_beside_the_collection() {
    let server = common::text_server(vec![MSG_A.into()]);
    let ws = Workspace::new();
    ws.write("suite/trades.yaml", FIRST);
    let r = run(
        &ws,
        &server.url(),
        &["suite/trades.yaml", "--update-snapshots"],
    );
    assert_code(&r, 0);
    assert_eq!(
        files(&ws),
        [
            "suite/__snapshots__/trades__first.snap",
            "suite/trades.yaml"
        ]
    );
    let r = run(&ws, &server.url(), &["suite"]);
    assert_code(&r, 0);
}

#[test]
fn the_default_name_comes_from_the_request_name_and_step_number() {
    let server = common::text_server(vec![MSG_A.into()]);
    let ws = Workspace::new();
    ws.write(
        "c.yaml",
        r#"
requests:
  - name: BTC/USDT Trades!
    url: "{{ url }}"
    steps:
      - sleep: 1ms
      - snapshot: {}
"#,
    );
    let r = run(&ws, &server.url(), &["c.yaml"]);
    assert_code(&r, 1);
    assert_eq!(
        files(&ws),
        [
            "__snapshots__/c__btc-usdt-trades-2-33a652c6.snap.new",
            "c.yaml"
        ]
    );
}

#[test]
fn names_that_differ_only_in_case_punctuation_or_script_get_their_own_snapshot_files() {
    let server = common::echo();
    let ws = Workspace::new();
    let request = |name: &str, n: u32, snapshot: &str| {
        format!(
            "  - name: {name}\n    url: \"{{{{ url }}}}\"\n    steps:\n      - send: {{json: {{n: {n}}}}}\n      - snapshot: {snapshot}\n"
        )
    };
    let yaml = [
        "requests:\n".to_string(),
        // Default names whose slugs are equal: `btc-usdt-trades-2`.
        request("BTC/USDT trades", 1, ""),
        request("btc usdt trades", 2, ""),
        // Explicit names whose slugs are both empty.
        request("first", 3, "{name: 取引}"),
        request("second", 4, "{name: 注文}"),
        // A clean name keeps its file name as it is.
        request("third", 5, "{name: trade-shape}"),
    ]
    .concat();
    ws.write("c.yaml", &yaml);
    let r = run(&ws, &server.url(), &["c.yaml", "--update-snapshots"]);
    assert_code(&r, 0);
    let stored = files(&ws);
    assert_eq!(stored.len(), 6, "five snapshots and c.yaml: {stored:?}");
    assert!(
        stored.contains(&"__snapshots__/c__trade-shape.snap".to_string()),
        "{stored:?}"
    );
    // Each request meets its own message again.
    let r = run(&ws, &server.url(), &["c.yaml"]);
    assert_code(&r, 0);
    assert_eq!(files(&ws), stored);
}

#[test]
fn a_snapshot_name_expands_its_templates() {
    let server = common::text_server(vec![MSG_A.into()]);
    let ws = Workspace::new();
    ws.write(
        "c.yaml",
        r#"
vars: {symbol: btc}
requests:
  - name: snap
    url: "{{ url }}"
    steps:
      - snapshot: {name: "trades-{{ symbol }}"}
"#,
    );
    let r = run(&ws, &server.url(), &["c.yaml", "--update-snapshots"]);
    assert_code(&r, 0);
    assert_eq!(files(&ws), ["__snapshots__/c__trades-btc.snap", "c.yaml"]);
}

#[test]
fn a_bare_snapshot_step_uses_the_defaults() {
    let server = common::text_server(vec![MSG_A.into()]);
    let ws = Workspace::new();
    ws.write(
        "c.yaml",
        "requests:\n  - name: bare\n    url: \"{{ url }}\"\n    steps:\n      - snapshot:\n",
    );
    let r = run(&ws, &server.url(), &["c.yaml", "--update-snapshots"]);
    assert_code(&r, 0);
    assert_eq!(files(&ws), ["__snapshots__/c__bare-1.snap", "c.yaml"]);
}

#[test]
fn a_snapshot_of_several_messages_stores_them_as_an_array() {
    let server = common::text_server(vec![r#"{"n":1}"#.into(), r#"{"n":2}"#.into()]);
    let ws = Workspace::new();
    ws.write(
        "c.yaml",
        r#"
requests:
  - name: two
    url: "{{ url }}"
    steps:
      - snapshot: {name: two, count: 2}
"#,
    );
    assert_code(&run(&ws, &server.url(), &["c.yaml"]), 1);
    assert_eq!(
        body(&read(&ws, "__snapshots__/c__two.snap.new")),
        "[\n  {\n    \"n\": 1\n  },\n  {\n    \"n\": 2\n  }\n]\n"
    );
}

#[test]
fn a_snapshot_step_times_out_when_no_message_comes() {
    let server = common::silent();
    let ws = Workspace::new();
    ws.write(
        "c.yaml",
        r#"
requests:
  - name: nothing
    url: "{{ url }}"
    steps:
      - snapshot: {name: never, count: 2, timeout: 200ms}
"#,
    );
    let r = run(&ws, &server.url(), &["c.yaml"]);
    assert_code(&r, 1);
    assert!(
        r.stdout.contains(
            "step 1 snapshot c.yaml:6: snapshot: no message within 200ms; received 0 of 2 message(s)"
        ),
        "{}",
        r.output()
    );
    assert_eq!(files(&ws), ["c.yaml"], "nothing to write");
}

// ---------------------------------------------------------------------------------------------
// shape and redact
// ---------------------------------------------------------------------------------------------

const SHAPE: &str = r#"
requests:
  - name: shape
    url: "{{ url }}"
    steps:
      - snapshot: {name: shape, shape: true, count: 3}
"#;

fn shape_messages() -> Vec<String> {
    vec![
        r#"{"e":"trade","p":"1.0","t":1,"items":[{"id":10}]}"#.into(),
        r#"{"e":"trade","p":"2.0","t":2,"opt":true,"items":[]}"#.into(),
        r#"{"e":"trade","p":"3.0","t":3.5,"items":[{"id":11}]}"#.into(),
    ]
}

#[test]
fn shape_true_with_count_3_merges_the_shapes_and_marks_optional_fields() {
    let server = common::text_server(shape_messages());
    let ws = Workspace::new();
    ws.write("c.yaml", SHAPE);
    let r = run(&ws, &server.url(), &["c.yaml"]);
    assert_code(&r, 1);
    let text = read(&ws, "__snapshots__/c__shape.snap.new");
    assert!(text.contains("shape of 3 message(s)"), "{text}");
    assert_eq!(
        body(&text),
        r#"{
  "e": "string",
  "items": [
    {
      "id": "integer"
    }
  ],
  "opt?": "boolean",
  "p": "string",
  "t": "number"
}
"#
    );
}

#[test]
fn a_shape_snapshot_passes_when_only_the_values_change() {
    let first = common::text_server(shape_messages());
    let later = common::text_server(vec![
        r#"{"e":"trade","p":"9.0","t":7,"items":[{"id":99}]}"#.into(),
        r#"{"e":"trade","p":"8.0","t":8,"opt":false,"items":[{"id":98},{"id":97}]}"#.into(),
        r#"{"e":"trade","p":"7.0","t":9.25,"items":[]}"#.into(),
    ]);
    let ws = Workspace::new();
    ws.write("c.yaml", SHAPE);
    assert_code(
        &run(&ws, &first.url(), &["c.yaml", "--update-snapshots"]),
        0,
    );
    let r = run(&ws, &later.url(), &["c.yaml"]);
    assert_code(&r, 0);
}

#[test]
fn a_shape_snapshot_fails_when_a_field_is_renamed() {
    let first = common::text_server(shape_messages());
    let renamed = common::text_server(vec![
        r#"{"e":"trade","price":"1.0","t":1,"items":[{"id":10}]}"#.into(),
        r#"{"e":"trade","price":"2.0","t":2,"opt":true,"items":[]}"#.into(),
        r#"{"e":"trade","price":"3.0","t":3.5,"items":[{"id":11}]}"#.into(),
    ]);
    let ws = Workspace::new();
    ws.write("c.yaml", SHAPE);
    assert_code(
        &run(&ws, &first.url(), &["c.yaml", "--update-snapshots"]),
        0,
    );
    let r = run(&ws, &renamed.url(), &["c.yaml"]);
    assert_code(&r, 1);
    assert!(
        r.stdout.contains("(`p` removed, `price` added)"),
        "{}",
        r.output()
    );
    insta::assert_snapshot!(r.output());
}

#[test]
fn a_shape_snapshot_fails_when_a_field_changes_type() {
    let first = common::text_server(shape_messages());
    let retyped = common::text_server(vec![
        r#"{"e":"trade","p":1.0,"t":1,"items":[{"id":10}]}"#.into(),
        r#"{"e":"trade","p":2.0,"t":2,"opt":true,"items":[]}"#.into(),
        r#"{"e":"trade","p":3.0,"t":3.5,"items":[{"id":11}]}"#.into(),
    ]);
    let ws = Workspace::new();
    ws.write("c.yaml", SHAPE);
    assert_code(
        &run(&ws, &first.url(), &["c.yaml", "--update-snapshots"]),
        0,
    );
    let r = run(&ws, &retyped.url(), &["c.yaml"]);
    assert_code(&r, 1);
    assert!(r.stdout.contains("(`p` changed)"), "{}", r.output());
    assert!(r.stdout.contains("-  \"p\": \"string\","), "{}", r.output());
    assert!(r.stdout.contains("+  \"p\": \"number\","), "{}", r.output());
}

#[test]
fn a_shape_snapshot_fails_when_an_optional_field_becomes_required() {
    let first = common::text_server(shape_messages());
    let always = common::text_server(vec![
        r#"{"e":"trade","p":"1.0","t":1,"opt":true,"items":[{"id":10}]}"#.into(),
        r#"{"e":"trade","p":"2.0","t":2,"opt":true,"items":[]}"#.into(),
        r#"{"e":"trade","p":"3.0","t":3.5,"opt":false,"items":[{"id":11}]}"#.into(),
    ]);
    let ws = Workspace::new();
    ws.write("c.yaml", SHAPE);
    assert_code(
        &run(&ws, &first.url(), &["c.yaml", "--update-snapshots"]),
        0,
    );
    let r = run(&ws, &always.url(), &["c.yaml"]);
    assert_code(&r, 1);
    assert!(
        r.stdout.contains("-  \"opt?\": \"boolean\","),
        "{}",
        r.output()
    );
    assert!(
        r.stdout.contains("+  \"opt\": \"boolean\","),
        "{}",
        r.output()
    );
}

#[test]
fn redact_replaces_every_node_the_path_selects() {
    let server = common::text_server(vec![
        r#"{"id":1,"name":"a","items":[{"id":2,"v":true},{"id":3,"v":false}]}"#.into(),
    ]);
    let ws = Workspace::new();
    ws.write(
        "c.yaml",
        r#"
requests:
  - name: redacted
    url: "{{ url }}"
    steps:
      - snapshot: {name: red, redact: [$..id]}
"#,
    );
    assert_code(&run(&ws, &server.url(), &["c.yaml"]), 1);
    assert_eq!(
        body(&read(&ws, "__snapshots__/c__red.snap.new")),
        r#"{
  "id": "[redacted]",
  "items": [
    {
      "id": "[redacted]",
      "v": true
    },
    {
      "id": "[redacted]",
      "v": false
    }
  ],
  "name": "a"
}
"#
    );
}

#[test]
fn redacted_fields_may_change_between_runs() {
    let first = common::text_server(vec![r#"{"id":1,"at":100,"s":"BTC"}"#.into()]);
    let later = common::text_server(vec![r#"{"id":2,"at":200,"s":"BTC"}"#.into()]);
    let ws = Workspace::new();
    ws.write(
        "c.yaml",
        r#"
requests:
  - name: redacted
    url: "{{ url }}"
    steps:
      - snapshot: {name: red, redact: [$.id, $.at]}
"#,
    );
    assert_code(
        &run(&ws, &first.url(), &["c.yaml", "--update-snapshots"]),
        0,
    );
    assert_code(&run(&ws, &later.url(), &["c.yaml"]), 0);
}

// ---------------------------------------------------------------------------------------------
// CI
// ---------------------------------------------------------------------------------------------

#[test]
fn with_ci_set_a_missing_snapshot_fails_and_nothing_is_written() {
    let server = common::text_server(vec![MSG_A.into()]);
    let ws = Workspace::new();
    ws.write("c.yaml", FIRST);
    let r = run_with(&ws, &server.url(), &["c.yaml"], &[("CI", "true")]);
    assert_code(&r, 1);
    assert!(
        r.stdout.contains(
            "no snapshot __snapshots__/c__first.snap yet; CI is set, so nothing was written"
        ),
        "{}",
        r.output()
    );
    assert_eq!(files(&ws), ["c.yaml"]);
}

#[test]
fn with_ci_set_update_snapshots_writes_nothing_either() {
    let server = common::text_server(vec![MSG_A.into()]);
    let ws = Workspace::new();
    ws.write("c.yaml", FIRST);
    let r = run_with(
        &ws,
        &server.url(),
        &["c.yaml", "--update-snapshots"],
        &[("CI", "true")],
    );
    assert_code(&r, 1);
    assert!(
        r.stdout.contains("CI is set, so nothing was written"),
        "{}",
        r.output()
    );
    assert_eq!(files(&ws), ["c.yaml"]);
}

#[test]
fn with_ci_set_a_changed_snapshot_fails_without_writing_a_pending_file() {
    let a = common::text_server(vec![MSG_A.into()]);
    let b = common::text_server(vec![MSG_B.into()]);
    let ws = Workspace::new();
    ws.write("c.yaml", FIRST);
    assert_code(&run(&ws, &a.url(), &["c.yaml", "--update-snapshots"]), 0);
    let r = run_with(&ws, &b.url(), &["c.yaml"], &[("CI", "true")]);
    assert_code(&r, 1);
    assert!(r.stdout.contains("differs"), "{}", r.output());
    assert_eq!(files(&ws), ["__snapshots__/c__first.snap", "c.yaml"]);
    // A matching snapshot still passes under CI.
    assert_code(&run_with(&ws, &a.url(), &["c.yaml"], &[("CI", "true")]), 0);
}

// ---------------------------------------------------------------------------------------------
// wsrun snapshots accept | reject
// ---------------------------------------------------------------------------------------------

#[test]
fn snapshots_accept_turns_pending_snapshots_into_accepted_ones() {
    let server = common::text_server(vec![MSG_A.into()]);
    let ws = Workspace::new();
    ws.write("c.yaml", FIRST);
    assert_code(&run(&ws, &server.url(), &["c.yaml"]), 1);
    let pending = read(&ws, "__snapshots__/c__first.snap.new");

    let r = ws.wsrun(&["snapshots", "accept"]);
    assert_code(&r, 0);
    assert!(r.stdout.contains("c__first.snap\n"), "{}", r.output());
    assert!(
        r.stdout.ends_with("1 snapshot(s) accepted\n"),
        "{}",
        r.output()
    );
    assert_eq!(files(&ws), ["__snapshots__/c__first.snap", "c.yaml"]);
    assert_eq!(read(&ws, "__snapshots__/c__first.snap"), pending);

    assert_code(&run(&ws, &server.url(), &["c.yaml"]), 0);
}

#[test]
fn snapshots_accept_replaces_a_changed_snapshot() {
    let a = common::text_server(vec![MSG_A.into()]);
    let b = common::text_server(vec![MSG_B.into()]);
    let ws = Workspace::new();
    ws.write("c.yaml", FIRST);
    assert_code(&run(&ws, &a.url(), &["c.yaml", "--update-snapshots"]), 0);
    assert_code(&run(&ws, &b.url(), &["c.yaml"]), 1);
    assert_code(&ws.wsrun(&["snapshots", "accept"]), 0);
    assert_code(&run(&ws, &b.url(), &["c.yaml"]), 0);
    assert_code(&run(&ws, &a.url(), &["c.yaml"]), 1);
}

#[test]
fn snapshots_reject_deletes_pending_snapshots() {
    let server = common::text_server(vec![MSG_A.into()]);
    let ws = Workspace::new();
    ws.write("c.yaml", FIRST);
    assert_code(&run(&ws, &server.url(), &["c.yaml"]), 1);

    let r = ws.wsrun(&["snapshots", "reject"]);
    assert_code(&r, 0);
    assert!(r.stdout.contains("c__first.snap.new\n"), "{}", r.output());
    assert!(
        r.stdout.ends_with("1 snapshot(s) rejected\n"),
        "{}",
        r.output()
    );
    assert_eq!(files(&ws), ["c.yaml"]);

    assert_code(&run(&ws, &server.url(), &["c.yaml"]), 1);
}

#[test]
fn snapshots_accept_with_a_collection_path_touches_only_its_snapshots() {
    let server = common::text_server(vec![MSG_A.into()]);
    let ws = Workspace::new();
    ws.write("c.yaml", FIRST);
    ws.write("d.yaml", FIRST);
    assert_code(&run(&ws, &server.url(), &["c.yaml", "d.yaml"]), 1);
    assert_eq!(
        files(&ws),
        [
            "__snapshots__/c__first.snap.new",
            "__snapshots__/d__first.snap.new",
            "c.yaml",
            "d.yaml"
        ]
    );
    let r = ws.wsrun(&["snapshots", "accept", "c.yaml"]);
    assert_code(&r, 0);
    assert!(
        r.stdout.ends_with("1 snapshot(s) accepted\n"),
        "{}",
        r.output()
    );
    let r = ws.wsrun(&["snapshots", "reject", "d.yaml"]);
    assert_code(&r, 0);
    assert!(
        r.stdout.ends_with("1 snapshot(s) rejected\n"),
        "{}",
        r.output()
    );
    assert_eq!(
        files(&ws),
        ["__snapshots__/c__first.snap", "c.yaml", "d.yaml"]
    );
}

/// A workspace holding one wsrun pending snapshot (`c.yaml`'s) among `.snap.new` files that
/// belong to others: insta's own in a Rust crate, and ones whose collection is gone.
fn workspace_with_foreign_pending_files() -> Workspace {
    let ws = Workspace::new();
    ws.write("c.yaml", FIRST);
    ws.write(
        "__snapshots__/c__first.snap.new",
        "---\nsource: c.yaml\n---\n{}\n",
    );
    for foreign in [
        "crate/src/snapshots/crate__tests__x.snap.new",
        "crate/tests/snapshots/cli__y.snap.new",
        "__snapshots__/gone__first.snap.new",
        "__snapshots__/c.snap.new",
        "other/__snapshots__/c__first.snap.new",
    ] {
        ws.write(foreign, "---\nsource: elsewhere\n---\n{}\n");
    }
    ws
}

#[test]
fn snapshots_reject_deletes_only_pending_snapshots_of_existing_collections() {
    let ws = workspace_with_foreign_pending_files();
    let r = ws.wsrun(&["snapshots", "reject"]);
    assert_code(&r, 0);
    assert_eq!(
        r.stdout,
        "rejected ./__snapshots__/c__first.snap.new\n1 snapshot(s) rejected\n"
    );
    assert_eq!(
        files(&ws),
        [
            "__snapshots__/c.snap.new",
            "__snapshots__/gone__first.snap.new",
            "c.yaml",
            "crate/src/snapshots/crate__tests__x.snap.new",
            "crate/tests/snapshots/cli__y.snap.new",
            "other/__snapshots__/c__first.snap.new",
        ]
    );
}

#[test]
fn snapshots_accept_leaves_insta_pending_snapshots_of_a_rust_crate_alone() {
    let ws = workspace_with_foreign_pending_files();
    let r = ws.wsrun(&["snapshots", "accept", "."]);
    assert_code(&r, 0);
    assert!(
        r.stdout.ends_with("1 snapshot(s) accepted\n"),
        "{}",
        r.output()
    );
    let after = files(&ws);
    assert!(
        after.contains(&"__snapshots__/c__first.snap".to_string()),
        "{after:?}"
    );
    for untouched in [
        "crate/src/snapshots/crate__tests__x.snap.new",
        "crate/tests/snapshots/cli__y.snap.new",
        "__snapshots__/gone__first.snap.new",
        "other/__snapshots__/c__first.snap.new",
    ] {
        assert!(
            after.contains(&untouched.to_string()),
            "{untouched}: {after:?}"
        );
    }
    // Named directly, a file that is not a wsrun snapshot is left alone too.
    let r = ws.wsrun(&[
        "snapshots",
        "reject",
        "crate/src/snapshots/crate__tests__x.snap.new",
    ]);
    assert_code(&r, 0);
    assert_eq!(r.stdout, "0 snapshot(s) rejected\n");
}

#[test]
fn snapshots_accept_with_nothing_pending_says_so() {
    let ws = Workspace::new();
    ws.write("c.yaml", FIRST);
    let r = ws.wsrun(&["snapshots", "accept"]);
    assert_code(&r, 0);
    assert_eq!(r.stdout, "0 snapshot(s) accepted\n");
}

#[test]
fn snapshots_accept_with_a_missing_path_is_an_error() {
    let ws = Workspace::new();
    let r = ws.wsrun(&["snapshots", "accept", "nope"]);
    assert_code(&r, 2);
    assert!(r.stderr.contains("nope"), "{}", r.output());
}

// ---------------------------------------------------------------------------------------------
// Secrets
// ---------------------------------------------------------------------------------------------

#[test]
fn an_echoed_authorization_header_is_masked_in_the_pending_and_the_accepted_snapshot() {
    let server = common::header_echo();
    let ws = Workspace::new();
    ws.write(
        "c.yaml",
        r#"
requests:
  - name: snap
    url: "{{ url }}"
    timeout: 2s
    headers: { Authorization: "Bearer snap-token-4711" }
    steps:
      - snapshot: { name: headers, redact: ["$['sec-websocket-key']"] }
"#,
    );
    let r = run(&ws, &server.url(), &["c.yaml", "-v"]);
    assert_code(&r, 1);
    assert!(!r.output().contains("snap-token-4711"), "{}", r.output());
    let pending = read(&ws, "__snapshots__/c__headers.snap.new");
    assert!(!pending.contains("snap-token-4711"), "{pending}");
    assert!(
        body(&pending).contains(r#""authorization": "***""#),
        "{pending}"
    );

    assert_code(&ws.wsrun(&["snapshots", "accept"]), 0);
    let accepted = read(&ws, "__snapshots__/c__headers.snap");
    assert!(!accepted.contains("snap-token-4711"), "{accepted}");
    // Masking is stable, so the masked snapshot matches the next run.
    assert_code(&run(&ws, &server.url(), &["c.yaml"]), 0);
}

#[test]
fn escaped_map_field_and_captured_secrets_are_masked_in_the_pending_snapshot() {
    let server = common::echo();
    let ws = Workspace::new();
    ws.write(
        "c.yaml",
        r#"
secrets: [quoted, creds, token]
vars:
  quoted: 'q"uo\te/é-secret'
  creds: { user: u, pass: p4ss-map-secret }
requests:
  - name: snap
    url: "{{ url }}"
    timeout: 2s
    steps:
      - send: { json: { token: captured-secret-5150 } }
      - expect: { json: { $.token: { exists: true } } }
      - capture: { token: $.token }
      - send: { json: { q: "{{ quoted }}", creds: "{{ creds }}", token: "{{ token }}", text: 'u="{{ quoted }}"' } }
      - snapshot: { name: secrets }
"#,
    );
    let r = run(&ws, &server.url(), &["c.yaml", "-v"]);
    assert_code(&r, 1);
    let pending = read(&ws, "__snapshots__/c__secrets.snap.new");
    assert_eq!(
        body(&pending),
        r#"{
  "creds": {
    "pass": "***",
    "user": "u"
  },
  "q": "***",
  "text": "u=\"***\"",
  "token": "***"
}
"#
    );
    for piece in ["é-secret", "p4ss-map-secret", "captured-secret-5150"] {
        assert!(!r.output().contains(piece), "{}", r.output());
    }
}
