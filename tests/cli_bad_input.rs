//! Collections and command lines that cannot run: exit 2, nothing on stdout, and an error on
//! stderr that names the file and line (snapshotted).

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;
mod common;

use std::process::Command;

use cli::{Run, Workspace};

/// Writes `yaml` as `c.yaml`, runs `wsrun ARGS` (default `c.yaml`), and checks it is a load
/// error: exit 2, nothing on stdout, one `error: …` on stderr.
#[track_caller]
fn load_error_with(yaml: &str, args: &[&str]) -> Run {
    let ws = Workspace::new();
    ws.write("c.yaml", yaml);
    let args = if args.is_empty() {
        &["c.yaml"][..]
    } else {
        args
    };
    let run = ws.wsrun(args);
    assert_load_error(&run);
    run
}

#[track_caller]
fn load_error(yaml: &str) -> Run {
    load_error_with(yaml, &[])
}

#[track_caller]
fn assert_load_error(run: &Run) {
    assert_eq!(run.code, 2, "expected exit 2:\n{}", run.output());
    assert!(
        run.stdout.is_empty(),
        "nothing ran, so nothing on stdout:\n{}",
        run.output()
    );
    assert!(
        run.stderr.starts_with("error: "),
        "an error on stderr:\n{}",
        run.output()
    );
}

#[track_caller]
fn assert_stderr_has(run: &Run, needle: &str) {
    assert!(
        run.stderr.contains(needle),
        "expected {needle:?} on stderr:\n{}",
        run.output()
    );
}

// ---------------------------------------------------------------------------------------------
// Unknown keys
// ---------------------------------------------------------------------------------------------

#[test]
fn an_unknown_top_level_key_is_an_error_with_did_you_mean() {
    let run = load_error("name: t\nrequets:\n  - name: a\n    url: ws://127.0.0.1:9\n");
    assert_stderr_has(&run, "c.yaml:2:1: unknown field `requets`");
    assert_stderr_has(&run, "(did you mean `requests`?)");
    insta::assert_snapshot!(run.stderr);
}

#[test]
fn an_unknown_request_key_is_an_error_with_did_you_mean() {
    let run = load_error(
        "requests:\n  - name: a\n    url: ws://127.0.0.1:9\n    step:\n      - sleep: 1s\n",
    );
    assert_stderr_has(&run, "c.yaml:4:5: unknown field `step`");
    assert_stderr_has(&run, "(did you mean `steps`?)");
}

#[test]
fn an_unknown_step_key_is_an_error_with_did_you_mean() {
    let run = load_error(
        "requests:\n  - name: a\n    url: ws://127.0.0.1:9\n    steps:\n      - expct: {json: {$.a: 1}}\n",
    );
    assert_stderr_has(&run, "c.yaml:5:9:");
    assert_stderr_has(&run, "`expct`");
    assert_stderr_has(&run, "(did you mean `expect`?)");
    insta::assert_snapshot!(run.stderr);
}

#[test]
fn an_unknown_step_key_is_called_a_step() {
    let run = load_error(
        "requests:\n  - name: a\n    url: ws://127.0.0.1:9\n    steps:\n      - expct: {json: {$.a: 1}}\n",
    );
    assert_stderr_has(&run, "unknown step `expct`");
    assert!(!run.stderr.contains("variant"), "{}", run.stderr);
}

#[test]
fn an_unknown_step_option_is_an_error_with_did_you_mean() {
    let run = load_error(
        "requests:\n  - name: a\n    url: ws://127.0.0.1:9\n    steps:\n      - expect: {jsn: {$.a: 1}}\n",
    );
    assert_stderr_has(&run, "c.yaml:5:18: unknown field `jsn`");
    assert_stderr_has(&run, "(did you mean `json`?)");
}

#[test]
fn an_unknown_matcher_key_is_an_error_with_did_you_mean() {
    let run = load_error(
        "requests:\n  - name: a\n    url: ws://127.0.0.1:9\n    steps:\n      - expect: {json: {$.p: {gtt: 1}}}\n",
    );
    assert_stderr_has(
        &run,
        "c.yaml:5:30: unknown matcher `gtt` (did you mean `gt`?)",
    );
    insta::assert_snapshot!(run.stderr);
}

#[test]
fn an_unknown_type_name_is_an_error_with_did_you_mean() {
    let run = load_error(
        "requests:\n  - name: a\n    url: ws://127.0.0.1:9\n    steps:\n      - expect: {json: {$.t: {type: intger}}}\n",
    );
    assert_stderr_has(
        &run,
        "c.yaml:5:30: unknown type `intger` (did you mean `integer`?)",
    );
}

// ---------------------------------------------------------------------------------------------
// Bad values
// ---------------------------------------------------------------------------------------------

#[test]
fn a_bad_jsonpath_is_an_error_at_its_line() {
    let run = load_error(
        "requests:\n  - name: a\n    url: ws://127.0.0.1:9\n    steps:\n      - expect:\n          json:\n            \"$.items[?\": 1\n",
    );
    assert_stderr_has(&run, "c.yaml:7:13: invalid JSONPath `$.items[?`");
    insta::assert_snapshot!(run.stderr);
}

#[test]
fn a_jsonpath_without_the_root_is_an_error() {
    let run = load_error(
        "requests:\n  - name: a\n    url: ws://127.0.0.1:9\n    steps:\n      - expect:\n          json:\n            items.id: 1\n",
    );
    assert_stderr_has(&run, "c.yaml:7:13: invalid JSONPath `items.id`");
}

#[test]
fn a_jsonpath_without_the_root_suggests_the_dollar() {
    let run = load_error(
        "requests:\n  - name: a\n    url: ws://127.0.0.1:9\n    steps:\n      - expect:\n          json:\n            items.id: 1\n",
    );
    assert_stderr_has(&run, "$.items.id");
}

#[test]
fn an_invalid_regex_is_an_error_at_its_line() {
    let run = load_error(
        "requests:\n  - name: a\n    url: ws://127.0.0.1:9\n    steps:\n      - expect: {json: {$.a: {matches: \"(unclosed\"}}}\n",
    );
    assert_stderr_has(&run, "c.yaml:5:30: invalid regex `(unclosed`");
}

#[test]
fn an_invalid_regex_error_has_no_escaped_newlines() {
    let run = load_error(
        "requests:\n  - name: a\n    url: ws://127.0.0.1:9\n    steps:\n      - expect: {json: {$.a: {matches: \"(unclosed\"}}}\n",
    );
    assert!(!run.stderr.contains("\\n"), "{}", run.stderr);
    assert_stderr_has(&run, "unclosed group");
}

#[test]
fn an_invalid_duration_is_an_error_naming_the_units() {
    let run =
        load_error("requests:\n  - name: a\n    url: ws://127.0.0.1:9\n    timeout: 5 seconds\n");
    assert_stderr_has(
        &run,
        "c.yaml:4:14: invalid duration unit `seconds` in `5 seconds`: use ms, s, m or h",
    );
}

#[test]
fn send_with_two_payloads_is_an_error() {
    let run = load_error(
        "requests:\n  - name: a\n    url: ws://127.0.0.1:9\n    steps:\n      - send: {text: a, json: 1}\n",
    );
    assert_stderr_has(
        &run,
        "c.yaml:5:15: `send` takes only one of `text`, `json` or `binary`",
    );
}

#[test]
fn expect_with_count_zero_is_an_error() {
    let run = load_error(
        "requests:\n  - name: a\n    url: ws://127.0.0.1:9\n    steps:\n      - expect: {count: 0}\n",
    );
    assert_stderr_has(&run, "c.yaml:5:17: `count` must be at least 1");
}

#[test]
fn a_close_code_below_1000_is_an_error() {
    let run = load_error(
        "requests:\n  - name: a\n    url: ws://127.0.0.1:9\n    steps:\n      - close: 999\n",
    );
    assert_stderr_has(&run, "c.yaml:5");
    assert_stderr_has(&run, "999");
}

#[test]
fn invalid_literal_base64_is_rejected_before_connecting() {
    let run = load_error(
        "requests:\n  - name: a\n    url: ws://127.0.0.1:9\n    steps:\n      - send: {binary: \"not base64!\"}\n",
    );
    assert_stderr_has(&run, "c.yaml:5");
    assert_stderr_has(&run, "base64");
}

#[test]
fn a_request_without_url_is_an_error() {
    let run = load_error("requests:\n  - name: a\n    steps:\n      - sleep: 1s\n");
    assert_stderr_has(
        &run,
        "c.yaml:2: request `a` needs a `url` (or `connections`)",
    );
}

#[test]
fn an_unclosed_template_is_an_error() {
    let run = load_error("requests:\n  - name: a\n    url: \"ws://127.0.0.1:9/{{ a\"\n");
    assert_stderr_has(
        &run,
        "c.yaml:3:10: unclosed `{{` in template `ws://127.0.0.1:9/{{ a`",
    );
}

#[test]
fn a_file_without_requests_is_an_error() {
    let run = load_error("name: only a name\n");
    assert_stderr_has(&run, "c.yaml:1:1: missing field `requests`");
}

// ---------------------------------------------------------------------------------------------
// Variables and environments
// ---------------------------------------------------------------------------------------------

#[test]
fn a_missing_variable_is_an_error_with_did_you_mean() {
    let run = load_error(
        "vars: {symbol: btcusdt}\nrequests:\n  - name: trades\n    url: \"ws://127.0.0.1:9/ws/{{ symbl }}@trade\"\n",
    );
    assert_stderr_has(
        &run,
        "c.yaml:4: unknown variable `symbl` (did you mean `symbol`?) in request `trades`",
    );
    insta::assert_snapshot!(run.stderr);
}

#[test]
fn a_missing_variable_in_a_step_names_the_step_line() {
    let run = load_error(
        "vars: {symbol: btcusdt}\nrequests:\n  - name: trades\n    url: ws://127.0.0.1:9\n    steps:\n      - sleep: 1ms\n      - send: {json: {params: [\"{{ symbl }}@trade\"]}}\n",
    );
    assert_stderr_has(
        &run,
        "c.yaml:7: unknown variable `symbl` (did you mean `symbol`?)",
    );
}

#[test]
fn a_variable_captured_later_is_not_missing() {
    let ws = Workspace::new();
    ws.write(
        "c.yaml",
        "requests:\n  - name: a\n    url: ws://127.0.0.1:9\n    steps:\n      - expect:\n      - capture: {x: $.n}\n      - send: {json: {n: \"{{ x }}\"}}\n",
    );
    let run = ws.wsrun(&["validate", "c.yaml"]);
    assert_eq!(run.code, 0, "{}", run.output());
}

#[test]
fn a_template_cycle_in_vars_is_an_error_naming_the_cycle() {
    let run = load_error(
        "vars:\n  a: \"{{ b }}\"\n  b: \"{{ a }}\"\nrequests:\n  - name: r\n    url: \"ws://127.0.0.1:9/{{ a }}\"\n",
    );
    assert_stderr_has(
        &run,
        "c.yaml:2: variables refer to each other in a cycle: a → b → a",
    );
    insta::assert_snapshot!(run.stderr);
}

const ENVS: &str = "environments:\n  local: {base: \"ws://127.0.0.1:9\"}\n  live: {base: \"ws://127.0.0.1:9\"}\nrequests:\n  - name: a\n    url: \"{{ base }}\"\n";

#[test]
fn an_unknown_env_flag_is_an_error_with_did_you_mean() {
    let run = load_error_with(ENVS, &["c.yaml", "--env", "lve"]);
    assert_stderr_has(
        &run,
        "c.yaml: unknown environment `lve` (did you mean `live`?); this collection has: local, live",
    );
    insta::assert_snapshot!(run.stderr);
}

#[test]
fn an_env_flag_on_a_collection_without_environments_is_an_error() {
    let run = load_error_with(
        "requests:\n  - name: a\n    url: ws://127.0.0.1:9\n",
        &["c.yaml", "--env", "prod"],
    );
    assert_stderr_has(
        &run,
        "unknown environment `prod`: the collection defines no `environments`",
    );
}

#[test]
fn an_unknown_default_env_is_an_error_at_its_line() {
    let run = load_error(&ENVS.replace("requests:", "default_env: lcal\nrequests:"));
    assert_stderr_has(
        &run,
        "c.yaml:4: unknown environment `lcal` (did you mean `local`?)",
    );
}

#[test]
fn a_missing_vars_file_is_an_error() {
    let run = load_error_with(
        "requests:\n  - name: a\n    url: ws://127.0.0.1:9\n",
        &["c.yaml", "--vars-file", "nope.yaml"],
    );
    assert_stderr_has(&run, "nope.yaml: cannot read: no such file");
}

#[test]
fn a_var_flag_without_equals_is_a_usage_error() {
    let ws = Workspace::new();
    ws.write(
        "c.yaml",
        "requests:\n  - name: a\n    url: ws://127.0.0.1:9\n",
    );
    let run = ws.wsrun(&["c.yaml", "--var", "novalue"]);
    assert_eq!(run.code, 2, "{}", run.output());
    assert_stderr_has(&run, "expected K=V, got `novalue`");
}

// ---------------------------------------------------------------------------------------------
// Connections
// ---------------------------------------------------------------------------------------------

#[test]
fn a_step_naming_an_unknown_connection_is_an_error() {
    let run = load_error(
        "requests:\n  - name: chat\n    connections:\n      alice: {url: \"ws://127.0.0.1:9\"}\n      bob: {url: \"ws://127.0.0.1:9\"}\n    steps:\n      - send: {conn: carol, text: hi}\n",
    );
    assert_stderr_has(
        &run,
        "c.yaml:7: `send` names connection `carol`, which this request does not open; it has: alice, bob",
    );
    insta::assert_snapshot!(run.stderr);
}

#[test]
fn a_step_naming_a_connection_with_a_typo_gets_did_you_mean() {
    let run = load_error(
        "requests:\n  - name: chat\n    connections:\n      alice: {url: \"ws://127.0.0.1:9\"}\n      bob: {url: \"ws://127.0.0.1:9\"}\n    steps:\n      - expect: {conn: alic}\n",
    );
    assert_stderr_has(&run, "names connection `alic`");
    assert_stderr_has(&run, "(did you mean `alice`?)");
}

#[test]
fn a_step_without_conn_in_a_request_with_several_connections_is_an_error() {
    let run = load_error(
        "requests:\n  - name: chat\n    connections:\n      alice: {url: \"ws://127.0.0.1:9\"}\n      bob: {url: \"ws://127.0.0.1:9\"}\n    steps:\n      - send: {text: hi}\n",
    );
    assert_stderr_has(
        &run,
        "c.yaml:7: this request opens several connections, so `send` must say which: add `conn: alice`",
    );
}

// ---------------------------------------------------------------------------------------------
// Files and folders
// ---------------------------------------------------------------------------------------------

#[test]
fn broken_yaml_is_an_error_at_its_line_and_column() {
    let run = load_error("requests:\n  - name: a\n    url: [unclosed\n");
    assert_stderr_has(&run, "c.yaml:3:10:");
    insta::assert_snapshot!(run.stderr);
}

#[test]
fn a_duplicate_yaml_key_is_an_error_at_its_line() {
    let run = load_error(
        "requests:\n  - name: a\n    url: ws://127.0.0.1:9\n    steps:\n      - expect:\n          json:\n            $.a: 1\n            $.a: 2\n",
    );
    assert_stderr_has(&run, "c.yaml:8:13: duplicate key: $.a");
}

#[test]
fn a_duplicate_yaml_key_error_does_not_mention_library_options() {
    let run = load_error(
        "requests:\n  - name: a\n    url: ws://127.0.0.1:9\n    steps:\n      - expect:\n          json:\n            $.a: 1\n            $.a: 2\n",
    );
    assert!(!run.stderr.contains("DuplicateKeyPolicy"), "{}", run.stderr);
}

#[test]
fn an_empty_file_is_an_error() {
    let run = load_error("");
    assert_stderr_has(
        &run,
        "c.yaml: the file is empty: a collection needs at least `requests:`",
    );
    insta::assert_snapshot!(run.stderr);
}

#[test]
fn a_whitespace_only_file_is_an_empty_file() {
    let run = load_error("\n   \n\n");
    assert_stderr_has(&run, "c.yaml: the file is empty");
}

#[test]
fn a_comment_only_file_is_an_empty_file() {
    let run = load_error("# nothing here yet\n");
    assert_stderr_has(&run, "c.yaml: the file is empty");
}

#[test]
fn a_binary_file_is_an_error_saying_it_is_not_utf8() {
    let ws = Workspace::new();
    std::fs::write(
        ws.path().join("c.yaml"),
        b"\xff\xfe\x00garbage\x89PNG\r\n\x1a\n",
    )
    .expect("write garbage");
    let run = ws.wsrun(&["c.yaml"]);
    assert_load_error(&run);
    assert_stderr_has(&run, "c.yaml: the file is not UTF-8 text");
    insta::assert_snapshot!(run.stderr);
}

#[test]
fn non_utf8_in_the_middle_of_a_collection_is_an_error() {
    let ws = Workspace::new();
    let mut bytes = b"requests:\n  - name: caf".to_vec();
    bytes.extend_from_slice(&[0xe9]); // Latin-1 é
    bytes.extend_from_slice(b"\n    url: ws://127.0.0.1:9\n");
    std::fs::write(ws.path().join("c.yaml"), &bytes).expect("write latin-1");
    let run = ws.wsrun(&["c.yaml"]);
    assert_load_error(&run);
    assert_stderr_has(
        &run,
        "the file is not UTF-8 text (invalid byte at offset 23)",
    );
}

#[test]
fn a_missing_file_is_an_error() {
    let ws = Workspace::new();
    let run = ws.wsrun(&["missing.yaml"]);
    assert_load_error(&run);
    assert_eq!(
        run.stderr,
        "error: missing.yaml: cannot read: no such file\n"
    );
}

#[test]
fn a_folder_with_no_collections_is_an_error() {
    let ws = Workspace::new();
    ws.write("suite/notes.yaml", "title: not a collection\n");
    ws.write("suite/readme.txt", "requests:\n");
    let run = ws.wsrun(&["suite"]);
    assert_load_error(&run);
    insta::assert_snapshot!(run.stderr);
}

#[test]
fn one_bad_collection_in_a_folder_stops_the_whole_run() {
    let server = common::silent();
    let ws = Workspace::new();
    ws.write(
        "suite/a_good.yaml",
        &format!("requests:\n  - name: good\n    url: {}\n", server.url()),
    );
    ws.write(
        "suite/b_bad.yaml",
        "requests:\n  - name: bad\n    url: ws://127.0.0.1:9\n    steps:\n      - slep: 1s\n",
    );
    let run = ws.wsrun(&["suite"]);
    assert_load_error(&run);
    assert_stderr_has(&run, "b_bad.yaml:5:9:");
    assert_eq!(
        server.connections(),
        0,
        "the good collection did not run either"
    );
}

#[test]
fn duplicate_request_names_are_an_error() {
    let run = load_error(
        "requests:\n  - name: trades\n    url: ws://127.0.0.1:9\n  - name: trades\n    url: ws://127.0.0.1:9\n",
    );
    assert_stderr_has(
        &run,
        "c.yaml:4: duplicate request name `trades` (first used on line 2)",
    );
    insta::assert_snapshot!(run.stderr);
}

#[test]
fn no_arguments_print_usage_and_exit_2() {
    let ws = Workspace::new();
    let run = ws.wsrun(&[]);
    assert_eq!(run.code, 2, "{}", run.output());
    assert_stderr_has(&run, "Usage: wsrun");
}

// ---------------------------------------------------------------------------------------------
// validate
// ---------------------------------------------------------------------------------------------

#[test]
fn validate_exits_0_without_connecting() {
    let ws = Workspace::new();
    ws.write(
        "c.yaml",
        &format!(
            "vars: {{symbol: btcusdt}}\nrequests:\n  - name: trades\n    url: \"{}/ws/{{{{ symbol }}}}@trade\"\n    steps:\n      - expect: {{json: {{$.s: BTCUSDT}}}}\n      - capture: {{id: $.t}}\n      - expect: {{json: {{$.t: {{gt: \"{{{{ id }}}}\"}}}}}}\n",
            common::refused_url()
        ),
    );
    let run = ws.wsrun(&["validate", "c.yaml"]);
    assert_eq!(run.code, 0, "{}", run.output());
    assert_eq!(run.stdout, "✓ c.yaml: 1 request(s) OK\n");
    assert!(run.stderr.is_empty(), "{}", run.output());
}

#[test]
fn validate_does_not_open_a_connection_to_a_live_server() {
    let server = common::echo();
    let ws = Workspace::new();
    ws.write(
        "c.yaml",
        &format!(
            "requests:\n  - name: one\n    url: {url}\n  - name: two\n    url: {url}\n",
            url = server.url()
        ),
    );
    let run = ws.wsrun(&["validate", "c.yaml"]);
    assert_eq!(run.code, 0, "{}", run.output());
    assert_eq!(run.stdout, "✓ c.yaml: 2 request(s) OK\n");
    assert_eq!(server.connections(), 0);
}

#[test]
fn validate_reports_the_same_errors_with_exit_2() {
    let run = load_error_with(
        "vars: {symbol: btcusdt}\nrequests:\n  - name: trades\n    url: \"ws://127.0.0.1:9/{{ symbl }}\"\n",
        &["validate", "c.yaml"],
    );
    assert_stderr_has(
        &run,
        "c.yaml:4: unknown variable `symbl` (did you mean `symbol`?)",
    );
}

#[test]
fn validate_takes_env_and_var() {
    let ws = Workspace::new();
    ws.write(
        "c.yaml",
        ENVS.replace("{{ base }}", "{{ base }}/{{ extra }}")
            .as_str(),
    );
    let run = ws.wsrun(&["validate", "c.yaml", "--env", "live", "--var", "extra=x"]);
    assert_eq!(run.code, 0, "{}", run.output());
    let run = ws.wsrun(&["validate", "c.yaml", "--env", "nope", "--var", "extra=x"]);
    assert_load_error(&run);
    assert_stderr_has(&run, "unknown environment `nope`");
    let run = ws.wsrun(&["validate", "c.yaml"]);
    assert_load_error(&run);
    assert_stderr_has(&run, "unknown variable `extra`");
}

// ---------------------------------------------------------------------------------------------
// Billion laughs
// ---------------------------------------------------------------------------------------------

/// Nine levels of nine aliases: 9^9 (≈ 387 million) strings once expanded.
fn alias_bomb(indent: &str) -> String {
    let mut yaml = format!(
        "{indent}a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
    );
    let names = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'];
    for pair in names.windows(2) {
        let (prev, next) = (pair[0], pair[1]);
        let items = vec![format!("*{prev}"); 9].join(",");
        yaml.push_str(&format!("{indent}{next}: &{next} [{items}]\n"));
    }
    yaml
}

/// Runs `wsrun ARGS` in `ws` under a 1 GiB address-space limit, so an expansion that tries to
/// build the whole bomb aborts instead of exhausting the machine.
fn wsrun_with_memory_limit(ws: &Workspace, args: &str) -> Run {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v 1048576 && exec \"$0\" {args}"))
        .arg(env!("CARGO_BIN_EXE_wsrun"))
        .current_dir(ws.path())
        .env("NO_COLOR", "1")
        .env("WSRUN_NO_TIMINGS", "1")
        .env_remove("CI")
        .output()
        .expect("run wsrun under sh");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn a_yaml_alias_bomb_exits_2_without_blowing_memory() {
    let ws = Workspace::new();
    ws.write(
        "c.yaml",
        &format!(
            "vars:\n{}requests:\n  - name: a\n    url: ws://127.0.0.1:9\n",
            alias_bomb("  ")
        ),
    );
    let run = wsrun_with_memory_limit(&ws, "c.yaml");
    assert_load_error(&run);
    assert_stderr_has(&run, "c.yaml:");
}

#[test]
fn a_yaml_alias_bomb_in_a_vars_file_exits_2_without_blowing_memory() {
    let ws = Workspace::new();
    ws.write(
        "c.yaml",
        "requests:\n  - name: a\n    url: ws://127.0.0.1:9\n",
    );
    ws.write("bomb.yaml", &alias_bomb(""));
    let run = wsrun_with_memory_limit(&ws, "c.yaml --vars-file bomb.yaml");
    assert_load_error(&run);
    assert_stderr_has(&run, "bomb.yaml");
}

#[test]
fn a_yaml_alias_bomb_error_says_what_is_wrong() {
    let ws = Workspace::new();
    ws.write(
        "c.yaml",
        &format!(
            "vars:\n{}requests:\n  - name: a\n    url: ws://127.0.0.1:9\n",
            alias_bomb("  ")
        ),
    );
    let run = wsrun_with_memory_limit(&ws, "c.yaml");
    assert_load_error(&run);
    assert!(!run.stderr.contains("Events {"), "{}", run.stderr);
    assert_stderr_has(&run, "alias");
}

#[test]
fn deeply_nested_json_in_a_step_is_an_error_not_a_crash() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let run = load_error(&format!(
        "requests:\n  - name: a\n    url: ws://127.0.0.1:9\n    steps:\n      - send: {{json: {deep}}}\n"
    ));
    assert_stderr_has(&run, "c.yaml:5:");
    assert_stderr_has(&run, "nesting is too deep");
}

#[test]
fn deeply_nested_maps_in_vars_are_an_error_not_a_crash() {
    let deep = format!("{}1{}", "{b: ".repeat(5_000), "}".repeat(5_000));
    let run = load_error(&format!("vars: {{a: {deep}}}\nrequests: []\n"));
    assert_stderr_has(&run, "c.yaml:1:");
    assert_stderr_has(&run, "nesting is too deep");
}

// ---------------------------------------------------------------------------------------------
// Durations too long to wait for
// ---------------------------------------------------------------------------------------------

#[test]
fn a_duration_too_long_to_wait_for_is_an_error_at_its_line() {
    let run = load_error(
        "defaults: { timeout: 9300000000000000000s }\nrequests:\n  - name: a\n    url: ws://127.0.0.1:9\n",
    );
    insta::assert_snapshot!(run.stderr, @r"
    error: c.yaml:1:22: duration `9300000000000000000s` is too long: durations are at most 8760h (a year)
      |
    1 | defaults: { timeout: 9300000000000000000s }
      |                      ^
    ");
    for step in [
        "      - expect: {timeout: 9300000000000000000s}\n",
        "      - sleep: 9300000000000000000s\n",
        "      - no_message: 9300000000000000000s\n",
        "      - expect: {count: 2, within: 100000000h}\n",
    ] {
        let run = load_error(&format!(
            "requests:\n  - name: a\n    url: ws://127.0.0.1:9\n    steps:\n{step}"
        ));
        assert_stderr_has(&run, "c.yaml:5:");
        assert_stderr_has(&run, "is too long: durations are at most 8760h (a year)");
    }
}

#[test]
fn a_timeout_flag_too_long_to_wait_for_is_a_usage_error() {
    let ws = Workspace::new();
    ws.write(
        "c.yaml",
        "requests:\n  - name: a\n    url: ws://127.0.0.1:9\n",
    );
    let run = ws.wsrun(&["c.yaml", "--timeout", "9300000000000000000s"]);
    assert_eq!(run.code, 2, "{}", run.output());
    assert!(run.stdout.is_empty(), "{}", run.output());
    assert_stderr_has(
        &run,
        "invalid value '9300000000000000000s' for '--timeout <D>': duration `9300000000000000000s` is too long: durations are at most 8760h (a year)",
    );
}

// ---------------------------------------------------------------------------------------------
// Control frames too large to send
// ---------------------------------------------------------------------------------------------

#[test]
fn a_close_reason_over_123_bytes_is_an_error_at_its_line() {
    let reason = "é".repeat(62); // 124 bytes in UTF-8
    let yaml = format!(
        "requests:\n  - name: a\n    url: ws://127.0.0.1:9\n    steps:\n      - close: {{code: 1000, reason: \"{reason}\"}}\n"
    );
    let run = load_error_with(&yaml, &["validate", "c.yaml"]);
    insta::assert_snapshot!(run.stderr.replace(&reason, "é×62"), @r#"
    error: c.yaml:5:16: the close reason is 124 bytes: a close frame carries at most 123 (RFC 6455 §5.5)
      |
    5 |       - close: {code: 1000, reason: "é×62"}
      |                ^
    "#);
    let fits = yaml.replacen(&reason, &"é".repeat(61), 1);
    let ws = Workspace::new();
    ws.write("c.yaml", &fits);
    let run = ws.wsrun(&["validate", "c.yaml"]);
    assert_eq!(run.code, 0, "{}", run.output());
}

#[test]
fn a_ping_payload_over_125_bytes_is_an_error_at_its_line() {
    for step in [
        format!("      - ping: {}\n", "p".repeat(126)),
        format!(
            "      - ping: {{payload: {}, timeout: 1s}}\n",
            "p".repeat(126)
        ),
    ] {
        let run = load_error_with(
            &format!("requests:\n  - name: a\n    url: ws://127.0.0.1:9\n    steps:\n{step}"),
            &["validate", "c.yaml"],
        );
        assert_stderr_has(
            &run,
            "the ping payload is 126 bytes: a ping frame carries at most 125 (RFC 6455 §5.5)",
        );
        assert_stderr_has(&run, "c.yaml:5:");
    }
    let ws = Workspace::new();
    ws.write(
        "c.yaml",
        &format!(
            "requests:\n  - name: a\n    url: ws://127.0.0.1:9\n    steps:\n      - ping: {}\n",
            "p".repeat(125)
        ),
    );
    let run = ws.wsrun(&["validate", "c.yaml"]);
    assert_eq!(run.code, 0, "{}", run.output());
}
