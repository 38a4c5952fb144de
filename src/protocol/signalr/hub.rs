//! The mock's side of SignalR: a hub per client that answers the handshake (or refuses it),
//! then answers invocations by target with canned results or errors (`signalr: {methods}`),
//! and invokes the client's methods (`signalr: {invoke}` after the handshake, a method's
//! `invoke` before its completion). `on:` rules see every invocation as `{target, arguments,
//! invocationId?}` and are tried first; a rule's `json` reply `{target, arguments}` is sent as
//! an invocation of the client.

use serde::Deserialize;
use serde_json::{Map, Value};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

use super::wire::{self, Outcome, COMPLETION, INVOCATION, PING};
use crate::collection::{Dur, OrderedMap};
use crate::mock::protocol::{Answer, Session, Speaker};
use crate::template::{Scope, TValue, Template, TemplateError};

/// A mock's `signalr:` options.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HubOptions {
    /// The hub's methods by target: what an invocation of each gets.
    #[serde(default)]
    pub methods: OrderedMap<String, HubMethod>,
    /// Invocations of the client's methods, sent right after the handshake.
    #[serde(default)]
    pub invoke: Vec<HubInvocation>,
    /// Refuse the handshake with this error.
    pub refuse: Option<Template>,
}

/// A hub method's answer: its `result` (none: a void method) or its `error`, after the
/// invocations of the client it makes first, optionally after a delay.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HubMethod {
    pub result: Option<TValue>,
    pub error: Option<Template>,
    #[serde(default)]
    pub invoke: Vec<HubInvocation>,
    pub delay: Option<Dur>,
}

/// An invocation of one of the client's methods: `{target, args}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HubInvocation {
    pub target: Template,
    #[serde(default)]
    pub args: Vec<TValue>,
}

/// The error the ASP.NET Core server gives an invocation of a target it does not have.
pub fn unknown_method(target: &str) -> String {
    format!(
        "Failed to invoke '{target}' due to an error on the server. HubException: Method does not exist."
    )
}

/// What a hub sends: a frame now, or one after a method's delay.
#[derive(Debug, PartialEq)]
pub struct Send {
    pub delay: Option<std::time::Duration>,
    pub message: Message,
}

impl Send {
    fn now(message: Message) -> Self {
        Self {
            delay: None,
            message,
        }
    }
}

fn record(v: &Value) -> Message {
    Message::text(wire::record(v))
}

fn close(code: CloseCode, out: &mut Vec<Send>) {
    out.push(Send::now(Message::Close(Some(CloseFrame {
        code,
        reason: "".into(),
    }))));
}

/// One client's conversation with the hub.
pub struct Conversation<'a> {
    options: &'a HubOptions,
    shaken: bool,
    /// When the hub pings next: every [`super::KEEP_ALIVE`] once the handshake is done, as
    /// ASP.NET Core does (the official clients give up on a hub silent for 30s).
    next_ping: Option<tokio::time::Instant>,
}

impl<'a> Conversation<'a> {
    pub fn new(options: &'a HubOptions) -> Self {
        Self {
            options,
            shaken: false,
            next_ping: None,
        }
    }

    /// A frame from the client: the invocations `on:` rules see, in order (an invocation is
    /// `{target, arguments, invocationId?}`), the protocol's own answers going in `out`.
    pub fn receive(&mut self, frame: &Message, out: &mut Vec<Send>) -> Vec<Value> {
        let Message::Text(text) = frame else {
            close(CloseCode::Unsupported, out);
            return Vec::new();
        };
        let records = match wire::records(text.as_str()) {
            Ok(records) => records,
            Err(why) => {
                self.close_with(&why.to_string(), out);
                return Vec::new();
            }
        };
        let mut envelopes = Vec::new();
        for m in records {
            if !self.shaken {
                if !self.handshake(&m, out) {
                    return envelopes;
                }
                continue;
            }
            match wire::kind(&m) {
                Some(INVOCATION) => {
                    let mut m = m;
                    m.shift_remove("type");
                    m.shift_remove("headers");
                    envelopes.push(Value::Object(m));
                }
                Some(PING | COMPLETION) => {}
                Some(wire::CLOSE) => {
                    self.next_ping = None;
                    close(CloseCode::Normal, out);
                    return envelopes;
                }
                _ => {
                    let why = format!("Unknown message type: {}", Value::Object(m));
                    self.close_with(&why, out);
                    return envelopes;
                }
            }
        }
        envelopes
    }

    /// The handshake request: agreed (`{}` and the hub's own invocations), or refused with an
    /// error and a close. Whether the conversation goes on.
    fn handshake(&mut self, m: &Map<String, Value>, out: &mut Vec<Send>) -> bool {
        let scope = Scope::default();
        let refusal = match (&self.options.refuse, m.get("protocol")) {
            (Some(refuse), _) => Some(refuse.expand(&scope).unwrap_or_else(|e| e.to_string())),
            (None, Some(Value::String(p))) if p == "json" => None,
            (None, Some(Value::String(p))) => Some(format!("The protocol '{p}' is not supported.")),
            (None, _) => Some("Handshake request is missing the protocol.".to_string()),
        };
        if let Some(error) = refusal {
            let mut answer = Map::new();
            answer.insert("error".into(), error.into());
            out.push(Send::now(record(&Value::Object(answer))));
            close(CloseCode::Normal, out);
            return false;
        }
        self.shaken = true;
        self.next_ping = Some(tokio::time::Instant::now() + super::KEEP_ALIVE);
        out.push(Send::now(record(&Value::Object(Map::new()))));
        for call in &self.options.invoke {
            out.push(Send::now(invocation_of_client(call, &scope)));
        }
        true
    }

    /// A ping when one is due (see `next_ping`).
    pub fn tick(&mut self, out: &mut Vec<Send>) {
        let now = tokio::time::Instant::now();
        if self.next_ping.is_some_and(|at| at <= now) {
            out.push(Send::now(record(&wire::ping())));
            self.next_ping = Some(now + super::KEEP_ALIVE);
        }
    }

    /// A close message with the error, then the close frame: how the server ends a
    /// conversation the client broke.
    fn close_with(&mut self, error: &str, out: &mut Vec<Send>) {
        self.next_ping = None;
        out.push(Send::now(record(&wire::close(Some(error)))));
        close(CloseCode::Normal, out);
    }

    /// A rule's `json` reply as a record: `{target, arguments}` an invocation of the client.
    pub fn encode(&mut self, envelope: Value) -> Vec<Message> {
        match super::outgoing(envelope) {
            Ok(text) => vec![Message::text(text)],
            Err(why) => vec![record(&wire::close(Some(&why)))],
        }
    }

    /// An invocation no rule answered: the method's invocations of the client, then its
    /// completion (none for an invocation without an id); an unknown target is an error.
    pub fn answer(&mut self, envelope: &Value, out: &mut Vec<Send>) {
        let Some(target) = envelope.get("target").and_then(Value::as_str) else {
            return;
        };
        let id = envelope.get("invocationId").and_then(Value::as_str);
        let scope = Scope {
            message: Some(envelope),
            ..Scope::default()
        };
        let method = self.options.methods.0.iter().find(|(t, _)| t == target);
        let Some((_, method)) = method else {
            if let Some(id) = id {
                let outcome = Outcome::Error(unknown_method(target));
                out.push(Send::now(record(&wire::completion(id, outcome))));
            }
            return;
        };
        let delay = method.delay.map(|d| d.0);
        let mut first = true;
        let mut push = |message: Message, out: &mut Vec<Send>| {
            let delay = if std::mem::take(&mut first) {
                delay
            } else {
                None
            };
            out.push(Send { delay, message });
        };
        for call in &method.invoke {
            push(invocation_of_client(call, &scope), out);
        }
        if let Some(id) = id {
            let outcome = outcome(method, &scope).unwrap_or_else(|e| Outcome::Error(e.to_string()));
            push(record(&wire::completion(id, outcome)), out);
        }
    }
}

/// A method's outcome, its templates expanded with the invocation as `{{ message }}`.
fn outcome(method: &HubMethod, scope: &Scope<'_>) -> Result<Outcome, TemplateError> {
    if let Some(e) = &method.error {
        return Ok(Outcome::Error(e.expand(scope)?));
    }
    match &method.result {
        Some(r) => Ok(Outcome::Result(r.expand(scope)?)),
        None => Ok(Outcome::Void),
    }
}

/// An invocation of the client's method (no id: the hub does not wait for an answer).
fn invocation_of_client(call: &HubInvocation, scope: &Scope<'_>) -> Message {
    let expanded = call.target.expand(scope).and_then(|target| {
        let args: Result<Vec<Value>, _> = call.args.iter().map(|a| a.expand(scope)).collect();
        Ok(wire::invocation(None, &target, args?))
    });
    match expanded {
        Ok(v) => record(&v),
        Err(e) => record(&wire::close(Some(&e.to_string()))),
    }
}

/// The hub as the mock server runs it: one [`Conversation`] per client.
pub(crate) struct Hub(pub(crate) HubOptions);

impl Speaker for Hub {
    fn session(&self) -> Box<dyn Session + '_> {
        Box::new(Conversation::new(&self.0))
    }
}

fn answers(out: Vec<Send>, into: &mut Vec<Answer>) {
    into.extend(out.into_iter().map(|s| Answer {
        delay: s.delay,
        message: s.message,
    }));
}

impl Session for Conversation<'_> {
    /// The first invocation of a frame goes to the `on:` rules; the hub's methods answer the
    /// others of the same frame (the official clients send one message a frame).
    fn receive(&mut self, frame: &Message, out: &mut Vec<Answer>) -> Option<Value> {
        let mut sent = Vec::new();
        let mut envelopes = Conversation::receive(self, frame, &mut sent).into_iter();
        let first = envelopes.next();
        for rest in envelopes {
            Conversation::answer(self, &rest, &mut sent);
        }
        answers(sent, out);
        first
    }

    fn encode(&mut self, envelope: Value) -> Vec<Message> {
        Conversation::encode(self, envelope)
    }

    fn answer(&mut self, envelope: &Value, out: &mut Vec<Answer>) {
        let mut sent = Vec::new();
        Conversation::answer(self, envelope, &mut sent);
        answers(sent, out);
    }

    fn next_tick(&self) -> Option<tokio::time::Instant> {
        self.next_ping
    }

    fn tick(&mut self, out: &mut Vec<Answer>) {
        let mut sent = Vec::new();
        Conversation::tick(self, &mut sent);
        answers(sent, out);
    }
}

#[cfg(test)]
mod tests;
