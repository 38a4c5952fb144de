//! `protocol: jsonrpc` (JSON-RPC 2.0): no handshake, no keep-alive; the envelope is the
//! message's JSON. Also the shapes of requests, notifications and responses, which the `call`
//! steps and the mock share.

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
pub struct JsonRpc;

impl Protocol for JsonRpc {
    fn name(&self) -> &'static str {
        "jsonrpc"
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
    fn json_texts_become_envelopes_and_other_frames_pass() {
        let mut out = Vec::new();
        let decoded = JsonRpc.decode(Incoming::Text(r#"{"id":1}"#.into()), &mut out);
        assert!(
            matches!(decoded, Decoded::Message(Incoming::Envelope(v)) if v == json!({"id": 1}))
        );
        let decoded = JsonRpc.decode(Incoming::Text("hello".into()), &mut out);
        assert!(matches!(decoded, Decoded::Message(Incoming::Text(t)) if t.as_str() == "hello"));
        assert!(out.is_empty());
    }
}
