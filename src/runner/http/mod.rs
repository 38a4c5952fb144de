//! The `http` step: one HTTP(S) request through the request's TLS options and proxy, its
//! `Set-Cookie`s kept in the request's cookie jar, its expectations checked and its captures
//! stored with the WebSocket ones (docs/steps.md, "http").

mod client;
mod cookies;

use std::time::Duration;

use serde_json::Value;

pub use client::Target;
use client::{exchange, Outgoing, Response};
pub use cookies::CookieJar;

use super::mask::is_secret_header;
use super::steps::{Ctx, Last, State, StepResult};
use crate::collection::{Http, HttpBody, Request};
use crate::matcher::Subject;
use crate::report::{truncate, Failure, Handshake, Shown, PREVIEW};

/// Runs one `http` step within `timeout`.
pub(super) async fn run(
    ctx: &Ctx<'_>,
    request: &Request,
    step: &Http,
    st: &mut State<'_>,
    timeout: Duration,
) -> StepResult {
    let fail = |summary: String| (Failure::new(summary), 0);
    let prepared = prepare(step, st).map_err(fail)?;
    let target = Target::parse(&prepared.url).map_err(fail)?;
    let (tls, proxy) = transport(ctx, request, st, &prepared.url).map_err(fail)?;
    let mut headers = prepared.headers;
    if let Some(cookie) = st.jar.header(&target.host, &target.path, target.tls) {
        headers.push(("Cookie".into(), cookie));
    }
    let out = Outgoing {
        method: &prepared.method,
        target: &target,
        headers: &headers,
        body: &prepared.body,
    };
    let cap = super::max_message_size(ctx.collection);
    let mut seen = Handshake {
        connection: "http".into(),
        request_line: format!("{} {} HTTP/1.1", out.method, prepared.url),
        request_headers: headers.clone(),
        status_line: String::new(),
        response_headers: Vec::new(),
    };
    let answer = tokio::time::timeout(timeout, exchange(&out, tls, proxy.as_ref(), cap)).await;
    let response = match answer {
        Ok(Ok(response)) => response,
        Ok(Err(e)) => {
            st.rec.handshake(seen);
            return Err(fail(format!("{} {}: {e}", out.method, prepared.url)));
        }
        Err(_) => {
            st.rec.handshake(seen);
            return Err(fail(format!(
                "{} {}: no response within {}",
                out.method,
                prepared.url,
                crate::duration::format_duration(timeout)
            )));
        }
    };
    seen.status_line = format!("HTTP/1.1 {} {}", response.status, response.reason)
        .trim_end()
        .to_string();
    seen.response_headers = response.headers.clone();
    st.rec.handshake(seen);
    for (name, value) in &response.headers {
        if name.eq_ignore_ascii_case("set-cookie") {
            if let Some(stored) = st.jar.store(&target.host, &target.path, value) {
                // A cookie is a credential, as a `Cookie` header is.
                st.masker.extend([stored]);
            }
        }
    }
    let body = Body::new(&response);
    check(step, st, &response, &body)?;
    capture(step, st, &response, &body)?;
    st.last = body.json.map_or(Last::Nothing, Last::Json);
    Ok(0)
}

/// The step's templates expanded: method, URL, headers (with `Host`, the body's type and
/// length) and body bytes.
struct Prepared {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn prepare(step: &Http, st: &mut State<'_>) -> Result<Prepared, String> {
    let scope = &st.scope;
    let method = step.method.expand(scope).map_err(|e| e.to_string())?;
    crate::collection::check_method(&method)?;
    let url = step.url.expand(scope).map_err(|e| e.to_string())?;
    crate::collection::check_url(&url)?;
    let target = Target::parse(&url)?;
    let mut headers = vec![("Host".to_string(), target.authority.clone())];
    for (name, value) in &step.headers {
        let value = value.expand(scope).map_err(|e| e.to_string())?;
        if value.contains(['\r', '\n']) {
            return Err(format!("header `{name}` has a line break in its value"));
        }
        if is_secret_header(name) {
            let credential = value
                .split_whitespace()
                .last()
                .unwrap_or_default()
                .to_string();
            st.masker.extend([value.clone(), credential]);
        }
        headers.push((name.clone(), value));
    }
    let (kind, body) = match &step.body {
        None => (None, Vec::new()),
        Some(HttpBody::Json(j)) => {
            let v = j.expand(scope).map_err(|e| e.to_string())?;
            (Some("application/json"), v.to_string().into_bytes())
        }
        Some(HttpBody::Text(t)) => {
            let text = t.expand(scope).map_err(|e| e.to_string())?;
            (Some("text/plain; charset=utf-8"), text.into_bytes())
        }
        Some(HttpBody::Form(fields)) => {
            let mut pairs = Vec::new();
            for (name, value) in fields {
                let value = value.expand(scope).map_err(|e| e.to_string())?;
                pairs.push(format!("{}={}", form_encode(name), form_encode(&value)));
            }
            (
                Some("application/x-www-form-urlencoded"),
                pairs.join("&").into_bytes(),
            )
        }
    };
    let given = |headers: &[(String, String)], n: &str| {
        headers.iter().any(|(h, _)| h.eq_ignore_ascii_case(n))
    };
    // A `Host` of the step's own (a virtual host behind an address) replaces the URL's.
    if headers
        .iter()
        .skip(1)
        .any(|(h, _)| h.eq_ignore_ascii_case("host"))
    {
        headers.remove(0);
    }
    if let Some(kind) = kind.filter(|_| !given(&headers, "content-type")) {
        headers.push(("Content-Type".into(), kind.into()));
    }
    if !body.is_empty()
        || matches!(
            method.to_ascii_uppercase().as_str(),
            "POST" | "PUT" | "PATCH"
        )
    {
        headers.push(("Content-Length".into(), body.len().to_string()));
    }
    if !given(&headers, "user-agent") {
        headers.push((
            "User-Agent".into(),
            concat!("wsrun/", env!("CARGO_PKG_VERSION")).into(),
        ));
    }
    if !given(&headers, "accept") {
        headers.push(("Accept".into(), "*/*".into()));
    }
    Ok(Prepared {
        method: method.to_ascii_uppercase(),
        url,
        headers,
        body,
    })
}

/// `application/x-www-form-urlencoded`: unreserved bytes as they are, space as `+`.
fn form_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The TLS configuration and proxy of the request's (first) connection, for `url`.
type Transport = (
    Option<std::sync::Arc<rustls::ClientConfig>>,
    Option<super::proxy::Proxy>,
);

fn transport(
    ctx: &Ctx<'_>,
    request: &Request,
    st: &mut State<'_>,
    url: &str,
) -> Result<Transport, String> {
    let c = request.connections.first();
    let tls = match c {
        Some(c) => {
            let files = c.tls.files(&st.scope).map_err(|e| e.to_string())?;
            super::tls::client_config(&files, &ctx.collection.base_dir())?
        }
        None => None,
    };
    let setting = match c
        .and_then(|c| c.proxy.as_ref())
        .or(ctx.collection.defaults.proxy.as_ref())
    {
        Some(p) => Some(p.value.expand(&st.scope).map_err(|e| e.to_string())?),
        None => None,
    };
    let proxy = super::proxy::choose(setting.as_deref(), url, |n| std::env::var(n).ok())
        .map_err(|e| e.to_string())?;
    if let Some(p) = &proxy {
        st.masker.extend(p.secrets());
    }
    Ok((tls, proxy))
}

/// The response body as text and, if it parses, as JSON.
struct Body {
    text: String,
    json: Option<Value>,
    /// Why it is not JSON.
    not_json: Option<String>,
}

impl Body {
    fn new(r: &Response) -> Body {
        let text = String::from_utf8_lossy(&r.body).into_owned();
        match serde_json::from_str(&text) {
            Ok(json) => Body {
                text,
                json: Some(json),
                not_json: None,
            },
            Err(e) => Body {
                text,
                json: None,
                not_json: Some(e.to_string()),
            },
        }
    }

    /// The JSON a path reads, or the failure of reading a non-JSON body.
    fn doc(&self, what: &str, response: &Response) -> Result<&Value, (Failure, u64)> {
        self.json.as_ref().ok_or_else(|| {
            let kind = response.header("content-type").unwrap_or("no Content-Type");
            let why = self.not_json.as_deref().unwrap_or_default();
            (
                self.failure(format!(
                    "{what}: the response body is not JSON ({kind}: {why})"
                )),
                0,
            )
        })
    }

    fn failure(&self, summary: String) -> Failure {
        Failure {
            summary,
            message: Some(truncate(&self.text, PREVIEW)),
            ..Failure::default()
        }
    }
}

/// `expect:` — the status (any 2xx without one), then headers, then JSON paths.
fn check(step: &Http, st: &State<'_>, r: &Response, body: &Body) -> StepResult {
    let status = Value::from(r.status);
    let e = &step.expect;
    let resolve_fail = |e: crate::matcher::ResolveError| (Failure::new(e.to_string()), 0);
    match &e.status {
        Some(m) => {
            let m = m.resolve(&st.scope).map_err(resolve_fail)?;
            if let Some(expected) = m.mismatch(Subject::Json(&status)) {
                let expected = expected.strip_prefix("equal to ").unwrap_or(&expected);
                let summary = format!("expected status {expected}, got {}", r.status);
                return Err((body.failure(summary), 0));
            }
        }
        None if !(200..300).contains(&r.status) => {
            let summary = format!("expected a 2xx status, got {} {}", r.status, r.reason);
            return Err((body.failure(summary.trim_end().to_string()), 0));
        }
        None => {}
    }
    for (name, m) in &e.headers.0 {
        let m = m.resolve(&st.scope).map_err(resolve_fail)?;
        let value = r
            .header(name)
            .map_or(Value::Null, |v| Value::String(v.into()));
        if let Some(expected) = m.mismatch(Subject::Json(&value)) {
            let got = match &value {
                Value::Null => "no such header".to_string(),
                v => v.to_string(),
            };
            let summary = format!("header `{name}`: expected {expected}, got {got}");
            return Err((body.failure(summary), 0));
        }
    }
    if let Some(json) = &e.json {
        let ready = super::check::Ready::json(json, &st.scope).map_err(resolve_fail)?;
        let doc = body.doc("expect.json", r)?;
        if let Err(m) = ready.check_doc(doc) {
            let mut f = body.failure(m.summary);
            f.path = m.path;
            f.expected = m.expected;
            f.actual = m.actual;
            f.detail = m.detail;
            return Err((f, 0));
        }
    }
    Ok(0)
}

/// `capture:` (JSON paths of the body) and `capture_headers:`, stored like captures.
fn capture(step: &Http, st: &mut State<'_>, r: &Response, body: &Body) -> StepResult {
    for (name, path) in &step.capture {
        let doc = body.doc(&format!("capture `{name}`"), r)?;
        let nodes = path.query(doc);
        let value = match nodes.as_slice() {
            [] => {
                let mut f = body.failure(format!(
                    "capture `{name}`: {path} selected nothing in the response body"
                ));
                f.path = Some(path.to_string());
                return Err((f, 0));
            }
            [one] => (*one).clone(),
            many => Value::Array(many.iter().map(|v| (*v).clone()).collect()),
        };
        st.masker.capture(name, &value);
        st.scope.captures.insert(name.clone(), value);
    }
    for (name, header) in &step.capture_headers {
        let Some(value) = r.header(header) else {
            let mut f = body.failure(format!(
                "capture_headers `{name}`: the response has no `{header}` header"
            ));
            f.actual = Some(Shown::described(names(r)));
            return Err((f, 0));
        };
        let value = Value::String(value.to_string());
        st.masker.capture(name, &value);
        st.scope.captures.insert(name.clone(), value);
    }
    Ok(0)
}

fn names(r: &Response) -> String {
    let names: Vec<&str> = r.headers.iter().map(|(n, _)| n.as_str()).collect();
    format!("headers: {}", names.join(", "))
}

/// Adds the jar's cookies for each connection's URL to its handshake headers (after any
/// `Cookie` header the connection gives itself).
pub(crate) fn add_cookies(jar: &CookieJar, specs: &mut [super::conn::ConnectSpec]) {
    for spec in specs {
        if let Some(cookie) = jar.header_for_url(&spec.url) {
            match spec
                .headers
                .iter_mut()
                .find(|(n, _)| n.eq_ignore_ascii_case("cookie"))
            {
                Some((_, own)) => *own = format!("{own}; {cookie}"),
                None => spec.headers.push(("Cookie".into(), cookie)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handshake_gets_the_cookies_of_its_host_after_its_own() {
        let mut jar = CookieJar::default();
        jar.store("api.local", "/login", "sid=abc; Path=/");
        let spec = |url: &str, headers: Vec<(String, String)>| super::super::conn::ConnectSpec {
            name: "default".into(),
            url: url.into(),
            headers,
            subprotocols: Vec::new(),
            tls: None,
            connect_timeout: Duration::from_secs(1),
            max_message_size: 1 << 20,
            proxy: None,
            compression: true,
        };
        let mut specs = [
            spec("ws://api.local:9000/stream", Vec::new()),
            spec("wss://api.local/s", vec![("cookie".into(), "own=1".into())]),
            spec("ws://elsewhere.local/stream", Vec::new()),
        ];
        add_cookies(&jar, &mut specs);
        assert_eq!(
            specs[0].headers,
            [("Cookie".to_string(), "sid=abc".to_string())]
        );
        assert_eq!(
            specs[1].headers,
            [("cookie".to_string(), "own=1; sid=abc".to_string())]
        );
        assert!(specs[2].headers.is_empty());
    }
}
