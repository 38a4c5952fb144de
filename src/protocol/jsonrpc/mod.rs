//! `protocol: jsonrpc` (JSON-RPC 2.0): no handshake, no keep-alive; the envelope is the
//! message's JSON. Also the shapes of requests, notifications and responses, which the `call`
//! steps and the mock share.

pub(crate) mod mock;
pub(crate) mod run;
pub mod yaml;

/// Its reference page.
pub const DOCS: &str = "docs/protocols/jsonrpc.md";

/// Its own steps.
pub const STEPS: &[&str] = &["call", "calls", "notify"];

/// A mock's side: its `methods:` answered.
pub(crate) fn mock(
    def: &crate::collection::MockDef,
) -> Result<Box<dyn crate::mock::protocol::Speaker>, String> {
    Ok(Box::new(mock::Methods::compile(def)))
}

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};
use tokio_tungstenite::tungstenite::Message;

use super::Incoming;
use super::{Decoded, Protocol};

/// The error code of an unknown method.
pub const METHOD_NOT_FOUND: i64 = -32601;
/// The error code of a message that is not JSON.
pub const PARSE_ERROR: i64 = -32700;
/// The error code of JSON that is not a request.
pub const INVALID_REQUEST: i64 = -32600;
/// The error code of a method that could not answer.
pub const INTERNAL_ERROR: i64 = -32603;

/// A JSON-RPC 2.0 connection.
#[derive(Debug, Default)]
pub struct JsonRpc {
    /// Integer ids of the requests sent, from the last fresh id on (older ones are forgotten:
    /// fresh ids only grow).
    used: BTreeSet<u64>,
}

impl Protocol for JsonRpc {
    fn name(&self) -> &'static str {
        "jsonrpc"
    }

    /// Notes the integer ids of a request or a batch sent, by a `call` or by hand.
    fn sent(&mut self, text: &str) {
        if !text.contains("\"id\"") {
            return;
        }
        let Ok(sent) = serde_json::from_str::<Value>(text) else {
            return;
        };
        let one = |v: &Value| v.get("id").and_then(Value::as_u64);
        match &sent {
            Value::Array(batch) => self.used.extend(batch.iter().filter_map(one)),
            single => self.used.extend(one(single)),
        }
    }

    fn taken(&mut self, id: u64) -> bool {
        self.used = self.used.split_off(&id);
        self.used.contains(&id)
    }

    /// A JSON text becomes its envelope, parsed once; anything else reaches the steps as it is.
    fn decode(&mut self, frame: Incoming, _out: &mut Vec<Message>) -> Decoded {
        match frame {
            Incoming::Text(t) => match serde_json::from_str::<Value>(t.as_str()) {
                Ok(v) => Decoded::Message(Incoming::Envelope(v)),
                Err(_) => Decoded::Message(Incoming::Text(t)),
            },
            other => Decoded::Message(other),
        }
    }
}

/// `{"jsonrpc": "2.0", "method", "params"?, "id"}`; without an id, a notification.
pub fn request(id: Option<u64>, method: String, params: Option<Value>) -> Value {
    let mut m = Map::new();
    m.insert("jsonrpc".into(), "2.0".into());
    m.insert("method".into(), method.into());
    if let Some(p) = params {
        m.insert("params".into(), p);
    }
    if let Some(id) = id {
        m.insert("id".into(), id.into());
    }
    Value::Object(m)
}

/// `{"jsonrpc": "2.0", "result", "id"}`.
pub fn result(id: Value, result: Value) -> Value {
    json!({ "jsonrpc": "2.0", "result": result, "id": id })
}

/// `{"jsonrpc": "2.0", "error": {"code", "message", "data"?}, "id"}`.
pub fn error(id: Value, code: i64, message: &str, data: Option<Value>) -> Value {
    let mut e = json!({ "code": code, "message": message });
    if let Some(d) = data {
        e["data"] = d;
    }
    json!({ "jsonrpc": "2.0", "error": e, "id": id })
}

/// Whether `message` is the response to request `id`: that id (an integer, as sent), and no
/// `method` (a request from the server that reuses the id is not an answer).
pub fn answers(message: &Value, id: u64) -> bool {
    message.get("id").and_then(Value::as_u64) == Some(id) && message.get("method").is_none()
}

/// Why `message`, which does not answer request `id`, looks as if it might: the id as a string
/// or a fraction, a request from the server with the id, a batch holding it, an error without
/// an id. `None` when it is nothing like an answer to `id`.
pub fn near_miss(message: &Value, id: u64) -> Option<String> {
    if let Value::Array(batch) = message {
        let holds = batch
            .iter()
            .any(|m| answers(m, id) || near_miss(m, id).is_some());
        return holds.then(|| format!("a batch (an array of {}) holding id {id}", batch.len()));
    }
    let got = message.get("id")?;
    let same = match got {
        Value::String(s) => s.trim() == id.to_string(),
        Value::Number(n) => n.as_u64() == Some(id) || n.as_f64() == Some(id as f64),
        _ => false,
    };
    if message.get("method").is_some() {
        return same
            .then(|| format!("a request from the server with id {got} (it has a `method`)"));
    }
    match got {
        Value::Null => message
            .get("error")
            .map(|e| format!("an error response with id null: {}", describe_error(e))),
        Value::String(_) if same => Some(format!("a response with id {got} (a string)")),
        Value::Number(_) if same => Some(format!("a response with id {got} (not an integer)")),
        _ => None,
    }
}

/// What a response holds.
#[derive(Debug, PartialEq)]
pub enum Outcome<'a> {
    Result(&'a Value),
    Error(&'a Value),
    /// Neither a `result` nor an `error` member: why.
    Invalid(&'static str),
}

/// Reads a response: its `result` or its `error` member.
pub fn outcome(response: &Value) -> Outcome<'_> {
    match (response.get("result"), response.get("error")) {
        (Some(r), None) => Outcome::Result(r),
        (None, Some(e)) => Outcome::Error(e),
        (Some(_), Some(_)) => Outcome::Invalid("it has both `result` and `error`"),
        (None, None) => Outcome::Invalid("it has neither `result` nor `error`"),
    }
}

/// An error member in words: `-32601 "Method not found"`.
pub fn describe_error(error: &Value) -> String {
    let code = error
        .get("code")
        .map(Value::to_string)
        .unwrap_or_else(|| "(no code)".into());
    match error.get("message") {
        Some(Value::String(m)) => format!("{code} \"{m}\""),
        Some(other) => format!("{code} {other}"),
        None => code,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_has_its_id_and_a_notification_none() {
        let r = request(Some(3), "add".into(), Some(json!([1, 2])));
        assert_eq!(
            r,
            json!({"jsonrpc": "2.0", "method": "add", "params": [1, 2], "id": 3})
        );
        let n = request(None, "log".into(), None);
        assert_eq!(n, json!({"jsonrpc": "2.0", "method": "log"}));
    }

    #[test]
    fn a_response_is_a_result_an_error_or_invalid() {
        let ok = result(json!(1), json!(5));
        assert_eq!(outcome(&ok), Outcome::Result(&json!(5)));
        let failed = error(json!(1), METHOD_NOT_FOUND, "Method not found", None);
        let Outcome::Error(e) = outcome(&failed) else {
            panic!("{failed}")
        };
        assert_eq!(describe_error(e), "-32601 \"Method not found\"");
        assert!(matches!(outcome(&json!({"id": 1})), Outcome::Invalid(_)));
    }

    #[test]
    fn ids_sent_by_hand_are_taken_until_fresh_ids_pass_them() {
        let mut p = JsonRpc::default();
        p.sent(r#"{"jsonrpc":"2.0","method":"a","id":1}"#);
        p.sent(r#"[{"jsonrpc":"2.0","method":"b","id":3},{"method":"c","id":"4"}]"#);
        p.sent("not json \"id\"");
        assert!(p.taken(1) && !p.taken(2) && p.taken(3) && !p.taken(4));
        assert!(p.used.is_empty());
        assert!(!p.taken(1), "ids below the last fresh one are forgotten");
    }

    #[test]
    fn a_request_reusing_an_id_is_no_answer_and_near_misses_say_why() {
        assert!(answers(&json!({"jsonrpc": "2.0", "result": 5, "id": 1}), 1));
        let request = json!({"jsonrpc": "2.0", "method": "ask", "id": 1});
        assert!(!answers(&request, 1));
        let cases = [
            (
                request,
                Some("a request from the server with id 1 (it has a `method`)"),
            ),
            (
                json!({"result": 5, "id": "1"}),
                Some("a response with id \"1\" (a string)"),
            ),
            (
                json!({"result": 5, "id": 1.0}),
                Some("a response with id 1.0 (not an integer)"),
            ),
            (
                json!([{"result": 5, "id": 1}, {"result": 6, "id": 2}]),
                Some("a batch (an array of 2) holding id 1"),
            ),
            (
                json!({"error": {"code": -32700, "message": "Parse error"}, "id": null}),
                Some("an error response with id null: -32700 \"Parse error\""),
            ),
            (json!({"result": 5, "id": 2}), None),
            (json!({"result": 5, "id": "2"}), None),
            (json!([{"result": 5, "id": 2}]), None),
            (json!({"jsonrpc": "2.0", "method": "note"}), None),
        ];
        for (message, expected) in cases {
            assert_eq!(near_miss(&message, 1).as_deref(), expected, "{message}");
        }
    }

    #[test]
    fn json_texts_become_envelopes_and_other_frames_pass() {
        let mut out = Vec::new();
        let decoded = JsonRpc::default().decode(Incoming::Text(r#"{"id":1}"#.into()), &mut out);
        assert!(
            matches!(decoded, Decoded::Message(Incoming::Envelope(v)) if v == json!({"id": 1}))
        );
        let decoded = JsonRpc::default().decode(Incoming::Text("hello".into()), &mut out);
        assert!(matches!(decoded, Decoded::Message(Incoming::Text(t)) if t.as_str() == "hello"));
        assert!(out.is_empty());
    }
}
