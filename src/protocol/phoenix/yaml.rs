//! Phoenix Channels in collections (docs/protocols/phoenix.md): the `phoenix: {params,
//! heartbeat}` options and the `join`, `push` and `leave` steps.

use serde::Deserialize;

use crate::collection::de::{Dur, OrderedMap};
use crate::protocol::StepDef;
use crate::template::{TValue, Template, VarRef};

/// Reads step `keyword` (one of [`super::STEPS`]).
pub fn parse_step<'de, D: serde::Deserializer<'de>>(
    keyword: &str,
    d: D,
) -> Result<Box<dyn StepDef>, D::Error> {
    Ok(match keyword {
        "join" => Box::new(Join::deserialize(d)?),
        "push" => Box::new(Push::deserialize(d)?),
        _ => Box::new(Leave::deserialize(d)?),
    })
}

/// `phoenix: {heartbeat, params}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhoenixOptions {
    /// How often a heart-beat goes to topic `phoenix` (default 30s, phoenix.js's); `0s`: never.
    pub heartbeat: Option<Dur>,
    /// The socket's params, added to the URL's query (`{token: …}`).
    #[serde(default)]
    pub params: OrderedMap<String, Template>,
}

impl PhoenixOptions {
    /// The variables its options name.
    pub fn vars(&self, out: &mut Vec<VarRef>) {
        out.extend(self.params.0.iter().flat_map(|(_, t)| t.vars()).cloned());
    }
}

/// `join: {topic, payload}`: a `phx_join`, waiting for its `phx_reply`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Join {
    pub conn: Option<String>,
    pub timeout: Option<Dur>,
    pub topic: Template,
    pub payload: Option<TValue>,
}

/// `push: {topic, event, payload, reply}`: a message on a joined topic, waiting for the
/// `phx_reply` with its ref unless `reply: false`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Push {
    pub conn: Option<String>,
    pub timeout: Option<Dur>,
    pub topic: Template,
    pub event: Template,
    pub payload: Option<TValue>,
    #[serde(default = "waits")]
    pub reply: bool,
}

/// A push waits for its reply unless told not to.
fn waits() -> bool {
    true
}

/// `leave: {topic}`: a `phx_leave`, waiting for its `phx_reply`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Leave {
    pub conn: Option<String>,
    pub timeout: Option<Dur>,
    pub topic: Template,
}

impl Join {
    pub fn vars(&self, out: &mut Vec<VarRef>) {
        out.extend(self.topic.vars().cloned());
        self.payload.iter().for_each(|p| p.vars(out));
    }
}

impl Push {
    pub fn vars(&self, out: &mut Vec<VarRef>) {
        out.extend(self.topic.vars().chain(self.event.vars()).cloned());
        self.payload.iter().for_each(|p| p.vars(out));
    }
}

impl Leave {
    pub fn vars(&self, out: &mut Vec<VarRef>) {
        out.extend(self.topic.vars().cloned());
    }
}

/// The editor schema's fragments.
pub mod schema {
    use serde_json::{json, Value};

    use crate::collection::schema::obj;

    /// `phoenix: {heartbeat, params}`.
    pub fn options() -> Value {
        obj(
            json!({
                "heartbeat": { "description": "How often a heart-beat goes to topic phoenix (default 30s; 0s: never)", "type": "string" },
                "params": { "description": "The socket's params, added to the URL's query", "type": "object", "additionalProperties": { "type": ["string", "number", "boolean"] } }
            }),
            &[],
        )
    }

    /// `join`, `push` and `leave`.
    pub fn step(keyword: &str, conn: &Value, timeout: &Value) -> Value {
        match keyword {
            "join" => obj(
                json!({
                    "conn": conn, "timeout": timeout,
                    "topic": { "type": "string" }, "payload": { "description": "A map" }
                }),
                &["topic"],
            ),
            "push" => obj(
                json!({
                    "conn": conn, "timeout": timeout,
                    "topic": { "type": "string" }, "event": { "type": "string" },
                    "payload": { "description": "A map" },
                    "reply": { "description": "Wait for the phx_reply (default true)", "type": "boolean" }
                }),
                &["topic", "event"],
            ),
            _ => obj(
                json!({ "conn": conn, "timeout": timeout, "topic": { "type": "string" } }),
                &["topic"],
            ),
        }
    }
}
