//! Hostile servers (issue "reliability"; docs/format.md "Limits" and "Exit codes"): each must
//! end its request cleanly — exit 1, a message saying what happened, bounded time and memory, no
//! panic.

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;
mod common;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio::runtime::Runtime;
use tokio_tungstenite::tungstenite::Message;

fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("build the hostile-server runtime")
    })
}

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
