//! Connections through proxies: HTTP CONNECT and SOCKS5 from `proxy:` or the environment,
//! credentials kept secret, and each way a proxy can say no (407, 403, a SOCKS5 failure code,
//! no proxy at all) as a clear error within `connect_timeout`. The proxies here are tiny
//! in-test ones; tests/python/test_transport.py runs against proxies we did not write.

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;
mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use common::runtime;

/// How a test proxy behaves.
#[derive(Clone)]
enum Mode {
    /// HTTP CONNECT; with `Some(header)`, only when `Proxy-Authorization` is that.
    Http(Option<String>),
    /// Answers CONNECT with this status line.
    HttpRefuse(&'static str),
    /// SOCKS5 without authentication, or with this user and password.
    Socks5(Option<(String, String)>),
    /// SOCKS5 answering the connect request with this reply code.
    Socks5Fail(u8),
}

/// A proxy on 127.0.0.1 that tunnels every client to `upstream` (whatever host it asks for:
/// names such as `echo.test` exist only here) and keeps what each client asked.
struct TestProxy {
    addr: SocketAddr,
    asked: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestProxy {
    fn start(mode: Mode, upstream: SocketAddr) -> TestProxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).expect("non-blocking");
        let addr = listener.local_addr().expect("address");
        let asked = Arc::new(Mutex::new(Vec::new()));
        let log = asked.clone();
        let task = runtime().spawn(async move {
            let listener = TcpListener::from_std(listener).expect("listener");
            while let Ok((client, _)) = listener.accept().await {
                let (mode, log) = (mode.clone(), log.clone());
                tokio::spawn(async move {
                    let _ = serve(client, mode, upstream, log).await;
                });
            }
        });
        TestProxy { addr, asked, task }
    }

    fn asked(&self) -> Vec<String> {
        self.asked.lock().expect("log").clone()
    }
}

async fn serve(
    mut client: TcpStream,
    mode: Mode,
    upstream: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
) -> std::io::Result<()> {
    match mode {
        Mode::Http(_) | Mode::HttpRefuse(_) => {
            let mut head = Vec::new();
            while !head.ends_with(b"\r\n\r\n") {
                head.push(client.read_u8().await?);
            }
            let head = String::from_utf8_lossy(&head).into_owned();
            log.lock().expect("log").push(head.clone());
            let answer = match &mode {
                Mode::HttpRefuse(status) => Some(status.to_string()),
                Mode::Http(Some(auth)) if !head.contains(&format!("Proxy-Authorization: {auth}\r\n")) => {
                    Some("407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"t\"".into())
                }
                _ => None,
            };
            if let Some(status) = answer {
                let reply = format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n");
                return client.write_all(reply.as_bytes()).await;
            }
            client
                .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                .await?;
        }
        Mode::Socks5(_) | Mode::Socks5Fail(_) => {
            let mut greeting = [0u8; 2];
            client.read_exact(&mut greeting).await?;
            let mut methods = vec![0u8; greeting[1] as usize];
            client.read_exact(&mut methods).await?;
            if let Mode::Socks5(Some((user, pass))) = &mode {
                client.write_all(&[5, 2]).await?;
                let mut v = [0u8; 2];
                client.read_exact(&mut v).await?;
                let mut u = vec![0u8; v[1] as usize];
                client.read_exact(&mut u).await?;
                let mut plen = [0u8; 1];
                client.read_exact(&mut plen).await?;
                let mut p = vec![0u8; plen[0] as usize];
                client.read_exact(&mut p).await?;
                let ok = u == user.as_bytes() && p == pass.as_bytes();
                client.write_all(&[1, if ok { 0 } else { 1 }]).await?;
                if !ok {
                    return Ok(());
                }
            } else {
                client.write_all(&[5, 0]).await?;
            }
            let mut req = [0u8; 4];
            client.read_exact(&mut req).await?;
            let target = match req[3] {
                1 => {
                    let mut a = [0u8; 4];
                    client.read_exact(&mut a).await?;
                    std::net::Ipv4Addr::from(a).to_string()
                }
                3 => {
                    let len = client.read_u8().await?;
                    let mut name = vec![0u8; len as usize];
                    client.read_exact(&mut name).await?;
                    String::from_utf8_lossy(&name).into_owned()
                }
                _ => {
                    let mut a = [0u8; 16];
                    client.read_exact(&mut a).await?;
                    std::net::Ipv6Addr::from(a).to_string()
                }
            };
            let port = client.read_u16().await?;
            log.lock()
                .expect("log")
                .push(format!("SOCKS5 {target}:{port}"));
            let code = match mode {
                Mode::Socks5Fail(code) => code,
                _ => 0,
            };
            client
                .write_all(&[5, code, 0, 1, 127, 0, 0, 1, 0, 0])
                .await?;
            if code != 0 {
                return Ok(());
            }
        }
    }
    let mut server = TcpStream::connect(upstream).await?;
    tokio::io::copy_bidirectional(&mut client, &mut server).await?;
    Ok(())
}

fn collection(url: &str, extra: &str) -> String {
    format!(
        "{extra}requests:\n  - name: proxied\n    url: \"{url}\"\n    steps:\n      - send: hello\n      - expect: {{ text: hello }}\n"
    )
}

#[test]
fn a_request_goes_through_an_http_connect_proxy_named_in_defaults() {
    let echo = common::echo();
    let proxy = TestProxy::start(Mode::Http(None), echo.addr());
    let ws = cli::Workspace::new();
    let extra = format!("defaults: {{ proxy: \"http://{}\" }}\n", proxy.addr);
    let run = ws.run_collection(&collection("ws://echo.test:8080/chat", &extra), &[]);
    assert_eq!(run.code, 0, "{}", run.output());
    let asked = proxy.asked();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert!(
        asked[0].starts_with("CONNECT echo.test:8080 HTTP/1.1\r\nHost: echo.test:8080\r\n"),
        "{asked:?}"
    );
}

#[test]
fn https_proxy_and_http_proxy_from_the_environment_are_honoured_unless_no_proxy_says_so() {
    let echo = common::echo();
    let proxy = TestProxy::start(Mode::Http(None), echo.addr());
    let ws = cli::Workspace::new();
    let url = format!("http://{}", proxy.addr);
    let yaml = collection("ws://echo.test/chat", "");
    ws.write("c.yaml", &yaml);
    let run = ws.wsrun_env(&["c.yaml"], &[("HTTP_PROXY", &url)]);
    assert_eq!(run.code, 0, "{}", run.output());
    assert!(proxy.asked()[0].starts_with("CONNECT echo.test:80 "));
    let run = ws.wsrun_env(&["c.yaml"], &[("http_proxy", &url)]);
    assert_eq!(run.code, 0, "{}", run.output());
    let run = ws.wsrun_env(&["c.yaml"], &[("ALL_PROXY", &url)]);
    assert_eq!(run.code, 0, "{}", run.output());
    assert_eq!(proxy.asked().len(), 3);
    // NO_PROXY: connected directly, echo.test does not resolve.
    let run = ws.wsrun_env(
        &["c.yaml", "--timeout", "20s"],
        &[("HTTP_PROXY", &url), ("NO_PROXY", "other.test,echo.test")],
    );
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(run.stdout.contains("unknown host"), "{}", run.stdout);
    assert_eq!(proxy.asked().len(), 3);
    // `proxy: none` overrides the environment.
    let direct = collection(&echo.url(), "defaults: { proxy: none }\n");
    ws.write("d.yaml", &direct);
    let run = ws.wsrun_env(&["d.yaml"], &[("ALL_PROXY", "http://127.0.0.1:9")]);
    assert_eq!(run.code, 0, "{}", run.output());
}

#[test]
fn a_connection_s_proxy_overrides_the_request_s_and_socks5_resolves_names_as_asked() {
    let echo = common::echo();
    let socks = TestProxy::start(Mode::Socks5(None), echo.addr());
    let http = TestProxy::start(Mode::Http(None), echo.addr());
    let ws = cli::Workspace::new();
    let yaml = format!(
        "requests:\n  - name: two\n    proxy: \"http://{http}\"\n    connections:\n      a: {{ url: \"ws://echo.test:81/\" }}\n      b: {{ url: \"ws://echo.test:82/\", proxy: \"socks5h://{socks}\" }}\n      c: {{ url: \"ws://localhost:83/\", proxy: \"socks5://{socks}\" }}\n    steps:\n      - send: {{ conn: b, text: hi }}\n      - expect: {{ conn: b, text: hi }}\n",
        http = http.addr,
        socks = socks.addr
    );
    let run = ws.run_collection(&yaml, &[]);
    assert_eq!(run.code, 0, "{}", run.output());
    assert_eq!(http.asked().len(), 1);
    let mut asked = socks.asked();
    asked.sort();
    assert_eq!(asked, vec!["SOCKS5 127.0.0.1:83", "SOCKS5 echo.test:82"]);
}

#[test]
fn proxy_credentials_are_sent_and_never_printed() {
    let echo = common::echo();
    // alice:s3cr3t-pw
    let http = TestProxy::start(
        Mode::Http(Some("Basic YWxpY2U6czNjcjN0LXB3".into())),
        echo.addr(),
    );
    let socks = TestProxy::start(
        Mode::Socks5(Some(("alice".into(), "s3cr3t-pw".into()))),
        echo.addr(),
    );
    let ws = cli::Workspace::new();
    for proxy in [&http, &socks] {
        let scheme = if std::ptr::eq(proxy, &http) {
            "http"
        } else {
            "socks5h"
        };
        let good = collection(
            "ws://echo.test/",
            &format!(
                "defaults: {{ proxy: \"{scheme}://alice:s3cr3t-pw@{}\" }}\n",
                proxy.addr
            ),
        );
        let run = ws.run_collection(&good, &["-v"]);
        assert_eq!(run.code, 0, "{}", run.output());
        assert!(!run.output().contains("s3cr3t-pw"), "{}", run.output());
        let bad = good.replace("s3cr3t-pw", "wrong-pw");
        let run = ws.run_collection(&bad, &["-v", "--report", "json=r.json"]);
        assert_eq!(run.code, 1, "{}", run.output());
        assert!(!run.output().contains("wrong-pw"), "{}", run.output());
        let json = std::fs::read_to_string(ws.path().join("r.json")).expect("report");
        assert!(!json.contains("wrong-pw"), "{json}");
        let expected = if scheme == "http" {
            format!("could not connect to ws://echo.test/: the proxy {} refused the credentials given (HTTP 407)", proxy.addr)
        } else {
            format!("could not connect to ws://echo.test/: the SOCKS5 proxy {} could not connect to echo.test:80: the proxy refused the user and password", proxy.addr)
        };
        assert!(run.stdout.contains(&expected), "{}", run.stdout);
    }
}

#[test]
fn each_way_a_proxy_says_no_is_a_clear_error() {
    let echo = common::echo();
    let needs_auth = TestProxy::start(Mode::Http(Some("Basic x".into())), echo.addr());
    let forbidden = TestProxy::start(Mode::HttpRefuse("403 Forbidden"), echo.addr());
    let socks_refused = TestProxy::start(Mode::Socks5Fail(2), echo.addr());
    let unreachable = common::refused_url().replace("ws://", "http://");
    let cases = [
        (
            format!("http://{}", needs_auth.addr),
            format!("the proxy {} wants credentials (HTTP 407); give them in the proxy URL: http://USER:PASSWORD@{}", needs_auth.addr, needs_auth.addr),
        ),
        (
            format!("http://{}", forbidden.addr),
            format!("the proxy {} refused to connect to echo.test:80: HTTP 403 Forbidden", forbidden.addr),
        ),
        (
            format!("socks5h://{}", socks_refused.addr),
            format!("the SOCKS5 proxy {} could not connect to echo.test:80: connection not allowed by the proxy's rules (SOCKS5 reply 2)", socks_refused.addr),
        ),
        (
            unreachable.clone(),
            format!("cannot reach the proxy {}: ", unreachable.trim_start_matches("http://").trim_end_matches('/')),
        ),
    ];
    let ws = cli::Workspace::new();
    for (proxy, expected) in cases {
        let yaml = collection(
            "ws://echo.test/",
            &format!("defaults: {{ proxy: \"{proxy}\" }}\n"),
        );
        let run = ws.run_collection(&yaml, &[]);
        assert_eq!(run.code, 1, "{proxy}: {}", run.output());
        assert!(
            run.stdout
                .contains(&format!("could not connect to ws://echo.test/: {expected}")),
            "{proxy}: {}",
            run.stdout
        );
    }
}

#[test]
fn a_proxy_that_never_answers_is_bounded_by_connect_timeout() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = silent.local_addr().expect("address");
    let ws = cli::Workspace::new();
    let yaml = collection(
        "ws://echo.test/",
        &format!("defaults: {{ proxy: \"http://{addr}\", connect_timeout: 300ms }}\n"),
    );
    ws.write("c.yaml", &yaml);
    let run = ws.wsrun_within(&["c.yaml"], Duration::from_secs(10));
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stdout
            .contains("could not connect to ws://echo.test/ within 300ms"),
        "{}",
        run.stdout
    );
    drop(silent);
}

#[test]
fn a_bad_proxy_url_is_an_error_at_load_with_its_line() {
    let ws = cli::Workspace::new();
    let yaml = "requests:\n  - name: p\n    url: ws://echo.test/\n    proxy: \"ftp://u:hush@h:1\"\n    steps:\n      - send: hi\n";
    let run = ws.run_collection(yaml, &[]);
    assert_eq!(run.code, 2, "{}", run.output());
    assert!(run.stderr.contains("c.yaml:4"), "{}", run.output());
    assert!(
        run.stderr.contains(
            "invalid proxy URL `ftp://***@h:1`: the scheme must be http://, socks5:// or socks5h://"
        ),
        "{}",
        run.output()
    );
}

#[test]
fn watch_takes_a_proxy_and_none_ignores_the_environment() {
    let echo = common::echo();
    let proxy = TestProxy::start(Mode::Http(None), echo.addr());
    let ws = cli::Workspace::new();
    let via = format!("http://{}", proxy.addr);
    let run = ws.wsrun_within(
        &[
            "watch",
            "ws://echo.test/",
            "--proxy",
            &via,
            "--send",
            "hi",
            "--count",
            "1",
        ],
        Duration::from_secs(20),
    );
    assert_eq!(run.code, 0, "{}", run.output());
    assert!(run.stdout.contains("hi"), "{}", run.stdout);
    assert_eq!(proxy.asked().len(), 1);
    let run = ws.wsrun_env(
        &[
            "watch",
            &echo.url(),
            "--proxy",
            "none",
            "--send",
            "hi",
            "--count",
            "1",
        ],
        &[("HTTP_PROXY", "http://127.0.0.1:9"), ("NO_PROXY", "")],
    );
    assert_eq!(run.code, 0, "{}", run.output());
}

#[test]
fn wss_goes_end_to_end_through_the_tunnel_checking_the_url_s_host() {
    let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
    let cert = rcgen::generate_simple_self_signed(vec!["echo.test".into()]).expect("certificate");
    let key = tokio_rustls::rustls::pki_types::PrivateKeyDer::Pkcs8(
        cert.signing_key.serialize_der().into(),
    );
    let config = tokio_rustls::rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("non-blocking");
    let upstream = listener.local_addr().expect("address");
    let server = runtime().spawn(async move {
        use futures_util::{SinkExt, StreamExt};
        let listener = TcpListener::from_std(listener).expect("listener");
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut ws) = tokio_tungstenite::accept_async(tls).await else {
                    return;
                };
                while let Some(Ok(m)) = ws.next().await {
                    if m.is_text() && ws.send(m).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    let proxy = TestProxy::start(Mode::Http(None), upstream);
    let ws = cli::Workspace::new();
    ws.write("ca.pem", &cert.cert.pem());
    let extra = format!("defaults: {{ proxy: \"http://{}\" }}\n", proxy.addr);
    let yaml = collection("wss://echo.test:8443/", &extra)
        .replace("    steps:", "    tls: { ca: ca.pem }\n    steps:");
    let run = ws.run_collection(&yaml, &[]);
    server.abort();
    assert_eq!(run.code, 0, "{}", run.output());
    assert!(proxy.asked()[0].starts_with("CONNECT echo.test:8443 HTTP/1.1\r\n"));
}

/// An HTTP server on 127.0.0.1 answering every request `{"ok": true}`, keeping each request head.
fn tiny_http_api() -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("address");
    let heads = Arc::new(Mutex::new(Vec::new()));
    let log = heads.clone();
    std::thread::spawn(move || {
        for mut tcp in listener.incoming().flatten() {
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && tcp.read(&mut byte).is_ok_and(|n| n == 1) {
                head.push(byte[0]);
            }
            log.lock()
                .expect("log")
                .push(String::from_utf8_lossy(&head).into_owned());
            let body = r#"{"ok": true}"#;
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            let _ = tcp.write_all(answer.as_bytes());
        }
    });
    (addr, heads)
}

/// The `http` step goes through the same proxy as connections: here the environment's, for a
/// host only the proxy knows, while the loopback WebSocket connection goes direct.
#[test]
fn an_http_step_goes_through_the_environment_s_proxy() {
    let echo = common::echo();
    let (api, heads) = tiny_http_api();
    let proxy = TestProxy::start(Mode::Http(None), api);
    let ws = cli::Workspace::new();
    let yaml = format!(
        "requests:\n  - name: proxied\n    url: \"{}\"\n    steps:\n      - http: {{ url: \"http://api.test:8080/v1?q=1\", expect: {{ json: {{ $.ok: true }} }} }}\n      - http: {{ url: \"http://api.test:8080/v2\", headers: {{ Host: virtual.test }} }}\n",
        echo.url()
    );
    ws.write("c.yaml", &yaml);
    let run = ws.wsrun_env(
        &["c.yaml"],
        &[("HTTP_PROXY", &format!("http://{}", proxy.addr))],
    );
    assert_eq!(run.code, 0, "{}", run.output());
    assert_eq!(proxy.asked().len(), 2, "{:?}", proxy.asked());
    assert!(proxy.asked()[0].starts_with("CONNECT api.test:8080 HTTP/1.1\r\n"));
    let heads = heads.lock().expect("log").clone();
    assert!(
        heads[0].starts_with("GET /v1?q=1 HTTP/1.1\r\nHost: api.test:8080\r\n"),
        "{heads:?}"
    );
    // A `Host` header of the step's own replaces the URL's, not added beside it.
    assert!(
        heads[1].starts_with("GET /v2 HTTP/1.1\r\nHost: virtual.test\r\n"),
        "{heads:?}"
    );
    assert_eq!(heads[1].matches("Host:").count(), 1, "{heads:?}");
}
