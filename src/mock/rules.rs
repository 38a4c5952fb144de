//! Scripted replies: `on:` rules compiled once, matched against each client message, and their
//! replies rendered with `{{ message… }}` in scope (graphql-ws's `next`/`error`/`complete`
//! spelled out as the `json` replies they stand for).

use base64::Engine as _;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::collection::{MockReply, MockRule};
use crate::jsonpath::JsonPath;
use crate::matcher::path::{self, PathOutcome};
use crate::matcher::{Resolved, Subject};
use crate::protocol::graphql_ws::yaml::is_operation_reply;
use crate::template::Scope;

/// A scripted reply rule with its matchers resolved.
pub(super) struct Rule {
    pub(super) matches: Vec<(JsonPath, Resolved)>,
    pub(super) text: Option<Resolved>,
    pub(super) replies: Vec<MockReply>,
    pub(super) close: Option<u16>,
}

impl Rule {
    /// Resolves the rule's matchers against `scope` (the collection's variables) and checks its
    /// replies.
    pub(super) fn compile(rule: &MockRule, scope: &Scope<'_>) -> Result<Self, String> {
        let matches = rule
            .matches
            .0
            .iter()
            .map(|(path, m)| {
                m.resolve(scope)
                    .map(|r| (path.clone(), r))
                    .map_err(|e| format!("`{path}`: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let text = match &rule.text {
            Some(m) => Some(m.resolve(scope).map_err(|e| format!("`text`: {e}"))?),
            None => None,
        };
        for (i, reply) in rule.reply.iter().enumerate() {
            if !is_operation_reply(reply) {
                check_reply(reply).map_err(|m| format!("reply {}: {m}", i + 1))?;
            }
        }
        let mut replies = Vec::with_capacity(rule.reply.len());
        for reply in &rule.reply {
            replies.extend(crate::protocol::graphql_ws::mock::spell_out(reply)?);
        }
        if let Some(code) = rule.close {
            super::check_close_code(code).map_err(|m| format!("`close`: {m}"))?;
        }
        Ok(Self {
            matches,
            text,
            replies,
            close: rule.close,
        })
    }

    /// Whether every matcher of the rule holds for `incoming`.
    pub(super) fn holds(&self, incoming: &Incoming) -> bool {
        if !self.matches.is_empty() {
            let Some(json) = &incoming.json else {
                return false;
            };
            if !self
                .matches
                .iter()
                .all(|(p, m)| path::apply(json, p, m) == PathOutcome::Holds)
            {
                return false;
            }
        }
        match (&self.text, &incoming.text) {
            (None, _) => true,
            (Some(m), Some(text)) => m.mismatch(Subject::Json(text)).is_none(),
            (Some(_), None) => false,
        }
    }
}

/// A reply has exactly one payload; a literal `binary` must be base64.
fn check_reply(reply: &MockReply) -> Result<(), String> {
    let count = [
        reply.json.is_some(),
        reply.text.is_some(),
        reply.binary.is_some(),
        reply.emit.is_some(),
        reply.ack.is_some(),
    ]
    .into_iter()
    .filter(|b| *b)
    .count();
    if count != 1 {
        return Err(
            "a reply has exactly one of `json`, `text` or `binary` (or, for Socket.IO, `emit` or `ack`)"
                .into(),
        );
    }
    if let Some(t) = reply.binary.as_ref().filter(|t| !t.has_vars()) {
        let text = t.expand(&Scope::default()).map_err(|e| e.to_string())?;
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map_err(|e| format!("`binary` is not valid base64: {e}"))?;
    }
    Ok(())
}

/// A message from a client, in the forms rules and templates look at.
pub(super) struct Incoming {
    pub(super) original: Message,
    /// The parsed text, when it is JSON.
    pub(super) json: Option<Value>,
    /// The text as a JSON string, for `text:` matchers.
    pub(super) text: Option<Value>,
    /// A binary message as base64, for `{{ message }}`.
    base64: Option<Value>,
}

impl Incoming {
    pub(super) fn new(message: Message) -> Option<Self> {
        let (json, text, base64) = match &message {
            Message::Text(t) => (
                serde_json::from_str(t.as_str()).ok(),
                Some(Value::String(t.as_str().to_string())),
                None,
            ),
            Message::Binary(b) => (
                None,
                None,
                Some(Value::String(
                    base64::engine::general_purpose::STANDARD.encode(b),
                )),
            ),
            _ => return None,
        };
        Some(Self {
            original: message,
            json,
            text,
            base64,
        })
    }

    /// A message as its protocol's envelope: rules and templates see the envelope.
    pub(super) fn envelope(original: Message, envelope: Value) -> Self {
        Self {
            original,
            json: Some(envelope),
            text: None,
            base64: None,
        }
    }

    /// What `{{ message }}` names: the JSON, else the text, else the base64 of the bytes.
    pub(super) fn scope_value(&self) -> Option<&Value> {
        self.json
            .as_ref()
            .or(self.text.as_ref())
            .or(self.base64.as_ref())
    }
}

/// A reply in envelope form, for a protocol to encode: its `json`, or Socket.IO's `emit`
/// (`{"event", "args"}`) or `ack` (`{"ack", "args"}`, answering the incoming event's ack id);
/// `None` for text and binary replies, a template that cannot be expanded, or an `ack` to an
/// event that asked for none.
pub(super) fn envelope(reply: &MockReply, scope: &Scope<'_>) -> Option<Value> {
    if let Some(json) = &reply.json {
        return json.expand(scope).ok();
    }
    if let Some(emit) = &reply.emit {
        let event = emit.event.expand(scope).ok()?;
        let args = match &emit.args {
            Some(a) => a.expand(scope).ok()?,
            None => Value::Array(Vec::new()),
        };
        return Some(json!({ "event": event, "args": args }));
    }
    let ack = reply.ack.as_ref()?;
    let id = scope.message?.get("id")?.as_u64()?;
    Some(json!({ "ack": id, "args": ack.expand(scope).ok()? }))
}

/// A reply with its templates expanded; `None` when a template names something the incoming
/// message lacks (or a templated `binary` is not base64): that reply is skipped.
pub(super) fn render(reply: &MockReply, scope: &Scope<'_>) -> Option<Message> {
    if let Some(json) = &reply.json {
        // Long numbers as the collection wrote them.
        return json.expand_json(scope).ok().map(Message::text);
    }
    if let Some(text) = &reply.text {
        return text.expand(scope).ok().map(Message::text);
    }
    let b64 = reply.binary.as_ref()?.expand(scope).ok()?;
    base64::engine::general_purpose::STANDARD
        .decode(b64.as_bytes())
        .ok()
        .map(Message::binary)
}
