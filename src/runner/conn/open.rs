//! Opening a connection: TCP, TLS, the WebSocket handshake through [`Wire`], and the sentences
//! that say why it failed (refused, redirected, a TLS mismatch, a subprotocol disagreement).

use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::{Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::{ConnectSpec, Ws};
use crate::report::Handshake;
use crate::runner::proxy::{open_tcp, OpenError, ProxyError};
use crate::runner::stream::Stream;
use crate::runner::wire::Wire;

/// TCP, then TLS for `wss://`, then the WebSocket handshake: what tokio-tungstenite's
/// `connect_async_tls_with_config` does, with [`Wire`] between the decrypted stream and
/// tungstenite (so no frame header makes it reserve more than a chunk ahead of the data).
pub(super) async fn connect(
    request: Request,
    config: WebSocketConfig,
    spec: &ConnectSpec,
    read_size: usize,
) -> Result<(Ws, Response), ConnectError> {
    use tungstenite::error::{TlsError, UrlError};
    use tungstenite::stream::Mode;
    use tungstenite::Error as E;

    let mode = tungstenite::client::uri_mode(request.uri())?;
    let host = request.uri().host().ok_or(E::Url(UrlError::NoHostName))?;
    // `[::1]` in a URL; rustls and the resolver want the address without brackets.
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
        .to_string();
    let port = request.uri().port_u16().unwrap_or(match mode {
        Mode::Plain => 80,
        Mode::Tls => 443,
    });
    let tcp = match open_tcp(spec.proxy.as_ref(), &host, port).await {
        Ok(tcp) => tcp,
        Err(OpenError::Proxy(e)) => return Err(ConnectError::Proxy(e)),
        Err(OpenError::Io(e)) => return Err(E::Io(e).into()),
    };
    tcp.set_nodelay(true).map_err(E::Io)?;
    let mut asked = None;
    let stream = match mode {
        Mode::Plain => Stream::Plain(tcp),
        Mode::Tls => {
            let config = spec
                .tls
                .clone()
                .unwrap_or_else(crate::runner::tls::default_config);
            let (config, noticed) = match crate::runner::tls::asked::noticing(&config) {
                Some((copy, asked)) => (copy, Some(asked)),
                None => (config, None),
            };
            asked = noticed;
            let name = rustls::pki_types::ServerName::try_from(host)
                .map_err(|_| E::Tls(TlsError::InvalidDnsName))?;
            let connector = tokio_rustls::TlsConnector::from(config);
            let tls = connector.connect(name, tcp).await.map_err(E::Io);
            match tls {
                Ok(tls) => Stream::Tls(Box::new(tls)),
                Err(e) => return Err(client_cert_missing(e, asked.as_deref())),
            }
        }
    };
    let wire = Wire::with_buffer(stream, spec.max_message_size, read_size);
    super::upgrade::upgrade(request, wire, config)
        .await
        .map_err(|e| client_cert_missing(e, asked.as_deref()))
}

/// A failure after the server asked for a client certificate we did not have is taken to be
/// its refusal (TLS 1.3 servers say so only after the handshake: at the first read).
fn client_cert_missing(
    e: tungstenite::Error,
    asked: Option<&crate::runner::tls::asked::Asked>,
) -> ConnectError {
    match asked {
        Some(a) if a.was_asked() => ConnectError::NoClientCert(describe_ws_error(&e)),
        _ => ConnectError::Ws(e),
    }
}

/// Why [`connect`] failed: the proxy on the way, or the connection itself.
#[derive(Debug)]
pub(super) enum ConnectError {
    Proxy(ProxyError),
    /// The server asked for a client certificate, got none, and gave up (what it said).
    NoClientCert(String),
    Ws(tungstenite::Error),
}

impl From<tungstenite::Error> for ConnectError {
    fn from(e: tungstenite::Error) -> Self {
        ConnectError::Ws(e)
    }
}

/// The handshake's request as it goes out: its line and headers (the response comes later).
pub(super) fn sent(connection: &str, request: &Request) -> Handshake {
    let target = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    Handshake {
        connection: connection.into(),
        request_line: format!("GET {target} HTTP/1.1"),
        request_headers: header_list(request.headers()),
        status_line: String::new(),
        response_headers: Vec::new(),
    }
}

/// Adds the server's answer to a handshake.
pub(super) fn answered(handshake: &mut Handshake, response: &Response) {
    let status = response.status();
    handshake.status_line = format!(
        "HTTP/1.1 {} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or_default()
    )
    .trim_end()
    .to_string();
    handshake.response_headers = header_list(response.headers());
}

fn header_list(headers: &tungstenite::http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// Errors while opening: the same sentences, with the handshake's usual suspects named.
pub(super) fn describe_connect_error(url: &str, e: &tungstenite::Error) -> String {
    let text = describe_ws_error(e);
    let dropped = text == "the connection was dropped without a close frame"
        || text == "connection reset by the server";
    if url.starts_with("wss://") && (dropped || text.starts_with("TLS")) {
        return format!(
            "the TLS handshake failed ({text}); is the server speaking plain ws:// rather than wss://?"
        );
    }
    if dropped {
        return format!("the server closed the connection during the WebSocket handshake ({text})");
    }
    text
}

/// What a server that wants a client certificate and got none is told apart by.
pub(super) const NO_CLIENT_CERT: &str =
    "the server asked for a client certificate; give one with `tls: {cert: FILE, key: FILE}`";

/// Turns tungstenite's errors into sentences.
pub fn describe_ws_error(e: &tungstenite::Error) -> String {
    use tungstenite::error::{CapacityError, ProtocolError};
    use tungstenite::Error as E;
    match e {
        E::Capacity(CapacityError::MessageTooLong { size, max_size }) => format!(
            "a message of {size} bytes exceeds max_message_size ({}); raise `defaults.max_message_size` if messages this large are expected",
            human_size(*max_size)
        ),
        E::Capacity(c) => format!("message too large: {c}"),
        E::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
            std::io::ErrorKind::ConnectionReset => "connection reset by the server".into(),
            std::io::ErrorKind::UnexpectedEof => {
                "the connection was dropped without a close frame".into()
            }
            _ => {
                let text = io.to_string();
                if text.contains("CertificateRequired") {
                    // The alert a TLS 1.3 server sends when it demands a client certificate.
                    format!("{NO_CLIENT_CERT} ({text})")
                } else if text.contains("failed to lookup address") || text.contains("Name or service not known") {
                    format!("unknown host ({text})")
                } else if text.contains("InvalidCertificate") || text.contains("invalid peer certificate") {
                    format!("the server's TLS certificate is not trusted ({text}); use `tls: {{ca: FILE}}` or `tls: {{insecure: true}}`")
                } else if text.contains("InvalidContentType") || text.contains("corrupt message") {
                    format!("TLS handshake failed: is the server speaking plain ws:// rather than wss://? ({text})")
                } else {
                    text
                }
            }
        },
        E::Tls(t) => {
            let text = t.to_string();
            if text.contains("certificate") {
                format!("the server's TLS certificate is not trusted ({text}); use `tls: {{ca: FILE}}` or `tls: {{insecure: true}}`")
            } else {
                format!("TLS error: {text}")
            }
        }
        E::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
            "the connection was dropped without a close frame".into()
        }
        E::Http(response) => describe_refusal(response),
        E::Url(u) => format!("invalid URL: {u}"),
        E::ConnectionClosed | E::AlreadyClosed => "the connection is closed".into(),
        other => other.to_string(),
    }
}

/// An upgrade answered with another HTTP status: where a redirect points, or the start of the
/// body that says why (what arrived with the headers; the handshake reads no further).
fn describe_refusal(response: &tungstenite::http::Response<Option<Vec<u8>>>) -> String {
    let status = response.status();
    if status.is_redirection() {
        if let Some(to) = response.headers().get("location") {
            return format!(
                "the server redirected the upgrade (HTTP {status}) to {}; wsrun does not follow redirects, so use that URL",
                String::from_utf8_lossy(to.as_bytes())
            );
        }
    }
    let body = response.body().as_deref().unwrap_or_default();
    let body = String::from_utf8_lossy(body);
    match body.trim() {
        "" => format!("the server refused the upgrade with HTTP {status} (and no body)"),
        body => format!(
            "the server refused the upgrade with HTTP {status}: {}",
            crate::report::truncate(body, 300)
        ),
    }
}

/// `67108864` → `64 MiB`.
pub fn human_size(bytes: usize) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else if bytes >= 1 << 10 && bytes.is_multiple_of(1 << 10) {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} bytes")
    }
}

/// The handshake request of `spec`: its URL, headers, subprotocols and the compression offer
/// (whether permessage-deflate was offered, for checking the answer).
pub(super) fn request(spec: &ConnectSpec) -> Result<(Request, bool), String> {
    let mut request = spec
        .url
        .as_str()
        .into_client_request()
        .map_err(|e| format!("invalid URL `{}`: {}", spec.url, describe_ws_error(&e)))?;
    for (name, value) in &spec.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("invalid header name `{name}`"))?;
        let value = HeaderValue::from_str(value)
            .map_err(|_| format!("invalid value for header `{name}`"))?;
        request.headers_mut().append(name, value);
    }
    let offered = super::extensions::offer(&mut request, spec.compression);
    if !spec.subprotocols.is_empty() {
        let joined = spec.subprotocols.join(", ");
        let value = HeaderValue::from_str(&joined)
            .map_err(|_| format!("invalid subprotocols `{joined}`"))?;
        request
            .headers_mut()
            .insert("sec-websocket-protocol", value);
    }
    Ok((request, offered))
}

/// Whether opening failed because the server agreed on none of the subprotocols asked for.
pub(super) fn no_subprotocol(e: &ConnectError) -> bool {
    matches!(
        e,
        ConnectError::Ws(tungstenite::Error::Protocol(
            tungstenite::error::ProtocolError::SecWebSocketSubProtocolError(_)
        ))
    )
}

/// Why opening `spec` failed, as one sentence.
pub(super) fn failure(spec: &ConnectSpec, e: ConnectError) -> String {
    let e = match e {
        ConnectError::Proxy(e) => return format!("could not connect to {}: {e}", spec.url),
        ConnectError::NoClientCert(why) if why.starts_with(NO_CLIENT_CERT) => {
            return format!("could not connect to {}: {why}", spec.url)
        }
        ConnectError::NoClientCert(why) => {
            return format!(
                "could not connect to {}: {} ({why})",
                spec.url, NO_CLIENT_CERT
            )
        }
        ConnectError::Ws(e) => e,
    };
    if matches!(
        e,
        tungstenite::Error::Protocol(
            tungstenite::error::ProtocolError::SecWebSocketSubProtocolError(_)
        )
    ) {
        return format!(
            "could not connect to {}: the server did not agree on a subprotocol (asked for: {})",
            spec.url,
            spec.subprotocols.join(", ")
        );
    }
    format!(
        "could not connect to {}: {}",
        spec.url,
        describe_connect_error(&spec.url, &e)
    )
}

/// The subprotocol the server agreed on is one of those asked for (when any were).
pub(super) fn check_subprotocol(spec: &ConnectSpec, response: &Response) -> Result<(), String> {
    if !spec.subprotocols.is_empty() {
        let agreed = response
            .headers()
            .get("sec-websocket-protocol")
            .and_then(|v| v.to_str().ok());
        match agreed {
            Some(p) if spec.subprotocols.iter().any(|s| s == p) => {}
            Some(p) => {
                return Err(format!(
                    "the server chose subprotocol `{p}`, which was not asked for ({})",
                    spec.subprotocols.join(", ")
                ))
            }
            None => {
                return Err(format!(
                    "the server did not agree on a subprotocol (asked for: {})",
                    spec.subprotocols.join(", ")
                ))
            }
        }
    }
    Ok(())
}
