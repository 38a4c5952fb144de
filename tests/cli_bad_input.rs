//! Inputs that cannot run and that a case file under `tests/cases/bad_input/` cannot hold: files
//! that are empty or not text (a case header would change them), folders, missing files, no
//! arguments, and inputs too large or too dangerous to keep as files (alias bombs, deep nesting).
//! Each is a load error: exit 2, nothing on stdout, an error on stderr.

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;
mod common;

use std::process::Command;

use cli::{Run, Workspace};

/// Writes `yaml` as `c.yaml`, runs `wsrun c.yaml`, and checks it is a load error: exit 2,
/// nothing on stdout, one `error: …` on stderr.
#[track_caller]
fn load_error(yaml: &str) -> Run {
    load_error_with(yaml, &["c.yaml"])
}

/// The same with these arguments (e.g. `validate c.yaml`).
#[track_caller]
fn load_error_with(yaml: &str, args: &[&str]) -> Run {
    let ws = Workspace::new();
    ws.write("c.yaml", yaml);
    let run = ws.wsrun(args);
    assert_load_error(&run);
    run
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
// Files and folders
// ---------------------------------------------------------------------------------------------

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
fn one_bad_collection_in_a_folder_is_reported_and_the_good_one_still_runs() {
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
    assert_eq!(run.code, 2, "{}", run.output());
    assert_stderr_has(&run, "b_bad.yaml:5:9:");
    assert!(run.stdout.contains("✓ good"), "{}", run.output());
    assert_eq!(server.connections(), 1, "the good collection ran");
}

#[test]
fn no_arguments_print_usage_and_exit_2() {
    let ws = Workspace::new();
    let run = ws.wsrun(&[]);
    assert_eq!(run.code, 2, "{}", run.output());
    assert_stderr_has(&run, "Usage: wsrun");
}

// ---------------------------------------------------------------------------------------------
// Billion laughs and deep nesting
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
