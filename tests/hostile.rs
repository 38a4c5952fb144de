//! Hostile servers (issue "reliability"; docs/cli.md "Limits" and "Exit codes"): each must
//! end its request cleanly — exit 1, a message saying what happened, bounded time and memory, no
//! panic.

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;
mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

use common::runtime;

/// A server that runs `on_ws` on every WebSocket client (optionally behind TLS).
struct Hostile {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Hostile {
    fn url(&self, scheme: &str) -> String {
        format!("{scheme}://{}", self.addr)
    }
}

type Ws<S> = tokio_tungstenite::WebSocketStream<S>;

fn start<F, Fut>(tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>, on_ws: F) -> Hostile
where
    F: Fn(Ws<Box<dyn Stream>>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    std_listener.set_nonblocking(true).expect("non-blocking");
    let addr = std_listener.local_addr().expect("address");
    let on_ws = Arc::new(on_ws);
    let task = runtime().spawn(async move {
        let listener = TcpListener::from_std(std_listener).expect("listener");
        let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
        while let Ok((tcp, _)) = listener.accept().await {
            let on_ws = on_ws.clone();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let stream: Box<dyn Stream> = match acceptor {
                    Some(a) => match a.accept(tcp).await {
                        Ok(s) => Box::new(s),
                        Err(_) => return,
                    },
                    None => Box::new(tcp),
                };
                if let Ok(ws) = tokio_tungstenite::accept_async(stream).await {
                    on_ws(ws).await;
                }
            });
        }
    });
    Hostile { addr, task }
}

trait Stream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Stream for T {}

/// A self-signed certificate for 127.0.0.1/localhost: the server config and the CA's PEM.
fn self_signed() -> (Arc<tokio_rustls::rustls::ServerConfig>, String) {
    let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
        .expect("generate a certificate");
    let pem = cert.cert.pem();
    let key = tokio_rustls::rustls::pki_types::PrivateKeyDer::Pkcs8(
        cert.signing_key.serialize_der().into(),
    );
    let config = tokio_rustls::rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)
        .expect("server config");
    (Arc::new(config), pem)
}

/// `-v` output with the handshake's random key and accept, and the server's port, written as
/// placeholders.
fn without_handshake_randomness(out: &str) -> String {
    out.lines()
        .map(|line| {
            for prefix in ["sec-websocket-key: ", "sec-websocket-accept: ", "host: "] {
                if let Some(at) = line.find(prefix) {
                    let value = if prefix == "host: " {
                        "SERVER"
                    } else {
                        "[KEY]"
                    };
                    return format!("{}{value}\n", &line[..at + prefix.len()]);
                }
            }
            format!("{line}\n")
        })
        .collect()
}

fn collection(url: &str, steps: &str, extra: &str) -> String {
    format!("{extra}requests:\n  - name: hostile\n    url: \"{url}\"\n    steps:\n{steps}")
}

#[test]
fn a_message_over_max_message_size_fails_naming_the_limit() {
    let server = start(None, |mut ws| async move {
        let _ = ws.send(Message::binary(vec![7u8; 100 << 20])).await;
        while let Some(Ok(_)) = ws.next().await {}
    });
    let ws = cli::Workspace::new();
    let run = ws.run_collection(
        &collection(
            &server.url("ws"),
            "      - expect: { binary: { len: 1 } }\n",
            "",
        ),
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stdout
            .contains("a message of 104857600 bytes exceeds max_message_size (64 MiB)"),
        "{}",
        run.stdout
    );
}

#[test]
fn max_message_size_is_settable_in_defaults() {
    let server = start(None, |mut ws| async move {
        let _ = ws.send(Message::text("x".repeat(2048))).await;
        while let Some(Ok(_)) = ws.next().await {}
    });
    let ws = cli::Workspace::new();
    let run = ws.run_collection(
        &collection(
            &server.url("ws"),
            "      - expect: { text: { len: 2048 } }\n",
            "defaults: { max_message_size: 1KiB }\n",
        ),
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stdout.contains("exceeds max_message_size (1 KiB)"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_close_in_the_middle_of_a_count_says_how_many_arrived() {
    let server = common::closer(4001, "bye", 3);
    let ws = cli::Workspace::new();
    let run = ws.run_collection(
        &collection(
            &server.url(),
            "      - expect: { count: 10, json: { $.n: { gte: 0 } } }\n",
            "",
        ),
        &[],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains(
            "the server closed the connection (code 4001, reason \"bye\"); received 3 of 10 messages"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn a_flood_is_cut_short_when_the_collection_closes_early() {
    let server = common::flood(300_000);
    let ws = cli::Workspace::new();
    let run = ws.run_collection(
        &collection(
            &server.url(),
            "      - expect: { count: 1000, json: { $.e: trade } }\n      - close: { code: 1000, timeout: 2s }\n",
            "",
        ),
        &[],
    );
    // The close handshake may or may not get through the flood in time; either way the run ends.
    assert!(run.code == 0 || run.code == 1, "{}", run.output());
    assert!(
        run.stdout.contains("✓ hostile") || run.stdout.contains("close"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_server_that_never_answers_is_ended_by_the_run_timeout() {
    let server = common::silent();
    let ws = cli::Workspace::new();
    let run = ws.run_collection(
        &collection(&server.url(), "      - expect: { timeout: 1h }\n", ""),
        &["--timeout", "500ms"],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stdout
            .contains("the run timed out after 500ms (--timeout)"),
        "{}",
        run.stdout
    );
}

#[test]
fn wss_to_a_plain_server_says_tls_failed() {
    let server = common::echo();
    let url = server.url().replace("ws://", "wss://");
    let ws = cli::Workspace::new();
    let run = ws.run_collection(&collection(&url, "      - send: hi\n", ""), &[]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains("could not connect to wss://"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.to_lowercase().contains("tls"), "{}", run.stdout);
}

#[test]
fn an_untrusted_certificate_is_named_and_ca_or_insecure_fix_it() {
    let (config, pem) = self_signed();
    let server = start(Some(config), |mut ws| async move {
        while let Some(Ok(m)) = ws.next().await {
            if m.is_text() && ws.send(m).await.is_err() {
                break;
            }
        }
    });
    let url = server.url("wss");
    let ws = cli::Workspace::new();
    ws.write("ca.pem", &pem);
    let steps = "      - send: hello\n      - expect: { text: hello }\n";

    let untrusted = ws.run_collection(&collection(&url, steps, ""), &[]);
    assert_eq!(untrusted.code, 1);
    assert!(
        untrusted.stdout.contains("TLS certificate is not trusted"),
        "{}",
        untrusted.stdout
    );

    let with_ca =
        collection(&url, steps, "").replace("    steps:", "    tls: { ca: ca.pem }\n    steps:");
    let run = ws.run_collection(&with_ca, &[]);
    assert_eq!(run.code, 0, "{}", run.output());

    let insecure = collection(&url, steps, "")
        .replace("    steps:", "    tls: { insecure: true }\n    steps:");
    let run = ws.run_collection(&insecure, &[]);
    assert_eq!(run.code, 0, "{}", run.output());
}

#[test]
fn a_ca_path_expands_its_templates() {
    let (config, pem) = self_signed();
    let server = start(Some(config), |mut ws| async move {
        while let Some(Ok(m)) = ws.next().await {
            if m.is_text() && ws.send(m).await.is_err() {
                break;
            }
        }
    });
    let ws = cli::Workspace::new();
    ws.write("certs/ca.pem", &pem);
    let steps = "      - send: hello\n      - expect: { text: hello }\n";
    let yaml = collection(&server.url("wss"), steps, "").replace(
        "    steps:",
        "    tls: { ca: \"{{ certs }}/ca.pem\" }\n    steps:",
    );
    let run = ws.run_collection(&yaml, &["--var", "certs=certs"]);
    assert_eq!(run.code, 0, "{}", run.output());
}

#[test]
fn an_unknown_host_fails_with_a_clear_message() {
    let ws = cli::Workspace::new();
    let run = ws.run_collection(
        &collection(
            "ws://no-such-host.invalid/ws",
            "      - send: hi\n",
            "defaults: { connect_timeout: 3s }\n",
        ),
        &[],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stdout
            .contains("could not connect to ws://no-such-host.invalid/ws"),
        "{}",
        run.stdout
    );
}

#[test]
fn ctrl_c_stops_the_run_with_130_after_writing_reports() {
    let server = common::silent();
    let ws = cli::Workspace::new();
    ws.write(
        "c.yaml",
        &collection(&server.url(), "      - expect: { timeout: 1h }\n", ""),
    );
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_wsrun"))
        .args(["c.yaml", "--report", "json=r.json"])
        .current_dir(ws.path())
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start wsrun");
    // Wait until the request is under way (connected to the silent server).
    let started = std::time::Instant::now();
    while server.connections() == 0 && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(100));
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("send SIGINT");
    assert!(status.success());
    let out = child.wait_with_output().expect("wait for wsrun");
    assert_eq!(out.status.code(), Some(130));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("interrupted"), "{stdout}");
    let report = std::fs::read_to_string(ws.path().join("r.json")).expect("the report was written");
    assert!(report.contains("\"stopped\": \"interrupted\""), "{report}");
}

/// Runs `wsrun c.yaml` in `ws` under a 1 GiB address-space limit, so an allocation the size of
/// what a hostile server announces fails (and aborts) instead of being lazily granted.
fn run_with_memory_limit(ws: &cli::Workspace) -> cli::Run {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 1048576 && exec \"$0\" c.yaml")
        .arg(env!("CARGO_BIN_EXE_wsrun"))
        .current_dir(ws.path())
        .env("NO_COLOR", "1")
        .env("WSRUN_NO_TIMINGS", "1")
        .env_remove("CI")
        .env_remove("GITHUB_ACTIONS")
        .output()
        .expect("run wsrun under sh");
    cli::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn a_frame_header_announcing_10_gib_does_not_allocate_10_gib() {
    use tokio::io::AsyncWriteExt;
    let server = start(None, |ws| async move {
        let mut raw = ws.into_inner();
        // A final binary frame of 10 GiB: 0x82, length 127 + 64-bit length; then 64 KiB of it.
        let mut header = vec![0x82, 127];
        header.extend_from_slice(&(10u64 << 30).to_be_bytes());
        let _ = raw.write_all(&header).await;
        let _ = raw.write_all(&vec![0u8; 64 << 10]).await;
        let _ = raw.flush().await;
        let _ = raw.shutdown().await;
        tokio::time::sleep(Duration::from_secs(5)).await;
    });
    let ws = cli::Workspace::new();
    ws.write(
        "c.yaml",
        &collection(
            &server.url("ws"),
            "      - expect: { binary: { len: 1 } }\n",
            "defaults: { max_message_size: 16GiB }\n",
        ),
    );
    let run = run_with_memory_limit(&ws);
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stdout
            .contains("step 1 expect c.yaml:6: the connection was dropped without a close frame"),
        "{}",
        run.output()
    );
}

#[test]
fn single_frames_of_several_mebibytes_arrive_whole() {
    // Text with two- and three-byte characters, so chunk boundaries fall inside them.
    let text = "é€x".repeat(500_000);
    let server = start(None, move |mut ws| {
        let text = text.clone();
        async move {
            let _ = ws.send(Message::binary(vec![7u8; 3 << 20])).await;
            let _ = ws.send(Message::text(text)).await;
            while let Some(Ok(_)) = ws.next().await {}
        }
    });
    let ws = cli::Workspace::new();
    ws.write(
        "c.yaml",
        &collection(
            &server.url("ws"),
            "      - expect: { binary: { len: 3145728 } }\n      - expect: { text: { len: 1500000, matches: '^(é€x)+$' } }\n",
            "",
        ),
    );
    let run = run_with_memory_limit(&ws);
    assert_eq!(run.code, 0, "{}", run.output());
}

#[test]
fn an_invalid_close_code_from_the_server_is_a_protocol_error_not_a_clean_1002() {
    let server = common::closer(999, "bye", 0);
    let ws = cli::Workspace::new();
    let run = ws.run_collection(
        &collection(&server.url(), "      - expect_close: 1002\n", ""),
        &["-v"],
    );
    assert_eq!(run.code, 1, "{}", run.output());
    let out = without_handshake_randomness(&run.stdout);
    insta::assert_snapshot!(out, @r#"
    c.yaml
      ✗ hostile
          step 1 expect_close c.yaml:5: the server closed the connection with code 999, which is not a valid close code (a protocol error by the server)
            expected  a close frame with code 1002
            actual    close code 999 (not a valid close code)
          default → GET / HTTP/1.1
          default →   host: SERVER
          default →   connection: Upgrade
          default →   upgrade: websocket
          default →   sec-websocket-version: 13
          default →   sec-websocket-key: [KEY]
          default →   sec-websocket-extensions: permessage-deflate; client_max_window_bits
          default ← HTTP/1.1 101 Switching Protocols
          default ←   connection: Upgrade
          default ←   upgrade: websocket
          default ←   sec-websocket-accept: [KEY]
          default ← [close] 999 bye

    1 request: 0 passed, 1 failed
    "#);
}

#[test]
fn close_code_1005_on_the_wire_fails_any_expect_close() {
    let server = common::closer(1005, "", 0);
    let ws = cli::Workspace::new();
    let run = ws.run_collection(
        &collection(&server.url(), "      - expect_close:\n", ""),
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stdout.contains(
            "the server closed the connection with code 1005, which is not a valid close code (a protocol error by the server)"
        ),
        "{}",
        run.output()
    );
}

/// Text that would turn into a GitHub Actions command on a line of its own, set the terminal's
/// title (OSC 0) and clear the screen (CSI 2J).
const INJECTION: &str = "bye\n::warning file=x::y\x1b]0;pwned\x07\x1b[2J\r";

#[track_caller]
fn assert_no_control_characters(text: &str) {
    assert!(
        !text.lines().any(|l| l.starts_with("::warning")),
        "a server's text became a workflow command:\n{text}"
    );
    let bad: Vec<char> = text
        .chars()
        .filter(|c| c.is_control() && *c != '\n')
        .collect();
    assert!(bad.is_empty(), "control characters {bad:?} in:\n{text}");
}

#[test]
fn server_text_cannot_inject_terminal_escapes_or_workflow_commands() {
    let server = common::text_server(vec![INJECTION.to_owned()]);
    let ws = cli::Workspace::new();
    ws.write(
        "c.yaml",
        &collection(&server.url(), "      - expect: { text: hello }\n", ""),
    );
    let run = ws.wsrun_env(
        &[
            "c.yaml",
            "-v",
            "--report",
            "junit=r.xml",
            "--report",
            "html=r.html",
        ],
        &[("GITHUB_ACTIONS", "true")],
    );
    assert_eq!(run.code, 1, "{}", run.output());
    assert_no_control_characters(&run.stdout);
    insta::assert_snapshot!(without_handshake_randomness(&run.stdout), @r#"
    c.yaml
      ✗ hostile
          step 1 expect c.yaml:5: the text does not match
            expected  "hello"
            actual    "bye\n::warning file=x::y\u001b]0;pwned\u0007\u001b[2J\r"
            message   bye\n::warning file=x::y\u001b]0;pwned\u0007\u001b[2J\r
          default → GET / HTTP/1.1
          default →   host: SERVER
          default →   connection: Upgrade
          default →   upgrade: websocket
          default →   sec-websocket-version: 13
          default →   sec-websocket-key: [KEY]
          default →   sec-websocket-extensions: permessage-deflate; client_max_window_bits
          default ← HTTP/1.1 101 Switching Protocols
          default ←   connection: Upgrade
          default ←   upgrade: websocket
          default ←   sec-websocket-accept: [KEY]
          default ← bye\n::warning file=x::y\u001b]0;pwned\u0007\u001b[2J\r
          default → [close] 1000

    1 request: 0 passed, 1 failed
    ::error file=c.yaml,line=5::hostile: the text does not match (expected "hello", actual "bye\n::warning file=x::y\u001b]0;pwned\u0007\u001b[2J\r")
    "#);
    let junit = std::fs::read_to_string(ws.path().join("r.xml")).expect("the JUnit report");
    assert_no_control_characters(&junit);
    assert!(
        junit.contains(r"message   bye\n::warning file=x::y\u001b]0;pwned\u0007\u001b[2J\r"),
        "{junit}"
    );
    // The HTML report escapes on its own: markup is escaped, control characters replaced.
    let html = std::fs::read_to_string(ws.path().join("r.html")).expect("the HTML report");
    assert!(
        !html.contains(['\x1b', '\x07']),
        "control characters in the HTML report"
    );
    assert!(
        html.contains("::y\u{fffd}]0;pwned\u{fffd}\u{fffd}[2J"),
        "{html}"
    );
}

#[test]
fn a_close_reason_cannot_inject_terminal_escapes() {
    let server = common::closer(4001, INJECTION, 0);
    let ws = cli::Workspace::new();
    let run = ws.run_collection(&collection(&server.url(), "      - expect:\n", ""), &["-v"]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert_no_control_characters(&run.stdout);
    assert!(
        run.stdout.contains(
            r#"the server closed the connection (code 4001, reason "bye\n::warning file=x::y\u001b]0;pwned\u0007\u001b[2J\r")"#
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            r"default ← [close] 4001 bye\n::warning file=x::y\u001b]0;pwned\u0007\u001b[2J\r"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn a_message_over_the_limit_ending_an_expect_reads_as_one_sentence() {
    let server = common::text_server(vec!["x".repeat(2048)]);
    let ws = cli::Workspace::new();
    let run = ws.run_collection(
        &collection(
            &server.url(),
            "      - expect: { text: { len: 2048 } }\n",
            "defaults: { max_message_size: 1KiB }\n",
        ),
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.output());
    insta::assert_snapshot!(run.stdout, @r"
    c.yaml
      ✗ hostile
          step 1 expect c.yaml:6: a message of 2048 bytes exceeds max_message_size (1 KiB); raise `defaults.max_message_size` if messages this large are expected

    1 request: 0 passed, 1 failed
    ");
}

/// A plain HTTP server that answers every request with `response` and closes.
fn http_server(response: String) -> Hostile {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    std_listener.set_nonblocking(true).expect("non-blocking");
    let addr = std_listener.local_addr().expect("address");
    let task = runtime().spawn(async move {
        let listener = TcpListener::from_std(std_listener).expect("listener");
        while let Ok((mut tcp, _)) = listener.accept().await {
            let response = response.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tcp.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = tcp.write_all(response.as_bytes()).await;
                let _ = tcp.shutdown().await;
            });
        }
    });
    Hostile { addr, task }
}

/// The failure line of a request whose upgrade `response` refuses.
fn refusal(response: &str) -> String {
    let server = http_server(response.to_owned());
    let ws = cli::Workspace::new();
    let run = ws.run_collection(
        &collection(&server.url("ws"), "      - send: hi\n", ""),
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.output());
    run.stdout
        .lines()
        .find(|l| l.contains("error c.yaml:3"))
        .unwrap_or_else(|| panic!("no connection error in:\n{}", run.stdout))
        .replace(&server.url("ws"), "ws://SERVER")
        .trim()
        .to_owned()
}

fn http_response(status: &str, headers: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[test]
fn a_refused_upgrade_shows_the_status_and_the_start_of_the_body() {
    let body = format!(
        "{{\"error\": \"invalid token\",\n \"detail\": \"{}\"}}",
        "x".repeat(400)
    );
    let line = refusal(&http_response("401 Unauthorized", "", &body));
    // The first 300 characters, the newline in them escaped.
    let start: String = body.chars().take(300).collect();
    assert_eq!(
        line,
        format!(
            "error c.yaml:3 [default]: could not connect to ws://SERVER: the server refused the upgrade with HTTP 401 Unauthorized: {}… ({} more bytes)",
            start.replace('\n', "\\n"),
            body.len() - start.len()
        )
    );
    let line = refusal(&http_response("403 Forbidden", "", "not on the list"));
    assert_eq!(
        line,
        "error c.yaml:3 [default]: could not connect to ws://SERVER: the server refused the upgrade with HTTP 403 Forbidden: not on the list"
    );
    let line = refusal(&http_response("500 Internal Server Error", "", ""));
    assert_eq!(
        line,
        "error c.yaml:3 [default]: could not connect to ws://SERVER: the server refused the upgrade with HTTP 500 Internal Server Error (and no body)"
    );
}

#[test]
fn a_redirected_upgrade_shows_where_it_points() {
    for status in ["301 Moved Permanently", "302 Found"] {
        let line = refusal(&http_response(
            status,
            "Location: wss://elsewhere.example/ws\r\n",
            "",
        ));
        assert_eq!(
            line,
            format!("error c.yaml:3 [default]: could not connect to ws://SERVER: the server redirected the upgrade (HTTP {status}) to wss://elsewhere.example/ws; wsrun does not follow redirects, so use that URL")
        );
    }
}

#[test]
fn json_nested_deeper_than_the_parser_reads_says_so() {
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let server = common::text_server(vec![deep]);
    let ws = cli::Workspace::new();
    let run = ws.run_collection(
        &collection(
            &server.url(),
            "      - expect: { json: { \"$[0]\": 1 } }\n",
            "",
        ),
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.output());
    // `actual` shows the first 80 characters, `message` the first 300.
    let shown = format!("{}… (320 more bytes)", "[".repeat(80));
    let message = format!("{}{}… (100 more bytes)", "[".repeat(200), "]".repeat(100));
    assert_eq!(
        run.stdout,
        format!(
            "c.yaml\n  ✗ hostile\n      step 1 expect c.yaml:5: the message is JSON nested deeper than 128 levels, more than wsrun reads\n        expected  a JSON message\n        actual    {shown}\n        message   {message}\n\n1 request: 0 passed, 1 failed\n"
        )
    );
}

#[test]
fn wsrun_watch_trusts_a_ca_file_or_insecure_like_a_request() {
    let (config, pem) = self_signed();
    let server = start(Some(config), |mut ws| async move {
        let _ = ws.send(Message::text("{\"over\":\"tls\"}")).await;
        while let Some(Ok(_)) = ws.next().await {}
    });
    let url = server.url("wss");
    let ws = cli::Workspace::new();
    ws.write("ca.pem", &pem);

    let untrusted = ws.wsrun(&["watch", &url, "--count", "1"]);
    assert_eq!(untrusted.code, 1, "{}", untrusted.output());
    assert!(
        untrusted.stderr.contains("TLS certificate is not trusted"),
        "{}",
        untrusted.stderr
    );
    for flags in [["--ca", "ca.pem"], ["--insecure", "--no-color"]] {
        let mut args = vec!["watch", url.as_str(), "--count", "1"];
        args.extend(flags);
        let run = ws.wsrun(&args);
        assert_eq!(run.code, 0, "{flags:?}: {}", run.output());
        assert_eq!(run.stdout, "{\"over\":\"tls\"}\n", "{flags:?}");
    }
}

#[test]
fn a_firehose_does_not_keep_a_step_from_its_deadline() {
    // The server never lets wsrun wait for a frame, so the step's timer is never the first thing
    // ready: the deadline must end the step all the same, with how far it got.
    let server = common::firehose();
    let ws = cli::Workspace::new();
    for (step, says) in [
        (
            "      - wait_for: { json: { $.e: nothing }, timeout: 300ms }\n",
            "no matching message within 300ms; ",
        ),
        (
            "      - expect: { count: 1000000000, within: 300ms }\n",
            " of 1000000000 messages within 300ms",
        ),
    ] {
        ws.write("c.yaml", &collection(&server.url(), step, ""));
        let run = ws.wsrun_within(&["c.yaml"], Duration::from_secs(30));
        assert_eq!(run.code, 1, "{}", run.output());
        assert!(run.stdout.contains(says), "{}", run.stdout);
    }
}
