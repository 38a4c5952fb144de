//! MQTT packets on the wire: [`Packet::encode`], what the codec's [`super::codec::Decoder`]
//! reads back.

use super::codec::{Connect, Packet, Version};

impl Packet {
    /// The packet on the wire. Strings longer than 65,535 bytes are the caller's to refuse.
    pub fn encode(&self, version: Version) -> Vec<u8> {
        let v5 = version == Version::V5;
        let mut body = Vec::new();
        let first: u8 = match self {
            Packet::Connect(c) => {
                connect_body(c, &mut body);
                0x10
            }
            Packet::ConnAck {
                session_present,
                code,
                reason,
            } => {
                body.push(u8::from(*session_present));
                body.push(*code);
                if v5 {
                    reason_property(reason.as_deref(), &mut body);
                }
                0x20
            }
            Packet::Publish(p) => {
                push_str(&mut body, &p.topic);
                if let Some(id) = p.id {
                    body.extend_from_slice(&id.to_be_bytes());
                }
                if v5 {
                    body.push(0);
                }
                body.extend_from_slice(&p.payload);
                0x30 | (u8::from(p.dup) << 3) | (p.qos << 1) | u8::from(p.retain)
            }
            Packet::PubAck { id, code } => {
                body.extend_from_slice(&id.to_be_bytes());
                if v5 && *code != 0 {
                    body.push(*code);
                }
                0x40
            }
            Packet::Subscribe { id, filters } => {
                body.extend_from_slice(&id.to_be_bytes());
                if v5 {
                    body.push(0);
                }
                for (f, qos) in filters {
                    push_str(&mut body, f);
                    body.push(*qos);
                }
                0x82
            }
            Packet::SubAck { id, codes } | Packet::UnsubAck { id, codes } => {
                body.extend_from_slice(&id.to_be_bytes());
                if v5 {
                    body.push(0);
                }
                if v5 || matches!(self, Packet::SubAck { .. }) {
                    body.extend_from_slice(codes);
                }
                if matches!(self, Packet::SubAck { .. }) {
                    0x90
                } else {
                    0xB0
                }
            }
            Packet::Unsubscribe { id, filters } => {
                body.extend_from_slice(&id.to_be_bytes());
                if v5 {
                    body.push(0);
                }
                for f in filters {
                    push_str(&mut body, f);
                }
                0xA2
            }
            Packet::PingReq => 0xC0,
            Packet::PingResp => 0xD0,
            Packet::Disconnect { code } => {
                if v5 && *code != 0 {
                    body.push(*code);
                }
                0xE0
            }
        };
        let mut out = Vec::with_capacity(body.len() + 5);
        out.push(first);
        push_varint(&mut out, body.len());
        out.extend_from_slice(&body);
        out
    }
}

/// CONNECT's variable header and payload.
fn connect_body(c: &Connect, body: &mut Vec<u8>) {
    push_str(body, "MQTT");
    body.push(c.version.level());
    let mut flags = 0u8;
    if c.clean {
        flags |= 0x02;
    }
    if c.username.is_some() {
        flags |= 0x80;
    }
    if c.password.is_some() {
        flags |= 0x40;
    }
    body.push(flags);
    body.extend_from_slice(&c.keepalive.to_be_bytes());
    if c.version == Version::V5 {
        body.push(0);
    }
    push_str(body, &c.client_id);
    if let Some(u) = &c.username {
        push_str(body, u);
    }
    if let Some(p) = &c.password {
        push_str(body, p);
    }
}

/// 5.0 properties holding only a reason string, if any.
fn reason_property(reason: Option<&str>, body: &mut Vec<u8>) {
    match reason {
        Some(r) => {
            let mut props = vec![0x1F];
            push_str(&mut props, r);
            push_varint(body, props.len());
            body.extend_from_slice(&props);
        }
        None => body.push(0),
    }
}

fn push_str(out: &mut Vec<u8>, s: &str) {
    let len = u16::try_from(s.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&s.as_bytes()[..usize::from(len)]);
}

fn push_varint(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let mut b = (n & 0x7f) as u8;
        n >>= 7;
        if n > 0 {
            b |= 0x80;
        }
        out.push(b);
        if n == 0 {
            return;
        }
    }
}
