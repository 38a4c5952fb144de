//! What the importers (`wsrun new --from-har`, `--from-postman`, `--from-insomnia`,
//! `--from-bruno`) read out of another tool's files: WebSocket sessions — a URL, the handshake
//! headers, the frames sent and received — and what could not be carried over; [`write`] turns
//! them into a collection.

mod steps;
pub mod write;

use std::time::Duration;

/// Sessions read from one export, ready to be written as a collection.
#[derive(Debug, Clone, Default)]
pub struct Import {
    /// The tool's name for the comments: `HAR`, `Postman`…
    pub tool: &'static str,
    /// The flag that made it: `--from-har`…
    pub flag: &'static str,
    /// The file or folder as the user named it.
    pub source: String,
    /// The collection's name.
    pub name: String,
    /// Variables the export defined (already in wsrun's template syntax).
    pub vars: Vec<(String, String)>,
    pub sessions: Vec<Session>,
    /// What could not be carried over, for the comments at the top.
    pub notes: Vec<String>,
}

/// One WebSocket connection and what went over it.
#[derive(Debug, Clone, Default)]
pub struct Session {
    /// The request's name as the tool showed it (made unique by the writer).
    pub name: String,
    /// The URL, in wsrun's template syntax.
    pub url: String,
    /// Handshake headers worth keeping, values in wsrun's template syntax.
    pub headers: Vec<(String, String)>,
    pub subprotocols: Vec<String>,
    pub frames: Vec<Frame>,
}

/// A frame the client sent or received, with when (from the first frame of its session).
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub sent: bool,
    pub at: Duration,
    pub payload: Payload,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    Text(String),
    Binary(Vec<u8>),
}

/// Why an export gives nothing to write.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {file}: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    /// The file is not what the flag says (not JSON, not a HAR…); the text says what it is.
    #[error("{file}: {message}")]
    Format { file: String, message: String },
    /// A well-formed export without a single WebSocket request.
    #[error("{0}")]
    Empty(String),
}

/// Reads a file as UTF-8 text.
pub fn read_text(path: &std::path::Path) -> Result<String, ImportError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| ImportError::Read {
        file: file.clone(),
        source,
    })?;
    String::from_utf8(bytes).map_err(|_| ImportError::Format {
        file,
        message: "not UTF-8 text".into(),
    })
}

/// Headers a WebSocket client makes up itself, or that only a browser sends: not kept.
const HANDSHAKE_HEADERS: [&str; 14] = [
    "host",
    "connection",
    "upgrade",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-extensions",
    "sec-websocket-accept",
    "user-agent",
    "accept-encoding",
    "accept-language",
    "accept",
    "cache-control",
    "pragma",
    "content-length",
];

/// Headers whose values are credentials: turned into secrets, never written in clear.
pub const SECRET_HEADERS: [&str; 2] = ["authorization", "cookie"];

/// What becomes of one handshake header.
#[derive(Debug, Clone, PartialEq)]
pub enum HeaderUse {
    /// The WebSocket client sets it itself, or only browsers send it.
    Drop,
    /// `Sec-WebSocket-Protocol`: these subprotocols.
    Subprotocols(Vec<String>),
    /// `Authorization`/`Cookie`: a secret.
    Secret,
    Keep,
    /// A name or value no handshake can carry (a line break, a non-token name).
    Unsendable,
}

/// How a header named `name` is carried over.
pub fn header_use(name: &str, value: &str) -> HeaderUse {
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    let pseudo = name.starts_with(':');
    if !pseudo && (name.is_empty() || !name.chars().all(token))
        || value.chars().any(|c| c.is_control() && c != '\t')
    {
        return HeaderUse::Unsendable;
    }
    let lower = name.to_ascii_lowercase();
    if lower == "sec-websocket-protocol" {
        let protocols = value
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(String::from)
            .collect();
        return HeaderUse::Subprotocols(protocols);
    }
    if lower.starts_with(':')
        || lower.starts_with("sec-fetch-")
        || lower.starts_with("sec-ch-")
        || HANDSHAKE_HEADERS.contains(&lower.as_str())
    {
        return HeaderUse::Drop;
    }
    if SECRET_HEADERS.contains(&lower.as_str()) {
        return HeaderUse::Secret;
    }
    HeaderUse::Keep
}

/// The template dialect of the tool an export comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Dialect {
    /// Browser data: `{{` is text, which wsrun cannot send as written.
    Literal,
    /// Postman: `{{name}}`, `{{$guid}}`.
    Postman,
    /// Insomnia: `{{ _.name }}`, `{% tags %}`.
    Insomnia,
    /// Bruno: `{{name}}`, `{{process.env.NAME}}`.
    Bruno,
}

/// `text` with its variables written as wsrun templates (`{{host}}` → `{{ host }}`); the names
/// it uses are added to `used`. `Err` says why it cannot be carried over.
pub fn translate(text: &str, dialect: Dialect, used: &mut Vec<String>) -> Result<String, String> {
    if dialect == Dialect::Insomnia && text.contains("{%") {
        return Err("it uses an Insomnia template tag (`{% … %}`)".into());
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        if dialect == Dialect::Literal {
            return Err("it holds `{{`, which wsrun reads as a template".into());
        }
        let Some(close) = rest[open..].find("}}") else {
            return Err("it has an unclosed `{{`".into());
        };
        out.push_str(&rest[..open]);
        let inner = rest[open + 2..open + close].trim();
        let name = rename(inner, dialect)
            .ok_or_else(|| format!("its variable `{inner}` has no wsrun equivalent"))?;
        if !name.starts_with("env.") && name != "uuid" && !used.contains(&name) {
            used.push(name.clone());
        }
        out.push_str(&format!("{{{{ {name} }}}}"));
        rest = &rest[open + close + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A tool's variable as a wsrun template name; `None` when wsrun has no such thing.
fn rename(inner: &str, dialect: Dialect) -> Option<String> {
    // Names wsrun gives a meaning of its own: an export's variable of that name is not one.
    let own = inner.strip_prefix("_.").unwrap_or(inner);
    let root = own.split('.').next().unwrap_or(own);
    let reserved = ["env", "mocks", "message", "last_id"].contains(&root);
    if reserved {
        return None;
    }
    let name = match dialect {
        Dialect::Insomnia => inner.strip_prefix("_.").unwrap_or(inner).to_string(),
        Dialect::Bruno => match inner.strip_prefix("process.env.") {
            Some(var) => format!("env.{var}"),
            None => inner.to_string(),
        },
        _ => inner.to_string(),
    };
    let name = match name.as_str() {
        "$guid" | "$randomUUID" | "$uuid" | "$randomUuid" => "uuid".to_string(),
        _ => name,
    };
    let valid = !name.is_empty()
        && !name.starts_with('.')
        && !name.ends_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    valid.then_some(name)
}

/// Text for a YAML comment: control and line-separator characters (which could end the
/// comment and start a YAML line of their own) shown as escapes.
pub fn comment_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control()
            || matches!(
                c,
                '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
            )
        {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// A name made of `[a-z0-9_]` for variables and mocks: `Chat room #2` → `chat_room_2`.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    let out = out.trim_end_matches('_').to_string();
    match out.chars().next() {
        None => "ws".into(),
        Some(c) if c.is_ascii_digit() => format!("ws_{out}"),
        Some(_) => out,
    }
}

/// The name of a connection to `url`: its host and path, without the query.
pub fn name_from_url(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let rest = rest.trim_end_matches('/');
    if rest.is_empty() {
        "websocket".into()
    } else {
        rest.to_string()
    }
}

/// `url` with `params` appended to its query (`?a=1&b=2`), as tools that keep them apart
/// send it.
pub fn with_query(url: &str, params: &[(String, String)]) -> String {
    if params.is_empty() {
        return url.to_string();
    }
    let mut out = url.to_string();
    let mut sep = if url.contains('?') { '&' } else { '?' };
    for (k, v) in params {
        out.push(sep);
        out.push_str(k);
        if !v.is_empty() {
            out.push('=');
            out.push_str(v);
        }
        sep = '&';
    }
    out
}

impl Session {
    /// Adds a header from an export in `dialect`, as [`header_use`] says; what cannot be
    /// carried over goes to `notes`.
    pub fn add_header(
        &mut self,
        key: &str,
        value: &str,
        dialect: Dialect,
        notes: &mut Vec<String>,
    ) {
        let mut used = Vec::new();
        let value = match translate(value, dialect, &mut used) {
            Ok(v) => v,
            Err(why) => {
                notes.push(format!("{}: the {key} header, because {why}", self.name));
                return;
            }
        };
        if self
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(key))
        {
            notes.push(format!("{}: a second {key} header", self.name));
            return;
        }
        match header_use(key, &value) {
            HeaderUse::Drop => {}
            HeaderUse::Subprotocols(p) => self.subprotocols.extend(p),
            HeaderUse::Secret | HeaderUse::Keep => self.headers.push((key.to_string(), value)),
            HeaderUse::Unsendable => notes.push(format!(
                "{}: the {key} header, which no handshake can send as written",
                self.name
            )),
        }
    }

    /// Adds a message to send, saved in an export in `dialect` (`label` names it in notes).
    pub fn add_send(
        &mut self,
        payload: Payload,
        dialect: Dialect,
        label: &str,
        notes: &mut Vec<String>,
    ) {
        let payload = match payload {
            Payload::Text(text) => match translate(&text, dialect, &mut Vec::new()) {
                Ok(t) => Payload::Text(t),
                Err(why) => {
                    notes.push(format!("{}: {label}, because {why}", self.name));
                    return;
                }
            },
            binary => binary,
        };
        self.frames.push(Frame {
            sent: true,
            at: Duration::ZERO,
            payload,
        });
    }
}

/// The `Authorization` value of HTTP Basic: `Basic base64(user:password)`; `None` when either
/// part is a template (the encoding would have to happen at run time).
pub fn basic_auth(user: &str, password: &str) -> Option<String> {
    use base64::Engine as _;
    if user.contains("{{")
        || password.contains("{{")
        || user.contains("{%")
        || password.contains("{%")
    {
        return None;
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    Some(format!("Basic {encoded}"))
}

/// A saved message's bytes from hex (`01 02 ff` or `0102ff`).
pub fn hex_bytes(text: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|p| u8::from_str_radix(p, 16).ok())
        })
        .collect()
}

#[cfg(test)]
mod tests;
