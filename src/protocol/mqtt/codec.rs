//! MQTT 3.1.1 and 5.0 control packets: the ones a client and a small broker exchange (CONNECT,
//! CONNACK, PUBLISH at QoS 0 and 1, PUBACK, SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ,
//! PINGRESP, DISCONNECT), encoded whole and decoded incrementally from a byte stream that
//! WebSocket frames cut anywhere ([`Decoder`]). 5.0 properties are skipped by their length;
//! only a reason string is read, for the failure it explains.

use tokio_tungstenite::tungstenite::Bytes;

/// The protocol level CONNECT carries: 4 for 3.1.1, 5 for 5.0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V311,
    V5,
}

impl Version {
    pub fn level(self) -> u8 {
        match self {
            Version::V311 => 4,
            Version::V5 => 5,
        }
    }

    /// `3.1.1` or `5.0`, as collections write it.
    pub fn name(self) -> &'static str {
        match self {
            Version::V311 => "3.1.1",
            Version::V5 => "5.0",
        }
    }
}

/// CONNECT's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect {
    pub version: Version,
    pub client_id: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub keepalive: u16,
    pub clean: bool,
}

/// One application message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish {
    pub topic: String,
    pub payload: Bytes,
    pub qos: u8,
    pub retain: bool,
    pub dup: bool,
    /// The packet identifier, present at QoS 1 (and 2).
    pub id: Option<u16>,
}

/// A packet of the subset wsrun speaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    Connect(Connect),
    /// `code`: 3.1.1's return code or 5.0's reason code (0 accepts); `reason`: 5.0's reason
    /// string property, if the server sent one.
    ConnAck {
        session_present: bool,
        code: u8,
        reason: Option<String>,
    },
    Publish(Publish),
    PubAck {
        id: u16,
        code: u8,
    },
    Subscribe {
        id: u16,
        filters: Vec<(String, u8)>,
    },
    /// One code per filter: the granted QoS, or a refusal (0x80 and up).
    SubAck {
        id: u16,
        codes: Vec<u8>,
    },
    Unsubscribe {
        id: u16,
        filters: Vec<String>,
    },
    /// 5.0 has a code per filter; 3.1.1 none.
    UnsubAck {
        id: u16,
        codes: Vec<u8>,
    },
    PingReq,
    PingResp,
    Disconnect {
        code: u8,
    },
}

/// The name of a packet type (the high nibble of the first byte).
pub fn type_name(first: u8) -> &'static str {
    match first >> 4 {
        1 => "CONNECT",
        2 => "CONNACK",
        3 => "PUBLISH",
        4 => "PUBACK",
        5 => "PUBREC",
        6 => "PUBREL",
        7 => "PUBCOMP",
        8 => "SUBSCRIBE",
        9 => "SUBACK",
        10 => "UNSUBSCRIBE",
        11 => "UNSUBACK",
        12 => "PINGREQ",
        13 => "PINGRESP",
        14 => "DISCONNECT",
        15 => "AUTH",
        _ => "reserved type 0",
    }
}

/// Why bytes are not an MQTT packet. `received` is a hex preview of the packet's bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MqttError {
    #[error("a malformed MQTT packet: its remaining length takes more than 4 bytes (received {received})")]
    LengthTooLong { received: String },
    #[error("an MQTT packet of {size} bytes, over the limit of {limit} (received {received})")]
    TooLarge {
        size: usize,
        limit: usize,
        received: String,
    },
    #[error("a malformed MQTT {packet} packet: {why} (received {received})")]
    Malformed {
        packet: &'static str,
        why: String,
        received: String,
    },
    #[error("an MQTT {packet} packet, which wsrun does not speak (received {received})")]
    Unsupported {
        packet: &'static str,
        received: String,
    },
}

/// How many bytes of a packet an error quotes.
const PREVIEW: usize = 16;

/// `30 0a 00 03 …`: the first bytes of a packet in hex.
pub fn hex_preview(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(PREVIEW * 3 + 8);
    for (i, b) in bytes.iter().take(PREVIEW).enumerate() {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(&format!("{b:02x}"));
    }
    if bytes.len() > PREVIEW {
        s.push_str(&format!(" … ({} bytes)", bytes.len()));
    }
    if bytes.is_empty() {
        s.push_str("nothing");
    }
    s
}

/// Packets from a byte stream cut anywhere: bytes go in with [`Decoder::push`], whole packets
/// come out of [`Decoder::next_packet`]; a packet's start waits for the rest of it.
#[derive(Debug)]
pub struct Decoder {
    buf: Vec<u8>,
    /// Where the next packet starts in `buf` (consumed bytes are dropped when it is emptied
    /// or on the next push, not per packet).
    start: usize,
    version: Version,
    limit: usize,
}

impl Decoder {
    /// A decoder for `version` that refuses packets bigger than `limit` bytes.
    pub fn new(version: Version, limit: usize) -> Self {
        Self {
            buf: Vec::new(),
            start: 0,
            version,
            limit,
        }
    }

    /// The version properties are read for (a broker learns it from CONNECT).
    pub fn set_version(&mut self, version: Version) {
        self.version = version;
    }

    /// Bytes of a packet begun but not finished.
    #[cfg(test)]
    pub fn partial(&self) -> usize {
        self.buf.len() - self.start
    }

    pub fn push(&mut self, data: &[u8]) {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// The next whole packet, `None` until one is there.
    pub fn next_packet(&mut self) -> Result<Option<Packet>, MqttError> {
        let rest = &self.buf[self.start..];
        let Some((header, body_len)) = fixed_header(rest, self.limit)? else {
            if rest.is_empty() {
                self.buf.clear();
                self.start = 0;
            }
            return Ok(None);
        };
        if rest.len() < header + body_len {
            return Ok(None);
        }
        let whole = &rest[..header + body_len];
        let packet = decode_body(whole[0], &whole[header..], self.version)
            .map_err(|e| e.into_error(whole))?;
        self.start += header + body_len;
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
        Ok(Some(packet))
    }
}

/// The fixed header's length and the remaining length, `None` while it is incomplete.
fn fixed_header(bytes: &[u8], limit: usize) -> Result<Option<(usize, usize)>, MqttError> {
    let mut len = 0usize;
    for i in 0..4 {
        let Some(&b) = bytes.get(1 + i) else {
            return Ok(None);
        };
        len |= usize::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            if 2 + i + len > limit {
                return Err(MqttError::TooLarge {
                    size: 2 + i + len,
                    limit,
                    received: hex_preview(bytes),
                });
            }
            return Ok(Some((2 + i, len)));
        }
    }
    Err(MqttError::LengthTooLong {
        received: hex_preview(&bytes[..bytes.len().min(5)]),
    })
}

/// Why a packet's body is wrong, before the bytes are quoted.
enum BodyError {
    Malformed(&'static str, String),
    Unsupported(&'static str),
}

impl BodyError {
    fn into_error(self, whole: &[u8]) -> MqttError {
        let received = hex_preview(whole);
        match self {
            BodyError::Malformed(packet, why) => MqttError::Malformed {
                packet,
                why,
                received,
            },
            BodyError::Unsupported(packet) => MqttError::Unsupported { packet, received },
        }
    }
}

/// A cursor over a packet's body.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    packet: &'static str,
}

impl<'a> Reader<'a> {
    fn short(&self, what: &str) -> BodyError {
        BodyError::Malformed(
            self.packet,
            format!(
                "{what} goes past the packet's end (remaining length {})",
                self.bytes.len()
            ),
        )
    }

    fn u8(&mut self, what: &str) -> Result<u8, BodyError> {
        let b = *self.bytes.get(self.at).ok_or_else(|| self.short(what))?;
        self.at += 1;
        Ok(b)
    }

    fn u16(&mut self, what: &str) -> Result<u16, BodyError> {
        let s = self.take(2, what)?;
        Ok(u16::from_be_bytes([s[0], s[1]]))
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], BodyError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| self.short(what))?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn binary(&mut self, what: &str) -> Result<&'a [u8], BodyError> {
        let n = self.u16(what)?;
        self.take(usize::from(n), what)
    }

    fn string(&mut self, what: &str) -> Result<&'a str, BodyError> {
        let b = self.binary(what)?;
        std::str::from_utf8(b)
            .map_err(|_| BodyError::Malformed(self.packet, format!("{what} is not UTF-8")))
    }

    fn varint(&mut self, what: &str) -> Result<usize, BodyError> {
        let mut n = 0usize;
        for i in 0..4 {
            let b = self.u8(what)?;
            n |= usize::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(BodyError::Malformed(
            self.packet,
            format!("{what} takes more than 4 bytes"),
        ))
    }

    /// 5.0 properties: skipped, the reason string (0x1F) kept.
    fn properties(&mut self, version: Version) -> Result<Option<String>, BodyError> {
        if version != Version::V5 {
            return Ok(None);
        }
        let len = self.varint("the properties' length")?;
        let props = self.take(len, "the properties")?;
        Ok(reason_string(props))
    }

    fn rest(&self) -> &'a [u8] {
        &self.bytes[self.at..]
    }

    fn id(&mut self) -> Result<u16, BodyError> {
        let id = self.u16("the packet identifier")?;
        if id == 0 {
            return Err(BodyError::Malformed(
                self.packet,
                "packet identifier 0".into(),
            ));
        }
        Ok(id)
    }
}

/// The reason string among 5.0 properties, if they can be walked (every identifier known).
fn reason_string(mut props: &[u8]) -> Option<String> {
    while let Some((&id, rest)) = props.split_first() {
        let len = match id {
            0x01 | 0x17 | 0x19 | 0x24 | 0x25 | 0x28 | 0x29 | 0x2A => 1,
            0x13 | 0x21 | 0x22 | 0x23 => 2,
            0x02 | 0x11 | 0x18 | 0x27 => 4,
            0x0B => rest.iter().position(|b| b & 0x80 == 0)? + 1,
            0x03 | 0x08 | 0x09 | 0x12 | 0x15 | 0x16 | 0x1A | 0x1C | 0x1F => {
                let n = usize::from(u16::from_be_bytes([*rest.first()?, *rest.get(1)?]));
                if id == 0x1F {
                    let s = rest.get(2..2 + n)?;
                    return Some(String::from_utf8_lossy(s).into_owned());
                }
                2 + n
            }
            0x26 => {
                let k = usize::from(u16::from_be_bytes([*rest.first()?, *rest.get(1)?]));
                let v = rest.get(2 + k..4 + k)?;
                2 + k + 2 + usize::from(u16::from_be_bytes([v[0], v[1]]))
            }
            _ => return None,
        };
        props = rest.get(len..)?;
    }
    None
}

/// One packet from its first byte and body.
fn decode_body(first: u8, body: &[u8], version: Version) -> Result<Packet, BodyError> {
    let packet = type_name(first);
    let mut r = Reader {
        bytes: body,
        at: 0,
        packet,
    };
    let flags = first & 0x0f;
    let fixed_flags = |want: u8| -> Result<(), BodyError> {
        if flags == want {
            Ok(())
        } else {
            Err(BodyError::Malformed(
                packet,
                format!("fixed header flags {flags:#06b}, not {want:#06b}"),
            ))
        }
    };
    let p = match first >> 4 {
        1 => Packet::Connect(decode_connect(&mut r)?),
        2 => {
            fixed_flags(0)?;
            let ack = r.u8("the acknowledge flags")?;
            let code = r.u8("the return code")?;
            // A 3.1.1 broker refuses a 5.0 CONNECT in 3.1.1's form: no properties.
            let reason = if r.rest().is_empty() {
                None
            } else {
                r.properties(version)?
            };
            Packet::ConnAck {
                session_present: ack & 1 == 1,
                code,
                reason,
            }
        }
        3 => Packet::Publish(decode_publish(&mut r, flags, version)?),
        4 => {
            fixed_flags(0)?;
            let id = r.id()?;
            // 5.0 may leave out the reason code (then 0, success) and the properties.
            let code = if r.rest().is_empty() {
                0
            } else {
                r.u8("the reason code")?
            };
            Packet::PubAck { id, code }
        }
        8 => {
            fixed_flags(2)?;
            decode_subscribe(&mut r, version)?
        }
        9 | 11 => {
            fixed_flags(0)?;
            let id = r.id()?;
            r.properties(version)?;
            let codes = r.rest().to_vec();
            if first >> 4 == 9 {
                if codes.is_empty() {
                    return Err(BodyError::Malformed(packet, "no return code".into()));
                }
                Packet::SubAck { id, codes }
            } else {
                Packet::UnsubAck { id, codes }
            }
        }
        10 => {
            fixed_flags(2)?;
            decode_unsubscribe(&mut r, version)?
        }
        12 | 13 => {
            fixed_flags(0)?;
            if !body.is_empty() {
                return Err(BodyError::Malformed(
                    packet,
                    format!("a remaining length of {}, not 0", body.len()),
                ));
            }
            if first >> 4 == 12 {
                Packet::PingReq
            } else {
                Packet::PingResp
            }
        }
        14 => {
            fixed_flags(0)?;
            let code = if body.is_empty() {
                0
            } else {
                r.u8("the reason code")?
            };
            Packet::Disconnect { code }
        }
        5 | 6 | 7 | 15 => return Err(BodyError::Unsupported(packet)),
        _ => {
            return Err(BodyError::Malformed(
                packet,
                "packet type 0 is reserved".into(),
            ))
        }
    };
    Ok(p)
}

fn decode_subscribe(r: &mut Reader, version: Version) -> Result<Packet, BodyError> {
    let id = r.id()?;
    r.properties(version)?;
    let mut filters = Vec::new();
    while !r.rest().is_empty() {
        let f = r.string("a topic filter")?.to_string();
        let options = r.u8("a filter's options")?;
        filters.push((f, options & 3));
    }
    if filters.is_empty() {
        return Err(BodyError::Malformed("SUBSCRIBE", "no topic filter".into()));
    }
    Ok(Packet::Subscribe { id, filters })
}

fn decode_unsubscribe(r: &mut Reader, version: Version) -> Result<Packet, BodyError> {
    let id = r.id()?;
    r.properties(version)?;
    let mut filters = Vec::new();
    while !r.rest().is_empty() {
        filters.push(r.string("a topic filter")?.to_string());
    }
    Ok(Packet::Unsubscribe { id, filters })
}

fn decode_publish(r: &mut Reader, flags: u8, version: Version) -> Result<Publish, BodyError> {
    let qos = (flags >> 1) & 3;
    if qos == 3 {
        return Err(BodyError::Malformed("PUBLISH", "QoS 3".into()));
    }
    let topic = r.string("the topic")?.to_string();
    let id = if qos > 0 { Some(r.id()?) } else { None };
    r.properties(version)?;
    Ok(Publish {
        topic,
        payload: Bytes::copy_from_slice(r.rest()),
        qos,
        retain: flags & 1 == 1,
        dup: flags & 8 == 8,
        id,
    })
}

fn decode_connect(r: &mut Reader) -> Result<Connect, BodyError> {
    let name = r.string("the protocol name")?;
    let level = r.u8("the protocol level")?;
    let version = match (name, level) {
        ("MQTT", 4) => Version::V311,
        ("MQTT", 5) => Version::V5,
        _ => {
            return Err(BodyError::Malformed(
                "CONNECT",
                format!("protocol {name:?} level {level}, not MQTT 3.1.1 (4) or 5.0 (5)"),
            ))
        }
    };
    let flags = r.u8("the connect flags")?;
    let keepalive = r.u16("the keep alive")?;
    r.properties(version)?;
    let client_id = r.string("the client identifier")?.to_string();
    if flags & 0x04 != 0 {
        r.properties(version)?;
        r.string("the will topic")?;
        r.binary("the will message")?;
    }
    let username = if flags & 0x80 != 0 {
        Some(r.string("the user name")?.to_string())
    } else {
        None
    };
    let password = if flags & 0x40 != 0 {
        Some(String::from_utf8_lossy(r.binary("the password")?).into_owned())
    } else {
        None
    };
    Ok(Connect {
        version,
        client_id,
        username,
        password,
        keepalive,
        clean: flags & 0x02 != 0,
    })
}

#[cfg(test)]
#[path = "codec_tests.rs"]
mod tests;
