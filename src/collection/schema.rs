//! The JSON Schema of the collection format (`wsrun schema`), for editors.
//!
//! Draft-07, because yaml-language-server (the YAML extension most editors use) does not support
//! 2020-12 yet. The schema is built from the same key lists the loader uses (`STEP_KEYS`,
//! `MATCHER_KEYS`), and `tests/schema.rs` checks every object's properties against the keys the
//! loader accepts, so the two cannot drift apart.

use serde_json::{json, Map, Value};

use super::step::step_keys;
use crate::matcher::MATCHER_KEYS;
use crate::protocol::PROTOCOL_NAMES;

pub const SCHEMA_ID: &str = "https://wsrun.dev/schema/wsrun.schema.json";

pub(crate) fn obj(props: Value, required: &[&str]) -> Value {
    let mut o = json!({ "type": "object", "additionalProperties": false, "properties": props });
    if !required.is_empty() {
        o["required"] = json!(required);
    }
    o
}

pub(crate) fn r(name: &str) -> Value {
    json!({ "$ref": format!("#/definitions/{name}") })
}

/// The whole schema.
pub fn schema() -> Value {
    let duration = json!({
        "description": "A duration: 250ms, 5s, 1.5s, 2m, 1h",
        "type": "string",
        "pattern": "^\\s*[0-9]+(\\.[0-9]+)?\\s*(ms|s|m|h)\\s*$"
    });
    let size = json!({
        "description": "Bytes, or a size such as 64MiB, 512KiB, 1MB",
        "type": ["integer", "string"],
        "pattern": "^\\s*[0-9]+\\s*(B|KiB|MiB|GiB|KB|kB|MB|GB)?\\s*$"
    });
    let tls = obj(
        json!({
            "ca": { "description": "PEM file of the CA that signed the server's certificate", "type": "string" },
            "insecure": { "description": "Accept any certificate", "type": "boolean" },
            "cert": { "description": "PEM client certificate (chain first), for servers that ask for one; with key", "type": "string" },
            "key": { "description": "PEM private key of cert (RSA, EC or Ed25519)", "type": "string" }
        }),
        &[],
    );
    let headers = json!({ "type": "object", "additionalProperties": { "type": ["string", "number", "boolean"] } });
    let connection_props = json!({
        "url": { "description": "ws:// or wss:// URL (templates allowed)", "type": "string" },
        "headers": headers,
        "subprotocols": { "type": "array", "items": { "type": "string" } },
        "tls": r("tls"),
        "connect_timeout": r("duration"),
        "proxy": r("proxy"),
        "compression": { "description": "Offer permessage-deflate (default true)", "type": "boolean" },
        "protocol": r("protocol"),
    });
    let mut connection_props = connection_props.as_object().cloned().unwrap_or_default();
    connection_props.extend(crate::protocol::options_schemas());
    let connection_props = Value::Object(connection_props);
    let mut request_props = connection_props.as_object().cloned().unwrap_or_default();
    request_props.insert("name".into(), json!({ "type": "string" }));
    request_props.insert("description".into(), json!({ "type": "string" }));
    request_props.insert("timeout".into(), r("duration"));
    request_props.insert(
        "contract".into(),
        obj(
            json!({
                "asyncapi": { "description": "An AsyncAPI 2.x or 3.0 document (relative to the collection)", "type": "string" },
                "channel": { "description": "The channel: its key, or (AsyncAPI 3) its address", "type": "string" }
            }),
            &["asyncapi", "channel"],
        ),
    );
    request_props.insert(
        "connections".into(),
        json!({ "type": "object", "additionalProperties": r("connection") }),
    );
    request_props.insert(
        "steps".into(),
        json!({ "type": "array", "items": r("step") }),
    );
    request_props.insert(
        "repeat".into(),
        json!({ "description": "Run the steps this many times on the same connections", "type": "integer", "minimum": 1 }),
    );
    request_props.insert("load".into(), load());
    request_props.insert(
        "data".into(),
        json!({ "description": "A CSV (with a header row) or JSONL file: load user N (or repeat iteration N) reads row N mod rows as {{ row.COLUMN }}", "type": "string" }),
    );
    request_props.insert(
        "thresholds".into(),
        json!({
            "description": "Limits that judge a load: failed, iterations, connections, connections_failed, msgs_per_s, connect_STAT, \"step N STAT\" (STAT: min, mean, max, pNN)",
            "type": "object",
            "propertyNames": { "pattern": "^(failed|iterations|connections|connections_failed|msgs_per_s|connect_(min|mean|max|p[0-9]+(\\.[0-9]+)?)|step [0-9]+ (min|mean|max|p[0-9]+(\\.[0-9]+)?))$" },
            "additionalProperties": r("limits")
        }),
    );
    let vars = json!({ "type": "object" });
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": SCHEMA_ID,
        "title": "wsrun collection",
        "description": "A collection of WebSocket requests run by wsrun",
        "type": "object",
        "additionalProperties": false,
        "required": ["requests"],
        "properties": {
            "name": { "type": "string" },
            "description": { "type": "string" },
            "vars": vars,
            "environments": { "type": "object", "additionalProperties": vars },
            "default_env": { "type": "string" },
            "mocks": { "type": "object", "additionalProperties": r("mock") },
            "defaults": obj(json!({ "timeout": r("duration"), "connect_timeout": r("duration"), "max_message_size": r("size"), "proxy": r("proxy"), "compression": { "description": "Offer permessage-deflate (default true)", "type": "boolean" } }), &[]),
            "secrets": { "type": "array", "items": { "type": "string" } },
            "requests": { "type": "array", "items": r("request") }
        },
        "definitions": {
            "duration": duration,
            "size": size,
            "tls": tls,
            "proxy": {
                "description": "Connect through this proxy: http://[USER:PASS@]HOST:PORT (CONNECT), socks5:// or socks5h://; none ignores HTTPS_PROXY/HTTP_PROXY/ALL_PROXY",
                "type": "string"
            },
            "protocol": {
                "description": "The protocol spoken inside the frames (default raw)",
                "enum": PROTOCOL_NAMES
            },
            "matcher": matcher(),
            "limits": limits(),
            "latency": latency(),
            "matchers": {
                "description": "JSONPath (RFC 9535) → matcher",
                "type": "object",
                "propertyNames": { "pattern": "^\\$" },
                "additionalProperties": r("matcher")
            },
            "expect": expect(),
            "step": step(),
            "connection": obj(connection_props, &["url"]),
            "request": obj(Value::Object(request_props), &["name"]),
            "mock": mock()
        }
    })
}

/// The `conn` option of a step.
fn conn() -> Value {
    json!({ "description": "The connection (with several `connections`)", "type": "string" })
}

/// A matcher: a plain value (equality) or a map of matcher keys.
fn matcher() -> Value {
    let mut matcher_props = Map::new();
    for key in MATCHER_KEYS {
        let v = match key {
            "exists" | "any" => json!({ "type": "boolean" }),
            "type" => {
                json!({ "enum": ["string", "number", "integer", "boolean", "null", "array", "object"] })
            }
            "matches" => json!({ "description": "A regular expression", "type": "string" }),
            "in" => json!({ "type": "array" }),
            "len" | "not" => r("matcher"),
            "schema" => json!({
                "description": "A JSON Schema: a file relative to the collection, or the schema itself",
                "type": ["string", "object", "boolean"]
            }),
            _ => json!({}),
        };
        matcher_props.insert(key.to_string(), v);
    }
    json!({
        "description": "A plain value (equality) or a map of matchers",
        "anyOf": [
            { "not": { "type": "object" } },
            { "type": "object", "additionalProperties": false, "minProperties": 1, "properties": matcher_props }
        ]
    })
}

/// `expect` and `wait_for`: a bare key, or their options with JSONPath/text/binary matchers.
fn expect() -> Value {
    let (conn, timeout) = (conn(), r("duration"));
    let json_matchers = json!({
        "description": "JSONPath (RFC 9535) → matcher",
        "type": "object",
        "propertyNames": { "pattern": "^\\$" },
        "additionalProperties": r("matcher")
    });
    json!({
        "anyOf": [
            { "type": "null" },
            obj(json!({
                "conn": conn, "timeout": timeout,
                "count": {
                    "description": "A number of messages; with `during`, a matcher such as {gte: 100}",
                    "anyOf": [ { "type": "integer", "minimum": 1 }, r("matcher") ]
                },
                "within": r("duration"),
                "during": r("duration"),
                "json": json_matchers, "text": r("matcher"), "binary": r("matcher"),
                "latency": r("latency"),
                "stream": stream()
            }), &[])
        ]
    })
}

/// `load:` on a request: `users` (with `ramp`, `duration`), `stages`, or `arrival_rate` (with
/// `duration`, `max_users`).
fn load() -> Value {
    let stage = obj(
        json!({
            "duration": r("duration"),
            "users": { "description": "The users at the stage's end, ramped to linearly from the previous stage's", "type": "integer", "minimum": 0 }
        }),
        &["duration", "users"],
    );
    let mut o = obj(
        json!({
            "users": { "description": "Concurrent copies of the request, each with its own connections", "type": "integer", "minimum": 1 },
            "ramp": r("duration"),
            "duration": r("duration"),
            "stages": { "description": "Users ramping linearly from one stage's target to the next (from 0)", "type": "array", "minItems": 1, "items": stage },
            "arrival_rate": { "description": "An open model: a new user every 1/N s (`10/s`, `600/m`, `36000/h`), each running the steps once", "type": "string", "pattern": "^\\s*[0-9.]+\\s*/\\s*[smh]\\s*$" },
            "max_users": { "description": "With `arrival_rate`: the most users at once; arrivals past them are dropped and counted", "type": "integer", "minimum": 1 }
        }),
        &[],
    );
    o["anyOf"] = json!([
        { "required": ["users"] },
        { "required": ["stages"] },
        { "required": ["arrival_rate", "duration", "max_users"] }
    ]);
    o["description"] = json!("Run the request as a load: `users` copies opened over `ramp`, repeating the steps until `duration` ends (or once); or users ramping by `stages`; or users arriving at `arrival_rate` for `duration`, at most `max_users` at once");
    o
}

/// Limits on a measure: times as durations (`50ms`), counts and rates as numbers.
fn limits() -> Value {
    let limit = json!({ "anyOf": [ r("duration"), { "type": "number" } ] });
    let mut props = Map::new();
    for key in crate::latency::Op::KEYS {
        props.insert(key.to_string(), limit.clone());
    }
    let mut o = obj(Value::Object(props), &[]);
    o["minProperties"] = json!(1);
    o
}

/// `latency:` on a step: limits on each round trip, or on statistics of all of them.
fn latency() -> Value {
    let mut props = Map::new();
    for key in crate::latency::Op::KEYS {
        props.insert(key.to_string(), r("duration"));
    }
    json!({
        "description": "Limits on the round trip from the `send` just before: {lt: 50ms} on each, or {p95: {lt: 20ms}} on a statistic of all of them (min, mean, max, pNN)",
        "type": "object",
        "minProperties": 1,
        "properties": props,
        "patternProperties": { "^(min|mean|max|p[0-9]+(\\.[0-9]+)?)$": r("limits") },
        "additionalProperties": false
    })
}

/// `stream:` properties over a window: per JSONPath, and `rate`.
fn stream() -> Value {
    let order = json!({ "anyOf": [ { "type": "boolean" }, { "const": "strict" } ] });
    let props = obj(
        json!({
            "increasing": order, "decreasing": order,
            "unique": { "type": "boolean" }, "consecutive": { "type": "boolean" },
            "fresh": r("duration")
        }),
        &[],
    );
    json!({
        "description": "Properties over the window's messages: JSONPath → {increasing, decreasing, unique, consecutive, fresh}, and `rate` (messages/s, a matcher)",
        "type": "object",
        "properties": { "rate": r("matcher") },
        "patternProperties": { "^\\$": props },
        "additionalProperties": false
    })
}

/// One step: a map with exactly one of the step keys.
fn step() -> Value {
    let (conn, timeout) = (conn(), r("duration"));
    let mut step_props = Map::new();
    for key in step_keys().iter().copied() {
        let v = match key {
            "send" => json!({ "anyOf": [
                { "type": "string" },
                obj(json!({
                    "conn": conn, "text": { "type": "string" }, "json": {},
                    "binary": { "description": "base64", "type": "string" },
                    "reply": obj(json!({
                        "match": { "description": "The JSONPath the reply shares with the message", "type": "string", "pattern": "^\\$" },
                        "json": r("matchers")
                    }), &["match"]),
                    "timeout": timeout,
                    "destination": { "description": "STOMP: the SEND's destination", "type": "string" },
                    "headers": stomp_headers(),
                    "receipt": { "description": "STOMP: ask for a RECEIPT and wait for it", "type": "boolean" },
                    "target": { "description": "SignalR: the hub method to invoke without waiting", "type": "string" },
                    "args": { "description": "SignalR: the invocation's arguments", "type": "array" }
                }), &[])
            ]}),
            "connect" => json!({ "anyOf": [
                { "description": "Opens the request's single connection here (again, after a `close`)", "type": "null" },
                { "description": "The connection to open here (again, after a `close`)", "type": "string" },
                obj(json!({ "conn": conn }), &[])
            ]}),
            "http" => json!({ "anyOf": [
                { "description": "A URL to GET", "type": "string" },
                obj(json!({
                    "method": { "type": "string" }, "url": { "type": "string" },
                    "headers": { "type": "object", "additionalProperties": { "type": "string" } },
                    "json": {}, "body": { "type": "string" },
                    "form": { "type": "object" }, "timeout": timeout,
                    "expect": obj(json!({
                        "status": {}, "json": { "type": "object" }, "headers": { "type": "object" }
                    }), &[]),
                    "capture": { "type": "object", "additionalProperties": { "type": "string" } },
                    "capture_headers": { "type": "object", "additionalProperties": { "type": "string" } }
                }), &["url"])
            ]}),
            "expect" | "wait_for" => r("expect"),
            "no_message" => {
                json!({ "anyOf": [ r("duration"), obj(json!({ "conn": conn, "within": r("duration") }), &["within"]) ] })
            }
            "capture" => {
                json!({ "type": "object", "additionalProperties": { "type": "string", "pattern": "^\\$" } })
            }
            "set" => json!({
                "description": "Values computed once from templates and stored like captures",
                "type": "object",
                "additionalProperties": true
            }),
            "snapshot" => obj(
                json!({
                    "name": { "type": "string" }, "shape": { "type": "boolean" },
                    "count": { "type": "integer", "minimum": 1 },
                    "redact": { "type": "array", "items": { "type": "string", "pattern": "^\\$" } },
                    "conn": conn, "timeout": timeout
                }),
                &[],
            ),
            "ping" => json!({ "anyOf": [
                { "type": ["string", "number", "null"] },
                obj(json!({ "conn": conn, "payload": { "type": "string" }, "timeout": timeout }), &[])
            ]}),
            "sleep" => r("duration"),
            "close" => json!({ "anyOf": [
                { "type": ["integer", "null"] },
                obj(json!({ "conn": conn, "code": { "type": "integer" }, "reason": { "type": "string" }, "timeout": timeout }), &[])
            ]}),
            "expect_close" => json!({ "anyOf": [
                { "type": ["integer", "null"] },
                obj(json!({ "conn": conn, "code": { "type": "integer" }, "timeout": timeout }), &[])
            ]}),
            protocol_step => crate::protocol::step_schema(protocol_step, &conn, &timeout),
        };
        step_props.insert(key.to_string(), v);
    }
    json!({
        "description": "One step: a map with exactly one of the step keys",
        "type": "object",
        "minProperties": 1,
        "maxProperties": 1,
        "additionalProperties": false,
        "properties": step_props
    })
}

/// More headers of a STOMP frame.
pub(crate) fn stomp_headers() -> Value {
    json!({ "type": "object", "additionalProperties": { "type": ["string", "number", "boolean"] } })
}

/// A mock server: replay, echo, scripted replies.
fn mock() -> Value {
    let reply = obj(
        json!({
            "json": {}, "text": { "type": "string" }, "binary": { "type": "string" }, "delay": r("duration"),
        }),
        &[],
    );
    let mut reply = reply;
    if let Some(props) = reply["properties"].as_object_mut() {
        props.extend(crate::protocol::mock_reply_schemas());
    }
    let mut mock = obj(
        json!({
            "replay": { "description": "JSONL recording (as `wsrun record` writes)", "type": "string" },
            "interval": r("duration"),
            "loop": { "type": "boolean" },
            "echo": { "type": "boolean" },
            "on": { "type": "array", "items": obj(json!({
                "match": { "type": "object", "additionalProperties": r("matcher") },
                "text": r("matcher"),
                "reply": { "anyOf": [ reply.clone(), { "type": "array", "items": reply } ] },
                "close": { "type": "integer" }
            }), &[]) },
            "close_after": { "type": "integer", "minimum": 0 },
            "close_code": { "type": "integer" },
            "subprotocols": { "description": "Subprotocols it agrees to: the first one a client asks for", "type": "array", "items": { "type": "string" } },
            "http": { "description": "HTTP routes answered on the mock's port", "type": "array", "items": obj(json!({
                "method": { "type": "string" }, "path": { "type": "string", "pattern": "^/" },
                "status": { "type": "integer", "minimum": 100, "maximum": 999 },
                "headers": { "type": "object", "additionalProperties": { "type": "string" } },
                "json": {}, "body": { "type": "string" }
            }), &["path"]) },
            "compression": { "description": "Agree to permessage-deflate when a client offers it (default true)", "type": "boolean" },
            "protocol": r("protocol")
        }),
        &[],
    );
    if let Some(props) = mock["properties"].as_object_mut() {
        props.extend(crate::protocol::mock_schemas());
    }
    mock
}

/// The schema as the `wsrun schema` command prints it.
pub fn schema_text() -> String {
    // Keys sorted: the file stays the same whatever order the code builds it in.
    let mut schema = schema();
    schema.sort_all_objects();
    let mut s = serde_json::to_string_pretty(&schema).unwrap_or_default();
    s.push('\n');
    s
}
