//! JSON-RPC's steps as the YAML writes them (`call`, `calls`, `notify`) and its mock's
//! `methods:`.

use serde::Deserialize;

use crate::collection::de::Dur;
use crate::collection::{matcher_vars, MatcherMap, MockDef, ProtocolName};
use crate::protocol::StepDef;
use crate::template::{TValue, Template};

/// Reads step `keyword` (one of [`super::STEPS`]).
pub fn parse_step<'de, D: serde::Deserializer<'de>>(
    keyword: &str,
    d: D,
) -> Result<Box<dyn StepDef>, D::Error> {
    Ok(match keyword {
        "call" => Box::new(Call::deserialize(d)?),
        "calls" => Box::new(Calls::deserialize(d)?),
        _ => Box::new(Notify::deserialize(d)?),
    })
}

/// `call: {method, params, result, error}` (JSON-RPC): one request, waiting for its response.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Call {
    pub conn: Option<String>,
    pub timeout: Option<Dur>,
    pub method: Template,
    pub params: Option<TValue>,
    /// Matchers over the response's `result` member, as `$`.
    pub result: Option<MatcherMap>,
    /// Matchers over the response's `error` member, as `$`: the call is expected to fail.
    pub error: Option<MatcherMap>,
}

/// One request of `calls`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallItem {
    pub method: Template,
    pub params: Option<TValue>,
    pub result: Option<MatcherMap>,
    pub error: Option<MatcherMap>,
}

/// `calls: [{method, params, result?, error?}, …]` or `calls: {conn, timeout, list: […]}`.
#[derive(Debug, Clone, Default)]
pub struct Calls {
    pub conn: Option<String>,
    pub timeout: Option<Dur>,
    pub list: Vec<CallItem>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCalls {
    conn: Option<String>,
    timeout: Option<Dur>,
    list: Vec<CallItem>,
}

impl<'de> Deserialize<'de> for Calls {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Vis;
        impl<'de> serde::de::Visitor<'de> for Vis {
            type Value = Calls;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of `{method, params}` or `{conn, timeout, list}`")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Calls, A::Error> {
                let list = Vec::<CallItem>::deserialize(
                    serde::de::value::SeqAccessDeserializer::new(seq),
                )?;
                non_empty(Calls {
                    list,
                    ..Calls::default()
                })
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Calls, A::Error> {
                let raw = RawCalls::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                non_empty(Calls {
                    conn: raw.conn,
                    timeout: raw.timeout,
                    list: raw.list,
                })
            }
        }
        fn non_empty<E: serde::de::Error>(calls: Calls) -> Result<Calls, E> {
            if calls.list.is_empty() {
                return Err(E::custom("`calls` needs at least one `{method, params}`"));
            }
            Ok(calls)
        }
        d.deserialize_any(Vis)
    }
}

/// `notify: {method, params}` (JSON-RPC): a notification, sent without an id.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notify {
    pub conn: Option<String>,
    pub method: Template,
    pub params: Option<TValue>,
}

/// The variables a JSON-RPC call names.
pub fn call_vars(
    method: &Template,
    params: &Option<TValue>,
    result: &Option<MatcherMap>,
    error: &Option<MatcherMap>,
    out: &mut Vec<crate::template::VarRef>,
) {
    out.extend(method.vars().cloned());
    if let Some(p) = params {
        p.vars(out);
    }
    matcher_vars(result.as_ref(), out);
    matcher_vars(error.as_ref(), out);
}

/// A JSON-RPC mock method: its `result`, or its `error`, optionally after a delay.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MockMethod {
    pub result: Option<TValue>,
    pub error: Option<MockRpcError>,
    pub delay: Option<Dur>,
}

/// A JSON-RPC error object.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MockRpcError {
    pub code: i64,
    pub message: Template,
    pub data: Option<TValue>,
}

/// `methods:` belong to a `protocol: jsonrpc` mock.
pub fn check_mock(def: &MockDef) -> Result<(), String> {
    if !def.methods.0.is_empty() && def.protocol != ProtocolName::JsonRpc {
        return Err(format!(
            "`methods` answer JSON-RPC calls, but this mock speaks `{}`: add `protocol: jsonrpc`",
            def.protocol.as_str()
        ));
    }
    for (name, m) in &def.methods.0 {
        if m.result.is_some() && m.error.is_some() {
            return Err(format!(
                "method `{name}` has both `result` and `error`: a response has one"
            ));
        }
    }
    Ok(())
}

/// Its part of the editor schema (`src/collection/schema.rs`).
pub mod schema {
    use serde_json::{json, Value};

    use crate::collection::schema::{obj, r};

    /// A JSON-RPC call: `method`, `params`, and matchers over its `result` or `error`.
    fn call_props(options: Option<(&Value, &Value)>) -> Value {
        let mut props = json!({
            "method": { "type": "string" },
            "params": { "description": "An array or an object" },
            "result": r("matchers"),
            "error": r("matchers")
        });
        if let Some((conn, timeout)) = options {
            props["conn"] = conn.clone();
            props["timeout"] = timeout.clone();
        }
        props
    }

    /// Step `keyword`'s schema.
    pub fn step(keyword: &str, conn: &Value, timeout: &Value) -> Value {
        match keyword {
            "call" => obj(call_props(Some((conn, timeout))), &["method"]),
            "calls" => json!({ "anyOf": [
                { "type": "array", "minItems": 1, "items": obj(call_props(None), &["method"]) },
                obj(json!({
                    "conn": conn, "timeout": timeout,
                    "list": { "type": "array", "minItems": 1, "items": obj(call_props(None), &["method"]) }
                }), &["list"])
            ]}),
            _ => obj(
                json!({ "conn": conn, "method": { "type": "string" }, "params": {} }),
                &["method"],
            ),
        }
    }

    /// A mock's `methods:`.
    pub fn mock() -> Vec<(String, Value)> {
        vec![(
            "methods".into(),
            json!({ "type": "object", "additionalProperties": obj(json!({
                "result": {},
                "error": obj(json!({
                    "code": { "type": "integer" }, "message": { "type": "string" }, "data": {}
                }), &["code", "message"]),
                "delay": r("duration")
            }), &[]) }),
        )]
    }
}
