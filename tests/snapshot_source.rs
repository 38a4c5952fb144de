//! The `source:` header of a snapshot file names its collection relative to the snapshot file
//! (`../c.yaml`), however the run was started, and older headers keep matching: only the body
//! is compared.

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;
mod common;

use cli::Workspace;

const COLLECTION: &str = r#"
requests:
  - name: snap
    url: "{{ url }}"
    timeout: 2s
    steps:
      - snapshot: {name: first}
"#;

const MSG: &str = r#"{"sym":"BTC","price":"1.5","id":7}"#;

fn run(ws: &Workspace, url: &str, path: &str) -> i32 {
    let var = format!("url={url}");
    let run = ws.wsrun(&[path, "--var", &var]);
    run.code
}

fn read(ws: &Workspace, name: &str) -> String {
    std::fs::read_to_string(ws.path().join(name)).unwrap_or_else(|e| panic!("read {name}: {e}"))
}

#[test]
fn the_source_header_is_the_collection_relative_to_the_snapshot_wherever_the_run_started() {
    let server = common::text_server(vec![MSG.into(), MSG.into()]);
    let ws = Workspace::new();
    ws.write("suite/c.yaml", COLLECTION);
    for path in [
        "suite/c.yaml".to_string(),
        ws.path().join("suite/c.yaml").display().to_string(),
    ] {
        assert_eq!(run(&ws, &server.url(), &path), 1);
        let text = read(&ws, "suite/__snapshots__/c__first.snap.new");
        assert!(
            text.starts_with("---\nsource: \"../c.yaml\"\n"),
            "run as {path}, the header:\n{text}"
        );
    }
}

#[test]
fn a_committed_snapshot_with_an_older_source_header_still_matches() {
    let server = common::text_server(vec![MSG.into()]);
    let ws = Workspace::new();
    ws.write("c.yaml", COLLECTION);
    assert_eq!(run(&ws, &server.url(), "c.yaml"), 1);
    let new = read(&ws, "__snapshots__/c__first.snap.new");
    let body = &new[new[4..].find("\n---\n").expect("a header") + 9..];
    // As an earlier wsrun wrote it: the path as the run was given it.
    let old = format!(
        "---\nsource: \"/home/someone/project/c.yaml\"\ndescription: x\nexpression: y\n---\n{body}"
    );
    ws.write("__snapshots__/c__first.snap", &old);
    std::fs::remove_file(ws.path().join("__snapshots__/c__first.snap.new")).expect("remove");
    assert_eq!(run(&ws, &server.url(), "c.yaml"), 0);
    assert_eq!(
        read(&ws, "__snapshots__/c__first.snap"),
        old,
        "a match writes nothing"
    );
}
