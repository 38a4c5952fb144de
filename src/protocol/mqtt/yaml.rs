//! MQTT in collections (docs/protocols/mqtt.md): the connection's options
//! `mqtt: {client_id, username, password, version, keepalive, clean}`, and the steps
//! `publish: {topic, json|text|binary, qos, retain}`, `subscribe: {topic, qos}` and
//! `unsubscribe: {topic}`.

use serde::Deserialize;
use serde_json::Value;

use crate::collection::de::Dur;
use crate::protocol::{Claim, StepDef};
use crate::template::{Lookup, TValue, Template, VarRef};

use super::codec::Version;
use super::Options;

/// Reads step `keyword` (one of [`super::STEPS`]).
pub fn parse_step<'de, D: serde::Deserializer<'de>>(
    keyword: &str,
    d: D,
) -> Result<Box<dyn StepDef>, D::Error> {
    use serde::de::Error;
    let map = match Value::deserialize(d)? {
        map @ Value::Object(_) => map,
        other => {
            return Err(D::Error::custom(format!(
                "`{keyword}` takes a map such as `{{topic: sensors/#}}`, found {}",
                crate::value::type_name(&other)
            )))
        }
    };
    let step: Box<dyn StepDef> = match keyword {
        "publish" => Box::new(
            Publish::deserialize(map)
                .map_err(D::Error::custom)?
                .check()
                .map_err(D::Error::custom)?,
        ),
        "subscribe" => Box::new(
            Subscribe::deserialize(map)
                .map_err(D::Error::custom)?
                .check()
                .map_err(D::Error::custom)?,
        ),
        _ => Box::new(Unsubscribe::deserialize(map).map_err(D::Error::custom)?),
    };
    Ok(step)
}

/// A `subscribe` or `unsubscribe` map with a `topic` is MQTT's.
pub fn claim(_keyword: &str, yaml: &Value) -> Claim {
    if yaml.get("topic").is_some() {
        Claim::Strong
    } else {
        Claim::No
    }
}

/// `mqtt: {client_id, username, password, version, keepalive, clean}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttOptions {
    pub client_id: Option<Template>,
    pub username: Option<Template>,
    /// Masked in every rendering, as a secret is.
    pub password: Option<Template>,
    pub version: Option<MqttVersion>,
    /// Seconds between PINGREQs (default 60; 0: none).
    pub keepalive: Option<u16>,
    /// The clean session (3.1.1) or clean start (5.0) flag (default true).
    pub clean: Option<bool>,
}

/// `version: "3.1.1"` or `"5.0"` (`5` and `5.0` unquoted too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MqttVersion(pub Version);

impl<'de> Deserialize<'de> for MqttVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let text = match &v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => String::new(),
        };
        match text.as_str() {
            "3.1.1" | "4" => Ok(Self(Version::V311)),
            "5.0" | "5" => Ok(Self(Version::V5)),
            _ => Err(serde::de::Error::custom(format!(
                "`version` is \"3.1.1\" or \"5.0\", not {v}"
            ))),
        }
    }
}

impl MqttOptions {
    /// The variables its options name.
    pub fn vars(&self, out: &mut Vec<VarRef>) {
        crate::protocol::template_vars([&self.client_id, &self.username, &self.password], out);
    }

    /// The options with their templates expanded.
    pub fn expand(&self, scope: &dyn Lookup) -> Result<Options, String> {
        let expand = |key: &str, t: &Option<Template>| -> Result<Option<String>, String> {
            let Some(t) = t else { return Ok(None) };
            let value = t.expand(scope).map_err(|e| format!("`mqtt.{key}`: {e}"))?;
            if value.len() > usize::from(u16::MAX) {
                return Err(format!(
                    "`mqtt.{key}` is {} bytes, over MQTT's 65,535",
                    value.len()
                ));
            }
            Ok(Some(value))
        };
        let defaults = Options::default();
        Ok(Options {
            client_id: expand("client_id", &self.client_id)?.unwrap_or_default(),
            username: expand("username", &self.username)?,
            password: expand("password", &self.password)?,
            version: self.version.map_or(defaults.version, |v| v.0),
            keepalive: self.keepalive.unwrap_or(defaults.keepalive),
            clean: self.clean.unwrap_or(defaults.clean),
        })
    }

    /// The password, expanded, for the masker: it is sent in CONNECT.
    pub fn secrets(&self, scope: &dyn Lookup) -> Vec<String> {
        let password = self.password.as_ref().and_then(|p| p.expand(scope).ok());
        password.into_iter().collect()
    }
}

/// `qos: 0` or `1`.
fn check_qos(qos: Option<u8>, keyword: &str) -> Result<(), String> {
    match qos {
        None | Some(0 | 1) => Ok(()),
        Some(q) => Err(format!(
            "`qos` of a `{keyword}` is 0 or 1 (wsrun does not speak QoS 2), not {q}"
        )),
    }
}

/// `publish: {topic, json|text|binary, qos, retain}`: a PUBLISH; at QoS 1 the step waits for
/// its PUBACK (`timeout`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Publish {
    pub conn: Option<String>,
    pub timeout: Option<Dur>,
    pub topic: Template,
    pub json: Option<TValue>,
    pub text: Option<Template>,
    /// Base64.
    pub binary: Option<Template>,
    pub qos: Option<u8>,
    #[serde(default)]
    pub retain: bool,
}

impl Publish {
    fn check(self) -> Result<Self, String> {
        check_qos(self.qos, "publish")?;
        let payloads = [
            self.json.is_some(),
            self.text.is_some(),
            self.binary.is_some(),
        ];
        if payloads.into_iter().filter(|p| *p).count() > 1 {
            return Err("a `publish` has one payload: `json`, `text` or `binary`".into());
        }
        if self.timeout.is_some() && self.qos != Some(1) {
            return Err(
                "`timeout` of a `publish` is how long its PUBACK may take: add `qos: 1`".into(),
            );
        }
        Ok(self)
    }

    pub fn vars(&self, out: &mut Vec<VarRef>) {
        crate::protocol::template_vars([&Some(self.topic.clone()), &self.text, &self.binary], out);
        if let Some(j) = &self.json {
            j.vars(out);
        }
    }
}

/// `subscribe: {topic: FILTER, qos}`: a SUBSCRIBE, waiting for its SUBACK.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subscribe {
    pub conn: Option<String>,
    pub timeout: Option<Dur>,
    pub topic: Template,
    pub qos: Option<u8>,
}

impl Subscribe {
    fn check(self) -> Result<Self, String> {
        check_qos(self.qos, "subscribe")?;
        Ok(self)
    }

    pub fn vars(&self, out: &mut Vec<VarRef>) {
        out.extend(self.topic.vars().cloned());
    }
}

/// `unsubscribe: {topic: FILTER}`: an UNSUBSCRIBE, waiting for its UNSUBACK.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unsubscribe {
    pub conn: Option<String>,
    pub timeout: Option<Dur>,
    pub topic: Template,
}

impl Unsubscribe {
    pub fn vars(&self, out: &mut Vec<VarRef>) {
        out.extend(self.topic.vars().cloned());
    }
}

/// The editor schema of `mqtt:` and of MQTT's steps.
pub mod schema {
    use serde_json::{json, Value};

    use crate::collection::schema::obj;

    /// `mqtt: {client_id, username, password, version, keepalive, clean}`.
    pub fn options() -> Value {
        obj(
            json!({
                "client_id": { "description": "The client identifier (default: wsrun- and a random hex string)", "type": "string" },
                "username": { "type": "string" },
                "password": { "description": "Masked in every rendering", "type": "string" },
                "version": { "description": "3.1.1 (default) or 5.0", "enum": ["3.1.1", "5.0", 5] },
                "keepalive": { "description": "Seconds between PINGREQs (default 60; 0: none)", "type": "integer", "minimum": 0, "maximum": 65535 },
                "clean": { "description": "Clean session (3.1.1) or clean start (5.0); default true", "type": "boolean" }
            }),
            &[],
        )
    }

    /// Step `keyword`'s schema.
    pub fn step(keyword: &str, conn: &Value, timeout: &Value) -> Value {
        let topic = json!({ "description": "MQTT: a topic (publish) or a topic filter with + and # (subscribe, unsubscribe)", "type": "string" });
        let qos = json!({ "enum": [0, 1] });
        match keyword {
            "publish" => obj(
                json!({
                    "conn": conn, "timeout": timeout, "topic": topic,
                    "json": {}, "text": { "type": "string" },
                    "binary": { "description": "Base64", "type": "string" },
                    "qos": qos, "retain": { "type": "boolean" }
                }),
                &["topic"],
            ),
            "subscribe" => obj(
                json!({ "conn": conn, "timeout": timeout, "topic": topic, "qos": qos }),
                &["topic"],
            ),
            _ => obj(
                json!({ "conn": conn, "timeout": timeout, "topic": topic }),
                &["topic"],
            ),
        }
    }
}
