//! Action Cable in collections (docs/protocols/actioncable.md): `subscribe: {channel, params}`
//! (told apart from the other protocols' `subscribe` by its `channel`) and `perform`.

use serde::Deserialize;
use serde_json::Value;

use crate::collection::de::Dur;
use crate::protocol::{Claim, StepDef};
use crate::template::{TValue, Template, VarRef};

/// Reads step `keyword` (one of [`super::STEPS`]).
pub fn parse_step<'de, D: serde::Deserializer<'de>>(
    keyword: &str,
    d: D,
) -> Result<Box<dyn StepDef>, D::Error> {
    Ok(match keyword {
        "subscribe" => Box::new(CableSubscribe::deserialize(d)?),
        _ => Box::new(Perform::deserialize(d)?),
    })
}

/// A `subscribe` with a `channel` is Action Cable's.
pub fn claim(_keyword: &str, yaml: &Value) -> Claim {
    if yaml.get("channel").is_some() {
        Claim::Strong
    } else {
        Claim::Fallback
    }
}

/// `subscribe: {channel: NAME, params}`: waits for `confirm_subscription`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CableSubscribe {
    pub conn: Option<String>,
    pub timeout: Option<Dur>,
    pub channel: Template,
    pub params: Option<TValue>,
}

/// `perform: {channel, action, data, params}`: an action on a subscribed channel.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Perform {
    pub conn: Option<String>,
    pub channel: Template,
    pub action: Template,
    pub data: Option<TValue>,
    /// Which subscription, when the channel has several: its params.
    pub params: Option<TValue>,
}

impl CableSubscribe {
    pub fn vars(&self, out: &mut Vec<VarRef>) {
        out.extend(self.channel.vars().cloned());
        self.params.iter().for_each(|p| p.vars(out));
    }
}

impl Perform {
    pub fn vars(&self, out: &mut Vec<VarRef>) {
        out.extend(self.channel.vars().chain(self.action.vars()).cloned());
        self.data.iter().for_each(|p| p.vars(out));
        self.params.iter().for_each(|p| p.vars(out));
    }
}

/// The editor schema's fragments.
pub mod schema {
    use serde_json::{json, Value};

    use crate::collection::schema::obj;

    /// `subscribe` with a `channel`, and `perform`.
    pub fn step(keyword: &str, conn: &Value, timeout: &Value) -> Value {
        match keyword {
            "subscribe" => obj(
                json!({
                    "conn": conn, "timeout": timeout,
                    "channel": { "description": "Action Cable: the channel's class name", "type": "string" },
                    "params": { "description": "Action Cable: the subscription's params (a map)" }
                }),
                &["channel"],
            ),
            _ => obj(
                json!({
                    "conn": conn,
                    "channel": { "type": "string" }, "action": { "type": "string" },
                    "data": { "description": "A map" },
                    "params": { "description": "Which subscription of the channel: its params (a map)" }
                }),
                &["channel", "action"],
            ),
        }
    }
}
