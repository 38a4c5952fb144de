//! A JSON-RPC 2.0 mock: `methods:` answer requests by name (`result` or `error`, optionally
//! after a `delay`, so answers can come out of order); an unknown method gets `-32601`, a text
//! that is not JSON `-32700`, JSON that is not a request `-32600`; notifications get nothing.
//! `on:` rules are tried first and see the request's JSON.

use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use crate::collection::{MockDef, MockMethod};
use crate::mock::protocol::{Answer, Session, Speaker};
use crate::protocol::jsonrpc::{
    self, INTERNAL_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, PARSE_ERROR,
};
use crate::template::{Scope, TemplateError};

/// The methods of a mock, by name.
pub(crate) struct Methods(Vec<(String, MockMethod)>);

impl Methods {
    pub(crate) fn compile(def: &MockDef) -> Self {
        Self(def.methods.0.clone())
    }
}

impl Speaker for Methods {
    fn session(&self) -> Box<dyn Session + '_> {
        Box::new(Rpc(self))
    }
}

struct Rpc<'a>(&'a Methods);

impl Session for Rpc<'_> {
    fn receive(&mut self, frame: &Message, out: &mut Vec<Answer>) -> Option<Value> {
        let Message::Text(text) = frame else {
            return None;
        };
        match serde_json::from_str(text.as_str()) {
            Ok(v) => Some(v),
            Err(_) => {
                let e = jsonrpc::error(Value::Null, PARSE_ERROR, "Parse error", None);
                out.push(Answer::now(Message::text(e.to_string())));
                None
            }
        }
    }

    fn answer(&mut self, request: &Value, out: &mut Vec<Answer>) {
        let id = request.get("id").cloned();
        let Some(method) = request.get("method").and_then(Value::as_str) else {
            // A response to something the mock never sent, or not a request at all.
            if request.get("result").is_none() && request.get("error").is_none() {
                let e = jsonrpc::error(Value::Null, INVALID_REQUEST, "Invalid Request", None);
                out.push(Answer::now(Message::text(e.to_string())));
            }
            return;
        };
        // A notification: no answer, whatever it names.
        let Some(id) = id else {
            return;
        };
        let (response, delay) = match self.0 .0.iter().find(|(name, _)| name == method) {
            Some((_, m)) => (
                respond(m, request, id.clone())
                    .unwrap_or_else(|e| jsonrpc::error(id, INTERNAL_ERROR, &e.to_string(), None)),
                m.delay.map(|d| d.0),
            ),
            None => (
                jsonrpc::error(id, METHOD_NOT_FOUND, "Method not found", None),
                None,
            ),
        };
        out.push(Answer {
            delay,
            message: Message::text(response.to_string()),
        });
    }
}

/// A method's answer, its templates expanded with the request as `{{ message }}`.
fn respond(m: &MockMethod, request: &Value, id: Value) -> Result<Value, TemplateError> {
    let scope = Scope {
        message: Some(request),
        ..Scope::default()
    };
    if let Some(e) = &m.error {
        let message = e.message.expand(&scope)?;
        let data = e.data.as_ref().map(|d| d.expand(&scope)).transpose()?;
        return Ok(jsonrpc::error(id, e.code, &message, data));
    }
    let result = match &m.result {
        Some(r) => r.expand(&scope)?,
        None => Value::Null,
    };
    Ok(jsonrpc::result(id, result))
}
