//! Reaching a host through a proxy: HTTP CONNECT or SOCKS5 (RFC 1928, user/password auth of
//! RFC 1929), chosen by `proxy:` or the `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY`/`NO_PROXY`
//! environment as curl reads it. [`open_tcp`] is the one way out for anything that dials.

mod socks5;

use std::net::IpAddr;

use base64::Engine as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A proxy's answer is read up to this many bytes: a longer one is no proxy we understand.
const MAX_REPLY: usize = 16 << 10;

/// How a proxy is spoken to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// HTTP CONNECT (`http://`).
    Http,
    /// SOCKS5 with the name resolved here (`socks5://`) or by the proxy (`socks5h://`).
    Socks5 { remote_dns: bool },
}

/// A proxy from a URL such as `http://user:pass@proxy:3128` or `socks5h://proxy:1080`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proxy {
    pub kind: Kind,
    pub host: String,
    pub port: u16,
    /// User and password, percent-decoded.
    pub credentials: Option<(String, String)>,
}

/// Why a connection through a proxy failed.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("invalid proxy URL `{0}`: {1}")]
    Url(String, &'static str),
    #[error("cannot reach the proxy {proxy}: {source}")]
    Unreachable {
        proxy: String,
        source: std::io::Error,
    },
    #[error("the proxy {proxy} wants credentials (HTTP 407); give them in the proxy URL: http://USER:PASSWORD@{proxy}")]
    NeedsCredentials { proxy: String },
    #[error("the proxy {proxy} refused the credentials given (HTTP 407)")]
    BadCredentials { proxy: String },
    #[error("the proxy {proxy} refused to connect to {target}: HTTP {status}")]
    Refused {
        proxy: String,
        target: String,
        status: String,
    },
    #[error("the SOCKS5 proxy {proxy} could not connect to {target}: {reason}")]
    Socks {
        proxy: String,
        target: String,
        reason: String,
    },
    #[error("the proxy {proxy} answered something that is not {expected}")]
    Garbled {
        proxy: String,
        expected: &'static str,
    },
}

impl Proxy {
    /// Parses a proxy URL; without a scheme it is an HTTP proxy and without a port 1080, as
    /// curl reads them.
    pub fn parse(url: &str) -> Result<Proxy, ProxyError> {
        let bad = |why| ProxyError::Url(redact(url), why);
        let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
        let kind = match scheme.to_ascii_lowercase().as_str() {
            "http" => Kind::Http,
            "socks5" => Kind::Socks5 { remote_dns: false },
            "socks5h" => Kind::Socks5 { remote_dns: true },
            _ => return Err(bad("the scheme must be http://, socks5:// or socks5h://")),
        };
        let authority = rest.split('/').next().unwrap_or_default();
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let credentials = userinfo.map(|u| {
            let (user, pass) = u.split_once(':').unwrap_or((u, ""));
            (percent_decode(user), percent_decode(pass))
        });
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or_else(|| bad("an unclosed `[`"))?;
            (host, after.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (hostport, None),
            }
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let port = match port {
            Some(p) => p.parse().map_err(|_| bad("the port is not a number"))?,
            None => 1080,
        };
        Ok(Proxy {
            kind,
            host: host.to_string(),
            port,
            credentials,
        })
    }

    /// `host:port`, never the credentials: what messages name the proxy by.
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// What must never be printed: the password, `user:password` and its Base64 (the
    /// `Proxy-Authorization` value).
    pub fn secrets(&self) -> Vec<String> {
        match &self.credentials {
            None => Vec::new(),
            Some((user, pass)) => {
                let pair = format!("{user}:{pass}");
                let basic = base64::engine::general_purpose::STANDARD.encode(&pair);
                vec![pass.clone(), pair, basic]
            }
        }
    }
}

/// The proxy for a connection to `url`: `setting` (`proxy:` or `--proxy`; `none` for a
/// direct connection) when given, else the environment's (`env` reads a variable).
pub fn choose(
    setting: Option<&str>,
    url: &str,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<Proxy>, ProxyError> {
    match setting.map(str::trim) {
        Some(s) if s.eq_ignore_ascii_case("none") => Ok(None),
        Some(s) => Proxy::parse(s).map(Some),
        None => from_env(url, env),
    }
}

/// The environment's proxy for `url`, as curl chooses it: `https_proxy` for `wss://` (and
/// `https://`), `http_proxy` for `ws://` (and `http://`), else `all_proxy` (lower case first, then upper case), unless
/// `no_proxy` names the host. Loopback hosts never go through one from the environment: a
/// corporate proxy cannot reach the machine's own test servers and mocks.
pub fn from_env(
    url: &str,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<Proxy>, ProxyError> {
    let scheme = url.split_once("://").map_or("", |(s, _)| s);
    let secure = scheme.eq_ignore_ascii_case("wss") || scheme.eq_ignore_ascii_case("https");
    let Some(host) = url_host(url) else {
        return Ok(None);
    };
    let get = |name: &str| {
        env(&name.to_ascii_lowercase())
            .or_else(|| env(&name.to_ascii_uppercase()))
            .filter(|v| !v.trim().is_empty())
    };
    let var = if secure { "https_proxy" } else { "http_proxy" };
    let Some(value) = get(var).or_else(|| get("all_proxy")) else {
        return Ok(None);
    };
    if is_loopback(&host) || get("no_proxy").is_some_and(|list| no_proxy_matches(&list, &host)) {
        return Ok(None);
    }
    Proxy::parse(value.trim()).map(Some)
}

/// The host of a `ws://` or `wss://` URL, without brackets or port.
fn url_host(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = hostport.strip_prefix('[') {
        v6.split(']').next()?
    } else {
        hostport.split(':').next()?
    };
    Some(host.to_ascii_lowercase())
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host.ends_with(".localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// curl's `NO_PROXY`: `*`, or a comma-separated list of hosts, each matching itself and its
/// subdomains (a leading `.` or `*.` is ignored); a `:port` suffix is ignored.
fn no_proxy_matches(list: &str, host: &str) -> bool {
    list.split(',').map(str::trim).any(|entry| {
        if entry == "*" {
            return true;
        }
        let entry = entry.trim_start_matches("*.").trim_start_matches('.');
        let entry = match entry.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or_default(),
            None if entry.matches(':').count() == 1 => entry.split(':').next().unwrap_or_default(),
            None => entry,
        };
        let entry = entry.to_ascii_lowercase();
        !entry.is_empty()
            && (host == entry
                || host
                    .strip_suffix(entry.as_str())
                    .is_some_and(|h| h.ends_with('.')))
    })
}

/// A TCP connection to `host:port`, directly or tunnelled through `proxy`.
pub async fn open_tcp(
    proxy: Option<&Proxy>,
    host: &str,
    port: u16,
) -> Result<TcpStream, OpenError> {
    let Some(proxy) = proxy else {
        return Ok(TcpStream::connect((host, port)).await?);
    };
    let mut tcp = TcpStream::connect((proxy.host.as_str(), proxy.port))
        .await
        .map_err(|source| ProxyError::Unreachable {
            proxy: proxy.address(),
            source,
        })?;
    match proxy.kind {
        Kind::Http => connect_http(&mut tcp, proxy, host, port).await?,
        Kind::Socks5 { remote_dns } => {
            socks5::connect(&mut tcp, proxy, host, port, remote_dns).await?
        }
    }
    Ok(tcp)
}

/// Why [`open_tcp`] failed: the proxy said no, or the network did.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Proxy(#[from] ProxyError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// `CONNECT host:port`, then the proxy's status line; the headers after it are read and
/// dropped, and nothing past them (the tunnel's first bytes are the server's).
async fn connect_http(
    tcp: &mut TcpStream,
    proxy: &Proxy,
    host: &str,
    port: u16,
) -> Result<(), OpenError> {
    let target = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut ask = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some((user, pass)) = &proxy.credentials {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        ask.push_str(&format!("Proxy-Authorization: Basic {basic}\r\n"));
    }
    ask.push_str("\r\n");
    tcp.write_all(ask.as_bytes()).await?;
    let garbled = || ProxyError::Garbled {
        proxy: proxy.address(),
        expected: "an HTTP answer to CONNECT",
    };
    // A byte at a time: the answer is short, and a read past its end would take the
    // server's first bytes out of the tunnel.
    let mut reply = Vec::with_capacity(256);
    while !reply.ends_with(b"\r\n\r\n") {
        if reply.len() >= MAX_REPLY {
            return Err(garbled().into());
        }
        let byte = tcp.read_u8().await?;
        reply.push(byte);
    }
    let status_line = reply.split(|&b| b == b'\r').next().unwrap_or_default();
    let status_line = String::from_utf8_lossy(status_line);
    let mut words = status_line.splitn(3, ' ');
    let (Some(version), Some(code)) = (words.next(), words.next()) else {
        return Err(garbled().into());
    };
    if !version.starts_with("HTTP/") {
        return Err(garbled().into());
    }
    let reason = words.next().unwrap_or_default().trim();
    match code {
        c if c.starts_with('2') => Ok(()),
        "407" if proxy.credentials.is_some() => Err(ProxyError::BadCredentials {
            proxy: proxy.address(),
        }
        .into()),
        "407" => Err(ProxyError::NeedsCredentials {
            proxy: proxy.address(),
        }
        .into()),
        _ => Err(ProxyError::Refused {
            proxy: proxy.address(),
            target,
            status: format!("{code} {reason}").trim().to_string(),
        }
        .into()),
    }
}

/// Redacts the password of a URL for an error message.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url
            .split_once('@')
            .map_or(url.to_string(), |(_, h)| format!("***@{h}"));
    };
    match rest.split_once('@') {
        Some((_, host)) => format!("{scheme}://***@{host}"),
        None => url.to_string(),
    }
}

/// `%40` → `@`: credentials in a URL are percent-encoded.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                // Both digits checked just above.
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn proxy_urls_parse_as_curl_reads_them() {
        let p = Proxy::parse("http://us%40er:p%3Ass@proxy.corp:3128/").expect("parse");
        assert_eq!(p.kind, Kind::Http);
        assert_eq!(p.address(), "proxy.corp:3128");
        assert_eq!(
            p.credentials,
            Some(("us@er".to_string(), "p:ss".to_string()))
        );
        let p = Proxy::parse("proxy.corp").expect("parse");
        assert_eq!((p.kind, p.port), (Kind::Http, 1080));
        let p = Proxy::parse("socks5h://[::1]:9050").expect("parse");
        assert_eq!(p.kind, Kind::Socks5 { remote_dns: true });
        assert_eq!(p.address(), "[::1]:9050");
        let e = Proxy::parse("ftp://u:secret@h:1").expect_err("ftp");
        assert_eq!(
            e.to_string(),
            "invalid proxy URL `ftp://***@h:1`: the scheme must be http://, socks5:// or socks5h://"
        );
    }

    #[test]
    fn the_environment_chooses_by_scheme_then_all_proxy_lower_case_first() {
        let vars = [
            ("https_proxy", "http://secure:1"),
            ("HTTP_PROXY", "http://plain:2"),
            ("http_proxy", "http://lower:3"),
            ("ALL_PROXY", "socks5://all:4"),
        ];
        let host = |url| from_env(url, env(&vars)).expect("valid").map(|p| p.host);
        assert_eq!(host("wss://example.com/x").as_deref(), Some("secure"));
        assert_eq!(host("ws://example.com/x").as_deref(), Some("lower"));
        assert_eq!(host("HTTPS://example.com/x").as_deref(), Some("secure"));
        assert_eq!(host("http://example.com/x").as_deref(), Some("lower"));
        let only_all = [("ALL_PROXY", "socks5://all:4")];
        let p = from_env("ws://example.com", env(&only_all)).expect("valid");
        assert_eq!(p.map(|p| p.host).as_deref(), Some("all"));
    }

    #[test]
    fn no_proxy_and_loopback_hosts_connect_directly() {
        let vars = [
            ("HTTPS_PROXY", "http://proxy:1"),
            ("NO_PROXY", "internal.corp, .svc:443,10.0.0.7"),
        ];
        let direct = |url| from_env(url, env(&vars)).expect("valid").is_none();
        assert!(direct("wss://internal.corp/"));
        assert!(direct("wss://a.internal.corp/"));
        assert!(direct("wss://api.svc/"));
        assert!(direct("wss://10.0.0.7:8443/"));
        assert!(direct("wss://127.0.0.1:9000/"));
        assert!(direct("wss://[::1]:9000/"));
        assert!(direct("wss://localhost/"));
        assert!(!direct("wss://notinternal.corp/"));
        assert!(!direct("wss://example.com/"));
        let star = [("HTTPS_PROXY", "http://proxy:1"), ("no_proxy", "*")];
        assert!(from_env("wss://example.com", env(&star))
            .expect("valid")
            .is_none());
    }

    #[test]
    fn a_setting_overrides_the_environment_and_none_goes_direct() {
        let vars = [("HTTP_PROXY", "http://env:1")];
        let chosen = |s| choose(s, "ws://example.com", env(&vars)).expect("valid");
        assert_eq!(chosen(None).map(|p| p.host).as_deref(), Some("env"));
        assert_eq!(chosen(Some("none")), None);
        assert_eq!(
            chosen(Some("socks5://mine:9")).map(|p| p.host).as_deref(),
            Some("mine")
        );
        // A setting applies to loopback hosts too: the user asked for it.
        let p = choose(Some("http://p:1"), "ws://127.0.0.1:5", env(&[])).expect("valid");
        assert!(p.is_some());
    }

    #[test]
    fn credentials_are_secrets_in_every_form_they_are_sent() {
        let p = Proxy::parse("http://alice:s3cret@proxy:8080").expect("parse");
        assert_eq!(
            p.secrets(),
            vec!["s3cret", "alice:s3cret", "YWxpY2U6czNjcmV0"]
        );
    }
}
