//! TLS as real servers set it up: a self-signed `CA:TRUE` certificate given as `tls.ca` (what
//! `openssl req -x509` makes), servers that demand a client certificate (`tls.cert` +
//! `tls.key`: EC, Ed25519, RSA), and the load-time errors of bad certificate files.

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;
mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use tokio::net::TcpListener;
use tokio_rustls::rustls;

use common::runtime;

/// An echo server behind TLS; dropping it stops it.
struct TlsEcho {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TlsEcho {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TlsEcho {
    fn start(config: rustls::ServerConfig) -> TlsEcho {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).expect("non-blocking");
        let addr = listener.local_addr().expect("address");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let task = runtime().spawn(async move {
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
        TlsEcho { addr, task }
    }

    fn url(&self) -> String {
        format!("wss://{}", self.addr)
    }
}

/// A certificate and its key, in PEM.
struct Pem {
    cert: String,
    key: String,
    der: rustls::pki_types::CertificateDer<'static>,
    key_der: rustls::pki_types::PrivateKeyDer<'static>,
    /// What it was made from, to sign others with it.
    params: Option<CertificateParams>,
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A self-signed certificate for 127.0.0.1 and localhost with `CA:TRUE`, as `openssl req
/// -x509` makes by default.
fn self_signed_ca(names: &[&str]) -> Pem {
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .expect("certificate parameters");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let key = KeyPair::generate().expect("generate a key");
    let cert = params.self_signed(&key).expect("self-sign");
    Pem {
        cert: cert.pem(),
        key: key.serialize_pem(),
        der: cert.der().clone(),
        key_der: rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        params: Some(params),
    }
}

/// A client certificate with a key of `alg`, signed by `ca`.
fn client_cert(ca: &Pem, alg: &'static rcgen::SignatureAlgorithm) -> Pem {
    let ca_key = KeyPair::from_pem(&ca.key).expect("the CA's key");
    let issuer = Issuer::from_params(ca.params.as_ref().expect("a CA made here"), ca_key);
    let params = CertificateParams::new(vec!["client".to_string()]).expect("parameters");
    let key = KeyPair::generate_for(alg).expect("generate a client key");
    let cert = params
        .signed_by(&key, &issuer)
        .expect("sign the client certificate");
    Pem {
        cert: cert.pem(),
        key: key.serialize_pem(),
        der: cert.der().clone(),
        key_der: rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        params: None,
    }
}

/// A server presenting `server`, demanding a client certificate signed by `client_ca` when given.
fn server_config(server: &Pem, client_ca: Option<&Pem>) -> rustls::ServerConfig {
    server_config_for(server, client_ca, rustls::DEFAULT_VERSIONS)
}

/// [`server_config`] speaking only `versions`.
fn server_config_for(
    server: &Pem,
    client_ca: Option<&Pem>,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> rustls::ServerConfig {
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(versions)
        .expect("protocol versions");
    let builder = match client_ca {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(ca.der.clone()).expect("client CA");
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider(),
            )
            .build()
            .expect("client verifier");
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    builder
        .with_single_cert(vec![server.der.clone()], server.key_der.clone_key())
        .expect("server config")
}

fn collection(url: &str, tls: &str) -> String {
    format!(
        "requests:\n  - name: tls\n    url: \"{url}\"\n    tls: {tls}\n    steps:\n      - send: hello\n      - expect: {{ text: hello }}\n"
    )
}

#[test]
fn a_self_signed_ca_certificate_given_as_tls_ca_is_trusted() {
    let server_pem = self_signed_ca(&["127.0.0.1", "localhost"]);
    let server = TlsEcho::start(server_config(&server_pem, None));
    let ws = cli::Workspace::new();
    ws.write("server.pem", &server_pem.cert);
    let run = ws.run_collection(&collection(&server.url(), "{ ca: server.pem }"), &[]);
    assert_eq!(run.code, 0, "{}", run.output());
}

#[test]
fn a_different_self_signed_certificate_in_tls_ca_is_still_refused() {
    let server_pem = self_signed_ca(&["127.0.0.1", "localhost"]);
    let other = self_signed_ca(&["127.0.0.1", "localhost"]);
    let server = TlsEcho::start(server_config(&server_pem, None));
    let ws = cli::Workspace::new();
    ws.write("other.pem", &other.cert);
    let run = ws.run_collection(&collection(&server.url(), "{ ca: other.pem }"), &[]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stdout
            .contains("the server's TLS certificate is not trusted"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_trusted_self_signed_certificate_for_another_name_is_refused() {
    let server_pem = self_signed_ca(&["example.com"]);
    let server = TlsEcho::start(server_config(&server_pem, None));
    let ws = cli::Workspace::new();
    ws.write("server.pem", &server_pem.cert);
    let run = ws.run_collection(&collection(&server.url(), "{ ca: server.pem }"), &[]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stdout
            .contains("certificate not valid for name \"127.0.0.1\""),
        "{}",
        run.stdout
    );
}

#[test]
fn a_server_demanding_a_client_certificate_accepts_ec_and_ed25519_ones() {
    let server_pem = self_signed_ca(&["127.0.0.1", "localhost"]);
    let client_ca = self_signed_ca(&["client-ca"]);
    let server = TlsEcho::start(server_config(&server_pem, Some(&client_ca)));
    let ws = cli::Workspace::new();
    ws.write("server.pem", &server_pem.cert);
    for (name, alg) in [
        ("ec", &rcgen::PKCS_ECDSA_P256_SHA256),
        ("ed25519", &rcgen::PKCS_ED25519),
    ] {
        let client = client_cert(&client_ca, alg);
        ws.write(&format!("certs/{name}.pem"), &client.cert);
        ws.write(&format!("certs/{name}.key"), &client.key);
        let tls = format!(
            "{{ ca: server.pem, cert: \"{{{{ dir }}}}/{name}.pem\", key: \"{{{{ dir }}}}/{name}.key\" }}"
        );
        let run = ws.run_collection(&collection(&server.url(), &tls), &["--var", "dir=certs"]);
        assert_eq!(run.code, 0, "{name}: {}", run.output());
    }
}

#[test]
fn a_server_demanding_a_client_certificate_accepts_an_rsa_one_made_by_openssl() {
    let server_pem = self_signed_ca(&["127.0.0.1", "localhost"]);
    let ws = cli::Workspace::new();
    // webpki (the server side here) takes no `CA:TRUE` certificate from a client, so the
    // client's is signed by a CA of its own, as `openssl x509 -req` does it.
    ws.write(
        "client.ext",
        "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n",
    );
    let openssl = |args: &[&str]| {
        let made = std::process::Command::new("openssl")
            .args(args)
            .current_dir(ws.path())
            .output()
            .expect("run openssl (the tests need the openssl command)");
        assert!(made.status.success(), "openssl {args:?}: {made:?}");
    };
    openssl(&[
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=ca",
        "-keyout", "ca.key", "-out", "ca.pem",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=client",
        "-keyout",
        "client.key",
        "-out",
        "client.csr",
    ]);
    openssl(&[
        "x509",
        "-req",
        "-in",
        "client.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "client.ext",
        "-out",
        "client.pem",
    ]);
    let ca_pem = std::fs::read_to_string(ws.path().join("ca.pem")).expect("ca.pem");
    let client_ca = Pem {
        der: rustls::pki_types::pem::PemObject::from_pem_slice(ca_pem.as_bytes())
            .expect("parse ca.pem"),
        cert: ca_pem,
        key: String::new(),
        key_der: rustls::pki_types::PrivateKeyDer::Pkcs8(Vec::new().into()),
        params: None,
    };
    let server = TlsEcho::start(server_config(&server_pem, Some(&client_ca)));
    ws.write("server.pem", &server_pem.cert);
    let tls = "{ ca: server.pem, cert: client.pem, key: client.key }";
    let run = ws.run_collection(&collection(&server.url(), tls), &[]);
    assert_eq!(run.code, 0, "{}", run.output());
}

#[test]
fn a_server_demanding_a_client_certificate_without_one_says_so() {
    let server_pem = self_signed_ca(&["127.0.0.1", "localhost"]);
    let client_ca = self_signed_ca(&["client-ca"]);
    let server = TlsEcho::start(server_config(&server_pem, Some(&client_ca)));
    let ws = cli::Workspace::new();
    ws.write("server.pem", &server_pem.cert);
    let run = ws.run_collection(&collection(&server.url(), "{ ca: server.pem }"), &[]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stdout.contains(
            "the server asked for a client certificate; give one with `tls: {cert: FILE, key: FILE}`"
        ),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("plain ws://"), "{}", run.stdout);
}

#[test]
fn a_tls12_server_demanding_a_client_certificate_without_one_says_so_too() {
    // TLS 1.2 has no "certificate required" alert: the refusal is a bare handshake failure.
    let server_pem = self_signed_ca(&["127.0.0.1", "localhost"]);
    let client_ca = self_signed_ca(&["client-ca"]);
    let config = server_config_for(&server_pem, Some(&client_ca), &[&rustls::version::TLS12]);
    let server = TlsEcho::start(config);
    let ws = cli::Workspace::new();
    ws.write("server.pem", &server_pem.cert);
    let run = ws.run_collection(&collection(&server.url(), "{ ca: server.pem }"), &[]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stdout.contains(
            "the server asked for a client certificate; give one with `tls: {cert: FILE, key: FILE}`"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn a_client_key_that_does_not_match_its_certificate_is_an_error_at_load() {
    let ca = self_signed_ca(&["ca"]);
    let one = client_cert(&ca, &rcgen::PKCS_ECDSA_P256_SHA256);
    let two = client_cert(&ca, &rcgen::PKCS_ECDSA_P256_SHA256);
    let ws = cli::Workspace::new();
    ws.write("one.pem", &one.cert);
    ws.write("two.key", &two.key);
    let yaml = "requests:\n  - name: tls\n    url: wss://127.0.0.1:9/\n    tls:\n      cert: one.pem\n      key: two.key\n    steps:\n      - send: hi\n";
    let run = ws.run_collection(yaml, &[]);
    assert_eq!(run.code, 2, "{}", run.output());
    assert!(run.stderr.contains("c.yaml:6"), "{}", run.output());
    assert!(
        run.stderr
            .contains("the key in ./two.key does not match the certificate in ./one.pem")
            || run
                .stderr
                .contains("the key in two.key does not match the certificate in one.pem"),
        "{}",
        run.output()
    );
}

#[test]
fn bad_client_certificate_files_are_errors_at_load_with_their_line() {
    let ws = cli::Workspace::new();
    ws.write("garbage.pem", "this is no certificate\n");
    ws.write(
        "broken.pem",
        "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n",
    );
    let cases = [
        (
            "      cert: garbage.pem\n      key: garbage.pem\n",
            "c.yaml:5",
            "holds no certificate",
        ),
        (
            "      cert: broken.pem\n      key: garbage.pem\n",
            "c.yaml:5",
            "invalid PEM in client certificate file",
        ),
        (
            "      cert: missing.pem\n      key: garbage.pem\n",
            "c.yaml:5",
            "cannot read the client certificate file",
        ),
        (
            "      cert: garbage.pem\n",
            "c.yaml:5",
            "`tls.cert` needs `tls.key`",
        ),
        (
            "      ca: garbage.pem\n",
            "c.yaml:5",
            "holds no certificate",
        ),
    ];
    for (tls, at, message) in cases {
        let yaml = format!(
            "requests:\n  - name: tls\n    url: wss://127.0.0.1:9/\n    tls:\n{tls}    steps:\n      - send: hi\n"
        );
        let run = ws.run_collection(&yaml, &[]);
        assert_eq!(run.code, 2, "{tls}: {}", run.output());
        assert!(run.stderr.contains(at), "{tls}: {}", run.output());
        assert!(run.stderr.contains(message), "{tls}: {}", run.output());
    }
}

/// An HTTPS server answering every request `{"secure": true}`.
fn tls_http_api(config: rustls::ServerConfig) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    listener.set_nonblocking(true).expect("non-blocking");
    let addr = listener.local_addr().expect("address");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let task = runtime().spawn(async move {
        let listener = TcpListener::from_std(listener).expect("listener");
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut head = Vec::new();
                while !head.ends_with(b"\r\n\r\n") {
                    match tls.read_u8().await {
                        Ok(b) => head.push(b),
                        Err(_) => return,
                    }
                }
                let body = r#"{"secure": true}"#;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(answer.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (addr, task)
}

/// The request's `tls: {ca}` applies to its `http` steps as to its connections.
#[test]
fn an_https_step_trusts_the_request_s_tls_ca() {
    let server_pem = self_signed_ca(&["127.0.0.1", "localhost"]);
    let (api, task) = tls_http_api(server_config(&server_pem, None));
    let echo = common::echo();
    let ws = cli::Workspace::new();
    ws.write("server.pem", &server_pem.cert);
    let yaml = |tls: &str| {
        format!(
            "requests:\n  - name: https\n    url: \"{}\"\n{tls}    steps:\n      - http: {{ url: \"https://{api}/x\", expect: {{ json: {{ $.secure: true }} }} }}\n",
            echo.url()
        )
    };
    let run = ws.run_collection(&yaml("    tls: { ca: server.pem }\n"), &[]);
    assert_eq!(run.code, 0, "{}", run.output());
    let run = ws.run_collection(&yaml(""), &[]);
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.output()
            .contains(&format!("GET https://{api}/x: TLS handshake with {api} failed: invalid peer certificate: Other(OtherError(CaUsedAsEndEntity)); use `tls: {{ca: FILE}}` or `tls: {{insecure: true}}`")),
        "{}",
        run.output()
    );
    task.abort();
}
