//! `-v` shows each connection's opening handshake: the request line and headers sent (secrets
//! masked) and the server's status line and headers.

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;
mod common;

#[test]
fn verbose_shows_the_handshake_sent_and_answered_with_secrets_masked() {
    let server = common::echo();
    let ws = cli::Workspace::new();
    let yaml = format!(
        "secrets: [token]\nvars: {{ token: tok-123456 }}\nrequests:\n  - name: hs\n    url: \"{}/chat?key={{{{ token }}}}\"\n    headers: {{ Authorization: \"Bearer {{{{ token }}}}\", X-Trace: abc }}\n    steps:\n      - send: hi\n      - expect: {{ text: hi }}\n",
        server.url()
    );
    let run = ws.run_collection(&yaml, &["-v"]);
    assert_eq!(run.code, 0, "{}", run.output());
    let out = &run.stdout;
    let host = server.url().trim_start_matches("ws://").to_string();
    for line in [
        "      default → GET /chat?key=*** HTTP/1.1\n".to_string(),
        format!("      default →   host: {host}\n"),
        "      default →   connection: Upgrade\n".into(),
        "      default →   upgrade: websocket\n".into(),
        "      default →   sec-websocket-version: 13\n".into(),
        "      default →   authorization: ***\n".into(),
        "      default →   x-trace: abc\n".into(),
        "      default ← HTTP/1.1 101 Switching Protocols\n".into(),
        "      default ←   upgrade: websocket\n".into(),
    ] {
        assert!(out.contains(&line), "missing {line:?} in:\n{out}");
    }
    assert!(
        out.contains("      default →   sec-websocket-key: "),
        "{out}"
    );
    assert!(
        out.contains("      default ←   sec-websocket-accept: "),
        "{out}"
    );
    assert!(!out.contains("tok-123456"), "{out}");
    // The handshake comes before the frames.
    let handshake = out.find("101 Switching Protocols").expect("status line");
    let frame = out.find("default → hi").expect("the sent frame");
    assert!(handshake < frame, "{out}");
}

#[test]
fn without_verbose_no_handshake_is_shown() {
    let server = common::echo();
    let ws = cli::Workspace::new();
    let yaml = format!(
        "requests:\n  - name: hs\n    url: \"{}\"\n    steps:\n      - send: hi\n",
        server.url()
    );
    let run = ws.run_collection(&yaml, &[]);
    assert_eq!(run.code, 0, "{}", run.output());
    assert!(
        !run.stdout.contains("Switching Protocols"),
        "{}",
        run.stdout
    );
}
