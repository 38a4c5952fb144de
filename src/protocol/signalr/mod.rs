//! `protocol: signalr`, the ASP.NET Core SignalR JSON hub protocol over WebSockets: the
//! handshake (`{"protocol":"json","version":1}` answered by `{}` or `{"error"}`), records ended
//! by `\x1e` (several to a frame), pings absorbed and sent as keep-alives, invocations both
//! ways, completions matched to the client's invocations, and the server's close message.
//!
//! Steps see a server's invocation as `{target, arguments}` (with its `invocationId` when it
//! wants an answer) and every other message as its JSON (a completion:
//! `{type: 3, invocationId, result | error}`); they send `{target, arguments}` as an
//! invocation, and a message with a `type` as it is.

pub mod hub;
pub(crate) mod run;
pub mod wire;
pub mod yaml;

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use serde_json::{Map, Value};
use tokio_tungstenite::tungstenite::Message;

use super::{Decoded, Incoming, Payload, Protocol};
use crate::report::truncate;
use wire::{COMPLETION, INVOCATION, PING};

/// Its reference page.
pub const DOCS: &str = "docs/protocols/signalr.md";

/// Its own steps (`send` with a `target` is `send`'s, in `collection::step`).
pub const STEPS: &[&str] = &["invoke"];

/// The client side, its access token expanded with `scope`.
pub fn client(
    o: &yaml::SignalROptions,
    scope: &dyn crate::template::Lookup,
) -> Result<Box<dyn Protocol>, String> {
    let token = o.access_token.as_ref().map(|t| t.expand(scope)).transpose();
    let token = token.map_err(|e| format!("`signalr: {{access_token}}`: {e}"))?;
    Ok(Box::new(SignalR::new(token)))
}

/// The mock side: a hub.
pub(crate) fn mock(
    def: &crate::collection::MockDef,
) -> Result<Box<dyn crate::mock::protocol::Speaker>, String> {
    Ok(Box::new(hub::Hub(def.signalr.clone().unwrap_or_default())))
}

/// How often the client pings an otherwise quiet server (the official clients' default).
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// How much of an offending message a failure quotes.
const QUOTE: usize = 160;

/// A SignalR connection.
pub struct SignalR {
    /// Whether the server answered the handshake.
    shaken: bool,
    /// Invocation ids the client sent and whose completion has not come yet.
    awaiting: HashSet<String>,
    /// Every invocation id the client used (a fresh id skips them).
    used: HashSet<String>,
    access_token: Option<String>,
    /// The outcomes of a frame's records after the first, handed out by `queued`.
    queue: VecDeque<Decoded>,
}

impl SignalR {
    /// A connection that sends `access_token` in the URL's query, as the official clients do
    /// over WebSockets (where a browser cannot set headers).
    pub fn new(access_token: Option<String>) -> Self {
        Self {
            shaken: false,
            awaiting: HashSet::new(),
            used: HashSet::new(),
            access_token,
            queue: VecDeque::new(),
        }
    }

    /// One record from the server, in order: a message for the steps, or what the protocol
    /// made of it.
    fn record(&mut self, mut m: Map<String, Value>) -> Decoded {
        if !self.shaken {
            if let Some(error) = m.get("error") {
                let words = error
                    .as_str()
                    .map_or_else(|| error.to_string(), str::to_string);
                return Decoded::Failed(format!(
                    "the server refused the SignalR handshake: {words}"
                ));
            }
            self.shaken = true;
            return Decoded::Absorbed;
        }
        match wire::kind(&m) {
            Some(PING) => Decoded::Absorbed,
            Some(wire::CLOSE) => Decoded::Failed(match m.get("error").and_then(Value::as_str) {
                Some(e) => format!("the server closed the SignalR connection with an error: {e}"),
                None => "the server closed the SignalR connection (a close message, no error)"
                    .to_string(),
            }),
            Some(INVOCATION) => {
                m.shift_remove("type");
                m.shift_remove("headers");
                Decoded::Message(Incoming::Envelope(Value::Object(m)))
            }
            Some(COMPLETION) => {
                let id = m.get("invocationId").and_then(Value::as_str);
                match id.map(|id| self.awaiting.remove(id)) {
                    Some(true) => Decoded::Message(Incoming::Envelope(Value::Object(m))),
                    _ => Decoded::Failed(format!(
                        "protocol violation: the server sent a completion for an invocation \
                         this connection is not waiting for: {}",
                        truncate(&Value::Object(m).to_string(), QUOTE)
                    )),
                }
            }
            _ => Decoded::Message(Incoming::Envelope(Value::Object(m))),
        }
    }

    /// Every record of a text frame, in order, up to a failure; a broken frame is a failure.
    pub fn decode_all(&mut self, text: &str) -> Vec<Decoded> {
        match wire::records(text) {
            Ok(records) => {
                let mut outcomes = Vec::with_capacity(records.len());
                for m in records {
                    let d = self.record(m);
                    let failed = matches!(d, Decoded::Failed(_));
                    outcomes.push(d);
                    if failed {
                        break;
                    }
                }
                outcomes
            }
            Err(e) => vec![Decoded::Failed(e.to_string())],
        }
    }
}

/// A message a step sends, as the record for it: `{target, arguments}` without a `type` is an
/// invocation (type 1 is put first, as the official clients write it).
pub fn outgoing(envelope: Value) -> Result<String, String> {
    let Value::Object(m) = envelope else {
        return Err(format!(
            "a SignalR message is a JSON object (`{{target, arguments}}`, or a message with its \
             `type`), not `{}`",
            truncate(&envelope.to_string(), QUOTE)
        ));
    };
    if m.contains_key("type") {
        return Ok(wire::record(&Value::Object(m)));
    }
    let mut typed = Map::with_capacity(m.len() + 1);
    typed.insert("type".into(), INVOCATION.into());
    typed.extend(m);
    Ok(wire::record(&Value::Object(typed)))
}

/// The `access_token` values in a URL's query, as the URL writes them: a token given in the
/// `url:` itself is as much a credential as `signalr: {access_token}`.
pub fn query_tokens(url: &str) -> Vec<String> {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let query = query.split_once('#').map_or(query, |(q, _)| q);
    query
        .split('&')
        .filter_map(|pair| pair.strip_prefix("access_token="))
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect()
}

/// `text` as a URL query value: unreserved characters as they are, every other byte `%XX`.
pub fn query_encoded(text: &str) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

impl Protocol for SignalR {
    fn name(&self) -> &'static str {
        "signalr"
    }

    fn prepare(&self, url: &mut String, _subprotocols: &mut Vec<String>) -> Result<(), String> {
        if let Some(token) = &self.access_token {
            let sep = if url.contains('?') { '&' } else { '?' };
            url.push(sep);
            url.push_str("access_token=");
            url.push_str(&query_encoded(token));
        }
        Ok(())
    }

    fn greet(&mut self, out: &mut Vec<Message>) {
        out.push(Message::text(wire::handshake_request()));
    }

    /// A contract checks the API's data: an invocation's `arguments`, a completion's `result`,
    /// a stream item's `item`; an error completion and the protocol's own messages carry none.
    fn payload(&self, envelope: &Value) -> Payload {
        let member = if envelope.get("target").is_some() {
            "arguments"
        } else {
            match envelope.get("type").and_then(Value::as_u64) {
                Some(COMPLETION) => "result",
                Some(wire::STREAM_ITEM) => "item",
                _ => return Payload::None,
            }
        };
        envelope
            .get(member)
            .map_or(Payload::None, |v| Payload::Json(v.clone()))
    }

    fn pending(&self) -> Option<String> {
        (!self.shaken).then(|| "handshake response (`{}`)".to_string())
    }

    /// A frame with several records is several outcomes: the first is returned, the others
    /// wait in `queue` for the connection to take them (`queued`) before it reads on. What the
    /// records before a failure carried still reaches the steps.
    fn decode(&mut self, frame: Incoming, _out: &mut Vec<Message>) -> Decoded {
        let text = match &frame {
            Incoming::Text(t) => t.as_str(),
            Incoming::Binary(_) => {
                return Decoded::Failed(
                    "the server sent a binary frame on a SignalR JSON connection".into(),
                )
            }
            Incoming::Envelope(_) => return Decoded::Message(frame),
        };
        let outcomes = self.decode_all(text);
        self.queue.extend(
            outcomes
                .into_iter()
                .filter(|d| !matches!(d, Decoded::Absorbed)),
        );
        self.queue.pop_front().unwrap_or(Decoded::Absorbed)
    }

    fn queued(&mut self, _out: &mut Vec<Message>) -> Option<Decoded> {
        self.queue.pop_front()
    }

    fn sends_json_as_is(&self) -> bool {
        false
    }

    fn encode(&mut self, envelope: Value, out: &mut Vec<Message>) -> Result<(), String> {
        out.push(Message::text(outgoing(envelope)?));
        Ok(())
    }

    /// Notes the invocations the client sent with an id: their completions are awaited.
    fn sent(&mut self, text: &str) {
        if !text.contains("invocationId") {
            return;
        }
        for m in wire::records(text).unwrap_or_default() {
            if wire::kind(&m) == Some(INVOCATION) {
                if let Some(id) = m.get("invocationId").and_then(Value::as_str) {
                    self.awaiting.insert(id.to_string());
                    self.used.insert(id.to_string());
                }
            }
        }
    }

    fn taken(&mut self, id: u64) -> bool {
        self.used.contains(id.to_string().as_str())
    }

    fn tick_every(&self) -> Option<Duration> {
        Some(KEEP_ALIVE)
    }

    fn tick(&mut self, out: &mut Vec<Message>) {
        out.push(Message::text(wire::record(&wire::ping())));
    }

    /// A close message, as the official clients send when they stop.
    fn farewell(&mut self, out: &mut Vec<Message>) {
        out.push(Message::text(wire::record(&wire::close(None))));
    }
}

#[cfg(test)]
mod tests;
