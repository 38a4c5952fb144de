//! `record --out`, `watch --save` and `new --out` never overwrite a file without `--force`: a
//! session of 0 messages used to empty a collection. The check comes before connecting.

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;
mod common;

const KEPT: &str = "requests: []  # precious\n";

#[test]
fn record_refuses_to_overwrite_an_existing_file_without_force_before_connecting() {
    let server = common::silent();
    let ws = cli::Workspace::new();
    let out = ws.write("trades.yaml", KEPT);
    let url = server.url();
    let run = ws.wsrun(&[
        "record",
        &url,
        "--out",
        "trades.yaml",
        "--duration",
        "100ms",
    ]);
    assert_eq!(run.code, 2, "{}", run.output());
    assert_eq!(
        run.stderr,
        "error: trades.yaml exists; choose another --out, or --force to overwrite it\n"
    );
    assert_eq!(server.connections(), 0, "the check comes before connecting");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), KEPT);

    let run = ws.wsrun(&[
        "record",
        &url,
        "--out",
        "trades.yaml",
        "--duration",
        "100ms",
        "--force",
    ]);
    assert_eq!(run.code, 0, "{}", run.output());
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "",
        "overwritten with 0 messages"
    );
}

#[test]
fn watch_save_refuses_to_overwrite_an_existing_file_without_force_before_connecting() {
    let server = common::silent();
    let ws = cli::Workspace::new();
    let out = ws.write("live.jsonl", KEPT);
    let url = server.url();
    let run = ws.wsrun(&["watch", &url, "--save", "live.jsonl", "--duration", "100ms"]);
    assert_eq!(run.code, 2, "{}", run.output());
    assert_eq!(
        run.stderr,
        "error: live.jsonl exists; choose another --save, or --force to overwrite it\n"
    );
    assert_eq!(server.connections(), 0, "the check comes before connecting");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), KEPT);

    let run = ws.wsrun(&[
        "watch",
        &url,
        "--save",
        "live.jsonl",
        "--duration",
        "100ms",
        "--force",
    ]);
    assert_eq!(run.code, 0, "{}", run.output());
    assert_eq!(server.connections(), 1);
}

#[test]
fn new_refuses_to_overwrite_an_existing_collection_without_force() {
    let ws = cli::Workspace::new();
    ws.write("trades.jsonl", "{\"ms\":1,\"json\":{\"p\":1}}\n");
    let out = ws.write("trades.yaml", KEPT);
    let run = ws.wsrun(&["new", "--from", "trades.jsonl"]);
    assert_eq!(run.code, 2, "{}", run.output());
    assert_eq!(
        run.stderr,
        "error: trades.yaml exists; choose another --out, or --force to overwrite it\n"
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap(), KEPT);
}
