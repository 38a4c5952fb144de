//! `wsrun new --from RECORDING` through the binary: the starter collection it writes (kept as an
//! insta snapshot), that it runs green offline at once — with `CI` set, so its shape snapshot
//! must already exist — and that it fails against a stream whose fields were renamed or retyped.

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;
mod common;

/// The committed Binance fixture, copied into the workspace as `fixtures/trades.jsonl`.
fn with_binance_fixture(ws: &cli::Workspace) {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/collections/fixtures/btcusdt-trades.jsonl"
    );
    let text = std::fs::read_to_string(fixture).expect("read the fixture");
    ws.write("fixtures/trades.jsonl", &text);
}

/// Runs the collection with `CI` set: nothing may be written, a missing snapshot fails.
fn run_in_ci(ws: &cli::Workspace, args: &[&str]) -> cli::Run {
    ws.wsrun_env(args, &[("CI", "true")])
}

#[test]
fn a_starter_from_the_binance_recording_runs_green_offline_under_ci() {
    let ws = cli::Workspace::new();
    with_binance_fixture(&ws);
    let made = ws.wsrun(&[
        "new",
        "--from",
        "fixtures/trades.jsonl",
        "--url",
        "wss://stream.binance.com:9443/ws/btcusdt@trade",
        "--out",
        "trades.yaml",
    ]);
    assert_eq!(made.code, 0, "{}", made.output());
    insta::assert_snapshot!("binance_new_output", made.output());
    let yaml = std::fs::read_to_string(ws.path().join("trades.yaml")).expect("the collection");
    insta::assert_snapshot!("binance_starter", yaml);
    let snap = ws.path().join("__snapshots__/trades__shape.snap");
    let snap = std::fs::read_to_string(snap).expect("the shape snapshot");
    assert!(snap.contains("\"p\": \"string\""), "{snap}");

    let run = run_in_ci(&ws, &["trades.yaml"]);
    assert_eq!(run.code, 0, "{}", run.output());
    assert!(run.stdout.contains("1 request: 1 passed"), "{}", run.stdout);
    let pending = wsrun::internals::pending_snapshots(ws.path());
    assert!(pending.is_empty(), "{pending:?}");
}

#[test]
fn the_starter_fails_on_a_renamed_field_and_on_a_changed_type() {
    let ws = cli::Workspace::new();
    let trades: Vec<String> = (0..40).map(common::binance_trade).collect();
    let lines: String = trades
        .iter()
        .enumerate()
        .map(|(i, t)| format!("{{\"ms\":{},\"json\":{t}}}\n", i * 5))
        .collect();
    ws.write("trades.jsonl", &lines);
    let same = common::text_server(trades.clone());
    let renamed = common::text_server(
        trades
            .iter()
            .map(|t| t.replace("\"p\":", "\"price\":"))
            .collect(),
    );
    let retyped = common::text_server(
        trades
            .iter()
            .map(|t| {
                let mut v: serde_json::Value = serde_json::from_str(t).expect("json");
                v["T"] = serde_json::Value::String(v["T"].to_string());
                v.to_string()
            })
            .collect(),
    );
    for (server, code, needle) in [
        (&same, 0, "1 request: 1 passed"),
        (&renamed, 1, "$.p selected nothing"),
        (&retyped, 1, "$.T does not match"),
    ] {
        let out = format!("live-{code}-{}.yaml", server.addr().port());
        let made = ws.wsrun(&[
            "new",
            "--from",
            "trades.jsonl",
            "--url",
            &server.url(),
            "--out",
            &out,
        ]);
        assert_eq!(made.code, 0, "{}", made.output());
        let offline = run_in_ci(&ws, &[&out]);
        assert_eq!(offline.code, 0, "{}", offline.output());
        let live = run_in_ci(&ws, &[&out, "--env", "live"]);
        assert_eq!(live.code, code, "{needle}: {}", live.output());
        assert!(live.stdout.contains(needle), "{}", live.stdout);
    }
}

#[test]
fn the_shape_snapshot_catches_a_type_change_the_matchers_allow() {
    // `$.v` is sometimes an integer and sometimes null: no matcher, but its shape is kept.
    let ws = cli::Workspace::new();
    let lines: String = (0..6)
        .map(|i| {
            let v = if i % 2 == 0 {
                i.to_string()
            } else {
                "null".into()
            };
            format!("{{\"ms\":{i},\"json\":{{\"n\":{i},\"v\":{v}}}}}\n")
        })
        .collect();
    ws.write("v.jsonl", &lines);
    let made = ws.wsrun(&["new", "--from", "v.jsonl", "--out", "v.yaml"]);
    assert_eq!(made.code, 0, "{}", made.output());
    let yaml = std::fs::read_to_string(ws.path().join("v.yaml")).expect("the collection");
    assert!(
        yaml.contains("# $.v: several types: integer | null; not checked"),
        "{yaml}"
    );
    assert_eq!(run_in_ci(&ws, &["v.yaml"]).code, 0);

    ws.write("v.jsonl", &lines.replace("\"v\":null", "\"v\":\"none\""));
    let run = run_in_ci(&ws, &["v.yaml"]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(run.stdout.contains("`v` changed"), "{}", run.stdout);
}

#[test]
fn a_starter_covers_constant_varying_numeric_enum_nested_and_optional_fields() {
    let ws = cli::Workspace::new();
    let lines: String = (0..30)
        .map(|i| {
            let side = ["buy", "sell", "buy"][i % 3];
            let note = if i % 10 == 0 { r#","note":"first of ten""# } else { "" };
            format!(
                "{{\"ms\":{},\"json\":{{\"type\":\"fill\",\"seq\":{},\"px\":\"{}.{:02}\",\"side\":\"{side}\",\"venue\":{{\"id\":\"X1\",\"lag\":{}}},\"tags\":[\"t{}\"]{note}}}}}\n",
                i * 3,
                100 + i,
                20 + i % 7,
                i * 7 % 100,
                (i * 37) % 11,
                i % 4
            )
        })
        .collect();
    ws.write("rec/fills.jsonl", &lines);
    let made = ws.wsrun(&[
        "new",
        "--from",
        "rec/fills.jsonl",
        "--out",
        "suite/fills.yaml",
    ]);
    assert_eq!(made.code, 0, "{}", made.output());
    let yaml = std::fs::read_to_string(ws.path().join("suite/fills.yaml")).expect("written");
    insta::assert_snapshot!("every_kind_of_field", yaml);
    let run = run_in_ci(&ws, &["suite/fills.yaml"]);
    assert_eq!(run.code, 0, "{}", run.output());
    let valid = ws.wsrun(&["validate", "suite/fills.yaml"]);
    assert_eq!(valid.code, 0, "{}", valid.output());
}

#[test]
fn a_malformed_recording_line_is_named_and_nothing_is_written() {
    let ws = cli::Workspace::new();
    ws.write(
        "bad.jsonl",
        "{\"json\":{\"a\":1}}\n\n{\"json\": {\"a\": 2\n",
    );
    let run = ws.wsrun(&["new", "--from", "bad.jsonl", "--out", "bad.yaml"]);
    assert_eq!(run.code, 2, "{}", run.output());
    assert!(
        run.stderr.starts_with("error: bad.jsonl:3: not valid JSON"),
        "{}",
        run.stderr
    );
    assert!(!ws.path().join("bad.yaml").exists());

    ws.write("empty.jsonl", "\n");
    let run = ws.wsrun(&["new", "--from", "empty.jsonl"]);
    assert_eq!(run.code, 2, "{}", run.output());
    assert!(run.stderr.contains("holds no messages"), "{}", run.stderr);

    let run = ws.wsrun(&["new", "--from", "missing.jsonl"]);
    assert_eq!(run.code, 2, "{}", run.output());
    assert!(run.stderr.contains("missing.jsonl"), "{}", run.stderr);
}

#[test]
fn an_existing_collection_is_kept_unless_forced_and_asyncapi_is_not_available_yet() {
    let ws = cli::Workspace::new();
    ws.write("r.jsonl", "{\"a\":1}\n{\"a\":2}\n");
    ws.write("r.yaml", "# mine\n");
    let run = ws.wsrun(&["new", "--from", "r.jsonl"]);
    assert_eq!(run.code, 2, "{}", run.output());
    assert!(run.stderr.contains("r.yaml exists"), "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(ws.path().join("r.yaml")).unwrap(),
        "# mine\n"
    );
    let run = ws.wsrun(&["new", "--from", "r.jsonl", "--force"]);
    assert_eq!(run.code, 0, "{}", run.output());
    assert_eq!(ws.wsrun(&["r.yaml"]).code, 0);

    // A document that is not there is a usage error too (tests/cli_new_asyncapi.rs has more).
    let run = ws.wsrun(&["new", "--from-asyncapi", "api.yaml"]);
    assert_eq!(run.code, 2, "{}", run.output());
    assert!(run.stderr.contains("api.yaml"), "{}", run.stderr);
}

#[test]
fn a_slow_recording_replays_quickly_offline_but_keeps_its_time_for_live() {
    let ws = cli::Workspace::new();
    let lines: String = (0..8)
        .map(|i| format!("{{\"ms\":{},\"json\":{{\"tick\":{i}}}}}\n", i * 2000))
        .collect();
    ws.write("slow.jsonl", &lines);
    let made = ws.wsrun(&["new", "--from", "slow.jsonl"]);
    assert_eq!(made.code, 0, "{}", made.output());
    let yaml = std::fs::read_to_string(ws.path().join("slow.yaml")).expect("written");
    assert!(
        yaml.contains(
            "recording: { replay: slow.jsonl, interval: 10ms }   # recorded 1.8s apart on average"
        ),
        "{yaml}"
    );
    assert!(
        yaml.contains("  timeout: 30s   # the 8 messages read took 14.0s"),
        "{yaml}"
    );
    let started = std::time::Instant::now();
    let run = run_in_ci(&ws, &["slow.yaml"]);
    assert_eq!(run.code, 0, "{}", run.output());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}
