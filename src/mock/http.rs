//! A mock's HTTP routes (`http:`): canned answers on the same port as its WebSocket upgrades.
//! A connection's request head is peeked (not read): one asking for `Upgrade: websocket` goes
//! on to the WebSocket handshake untouched; any other is answered by the first route whose
//! method and path match (404 when none has the path, 405 when only the method differs), then
//! closed.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::collection::MockHttpRoute;
use crate::template::Scope;

/// A request head longer than this is refused (431).
const MAX_HEAD: usize = 16 << 10;
/// A request body longer than this is refused (413); it is read and dropped.
const MAX_BODY: usize = 1 << 20;
/// How often a head still arriving is peeked at again.
const PEEK_AGAIN: Duration = Duration::from_millis(5);

/// A route with its answer rendered once, when the mock starts.
pub(super) struct Route {
    method: String,
    path: String,
    answer: Vec<u8>,
}

/// Renders the routes of a mock with the collection's variables in `scope`.
pub(super) fn compile(routes: &[MockHttpRoute], scope: &Scope<'_>) -> Result<Vec<Route>, String> {
    routes
        .iter()
        .enumerate()
        .map(|(i, r)| compile_one(r, scope).map_err(|e| format!("http route {}: {e}", i + 1)))
        .collect()
}

fn compile_one(r: &MockHttpRoute, scope: &Scope<'_>) -> Result<Route, String> {
    // Method, path, status and the one body were checked when the collection loaded.
    let (kind, body) = match (&r.json, &r.body) {
        (Some(j), _) => {
            let v = j.expand(scope).map_err(|e| e.to_string())?;
            ("application/json", v.to_string())
        }
        (None, Some(b)) => (
            "text/plain; charset=utf-8",
            b.expand(scope).map_err(|e| e.to_string())?,
        ),
        (None, None) => ("text/plain; charset=utf-8", String::new()),
    };
    let mut headers = Vec::new();
    for (name, value) in &r.headers.0 {
        let value = value.expand(scope).map_err(|e| e.to_string())?;
        if name.is_empty() || name.contains([' ', ':', '\r', '\n']) || value.contains(['\r', '\n'])
        {
            return Err(format!("header `{name}` cannot be sent"));
        }
        headers.push((name.clone(), value));
    }
    let given = headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-type"));
    if !given {
        headers.push(("Content-Type".into(), kind.into()));
    }
    Ok(Route {
        method: r.method.clone(),
        path: r.path.clone(),
        answer: answer(r.status, &headers, body.as_bytes()),
    })
}

/// A whole response: status line, headers, `Content-Length`, `Connection: close`, body.
fn answer(status: u16, headers: &[(String, String)], body: &[u8]) -> Vec<u8> {
    let reason = tokio_tungstenite::tungstenite::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let mut out = format!("HTTP/1.1 {status} {reason}\r\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

fn plain(status: u16, error: &str) -> Vec<u8> {
    let body = serde_json::json!({ "error": error }).to_string();
    let headers = [("Content-Type".to_string(), "application/json".to_string())];
    answer(status, &headers, body.as_bytes())
}

/// What the first bytes of a connection are.
pub(super) enum Sniffed {
    /// A WebSocket upgrade (or something that is not HTTP): the handshake reads it.
    Upgrade,
    /// A plain HTTP request, whose head is this long.
    Http,
    /// The client left first.
    Gone,
}

/// Peeks at the request head until it is complete (or too long to be one).
pub(super) async fn sniff(tcp: &TcpStream) -> Sniffed {
    let mut buf = vec![0u8; MAX_HEAD];
    loop {
        let n = match tcp.peek(&mut buf).await {
            Ok(0) | Err(_) => return Sniffed::Gone,
            Ok(n) => n,
        };
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(&buf[..n]) {
            Ok(httparse::Status::Complete(_)) => {
                let upgrade = request.headers.iter().any(|h| {
                    h.name.eq_ignore_ascii_case("upgrade")
                        && String::from_utf8_lossy(h.value)
                            .to_ascii_lowercase()
                            .contains("websocket")
                });
                return if upgrade {
                    Sniffed::Upgrade
                } else {
                    Sniffed::Http
                };
            }
            // Not HTTP at all, or a head too long: the WebSocket handshake refuses it.
            Err(_) => return Sniffed::Upgrade,
            Ok(httparse::Status::Partial) if n >= MAX_HEAD => return Sniffed::Http,
            Ok(httparse::Status::Partial) => tokio::time::sleep(PEEK_AGAIN).await,
        }
    }
}

/// Reads one request, answers it from `routes` and closes.
pub(super) async fn serve(mut tcp: TcpStream, routes: &[Route]) {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    let (method, path, used, length) = loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(&buf) {
            Ok(httparse::Status::Complete(used)) => {
                let length = request
                    .headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                    .and_then(|h| std::str::from_utf8(h.value).ok()?.trim().parse().ok())
                    .unwrap_or(0usize);
                let method = request.method.unwrap_or_default().to_string();
                let path = request.path.unwrap_or_default();
                let path = path.split('?').next().unwrap_or_default().to_string();
                break (method, path, used, length);
            }
            Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => {}
            Ok(httparse::Status::Partial) => {
                let _ = tcp.write_all(&plain(431, "request head too large")).await;
                return;
            }
            Err(_) => {
                let _ = tcp.write_all(&plain(400, "not an HTTP request")).await;
                return;
            }
        }
        match tcp.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    if length > MAX_BODY {
        let _ = tcp.write_all(&plain(413, "request body too large")).await;
        return;
    }
    // The body is read (and dropped) so that closing does not reset an unread request.
    let mut left = length.saturating_sub(buf.len() - used);
    while left > 0 {
        match tcp.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => left = left.saturating_sub(n),
        }
    }
    let same_path: Vec<&Route> = routes.iter().filter(|r| r.path == path).collect();
    let reply = match same_path
        .iter()
        .find(|r| r.method == "ANY" || r.method.eq_ignore_ascii_case(&method))
    {
        Some(route) => route.answer.clone(),
        None if same_path.is_empty() => plain(404, &format!("no route for {path}")),
        None => plain(405, &format!("{path} does not answer {method}")),
    };
    let _ = tcp.write_all(&reply).await;
    let _ = tcp.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the routes answer to `request`, sent by a plain TCP client.
    async fn ask(routes: Vec<Route>, request: Vec<u8>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            if let Sniffed::Http = sniff(&tcp).await {
                serve(tcp, &routes).await;
            }
        });
        let mut client = TcpStream::connect(addr).await.unwrap();
        client.write_all(&request).await.unwrap();
        let mut answer = Vec::new();
        let _ = client.read_to_end(&mut answer).await;
        server.await.unwrap();
        String::from_utf8_lossy(&answer).into_owned()
    }

    #[tokio::test]
    async fn oversized_heads_and_bodies_are_refused() {
        let long = format!("GET /{} HTTP/1.1\r\n", "a".repeat(MAX_HEAD)).into_bytes();
        assert!(ask(Vec::new(), long).await.starts_with("HTTP/1.1 431 "));
        let big = b"POST /x HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n".to_vec();
        let answer = ask(Vec::new(), big).await;
        assert!(
            answer.starts_with("HTTP/1.1 413 Payload Too Large\r\n"),
            "{answer}"
        );
        assert!(
            answer.ends_with(r#"{"error":"request body too large"}"#),
            "{answer}"
        );
    }
}
