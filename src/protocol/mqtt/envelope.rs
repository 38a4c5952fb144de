//! MQTT packets as the JSON envelopes steps see and send, and reason codes in words.
//!
//! In: a PUBLISH is `{topic, payload, qos, retain}` (`payload` parsed when it is JSON, else its
//! text, else base64 with `binary: true`); an acknowledgement is `{packet: "SUBACK", id, codes}`
//! (`code` for a PUBACK). Out: `{topic, json|text|binary, qos, retain, id}`,
//! `{subscribe: FILTER, qos, id}`, `{unsubscribe: FILTER, id}`.

use base64::Engine as _;
use serde_json::{json, Map, Value};
use tokio_tungstenite::tungstenite::Bytes;

use super::codec::{Packet, Publish, Version};

/// A PUBLISH as steps see it.
pub fn publish(p: &Publish) -> Value {
    let mut m = Map::with_capacity(5);
    m.insert("topic".into(), Value::String(p.topic.clone()));
    let payload = match std::str::from_utf8(&p.payload) {
        Ok(text) => match serde_json::from_str::<Value>(text) {
            Ok(v) => v,
            Err(_) => Value::String(text.to_string()),
        },
        Err(_) => {
            m.insert("binary".into(), Value::Bool(true));
            Value::String(base64::engine::general_purpose::STANDARD.encode(&p.payload))
        }
    };
    m.insert("payload".into(), payload);
    m.insert("qos".into(), p.qos.into());
    m.insert("retain".into(), p.retain.into());
    Value::Object(m)
}

/// An acknowledgement (PUBACK, SUBACK, UNSUBACK) as steps see it; a refusal (a code of 0x80
/// or more) adds `refused`, the first such code in words.
pub fn ack(packet: &Packet, version: Version) -> Value {
    let (name, id, codes, kind) = match packet {
        Packet::PubAck { id, code } => ("PUBACK", id, std::slice::from_ref(code), Ack::Other),
        Packet::SubAck { id, codes } => ("SUBACK", id, &codes[..], Ack::Subscribe),
        Packet::UnsubAck { id, codes } => ("UNSUBACK", id, &codes[..], Ack::Other),
        other => return json!({"packet": name(other)}),
    };
    let mut m = Map::with_capacity(4);
    m.insert("packet".into(), name.into());
    m.insert("id".into(), (*id).into());
    if let Packet::PubAck { code, .. } = packet {
        m.insert("code".into(), (*code).into());
    } else {
        m.insert("codes".into(), codes.to_vec().into());
    }
    if let Some(&refused) = codes.iter().find(|&&c| c >= 0x80) {
        m.insert(
            "refused".into(),
            describe_code(version, refused, kind).into(),
        );
    }
    Value::Object(m)
}

/// The packet's type name (`SUBACK`).
pub fn name(packet: &Packet) -> &'static str {
    match packet {
        Packet::Connect(_) => "CONNECT",
        Packet::ConnAck { .. } => "CONNACK",
        Packet::Publish(_) => "PUBLISH",
        Packet::PubAck { .. } => "PUBACK",
        Packet::Subscribe { .. } => "SUBSCRIBE",
        Packet::SubAck { .. } => "SUBACK",
        Packet::Unsubscribe { .. } => "UNSUBSCRIBE",
        Packet::UnsubAck { .. } => "UNSUBACK",
        Packet::PingReq => "PINGREQ",
        Packet::PingResp => "PINGRESP",
        Packet::Disconnect { .. } => "DISCONNECT",
    }
}

/// Which packet a code answers: 3.1.1's CONNACK return codes differ from its SUBACK's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ack {
    Connect,
    Subscribe,
    Other,
    Disconnect,
}

/// `return code 4 (bad user name or password)` (3.1.1) or `reason code 0x86 (…)` (5.0).
pub fn describe_code(version: Version, code: u8, ack: Ack) -> String {
    if version == Version::V311 {
        let why = match (ack, code) {
            (Ack::Connect, 1) => "unacceptable protocol version",
            (Ack::Connect, 2) => "identifier rejected",
            (Ack::Connect, 3) => "server unavailable",
            (Ack::Connect, 4) => "bad user name or password",
            (Ack::Connect, 5) => "not authorized",
            (Ack::Subscribe, 0x80) => "failure",
            _ => "unknown",
        };
        let code = if ack == Ack::Subscribe {
            format!("{code:#04x}")
        } else {
            code.to_string()
        };
        return format!("return code {code} ({why})");
    }
    format!("reason code {code:#04x} ({})", reason_v5(code, ack))
}

/// MQTT 5.0 §2.4's reason codes in words.
fn reason_v5(code: u8, ack: Ack) -> &'static str {
    match code {
        0x00 if ack == Ack::Disconnect => "normal disconnection",
        0x00 => "success",
        0x01 => "granted QoS 1",
        0x02 => "granted QoS 2",
        0x04 => "disconnect with will message",
        0x10 => "no matching subscribers",
        0x11 => "no subscription existed",
        0x80 => "unspecified error",
        0x81 => "malformed packet",
        0x82 => "protocol error",
        0x83 => "implementation specific error",
        0x84 => "unsupported protocol version",
        0x85 => "client identifier not valid",
        0x86 => "bad user name or password",
        0x87 => "not authorized",
        0x88 => "server unavailable",
        0x89 => "server busy",
        0x8A => "banned",
        0x8B => "server shutting down",
        0x8C => "bad authentication method",
        0x8D => "keep alive timeout",
        0x8E => "session taken over",
        0x8F => "topic filter invalid",
        0x90 => "topic name invalid",
        0x91 => "packet identifier in use",
        0x92 => "packet identifier not found",
        0x93 => "receive maximum exceeded",
        0x94 => "topic alias invalid",
        0x95 => "packet too large",
        0x96 => "message rate too high",
        0x97 => "quota exceeded",
        0x98 => "administrative action",
        0x99 => "payload format invalid",
        0x9A => "retain not supported",
        0x9B => "QoS not supported",
        0x9C => "use another server",
        0x9D => "server moved",
        0x9E => "shared subscriptions not supported",
        0x9F => "connection rate exceeded",
        0xA0 => "maximum connect time",
        0xA1 => "subscription identifiers not supported",
        0xA2 => "wildcard subscriptions not supported",
        _ => "unknown",
    }
}

/// An envelope a step sends, as a packet.
pub fn outgoing(envelope: &Value) -> Result<Packet, String> {
    let id = || -> Result<u16, String> {
        let id = envelope.get("id").and_then(Value::as_u64).unwrap_or(1);
        u16::try_from(id)
            .ok()
            .filter(|&i| i > 0)
            .ok_or_else(|| format!("an MQTT packet identifier is 1 to 65535, not {id}"))
    };
    let qos = || -> Result<u8, String> {
        match envelope.get("qos").map(Value::as_u64) {
            None => Ok(0),
            Some(Some(q @ (0 | 1))) => Ok(q as u8),
            Some(_) => Err(format!(
                "`qos` is 0 or 1 (wsrun does not speak QoS 2), not {}",
                envelope["qos"]
            )),
        }
    };
    if let Some(filter) = envelope.get("subscribe") {
        let filter = text(filter, "subscribe")?;
        return Ok(Packet::Subscribe {
            id: id()?,
            filters: vec![(filter, qos()?)],
        });
    }
    if let Some(filter) = envelope.get("unsubscribe") {
        return Ok(Packet::Unsubscribe {
            id: id()?,
            filters: vec![text(filter, "unsubscribe")?],
        });
    }
    let Some(topic) = envelope.get("topic") else {
        return Err(
            "an MQTT connection sends PUBLISH, SUBSCRIBE and UNSUBSCRIBE: `publish:`, `subscribe:` or `unsubscribe:`"
                .into(),
        );
    };
    let topic = text(topic, "topic")?;
    let payload = match (
        envelope.get("json"),
        envelope.get("text"),
        envelope.get("binary"),
    ) {
        (Some(v), None, None) => Bytes::from(v.to_string()),
        (None, Some(Value::String(t)), None) => Bytes::from(t.clone()),
        (None, None, Some(Value::String(b))) => base64::engine::general_purpose::STANDARD
            .decode(b)
            .map(Bytes::from)
            .map_err(|e| format!("`binary` is not valid base64: {e}"))?,
        (None, None, None) => Bytes::new(),
        _ => return Err("a PUBLISH has one payload: `json`, `text` or `binary`".into()),
    };
    let qos = qos()?;
    let retain = envelope.get("retain").and_then(Value::as_bool);
    Ok(Packet::Publish(Publish {
        topic,
        payload,
        qos,
        retain: retain.unwrap_or(false),
        dup: false,
        id: if qos > 0 { Some(id()?) } else { None },
    }))
}

/// A topic or filter: text of at most 65,535 bytes (its length is a two-byte number).
fn text(value: &Value, key: &str) -> Result<String, String> {
    match value {
        Value::String(s) if s.is_empty() => Err(format!("`{key}` is empty")),
        Value::String(s) if s.len() > usize::from(u16::MAX) => {
            Err(format!("`{key}` is {} bytes, over MQTT's 65,535", s.len()))
        }
        Value::String(s) => Ok(s.clone()),
        other => Err(format!("`{key}` is a text, not {other}")),
    }
}
