//! A request's cookie jar: what `Set-Cookie` headers of its `http` steps stored, sent back on
//! later `http` steps and WebSocket handshakes to the same host (RFC 6265's rules for domains,
//! paths and `Secure`, without expiry dates: a jar lives only as long as its request).

/// One stored cookie.
#[derive(Debug, Clone, PartialEq)]
struct Cookie {
    name: String,
    value: String,
    /// Lower-case host or `Domain` attribute.
    domain: String,
    /// Without a `Domain` attribute a cookie goes back only to the host that set it.
    host_only: bool,
    path: String,
    secure: bool,
}

/// Cookies set so far, at most [`MAX_COOKIES`] (the oldest go first).
#[derive(Debug, Clone, Default)]
pub struct CookieJar {
    cookies: Vec<Cookie>,
}

/// A hostile server cannot grow the jar without end.
const MAX_COOKIES: usize = 200;

impl CookieJar {
    /// Stores a `Set-Cookie` value received from `host` for a request to `path`; a malformed
    /// one, or one for a domain `host` is not in, is ignored (as browsers do). Returns the
    /// value stored, if any.
    pub fn store(&mut self, host: &str, path: &str, header: &str) -> Option<String> {
        let mut parts = header.split(';');
        let (name, value) = parts.next()?.split_once('=')?;
        let (name, value) = (name.trim(), value.trim().trim_matches('"'));
        if name.is_empty() {
            return None;
        }
        let host = host.to_ascii_lowercase();
        let mut cookie = Cookie {
            name: name.to_string(),
            value: value.to_string(),
            domain: host.clone(),
            host_only: true,
            path: default_path(path),
            secure: false,
        };
        let mut expired = false;
        for attribute in parts {
            let (key, val) = match attribute.split_once('=') {
                Some((k, v)) => (k.trim(), v.trim()),
                None => (attribute.trim(), ""),
            };
            match key.to_ascii_lowercase().as_str() {
                "domain" if !val.is_empty() => {
                    let domain = val.trim_start_matches('.').to_ascii_lowercase();
                    if !domain_match(&host, &domain) {
                        return None;
                    }
                    cookie.domain = domain;
                    cookie.host_only = false;
                }
                "path" if val.starts_with('/') => cookie.path = val.to_string(),
                "secure" => cookie.secure = true,
                "max-age" => expired = val.parse::<i64>().is_ok_and(|s| s <= 0),
                _ => {}
            }
        }
        self.cookies.retain(|c| {
            !(c.name == cookie.name && c.domain == cookie.domain && c.path == cookie.path)
        });
        if expired {
            return None;
        }
        if self.cookies.len() >= MAX_COOKIES {
            self.cookies.remove(0);
        }
        let stored = cookie.value.clone();
        self.cookies.push(cookie);
        Some(stored)
    }

    /// The `Cookie` header for a request to `host` and `path`, `secure` for https/wss; `None`
    /// when no cookie applies.
    pub fn header(&self, host: &str, path: &str, secure: bool) -> Option<String> {
        let host = host.to_ascii_lowercase();
        let path = path.split('?').next().unwrap_or("/");
        let sent: Vec<String> = self
            .cookies
            .iter()
            .filter(|c| {
                let host_ok = if c.host_only {
                    c.domain == host
                } else {
                    domain_match(&host, &c.domain)
                };
                host_ok && path_match(path, &c.path) && (secure || !c.secure)
            })
            .map(|c| format!("{}={}", c.name, c.value))
            .collect();
        (!sent.is_empty()).then(|| sent.join("; "))
    }

    /// The `Cookie` header for a URL (`http`, `https`, `ws` or `wss`).
    pub fn header_for_url(&self, url: &str) -> Option<String> {
        let (secure, rest) = ["https://", "wss://", "http://", "ws://"]
            .iter()
            .find_map(|s| {
                url.strip_prefix(s)
                    .map(|r| (s.starts_with("https") || s.starts_with("wss"), r))
            })?;
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(split);
        let host = match authority.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or_default(),
            None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
        };
        let path = if path.starts_with('/') { path } else { "/" };
        self.header(host, path, secure)
    }
}

/// `host` is `domain` or a name under it (an IP address only equals itself).
fn domain_match(host: &str, domain: &str) -> bool {
    host == domain
        || (host.ends_with(domain)
            && host[..host.len() - domain.len()].ends_with('.')
            && host.parse::<std::net::IpAddr>().is_err())
}

/// RFC 6265 5.1.4: the cookie's path is the request's, or a directory above it.
fn path_match(path: &str, cookie: &str) -> bool {
    path == cookie
        || (path.starts_with(cookie)
            && (cookie.ends_with('/') || path[cookie.len()..].starts_with('/')))
}

/// The directory of the request path, the default `Path` of a cookie.
fn default_path(path: &str) -> String {
    let path = path.split('?').next().unwrap_or("/");
    match path.rfind('/') {
        Some(0) | None => "/".into(),
        Some(i) => path[..i].to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_goes_back_to_its_host_only() {
        let mut jar = CookieJar::default();
        assert_eq!(
            jar.store("api.local", "/login", "sid=abc; Path=/; HttpOnly"),
            Some("abc".into())
        );
        jar.store("api.local", "/login", "theme=dark");
        assert_eq!(
            jar.header_for_url("ws://api.local:9000/stream"),
            Some("sid=abc; theme=dark".into())
        );
        assert_eq!(jar.header_for_url("ws://other.local/stream"), None);
        assert_eq!(jar.header_for_url("http://sub.api.local/"), None);
    }

    #[test]
    fn domains_paths_secure_and_deletion() {
        let mut jar = CookieJar::default();
        jar.store("a.example.com", "/", "d=1; Domain=.example.com");
        jar.store("a.example.com", "/", "evil=1; Domain=attacker.com");
        jar.store("a.example.com", "/", "p=1; Path=/api");
        jar.store("a.example.com", "/", "s=1; Secure");
        assert_eq!(jar.header("b.example.com", "/", true), Some("d=1".into()));
        assert_eq!(
            jar.header("a.example.com", "/apix", false),
            Some("d=1".into())
        );
        assert_eq!(
            jar.header("a.example.com", "/api/v1", true),
            Some("d=1; p=1; s=1".into())
        );
        jar.store(
            "a.example.com",
            "/",
            "d=gone; Domain=example.com; Max-Age=0",
        );
        assert_eq!(jar.header("a.example.com", "/", false), None);
        assert_eq!(jar.store("h", "/", "no equals sign"), None);
    }

    #[test]
    fn the_jar_is_bounded() {
        let mut jar = CookieJar::default();
        for i in 0..(MAX_COOKIES + 50) {
            jar.store("h", "/", &format!("c{i}=v"));
        }
        assert_eq!(jar.cookies.len(), MAX_COOKIES);
        assert_eq!(jar.cookies[0].name, "c50");
    }
}
