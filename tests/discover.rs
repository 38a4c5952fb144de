//! Finding collections in folders (docs/cli.md, "The command line"): every YAML file whose top
//! level has a `requests` list is a collection however its YAML is spelled; YAML that is not a
//! collection is skipped; a `.yaml` file that is not YAML at all is an error, never skipped.

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;
mod common;

use cli::{Run, Workspace};

#[track_caller]
fn assert_code(run: &Run, code: i32) {
    assert_eq!(run.code, code, "{}", run.output());
}

const ONE_REQUEST: &str = "requests:\n  - name: a\n    url: ws://127.0.0.1:9\n";

/// A folder holding collections spelled four ways, and YAML that is not a collection.
fn suite() -> Workspace {
    let ws = Workspace::new();
    ws.write("suite/a_plain.yaml", ONE_REQUEST);
    ws.write("suite/b_bom.yaml", &format!("\u{feff}{ONE_REQUEST}"));
    ws.write(
        "suite/c_flow.yml",
        r#"{"requests": [{"name": "a", "url": "ws://127.0.0.1:9"}]}"#,
    );
    ws.write(
        "suite/d_spaced.yaml",
        "requests :\n  - name: a\n    url: ws://127.0.0.1:9\n",
    );
    ws.write(
        "suite/k8s/deployment.yaml",
        "kind: Deployment\nspec:\n  containers:\n    - resources:\n        requests: {cpu: 100m}\n",
    );
    ws.write("suite/k8s/limits.yaml", "requests: {cpu: 100m}\n");
    ws.write(
        "suite/k8s/manifests.yaml",
        "kind: Service\n---\nkind: Deployment\n",
    );
    ws.write("suite/notes.yaml", "title: requests\nitems: [requests]\n");
    ws
}

#[test]
fn a_folder_finds_collections_with_a_bom_flow_style_or_a_spaced_key() {
    let ws = suite();
    let run = ws.wsrun(&["validate", "suite"]);
    assert_code(&run, 0);
    assert_eq!(
        run.stdout,
        "✓ suite/a_plain.yaml: 1 request(s) OK\n\
         ✓ suite/b_bom.yaml: 1 request(s) OK\n\
         ✓ suite/c_flow.yml: 1 request(s) OK\n\
         ✓ suite/d_spaced.yaml: 1 request(s) OK\n"
    );
}

#[test]
fn a_failing_collection_with_a_bom_fails_the_folder_run() {
    let server = common::echo();
    let ws = Workspace::new();
    ws.write(
        "suite/a_passes.yaml",
        &format!(
            "requests:\n  - name: passes\n    url: {}\n    steps:\n      - send: hi\n      - expect: {{text: hi}}\n",
            server.url()
        ),
    );
    ws.write(
        "suite/b_fails.yaml",
        "\u{feff}requests:\n  - name: refused\n    url: ws://127.0.0.1:9\n",
    );
    let run = ws.wsrun(&["suite"]);
    assert_code(&run, 1);
    assert!(run.stdout.contains("✗ refused"), "{}", run.output());
    assert!(
        run.stdout.contains("2 requests: 1 passed, 1 failed"),
        "{}",
        run.output()
    );
}

#[test]
fn a_yaml_file_that_is_not_utf8_in_a_folder_is_an_error_naming_it() {
    let ws = suite();
    std::fs::write(
        ws.path().join("suite/e_latin1.yaml"),
        b"requests:\n  - name: caf\xe9\n    url: ws://127.0.0.1:9\n",
    )
    .expect("write");
    let run = ws.wsrun(&["validate", "suite"]);
    assert_code(&run, 2);
    assert_eq!(
        run.stdout,
        "✓ suite/a_plain.yaml: 1 request(s) OK\n\
         ✓ suite/b_bom.yaml: 1 request(s) OK\n\
         ✓ suite/c_flow.yml: 1 request(s) OK\n\
         ✓ suite/d_spaced.yaml: 1 request(s) OK\n"
    );
    assert_eq!(
        run.stderr,
        "error: suite/e_latin1.yaml: the file is not UTF-8 text (invalid byte at offset 23)\n"
    );
}

#[test]
fn a_yaml_syntax_error_in_a_folder_is_an_error_at_its_line() {
    let ws = Workspace::new();
    ws.write("suite/notes.yaml", "title: notes\nitems: [a, b\n");
    let run = ws.wsrun(&["suite"]);
    assert_code(&run, 2);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.starts_with("error: suite/notes.yaml:2:"),
        "{}",
        run.output()
    );
}

/// A folder with a passing collection beside `broken`, a file that is not a valid collection.
fn suite_with_a_broken_file(broken: &str) -> (common::TestServer, Workspace) {
    let server = common::echo();
    let ws = Workspace::new();
    ws.write(
        "suite/a_passes.yaml",
        &format!(
            "requests:\n  - name: passes\n    url: {}\n    steps:\n      - send: hi\n      - expect: {{text: hi}}\n",
            server.url()
        ),
    );
    ws.write("suite/b_broken.yaml", broken);
    (server, ws)
}

#[test]
fn a_broken_file_in_a_folder_is_reported_and_the_others_still_run() {
    for broken in [
        "requests:\n  - name: x\n    url: [\n",
        "requests:\n  - name: x\n    url: ws://127.0.0.1:9\n    stepz: []\n",
    ] {
        let (_server, ws) = suite_with_a_broken_file(broken);
        let run = ws.wsrun(&["suite"]);
        assert_code(&run, 2);
        assert!(run.stdout.contains("✓ passes"), "{}", run.output());
        assert!(
            run.stdout.contains("1 request: 1 passed"),
            "{}",
            run.output()
        );
        assert!(
            run.stderr.starts_with("error: suite/b_broken.yaml:"),
            "{}",
            run.output()
        );
        assert!(
            run.stderr.ends_with(
                "error: 1 collection file could not be loaded (above); the others ran\n"
            ),
            "{}",
            run.output()
        );
        let validate = ws.wsrun(&["validate", "suite"]);
        assert_code(&validate, 2);
        assert_eq!(validate.stdout, "✓ suite/a_passes.yaml: 1 request(s) OK\n");
    }
}

#[test]
fn env_on_a_folder_runs_the_collections_that_define_it_and_names_the_others() {
    let server = common::echo();
    let ws = Workspace::new();
    ws.write(
        "suite/a_staged.yaml",
        &format!(
            "environments:\n  staging: {{url: {}}}\nrequests:\n  - name: staged\n    url: \"{{{{ url }}}}\"\n    steps:\n      - send: hi\n      - expect: {{text: hi}}\n",
            server.url()
        ),
    );
    ws.write("suite/b_plain.yaml", ONE_REQUEST);
    ws.write(
        "suite/c_other.yaml",
        "environments:\n  prod: {}\nrequests:\n  - name: other\n    url: ws://127.0.0.1:9\n",
    );
    let run = ws.wsrun(&["suite", "--env", "staging"]);
    assert_code(&run, 0);
    assert!(run.stdout.contains("✓ staged"), "{}", run.output());
    assert!(
        run.stdout.contains("1 request: 1 passed"),
        "{}",
        run.output()
    );
    assert_eq!(
        run.stderr,
        "note: --env staging: left out 2 collections that do not define it: \
         suite/b_plain.yaml, suite/c_other.yaml\n"
    );

    // A file named itself must define the environment.
    let named = ws.wsrun(&["suite/b_plain.yaml", "--env", "staging"]);
    assert_code(&named, 2);

    // An environment no collection defines is an error, as for one file.
    let none = ws.wsrun(&["suite", "--env", "qa"]);
    assert_code(&none, 2);
    assert!(
        none.stderr
            .starts_with("error: suite/a_staged.yaml: unknown environment `qa`"),
        "{}",
        none.output()
    );
}

/// A folder with one collection and links that loop: two to `.` and one from a subfolder to
/// `..` (each link to `.` doubles the paths a naive walk follows, 2^40 of them before the
/// system's limit on nested links).
#[cfg(unix)]
fn looping_suite() -> Workspace {
    use std::os::unix::fs::symlink;
    let ws = Workspace::new();
    ws.write("suite/a.yaml", ONE_REQUEST);
    ws.write("suite/sub/b.yaml", ONE_REQUEST);
    let suite = ws.path().join("suite");
    symlink(".", suite.join("here")).expect("link");
    symlink(".", suite.join("here-too")).expect("link");
    symlink("..", suite.join("sub/up")).expect("link");
    symlink("self", suite.join("self")).expect("a link to itself");
    symlink("a.yaml", suite.join("z-again.yaml")).expect("a link to a collection");
    ws
}

#[cfg(unix)]
#[test]
fn symlink_loops_in_a_folder_neither_hang_nor_find_a_collection_twice() {
    let ws = looping_suite();
    let run = ws.wsrun_within(&["validate", "suite"], std::time::Duration::from_secs(20));
    assert_code(&run, 0);
    assert_eq!(
        run.stdout,
        "✓ suite/a.yaml: 1 request(s) OK\n✓ suite/sub/b.yaml: 1 request(s) OK\n"
    );
}

#[cfg(unix)]
#[test]
fn a_link_to_a_folder_not_otherwise_searched_is_followed() {
    use std::os::unix::fs::symlink;
    let ws = Workspace::new();
    ws.write("shared/a.yaml", ONE_REQUEST);
    ws.write("suite/b.yaml", ONE_REQUEST);
    symlink("../shared", ws.path().join("suite/shared")).expect("link");
    let run = ws.wsrun(&["validate", "suite"]);
    assert_code(&run, 0);
    assert_eq!(
        run.stdout,
        "✓ suite/b.yaml: 1 request(s) OK\n✓ suite/shared/a.yaml: 1 request(s) OK\n"
    );
}

#[cfg(unix)]
#[test]
fn symlink_loops_do_not_hang_snapshots_accept() {
    let ws = looping_suite();
    ws.write(
        "suite/__snapshots__/a__first.snap.new",
        "---\nsource: a.yaml\n---\n{}\n",
    );
    let run = ws.wsrun_within(
        &["snapshots", "accept", "suite"],
        std::time::Duration::from_secs(20),
    );
    assert_code(&run, 0);
    assert_eq!(
        run.stdout,
        "accepted suite/__snapshots__/a__first.snap\n1 snapshot(s) accepted\n"
    );
}

/// The names of the requests a `wsrun run` printed (each fails fast: nothing listens).
fn requests_run(run: &Run) -> Vec<String> {
    run.stdout
        .lines()
        .filter_map(|l| l.strip_prefix("  ✗ "))
        .map(str::to_string)
        .collect()
}

#[test]
fn shards_are_the_same_however_the_folder_is_spelled() {
    let ws = Workspace::new();
    let mut all = Vec::new();
    for file in ["a", "b"] {
        let mut yaml = String::from("requests:\n");
        for i in 0..12 {
            let name = format!("{file}{i}");
            yaml.push_str(&format!("  - name: {name}\n    url: ws://127.0.0.1:9\n"));
            all.push(name);
        }
        ws.write(&format!("suite/{file}.yaml"), &yaml);
    }
    all.sort();
    let absolute = ws.path().join("suite").display().to_string();
    let spellings = ["suite", "./suite", absolute.as_str(), "suite/../suite"];
    let mut union = Vec::new();
    // Shard k of 3 is run with spelling k (and the fourth spelling checks shard 1 again).
    for (k, spelling) in [1, 2, 3, 1].into_iter().zip(spellings) {
        let shard = format!("{k}/3");
        let run = ws.wsrun(&["run", "--shard", &shard, spelling]);
        let names = requests_run(&run);
        assert!(
            !names.is_empty(),
            "shard {shard} of {spelling}:\n{}",
            run.output()
        );
        if spelling == "suite/../suite" {
            let first = ws.wsrun(&["run", "--shard", "1/3", "suite"]);
            assert_eq!(names, requests_run(&first), "shard 1/3 spelled {spelling}");
        } else {
            union.extend(names);
        }
    }
    union.sort();
    assert_eq!(union, all, "every request exactly once across the shards");
}
