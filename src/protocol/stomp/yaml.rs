//! STOMP's steps as the YAML writes them: `subscribe: {destination, id?, ack?}`,
//! `unsubscribe: ID`, and the STOMP part of `send: {destination, json|text, headers?, receipt}`;
//! and the rule that they, and only they, are what a STOMP connection sends.

use serde::Deserialize;
use serde_json::Value;

use crate::collection::de::{map_or_scalar, scalar_text, Dur, OrderedMap};
use crate::collection::{Payload, ProtocolName, Send};
use crate::protocol::{Claim, StepDef};
use crate::template::{Template, VarRef};

/// Reads step `keyword` (one of [`super::STEPS`]).
pub fn parse_step<'de, D: serde::Deserializer<'de>>(
    keyword: &str,
    d: D,
) -> Result<Box<dyn StepDef>, D::Error> {
    use serde::de::Error;
    match keyword {
        "unsubscribe" => return Ok(Box::new(Unsubscribe::deserialize(d)?)),
        "ack" | "nack" => {
            let mut ack = Ack::deserialize(d)?;
            ack.nack = keyword == "nack";
            return Ok(Box::new(ack));
        }
        _ => {}
    }
    let map = match Value::deserialize(d)? {
        map @ Value::Object(_) => map,
        other => {
            return Err(D::Error::custom(format!(
                "`subscribe` takes a map such as `{{destination: /topic/x}}`, found {}",
                crate::value::type_name(&other)
            )))
        }
    };
    let subscribe = StompSubscribe::deserialize(map).map_err(D::Error::custom)?;
    Ok(Box::new(subscribe.check().map_err(D::Error::custom)?))
}

/// A `subscribe` with a `destination` is STOMP's; STOMP also reads the maps no other protocol
/// claims (its errors name `destination`, the key they lack).
pub fn claim(_keyword: &str, yaml: &Value) -> Claim {
    if yaml.get("destination").is_some() {
        Claim::Strong
    } else {
        Claim::Fallback
    }
}

/// `stomp: {host, login, passcode, heartbeat}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StompOptions {
    pub host: Option<Template>,
    pub login: Option<Template>,
    pub passcode: Option<Template>,
    /// `[client, server]` heart-beat milliseconds (default `[0, 0]`).
    pub heartbeat: Option<[u64; 2]>,
}

impl StompOptions {
    /// The variables its options name.
    pub fn vars(&self, out: &mut Vec<VarRef>) {
        crate::protocol::template_vars([&self.host, &self.login, &self.passcode], out);
    }
}

/// `ack:` of a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum AckMode {
    #[serde(rename = "auto")]
    Auto,
    #[serde(rename = "client")]
    Client,
    #[serde(rename = "client-individual")]
    ClientIndividual,
}

impl AckMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AckMode::Auto => "auto",
            AckMode::Client => "client",
            AckMode::ClientIndividual => "client-individual",
        }
    }
}

/// `subscribe: {destination, id?, ack?, headers?, receipt?}` on a STOMP connection; the id
/// (given, or a fresh one) is `{{ last_id }}` afterwards.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StompSubscribe {
    pub conn: Option<String>,
    /// How long `receipt` waits.
    pub timeout: Option<Dur>,
    pub destination: Template,
    pub id: Option<Template>,
    pub ack: Option<AckMode>,
    /// More headers of the `SUBSCRIBE` frame.
    #[serde(default)]
    pub headers: OrderedMap<String, Template>,
    /// Ask for a `RECEIPT` and wait for it.
    #[serde(default)]
    pub receipt: bool,
}

impl StompSubscribe {
    fn check(self) -> Result<Self, String> {
        check_timeout(self.timeout.is_some(), self.receipt, "subscribe")?;
        Ok(self)
    }

    /// The variables it names.
    pub fn vars(&self, out: &mut Vec<VarRef>) {
        out.extend(self.destination.vars().cloned());
        if let Some(id) = &self.id {
            out.extend(id.vars().cloned());
        }
        headers_vars(&self.headers, out);
    }
}

/// `ack:` / `nack:` a MESSAGE of a subscription with `ack: client` or `client-individual`:
/// `ack: ID` (the MESSAGE's `ack` header), `ack: {id?, conn, headers, receipt, timeout}`, or
/// `ack: {}` (also `ack: ~`): the last matched MESSAGE's `ack` header.
#[derive(Debug, Clone)]
pub struct Ack {
    /// A `NACK` rather than an `ACK`.
    pub nack: bool,
    pub conn: Option<String>,
    pub timeout: Option<Dur>,
    pub id: Option<Template>,
    pub headers: OrderedMap<String, Template>,
    pub receipt: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAck {
    conn: Option<String>,
    timeout: Option<Dur>,
    id: Option<Template>,
    #[serde(default)]
    headers: OrderedMap<String, Template>,
    #[serde(default)]
    receipt: bool,
}

impl TryFrom<RawAck> for Ack {
    type Error = String;
    fn try_from(r: RawAck) -> Result<Self, String> {
        check_timeout(r.timeout.is_some(), r.receipt, "ack")?;
        Ok(Ack {
            nack: false,
            conn: r.conn,
            timeout: r.timeout,
            id: r.id,
            headers: r.headers,
            receipt: r.receipt,
        })
    }
}

map_or_scalar!(
    Ack,
    RawAck,
    "a MESSAGE's ack id, or {id, conn, receipt}",
    |v| {
        let id = match v {
            Value::Null => None,
            v => {
                let text = scalar_text(&v).ok_or("`ack` takes the MESSAGE's `ack` header")?;
                Some(Template::parse(&text)?)
            }
        };
        Ok(Ack {
            nack: false,
            conn: None,
            timeout: None,
            id,
            headers: OrderedMap::default(),
            receipt: false,
        })
    }
);

impl Ack {
    /// The variables it names.
    pub fn vars(&self, out: &mut Vec<VarRef>) {
        out.extend(self.id.iter().flat_map(Template::vars).cloned());
        headers_vars(&self.headers, out);
    }
}

/// `unsubscribe: ID` or `unsubscribe: {id, conn, headers, receipt, timeout}` (STOMP).
#[derive(Debug, Clone)]
pub struct Unsubscribe {
    pub conn: Option<String>,
    pub timeout: Option<Dur>,
    pub id: Template,
    pub headers: OrderedMap<String, Template>,
    pub receipt: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUnsubscribe {
    conn: Option<String>,
    timeout: Option<Dur>,
    id: Template,
    #[serde(default)]
    headers: OrderedMap<String, Template>,
    #[serde(default)]
    receipt: bool,
}

impl TryFrom<RawUnsubscribe> for Unsubscribe {
    type Error = String;
    fn try_from(r: RawUnsubscribe) -> Result<Self, String> {
        check_timeout(r.timeout.is_some(), r.receipt, "unsubscribe")?;
        Ok(Unsubscribe {
            conn: r.conn,
            timeout: r.timeout,
            id: r.id,
            headers: r.headers,
            receipt: r.receipt,
        })
    }
}

map_or_scalar!(
    Unsubscribe,
    RawUnsubscribe,
    "a subscription id or {id, conn, receipt}",
    |v| {
        let text = scalar_text(&v).ok_or("`unsubscribe` needs the subscription's id")?;
        Ok(Unsubscribe {
            conn: None,
            timeout: None,
            id: Template::parse(&text)?,
            headers: OrderedMap::default(),
            receipt: false,
        })
    }
);

impl Unsubscribe {
    /// The variables it names.
    pub fn vars(&self, out: &mut Vec<VarRef>) {
        out.extend(self.id.vars().cloned());
        headers_vars(&self.headers, out);
    }
}

/// What makes a `send` a STOMP `SEND`: its `destination`, more headers, and `receipt`.
#[derive(Debug, Clone)]
pub struct StompSend {
    pub destination: Template,
    pub headers: OrderedMap<String, Template>,
    pub receipt: bool,
}

impl StompSend {
    /// The STOMP part of a `send`, from its `destination`, `headers` and `receipt` keys: with
    /// `destination` the body is the `json` or `text`; the other two need `destination`.
    pub fn from_keys(
        destination: Option<Template>,
        headers: Option<OrderedMap<String, Template>>,
        receipt: Option<bool>,
        payload: &Payload,
        has_reply: bool,
    ) -> Result<Option<Self>, String> {
        let Some(destination) = destination else {
            if headers.is_some() || receipt.is_some() {
                return Err(
                    "`headers` and `receipt` belong to a STOMP `send`: add its `destination`"
                        .into(),
                );
            }
            return Ok(None);
        };
        if matches!(payload, Payload::Binary(_)) {
            return Err("a STOMP `send` carries `json` or `text` as its body, not `binary`".into());
        }
        if has_reply {
            return Err(
                "a STOMP `send` waits for its answer with `receipt: true`, not `reply`".into(),
            );
        }
        Ok(Some(Self {
            destination,
            headers: headers.unwrap_or_default(),
            receipt: receipt.unwrap_or(false),
        }))
    }

    /// The variables it names (the body's are the `send`'s own).
    pub fn vars(&self, out: &mut Vec<VarRef>) {
        out.extend(self.destination.vars().cloned());
        headers_vars(&self.headers, out);
    }
}

fn headers_vars(headers: &OrderedMap<String, Template>, out: &mut Vec<VarRef>) {
    for (_, value) in &headers.0 {
        out.extend(value.vars().cloned());
    }
}

/// `timeout` is how long `receipt` waits: it needs `receipt: true`.
fn check_timeout(timeout: bool, receipt: bool, keyword: &str) -> Result<(), String> {
    if timeout && !receipt {
        return Err(format!(
            "`timeout` of a `{keyword}` is how long its `receipt` may take: add `receipt: true`"
        ));
    }
    Ok(())
}

/// A `send` with STOMP's options needs a STOMP connection, and on a STOMP connection every
/// `send` is a `SEND` (so it needs a `destination`).
pub fn check_send(send: &Send, conn: &str, speaks: ProtocolName) -> Result<(), String> {
    let stomp_options = send.stomp.is_some();
    let on_stomp = speaks == ProtocolName::Stomp;
    if stomp_options && !on_stomp {
        return Err(format!(
            "`send` with a `destination` is STOMP's, but connection `{conn}` speaks `{}`: add `protocol: stomp` to the request or the connection",
            speaks.as_str()
        ));
    }
    if !stomp_options && on_stomp {
        return Err(format!(
            "connection `{conn}` speaks `stomp`, where `send` is a SEND frame: give its `destination` (and the body as `json` or `text`)"
        ));
    }
    Ok(())
}

/// Its part of the editor schema (`src/collection/schema.rs`).
pub mod schema {
    use serde_json::{json, Value};

    use crate::collection::schema::{obj, stomp_headers};

    /// `stomp: {host, login, passcode, heartbeat}`.
    pub fn options() -> Value {
        obj(
            json!({
                "host": { "type": "string" }, "login": { "type": "string" }, "passcode": { "type": "string" },
                "heartbeat": { "type": "array", "items": { "type": "integer", "minimum": 0 }, "minItems": 2, "maxItems": 2 }
            }),
            &[],
        )
    }

    /// Step `keyword`'s schema.
    pub fn step(keyword: &str, conn: &Value, timeout: &Value) -> Value {
        match keyword {
            "subscribe" => obj(
                json!({
                    "conn": conn, "timeout": timeout,
                    "destination": { "type": "string" },
                    "id": { "description": "The subscription id (default: a fresh one); `{{ last_id }}` afterwards", "type": ["string", "number"] },
                    "ack": { "enum": ["auto", "client", "client-individual"] },
                    "headers": stomp_headers(),
                    "receipt": { "description": "Ask for a RECEIPT and wait for it", "type": "boolean" }
                }),
                &["destination"],
            ),
            "ack" | "nack" => json!({ "anyOf": [
                { "description": "The MESSAGE's `ack` header; null: the last matched MESSAGE's", "type": ["string", "number", "null"] },
                obj(json!({
                    "conn": conn, "timeout": timeout, "id": { "type": ["string", "number"] },
                    "headers": stomp_headers(), "receipt": { "type": "boolean" }
                }), &[])
            ]}),
            _ => json!({ "anyOf": [
                { "description": "The subscription id", "type": ["string", "number"] },
                obj(json!({
                    "conn": conn, "timeout": timeout, "id": { "type": ["string", "number"] },
                    "headers": stomp_headers(), "receipt": { "type": "boolean" }
                }), &["id"])
            ]}),
        }
    }
}
