//! The SignalR JSON hub protocol on the wire: records terminated by the record separator
//! (`\x1e`, several to a frame), the handshake, and the messages by their `type` number.

use serde_json::{json, Map, Value};

/// What ends every record, the handshake's included.
pub const SEPARATOR: char = '\u{1e}';

/// The message types this implementation reads or writes (the hub protocol's numbers).
pub const INVOCATION: u64 = 1;
pub const STREAM_ITEM: u64 = 2;
pub const COMPLETION: u64 = 3;
pub const PING: u64 = 6;
pub const CLOSE: u64 = 7;

/// How much of a broken record an error quotes.
const QUOTE: usize = 160;

/// A frame's text that is not a sequence of SignalR records.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error(
        "a SignalR frame must end with the record separator (\\x1e); this one does not: `{0}`"
    )]
    Unterminated(String),
    #[error("a SignalR record is not JSON ({why}): `{record}`")]
    NotJson { record: String, why: String },
    #[error("a SignalR record is not a JSON object: `{0}`")]
    NotObject(String),
}

/// The records of a text frame, each parsed as a JSON object.
pub fn records(text: &str) -> Result<Vec<Map<String, Value>>, WireError> {
    let quote = |s: &str| crate::report::truncate(s, QUOTE);
    let Some(body) = text.strip_suffix(SEPARATOR) else {
        return Err(WireError::Unterminated(quote(text)));
    };
    body.split(SEPARATOR)
        .map(|record| match serde_json::from_str::<Value>(record) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err(WireError::NotObject(quote(record))),
            Err(e) => Err(WireError::NotJson {
                record: quote(record),
                why: e.to_string(),
            }),
        })
        .collect()
}

/// One message as a record: its JSON and the separator.
pub fn record(message: &Value) -> String {
    let mut text = message.to_string();
    text.push(SEPARATOR);
    text
}

/// The client's first record: the JSON hub protocol, version 1.
pub fn handshake_request() -> String {
    record(&json!({ "protocol": "json", "version": 1 }))
}

/// An invocation of `target` on the other side; with an id the caller waits for its
/// completion, without one it is fire-and-forget (a "non-blocking invocation").
pub fn invocation(id: Option<&str>, target: &str, arguments: Vec<Value>) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), INVOCATION.into());
    if let Some(id) = id {
        m.insert("invocationId".into(), id.into());
    }
    m.insert("target".into(), target.into());
    m.insert("arguments".into(), Value::Array(arguments));
    Value::Object(m)
}

/// The completion of invocation `id`: its result, its error, or neither (a void method).
pub fn completion(id: &str, outcome: Outcome) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), COMPLETION.into());
    m.insert("invocationId".into(), id.into());
    match outcome {
        Outcome::Result(r) => {
            m.insert("result".into(), r);
        }
        Outcome::Error(e) => {
            m.insert("error".into(), e.into());
        }
        Outcome::Void => {}
    }
    Value::Object(m)
}

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Result(Value),
    Error(String),
    Void,
}

/// A message's `type` number, if it has one.
pub fn kind(m: &Map<String, Value>) -> Option<u64> {
    m.get("type").and_then(Value::as_u64)
}

/// `{"type": 6}`.
pub fn ping() -> Value {
    json!({ "type": PING })
}

/// `{"type": 7}`, with the error when there is one.
pub fn close(error: Option<&str>) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), CLOSE.into());
    if let Some(e) = error {
        m.insert("error".into(), e.into());
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    //! Every JSON example of the hub protocol's specification (aspnetcore's HubProtocol.md,
    //! "JSON Encoding"), read and written.
    use super::*;

    fn one(text: &str) -> Value {
        let mut all = records(text).unwrap();
        assert_eq!(all.len(), 1);
        Value::Object(all.remove(0))
    }

    #[test]
    fn the_specifications_invocations_are_written_as_it_writes_them() {
        let blocking = invocation(Some("123"), "Send", vec![json!(42), json!("Test Message")]);
        assert_eq!(
            blocking,
            json!({"type": 1, "invocationId": "123", "target": "Send", "arguments": [42, "Test Message"]})
        );
        let non_blocking = invocation(None, "Send", vec![json!(42), json!("Test Message")]);
        assert_eq!(
            record(&non_blocking),
            "{\"type\":1,\"target\":\"Send\",\"arguments\":[42,\"Test Message\"]}\u{1e}"
        );
    }

    #[test]
    fn the_specifications_completions_are_written_as_it_writes_them() {
        assert_eq!(
            completion("123", Outcome::Void),
            json!({"type": 3, "invocationId": "123"})
        );
        assert_eq!(
            completion("123", Outcome::Result(json!(42))),
            json!({"type": 3, "invocationId": "123", "result": 42})
        );
        assert_eq!(
            completion("123", Outcome::Error("It didn't work!".into())),
            json!({"type": 3, "invocationId": "123", "error": "It didn't work!"})
        );
    }

    #[test]
    fn the_specifications_pings_closes_and_handshake_are_written_as_it_writes_them() {
        assert_eq!(record(&ping()), "{\"type\":6}\u{1e}");
        assert_eq!(close(None), json!({"type": 7}));
        assert_eq!(
            close(Some("Connection closed because of an error!")),
            json!({"type": 7, "error": "Connection closed because of an error!"})
        );
        assert_eq!(
            handshake_request(),
            "{\"protocol\":\"json\",\"version\":1}\u{1e}"
        );
    }

    #[test]
    fn the_specifications_examples_are_read_whitespace_and_headers_included() {
        let text = "{\n    \"type\": 1,\n    \"headers\": {\n        \"Foo\": \"Bar\"\n    },\n    \"invocationId\": \"123\",\n    \"target\": \"Send\",\n    \"arguments\": [\n        42,\n        \"Test Message\"\n    ]\n}\u{1e}";
        let m = one(text);
        assert_eq!(m["target"], "Send");
        assert_eq!(m["arguments"], json!([42, "Test Message"]));
        let item = one("{\"type\": 2, \"invocationId\": \"123\", \"item\": 42}\u{1e}");
        assert_eq!(item["type"], STREAM_ITEM);
        let close = one("{\"type\": 7, \"error\": \"Connection closed because of an error!\", \"allowReconnect\": true}\u{1e}");
        assert_eq!(close["allowReconnect"], true);
    }

    #[test]
    fn several_records_in_one_frame_are_read_in_order() {
        let text = "{}\u{1e}{\"type\":6}\u{1e}{\"type\":1,\"target\":\"a\",\"arguments\":[]}\u{1e}";
        let kinds: Vec<Option<u64>> = records(text).unwrap().iter().map(kind).collect();
        assert_eq!(kinds, [None, Some(PING), Some(INVOCATION)]);
    }

    #[test]
    fn a_frame_without_the_separator_or_with_a_broken_record_is_an_error_naming_signalr() {
        assert_eq!(
            records("{\"type\":6}").unwrap_err().to_string(),
            "a SignalR frame must end with the record separator (\\x1e); this one does not: `{\"type\":6}`"
        );
        assert_eq!(
            records("{\"type\":6}\u{1e}[1]\u{1e}")
                .unwrap_err()
                .to_string(),
            "a SignalR record is not a JSON object: `[1]`"
        );
        assert_eq!(
            records("{\"type\":\u{1e}").unwrap_err().to_string(),
            "a SignalR record is not JSON (EOF while parsing a value at line 1 column 8): `{\"type\":`"
        );
    }
}
