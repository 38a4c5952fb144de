//! One HTTP/1.1 exchange over wsrun's own way out: TCP through [`open_tcp`] (proxies included),
//! TLS with the connection's rustls configuration, a request written whole, and the response
//! read with `httparse` (already built for the WebSocket handshake) and bounded in size.
//!
//! Every request says `Connection: close`: one exchange per connection, so a body with neither
//! a length nor chunks ends where the server closes, and no pool is needed.

use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use crate::runner::proxy::{open_tcp, OpenError, Proxy};
use crate::runner::stream::Stream;

/// The response head (status line and headers) is read up to this size.
const MAX_HEAD: usize = 64 << 10;
/// Headers beyond this many make the response unreadable.
const MAX_HEADERS: usize = 100;

/// Where a URL points: `http(s)://host:port/path?query`.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub tls: bool,
    /// Without brackets (an IPv6 address as the resolver wants it).
    pub host: String,
    pub port: u16,
    /// The `Host` header: the URL's authority without credentials.
    pub authority: String,
    /// Path and query, `/` at least.
    pub path: String,
}

impl Target {
    pub fn parse(url: &str) -> Result<Target, String> {
        let (tls, rest) = if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err(format!("`{url}` is not an http:// or https:// URL"));
        };
        let rest = rest.split('#').next().unwrap_or_default();
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(split);
        if authority.contains('@') {
            return Err(format!(
                "`{url}`: credentials in an http URL are not sent; use an `Authorization` header"
            ));
        }
        let path = match path {
            "" => "/".to_string(),
            p if p.starts_with('?') => format!("/{p}"),
            p => p.to_string(),
        };
        let (host, port) = match authority.strip_prefix('[') {
            Some(v6) => {
                let (host, after) = v6
                    .split_once(']')
                    .ok_or_else(|| format!("`{url}` has an unclosed `[`"))?;
                (host, after.strip_prefix(':'))
            }
            None => match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            },
        };
        if host.is_empty() {
            return Err(format!("`{url}` has no host"));
        }
        let port = match port {
            Some(p) => p
                .parse()
                .map_err(|_| format!("`{url}` has an invalid port `{p}`"))?,
            None if tls => 443,
            None => 80,
        };
        if path.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(format!(
                "`{url}` has a space or control character in its path: encode it (`| urlencode`)"
            ));
        }
        Ok(Target {
            tls,
            host: host.to_ascii_lowercase(),
            port,
            authority: authority.to_string(),
            path,
        })
    }
}

/// A request ready to write: its headers already include `Host` and the body's.
pub struct Outgoing<'a> {
    pub method: &'a str,
    pub target: &'a Target,
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

/// What came back.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first header of that name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why an exchange failed, in words for the step's failure.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("cannot connect to {0}: {1}")]
    Connect(String, String),
    #[error(transparent)]
    Proxy(#[from] crate::runner::proxy::ProxyError),
    #[error("TLS handshake with {0} failed: {1}")]
    Tls(String, String),
    #[error("the connection failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("the server's answer is not HTTP: {0}")]
    Garbled(String),
    #[error("the response body is larger than {0} (`defaults.max_message_size`)")]
    TooLarge(String),
}

/// Connects, writes `out` and reads the response, its body at most `cap` bytes.
pub async fn exchange(
    out: &Outgoing<'_>,
    tls: Option<Arc<rustls::ClientConfig>>,
    proxy: Option<&Proxy>,
    cap: usize,
) -> Result<Response, HttpError> {
    let t = out.target;
    let address = format!("{}:{}", t.host, t.port);
    let tcp = match open_tcp(proxy, &t.host, t.port).await {
        Ok(tcp) => tcp,
        Err(OpenError::Proxy(e)) => return Err(e.into()),
        Err(OpenError::Io(e)) => return Err(HttpError::Connect(address, io_words(&e))),
    };
    let _ = tcp.set_nodelay(true);
    let mut stream = if t.tls {
        let config = tls.unwrap_or_else(crate::runner::tls::default_config);
        let name = rustls::pki_types::ServerName::try_from(t.host.clone())
            .map_err(|_| HttpError::Tls(address.clone(), "invalid DNS name".into()))?;
        let tls = tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(|e| HttpError::Tls(address.clone(), tls_words(&e)))?;
        Stream::Tls(Box::new(tls))
    } else {
        Stream::Plain(tcp)
    };
    stream.write_all(&head(out)).await?;
    stream.write_all(out.body).await?;
    stream.flush().await?;
    read_response(&mut stream, out.method.eq_ignore_ascii_case("HEAD"), cap).await
}

/// The request line and headers, `Connection: close` added.
fn head(out: &Outgoing<'_>) -> Vec<u8> {
    let mut head = format!("{} {} HTTP/1.1\r\n", out.method, out.target.path);
    for (name, value) in out.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("Connection: close\r\n\r\n");
    head.into_bytes()
}

/// A certificate refused says how to trust it, as a `wss://` connection's failure does.
fn tls_words(e: &std::io::Error) -> String {
    let text = e.to_string();
    if text.starts_with("invalid peer certificate") {
        return format!("{text}; use `tls: {{ca: FILE}}` or `tls: {{insecure: true}}`");
    }
    text
}

fn io_words(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
        _ => e.to_string(),
    }
}

/// Reads a response: its head, then its body by `Content-Length`, by chunks, or to the end.
async fn read_response<S: AsyncRead + Unpin>(
    stream: &mut S,
    head_only: bool,
    cap: usize,
) -> Result<Response, HttpError> {
    let mut buf = Vec::with_capacity(4096);
    loop {
        let (mut response, used) = read_head(stream, &mut buf).await?;
        buf.drain(..used);
        // `100 Continue` and other interim answers come before the real one.
        if (100..200).contains(&response.status) && response.status != 101 {
            continue;
        }
        if head_only || matches!(response.status, 101 | 204 | 304) {
            return Ok(response);
        }
        let chunked = response
            .header("transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
        let length = response.header("content-length").map(str::trim);
        response.body = if chunked {
            read_chunked(stream, buf, cap).await?
        } else if let Some(length) = length {
            let n: usize = length
                .parse()
                .map_err(|_| HttpError::Garbled(format!("Content-Length `{length}`")))?;
            if n > cap {
                return Err(HttpError::TooLarge(crate::runner::conn::human_size(cap)));
            }
            read_exact_into(stream, buf, n).await?
        } else {
            read_to_end(stream, buf, cap).await?
        };
        return Ok(response);
    }
}

/// Reads until the head is complete; returns it and how many bytes of `buf` it used.
async fn read_head<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
) -> Result<(Response, usize), HttpError> {
    loop {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut parsed = httparse::Response::new(&mut headers);
        match parsed.parse(buf) {
            Ok(httparse::Status::Complete(used)) => {
                let response = Response {
                    status: parsed.code.unwrap_or_default(),
                    reason: parsed.reason.unwrap_or_default().to_string(),
                    headers: parsed
                        .headers
                        .iter()
                        .map(|h| {
                            let value = String::from_utf8_lossy(h.value).into_owned();
                            (h.name.to_string(), value)
                        })
                        .collect(),
                    body: Vec::new(),
                };
                return Ok((response, used));
            }
            Ok(httparse::Status::Partial) => {}
            Err(e) => return Err(HttpError::Garbled(e.to_string())),
        }
        if buf.len() >= MAX_HEAD {
            return Err(HttpError::Garbled(format!(
                "its head is larger than {}",
                crate::runner::conn::human_size(MAX_HEAD)
            )));
        }
        if fill(stream, buf).await? == 0 {
            return Err(if buf.is_empty() {
                HttpError::Garbled("the server closed the connection without answering".into())
            } else {
                HttpError::Garbled("the server closed the connection mid-answer".into())
            });
        }
    }
}

/// Reads more into `buf`; 0 at the end. A TLS peer that closes without `close_notify` is an
/// end too (many HTTP servers do).
async fn fill<S: AsyncRead + Unpin>(stream: &mut S, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut chunk = [0u8; 8192];
    match stream.read(&mut chunk).await {
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            Ok(n)
        }
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(0),
        Err(e) => Err(e),
    }
}

async fn read_exact_into<S: AsyncRead + Unpin>(
    stream: &mut S,
    mut buf: Vec<u8>,
    n: usize,
) -> Result<Vec<u8>, HttpError> {
    while buf.len() < n {
        if fill(stream, &mut buf).await? == 0 {
            return Err(HttpError::Garbled(format!(
                "the body ended after {} of its {n} bytes",
                buf.len()
            )));
        }
    }
    buf.truncate(n);
    Ok(buf)
}

async fn read_to_end<S: AsyncRead + Unpin>(
    stream: &mut S,
    mut buf: Vec<u8>,
    cap: usize,
) -> Result<Vec<u8>, HttpError> {
    loop {
        if buf.len() > cap {
            return Err(HttpError::TooLarge(crate::runner::conn::human_size(cap)));
        }
        if fill(stream, &mut buf).await? == 0 {
            return Ok(buf);
        }
    }
}

async fn read_chunked<S: AsyncRead + Unpin>(
    stream: &mut S,
    mut raw: Vec<u8>,
    cap: usize,
) -> Result<Vec<u8>, HttpError> {
    let mut body = Vec::new();
    loop {
        // Each chunk: its size line, its bytes and CRLF; size 0 ends the body.
        match httparse::parse_chunk_size(&raw) {
            Ok(httparse::Status::Complete((used, size))) => {
                let size = usize::try_from(size).unwrap_or(usize::MAX);
                if size == 0 {
                    return Ok(body);
                }
                if size > cap.saturating_sub(body.len()) {
                    return Err(HttpError::TooLarge(crate::runner::conn::human_size(cap)));
                }
                let end = used + size + 2;
                while raw.len() < end {
                    if fill(stream, &mut raw).await? == 0 {
                        return Err(HttpError::Garbled("the chunked body ended early".into()));
                    }
                }
                body.extend_from_slice(&raw[used..used + size]);
                raw.drain(..end);
            }
            Ok(httparse::Status::Partial) => {
                if raw.len() > MAX_HEAD {
                    return Err(HttpError::Garbled("a chunk size line is too long".into()));
                }
                if fill(stream, &mut raw).await? == 0 {
                    return Err(HttpError::Garbled("the chunked body ended early".into()));
                }
            }
            Err(_) => return Err(HttpError::Garbled("an invalid chunk size".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_host_port_and_path() {
        let t = Target::parse("https://api.example.com/api/v3/x?a=1#frag").unwrap();
        assert_eq!(
            (t.tls, t.host.as_str(), t.port, t.path.as_str()),
            (true, "api.example.com", 443, "/api/v3/x?a=1")
        );
        let t = Target::parse("http://[::1]:8080?q").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str()),
            ("::1", 8080, "/?q")
        );
        assert_eq!(
            Target::parse("http://h:x/").unwrap_err(),
            "`http://h:x/` has an invalid port `x`"
        );
        assert!(Target::parse("http://u:p@h/")
            .unwrap_err()
            .contains("use an `Authorization` header"));
        assert!(Target::parse("http://h/a b")
            .unwrap_err()
            .contains("urlencode"));
    }

    #[tokio::test]
    async fn bodies_by_length_chunks_and_end() {
        let read = |raw: &'static [u8], cap| async move {
            let mut s = raw;
            read_response(&mut s, false, cap).await
        };
        let r = read(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiXX", 100)
            .await
            .unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"hi"[..]));
        let r = read(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
            100,
        )
        .await
        .unwrap();
        assert_eq!((r.status, r.body.as_slice()), (201, &b"abcde"[..]));
        let r = read(b"HTTP/1.0 200 OK\r\n\r\nto the end", 100)
            .await
            .unwrap();
        assert_eq!(r.body, b"to the end");
        let e = read(b"HTTP/1.1 200 OK\r\nContent-Length: 101\r\n\r\n", 100)
            .await
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "the response body is larger than 100 bytes (`defaults.max_message_size`)"
        );
        let e = read(b"HTTP/1.0 200 OK\r\n\r\n", 0).await.unwrap();
        assert!(e.body.is_empty());
        let e = read(b"SSH-2.0-OpenSSH\r\n\r\n", 100).await.unwrap_err();
        assert!(
            e.to_string().starts_with("the server's answer is not HTTP"),
            "{e}"
        );
        let e = read(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
            100,
        )
        .await
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "the server's answer is not HTTP: the chunked body ended early"
        );
    }
}
