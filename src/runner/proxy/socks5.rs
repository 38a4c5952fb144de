//! The client side of SOCKS5 (RFC 1928) with user/password authentication (RFC 1929).

use std::net::IpAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{OpenError, Proxy, ProxyError};

const VERSION: u8 = 5;
const NO_AUTH: u8 = 0;
const USER_PASS: u8 = 2;
const NO_ACCEPTABLE: u8 = 0xff;

/// Asks the proxy on `tcp` for a tunnel to `host:port`; the name goes to the proxy when
/// `remote_dns` (`socks5h://`), else it is resolved here.
pub(super) async fn connect(
    tcp: &mut TcpStream,
    proxy: &Proxy,
    host: &str,
    port: u16,
    remote_dns: bool,
) -> Result<(), OpenError> {
    let target = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let fail = |reason: String| ProxyError::Socks {
        proxy: proxy.address(),
        target: target.clone(),
        reason,
    };
    let garbled = || ProxyError::Garbled {
        proxy: proxy.address(),
        expected: "SOCKS5",
    };
    let method = if proxy.credentials.is_some() {
        USER_PASS
    } else {
        NO_AUTH
    };
    tcp.write_all(&[VERSION, 1, method]).await?;
    let mut chosen = [0u8; 2];
    tcp.read_exact(&mut chosen).await?;
    if chosen[0] != VERSION {
        return Err(garbled().into());
    }
    match (chosen[1], &proxy.credentials) {
        (NO_AUTH, _) => {}
        (USER_PASS, Some((user, pass))) => {
            let (Ok(ulen), Ok(plen)) = (u8::try_from(user.len()), u8::try_from(pass.len())) else {
                return Err(fail("a SOCKS5 user or password is at most 255 bytes".into()).into());
            };
            let mut auth = vec![1, ulen];
            auth.extend_from_slice(user.as_bytes());
            auth.push(plen);
            auth.extend_from_slice(pass.as_bytes());
            tcp.write_all(&auth).await?;
            let mut status = [0u8; 2];
            tcp.read_exact(&mut status).await?;
            if status[1] != 0 {
                return Err(fail("the proxy refused the user and password".into()).into());
            }
        }
        (NO_ACCEPTABLE, None) | (USER_PASS, None) => {
            return Err(fail(
                "the proxy wants credentials; give them in the proxy URL: socks5://USER:PASSWORD@HOST:PORT"
                    .into(),
            )
            .into())
        }
        (NO_ACCEPTABLE, Some(_)) => {
            return Err(fail("the proxy accepts no user/password authentication".into()).into())
        }
        _ => return Err(garbled().into()),
    }
    let mut ask = vec![VERSION, 1, 0];
    let ip = match host.parse::<IpAddr>() {
        Ok(ip) => Some(ip),
        Err(_) if remote_dns => None,
        Err(_) => Some(
            tokio::net::lookup_host((host, port))
                .await?
                .next()
                .ok_or_else(|| fail(format!("the name {host} has no address")))?
                .ip(),
        ),
    };
    match ip {
        Some(IpAddr::V4(v4)) => {
            ask.push(1);
            ask.extend_from_slice(&v4.octets());
        }
        Some(IpAddr::V6(v6)) => {
            ask.push(4);
            ask.extend_from_slice(&v6.octets());
        }
        None => {
            let Ok(len) = u8::try_from(host.len()) else {
                return Err(fail("a host name is at most 255 bytes".into()).into());
            };
            ask.push(3);
            ask.push(len);
            ask.extend_from_slice(host.as_bytes());
        }
    }
    ask.extend_from_slice(&port.to_be_bytes());
    tcp.write_all(&ask).await?;
    let mut head = [0u8; 4];
    tcp.read_exact(&mut head).await?;
    if head[0] != VERSION {
        return Err(garbled().into());
    }
    if head[1] != 0 {
        return Err(fail(reply_text(head[1])).into());
    }
    // The address the proxy bound: read and dropped, so the tunnel starts clean.
    let skip = match head[3] {
        1 => 4,
        4 => 16,
        3 => usize::from(tcp.read_u8().await?),
        _ => return Err(garbled().into()),
    };
    let mut bound = vec![0u8; skip + 2];
    tcp.read_exact(&mut bound).await?;
    Ok(())
}

/// RFC 1928's reply codes, in words.
fn reply_text(code: u8) -> String {
    let text = match code {
        1 => "general SOCKS server failure",
        2 => "connection not allowed by the proxy's rules",
        3 => "network unreachable",
        4 => "host unreachable",
        5 => "connection refused",
        6 => "TTL expired",
        7 => "command not supported",
        8 => "address type not supported",
        _ => "unknown error",
    };
    format!("{text} (SOCKS5 reply {code})")
}
