//! The `http` step as the YAML writes it: one HTTP(S) request, its expectations and what it
//! captures (docs/steps.md, "http").

use serde::Deserialize;
use serde_json::Value;

use super::de::{Dur, OrderedMap};
use super::protocol::MatcherMap;
use crate::jsonpath::JsonPath;
use crate::matcher::Matcher;
use crate::template::{TValue, Template, VarRef};

/// `http: {method, url, headers, json | body | form, timeout, expect, capture, capture_headers}`.
#[derive(Debug, Clone)]
pub struct Http {
    /// `GET` unless given; a template, upper-cased when sent.
    pub method: Template,
    pub url: Template,
    pub headers: Vec<(String, Template)>,
    pub body: Option<HttpBody>,
    /// How long the whole exchange may take (default: the request's timeout).
    pub timeout: Option<Dur>,
    pub expect: HttpExpect,
    /// `NAME: PATH` over the response body read as JSON.
    pub capture: Vec<(String, JsonPath)>,
    /// `NAME: Header-Name`: a response header's value.
    pub capture_headers: Vec<(String, String)>,
}

/// What the request carries, with the `Content-Type` it implies.
#[derive(Debug, Clone)]
pub enum HttpBody {
    /// `json:`, sent as `application/json`.
    Json(TValue),
    /// `body:`, sent as written (`text/plain` unless `headers` say otherwise).
    Text(Template),
    /// `form:`, sent as `application/x-www-form-urlencoded`.
    Form(Vec<(String, Template)>),
}

/// `expect: {status, json: {PATH: MATCHER}, headers: {NAME: MATCHER}}`; with no `status`, any
/// 2xx passes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpExpect {
    pub status: Option<Matcher>,
    pub json: Option<MatcherMap>,
    #[serde(default)]
    pub headers: OrderedMap<String, Matcher>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    method: Option<Template>,
    url: Option<Template>,
    #[serde(default)]
    headers: OrderedMap<String, Template>,
    json: Option<TValue>,
    body: Option<Template>,
    form: Option<OrderedMap<String, Template>>,
    timeout: Option<Dur>,
    expect: Option<HttpExpect>,
    #[serde(default)]
    capture: OrderedMap<String, JsonPath>,
    #[serde(default)]
    capture_headers: OrderedMap<String, String>,
}

impl TryFrom<RawHttp> for Http {
    type Error = String;
    fn try_from(r: RawHttp) -> Result<Self, String> {
        let url = r.url.ok_or("`http` needs a `url`")?;
        if !url.has_vars() {
            check_url(&url.to_string())?;
        }
        let body = match (r.json, r.body, r.form) {
            (None, None, None) => None,
            (Some(j), None, None) => Some(HttpBody::Json(j)),
            (None, Some(b), None) => Some(HttpBody::Text(b)),
            (None, None, Some(f)) => Some(HttpBody::Form(f.0)),
            _ => return Err("`http` takes only one of `json`, `body` or `form`".into()),
        };
        let method = r.method.unwrap_or_else(|| Template::literal("GET"));
        if !method.has_vars() {
            check_method(&method.to_string())?;
        }
        for (name, _) in &r.headers.0 {
            check_header_name(name)?;
        }
        for (name, header) in &r.capture_headers.0 {
            check_header_name(header).map_err(|e| format!("capture_headers `{name}`: {e}"))?;
        }
        Ok(Http {
            method,
            url,
            headers: r.headers.0,
            body,
            timeout: r.timeout,
            expect: r.expect.unwrap_or_default(),
            capture: r.capture.0,
            capture_headers: r.capture_headers.0,
        })
    }
}

super::de::map_or_scalar!(Http, RawHttp, "`{url: …, method: …}` or a URL", |v| {
    match v {
        Value::String(s) => Http::try_from(RawHttp {
            method: None,
            url: Some(Template::parse(&s)?),
            headers: OrderedMap::default(),
            json: None,
            body: None,
            form: None,
            timeout: None,
            expect: None,
            capture: OrderedMap::default(),
            capture_headers: OrderedMap::default(),
        }),
        other => Err(format!(
            "`http` takes a map such as `{{url: …, method: POST}}` or a URL, found {}",
            crate::value::type_name(&other)
        )),
    }
});

/// An `http://` or `https://` URL with a host.
pub fn check_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| format!("`http` url `{url}` must start with http:// or https://"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() {
        return Err(format!("`http` url `{url}` has no host"));
    }
    Ok(())
}

/// A method is a token: letters only here (GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS…).
pub fn check_method(method: &str) -> Result<(), String> {
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(format!(
            "`method` `{method}` is not an HTTP method (GET, POST, PUT, PATCH, DELETE, …)"
        ));
    }
    Ok(())
}

/// A header name is an HTTP token: no spaces, colons or line breaks.
fn check_header_name(name: &str) -> Result<(), String> {
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if name.is_empty() || !name.bytes().all(token) {
        return Err(format!("`{name}` is not a valid HTTP header name"));
    }
    Ok(())
}

impl Http {
    /// The variables its templates and matchers name.
    pub fn vars(&self, out: &mut Vec<VarRef>) {
        out.extend(self.method.vars().cloned());
        out.extend(self.url.vars().cloned());
        for (_, t) in &self.headers {
            out.extend(t.vars().cloned());
        }
        match &self.body {
            Some(HttpBody::Json(j)) => j.vars(out),
            Some(HttpBody::Text(t)) => out.extend(t.vars().cloned()),
            Some(HttpBody::Form(f)) => f.iter().for_each(|(_, t)| out.extend(t.vars().cloned())),
            None => {}
        }
        let e = &self.expect;
        let json = e.json.iter().flat_map(|j| j.0.iter().map(|(_, m)| m));
        for m in e
            .status
            .iter()
            .chain(json)
            .chain(e.headers.0.iter().map(|(_, m)| m))
        {
            m.vars(out);
        }
    }

    /// The names it stores, in order.
    pub fn captured(&self) -> impl Iterator<Item = &str> {
        self.capture
            .iter()
            .map(|(n, _)| n.as_str())
            .chain(self.capture_headers.iter().map(|(n, _)| n.as_str()))
    }
}
