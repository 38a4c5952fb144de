//! `--push URL`: the run's metrics to a Prometheus Pushgateway, as one HTTP/1.1 `PUT` of the
//! Prometheus text format to `URL/metrics/job/wsrun` (or to URL itself when it names a
//! grouping key, `…/metrics/job/J/…`), replacing that group's metrics. Plain `http://` only,
//! over a blocking socket with timeouts: one request at the end of a run needs no HTTP stack.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// How long connecting, sending and the answer may each take.
const TIMEOUT: Duration = Duration::from_secs(10);
/// The most of the answer read: its status line and the start of an error's text.
const ANSWER_LIMIT: u64 = 16 * 1024;

/// Where to push: host and port to connect to, the `Host` header and the request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushUrl {
    pub url: String,
    host: String,
    port: u16,
    path: String,
}

/// `http://HOST[:PORT][/PATH]`, or why it cannot be pushed to.
pub fn parse_push_url(url: &str) -> Result<PushUrl, String> {
    if url.starts_with("https://") {
        return Err(format!(
            "`{url}`: https is not supported by --push; push over http:// (a Pushgateway inside the cluster, or a local TLS proxy)"
        ));
    }
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("`{url}` is not an http:// URL (e.g. http://localhost:9091)"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    if authority.contains('@') {
        return Err(
            "credentials in the --push URL are not supported: put the Pushgateway behind a proxy that adds them".into(),
        );
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(':') && !p.contains(']') => {
            let port = p
                .parse()
                .map_err(|_| format!("`{url}`: the port `{p}` is not a number up to 65535"))?;
            (h, port)
        }
        _ => (authority, 80),
    };
    if host.is_empty() {
        return Err(format!("`{url}` names no host"));
    }
    let path = if path.contains("/metrics/job/") {
        path.to_string()
    } else {
        format!("{}/metrics/job/wsrun", path.trim_end_matches('/'))
    };
    Ok(PushUrl {
        url: url.to_string(),
        host: host.to_string(),
        port,
        path,
    })
}

/// PUTs `body` (`content_type`) to the Pushgateway; the error says what went wrong.
pub fn push(to: &PushUrl, body: &str, content_type: &str) -> Result<(), String> {
    let bare = to.host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<_> = (bare, to.port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {}: {e}", to.host))?
        .collect();
    let mut last = String::from("no address");
    let mut stream = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, TIMEOUT) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = e.to_string(),
        }
    }
    let mut stream = stream.ok_or_else(|| format!("cannot connect: {last}"))?;
    let io = |e: std::io::Error| format!("the push broke off: {e}");
    stream.set_read_timeout(Some(TIMEOUT)).map_err(io)?;
    stream.set_write_timeout(Some(TIMEOUT)).map_err(io)?;
    let host = if to.port == 80 {
        to.host.clone()
    } else {
        format!("{}:{}", to.host, to.port)
    };
    let head = format!(
        "PUT {} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nUser-Agent: wsrun/{}\r\nConnection: close\r\n\r\n",
        to.path,
        body.len(),
        env!("CARGO_PKG_VERSION")
    );
    stream.write_all(head.as_bytes()).map_err(io)?;
    stream.write_all(body.as_bytes()).map_err(io)?;
    let mut answer = Vec::new();
    // A server that closes at once after its answer is fine: what was read is the answer.
    let _ = (&mut stream).take(ANSWER_LIMIT).read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    let status_line = text.lines().next().unwrap_or_default();
    let code: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| "no HTTP answer from the Pushgateway".to_string())?;
    if (200..300).contains(&code) {
        return Ok(());
    }
    let reason = status_line.splitn(3, ' ').nth(2).unwrap_or_default();
    let said = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.trim())
        .filter(|b| !b.is_empty())
        .map(|b| format!(": {}", crate::report::truncate(b, 200)))
        .unwrap_or_default();
    Err(format!("the Pushgateway answered {code} {reason}{said}"))
}

/// Pushes the run's metrics, printing why when that failed; the exit code it asks for (a push
/// that did not arrive fails the run, as a report that could not be written does).
pub fn push_report(to: &PushUrl, report: &crate::report::RunReport) -> i32 {
    use crate::report::openmetrics::{self, Format};
    let body = openmetrics::report(report, Format::Prometheus);
    match push(to, &body, Format::Prometheus.content_type()) {
        Ok(()) => super::EXIT_OK,
        Err(e) => {
            eprintln!("error: --push {}: {e}", to.url);
            super::EXIT_FAILED
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_urls_name_a_host_and_get_the_job_path() {
        let u = parse_push_url("http://127.0.0.1:9091").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("127.0.0.1", 9091, "/metrics/job/wsrun")
        );
        let u = parse_push_url("http://gw/base/").unwrap();
        assert_eq!((u.port, u.path.as_str()), (80, "/base/metrics/job/wsrun"));
        let u = parse_push_url("http://gw:1/metrics/job/ci/shard/2").unwrap();
        assert_eq!(u.path, "/metrics/job/ci/shard/2");
        let u = parse_push_url("http://[::1]:9091").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("[::1]", 9091));
        assert!(parse_push_url("https://gw")
            .unwrap_err()
            .contains("https is not supported"));
        assert!(parse_push_url("gw:9091")
            .unwrap_err()
            .contains("not an http:// URL"));
        assert!(parse_push_url("http://u:p@gw")
            .unwrap_err()
            .contains("credentials"));
        assert!(parse_push_url("http://gw:x")
            .unwrap_err()
            .contains("port `x`"));
    }
}
