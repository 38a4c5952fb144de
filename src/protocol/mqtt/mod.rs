//! `protocol: mqtt` (MQTT 3.1.1 and 5.0 over WebSocket, docs/protocols/mqtt.md): asks for the
//! subprotocol `mqtt`, sends CONNECT in a binary frame and waits for CONNACK (a refusal fails
//! the connection naming its code), sends PINGREQ every keep-alive and absorbs PINGRESP,
//! answers a QoS 1 PUBLISH with PUBACK, and hands the steps every PUBLISH as the envelope
//! `{topic, payload, qos, retain}` and every acknowledgement as `{packet, id, codes}`.
//! Packets may be split across frames or several in one ([`codec::Decoder`]).

pub mod broker;
pub mod codec;
mod encode;
pub mod envelope;
pub(crate) mod mock;
pub(crate) mod run;
pub mod yaml;

use std::time::Duration;

use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use super::{Decoded, Incoming, Protocol};
use codec::{Connect, Decoder, Packet, Version};

/// Its reference page.
pub const DOCS: &str = "docs/protocols/mqtt.md";

/// Its own steps.
pub const STEPS: &[&str] = &["publish", "subscribe", "unsubscribe"];

/// The client side, `mqtt: {client_id, username, password, version, keepalive, clean}`
/// expanded.
pub fn client(
    o: &yaml::MqttOptions,
    scope: &dyn crate::template::Lookup,
) -> Result<Box<dyn Protocol>, String> {
    Ok(Box::new(Mqtt::new(o.expand(scope)?)))
}

/// A mock's side: a broker shared by its clients.
pub(crate) fn mock(
    def: &crate::collection::MockDef,
) -> Result<Box<dyn crate::mock::protocol::Speaker>, String> {
    mock::Mock::compile(def).map(|m| Box::new(m) as Box<dyn crate::mock::protocol::Speaker>)
}

/// The subprotocol MQTT over WebSocket asks for (MQTT 3.1.1 §6, 5.0 §6).
pub const SUBPROTOCOL: &str = "mqtt";

/// The largest packet accepted from the server: a bound on what a hostile one can make us buffer.
pub const MAX_PACKET: usize = 64 << 20;

/// A connection's options, templates expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub client_id: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub version: Version,
    /// Seconds; 0 turns keep-alives off.
    pub keepalive: u16,
    pub clean: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            client_id: String::new(),
            username: None,
            password: None,
            version: Version::V311,
            keepalive: 60,
            clean: true,
        }
    }
}

/// One MQTT client connection.
pub struct Mqtt {
    options: Options,
    decoder: Decoder,
    connected: bool,
    /// Set by a failure: what follows it is not read.
    broken: bool,
}

impl Mqtt {
    pub fn new(mut options: Options) -> Self {
        if options.client_id.is_empty() {
            // 3.1.1 brokers may refuse an empty client id (return code 2): make one up.
            options.client_id = format!("wsrun-{}", uuid::Uuid::new_v4().simple());
        }
        Self {
            decoder: Decoder::new(options.version, MAX_PACKET),
            options,
            connected: false,
            broken: false,
        }
    }

    /// What one packet from the server means.
    fn packet(&mut self, packet: Packet, out: &mut Vec<Message>) -> Decoded {
        let version = self.options.version;
        if !self.connected {
            return match packet {
                Packet::ConnAck { code: 0, .. } => {
                    self.connected = true;
                    Decoded::Absorbed
                }
                // 5.0 refusals are 0x80 and up: a lower code is a 3.1.1 broker's answer.
                Packet::ConnAck { code, .. } if version == Version::V5 && code < 0x80 => {
                    Decoded::Failed(format!(
                        "the broker refused the MQTT connection: CONNACK {}, in MQTT 3.1.1's form: it does not speak MQTT 5.0 (`mqtt: {{version: \"3.1.1\"}}`)",
                        envelope::describe_code(Version::V311, code, envelope::Ack::Connect),
                    ))
                }
                Packet::ConnAck { code, reason, .. } => Decoded::Failed(format!(
                    "the broker refused the MQTT connection: CONNACK {}{}",
                    envelope::describe_code(version, code, envelope::Ack::Connect),
                    reason.map(|r| format!(": {r}")).unwrap_or_default()
                )),
                other => Decoded::Failed(format!(
                    "the broker sent {} before CONNACK, in answer to CONNECT",
                    envelope::name(&other)
                )),
            };
        }
        match packet {
            Packet::PingResp => Decoded::Absorbed,
            Packet::Publish(p) => {
                if let (1, Some(id)) = (p.qos, p.id) {
                    out.push(binary(&Packet::PubAck { id, code: 0 }, version));
                }
                Decoded::Message(Incoming::Envelope(envelope::publish(&p)))
            }
            Packet::PubAck { .. } | Packet::SubAck { .. } | Packet::UnsubAck { .. } => {
                Decoded::Message(Incoming::Envelope(envelope::ack(&packet, version)))
            }
            Packet::Disconnect { code } => Decoded::Failed(format!(
                "the broker sent DISCONNECT: reason code {}",
                envelope::describe_code(version, code, envelope::Ack::Disconnect)
            )),
            Packet::ConnAck { .. } => {
                Decoded::Failed("the broker sent a second CONNACK".to_string())
            }
            other => Decoded::Failed(format!(
                "the broker sent {}, a packet only a client sends",
                envelope::name(&other)
            )),
        }
    }
}

/// A packet as one binary frame.
pub fn binary(packet: &Packet, version: Version) -> Message {
    Message::binary(packet.encode(version))
}

impl Protocol for Mqtt {
    fn name(&self) -> &'static str {
        "mqtt"
    }

    fn prepare(&self, _url: &mut String, subprotocols: &mut Vec<String>) -> Result<(), String> {
        if !subprotocols.iter().any(|s| s == SUBPROTOCOL) {
            subprotocols.push(SUBPROTOCOL.to_string());
        }
        Ok(())
    }

    fn greet(&mut self, out: &mut Vec<Message>) {
        let o = &self.options;
        let connect = Packet::Connect(Connect {
            version: o.version,
            client_id: o.client_id.clone(),
            username: o.username.clone(),
            password: o.password.clone(),
            keepalive: o.keepalive,
            clean: o.clean,
        });
        out.push(binary(&connect, o.version));
    }

    fn pending(&self) -> Option<String> {
        (!self.connected).then(|| "CONNACK".to_string())
    }

    fn decode(&mut self, frame: Incoming, out: &mut Vec<Message>) -> Decoded {
        let bytes = match frame {
            Incoming::Binary(b) => b,
            Incoming::Text(t) => {
                return Decoded::Failed(format!(
                    "the server sent a text frame, but MQTT packets travel in binary frames: {}",
                    crate::report::truncate(t.as_str(), 100)
                ))
            }
            Incoming::Envelope(_) => return Decoded::Message(frame),
        };
        if self.broken {
            return Decoded::Absorbed;
        }
        self.decoder.push(&bytes);
        self.queued(out).unwrap_or(Decoded::Absorbed)
    }

    /// The next packet already received that is a message or a failure: packets are decoded
    /// one at a time, so a frame of many small packets costs no more memory than its bytes.
    fn queued(&mut self, out: &mut Vec<Message>) -> Option<Decoded> {
        while !self.broken {
            let decoded = match self.decoder.next_packet() {
                Ok(Some(packet)) => self.packet(packet, out),
                Ok(None) => return None,
                Err(e) => Decoded::Failed(format!("the server sent {e}")),
            };
            match decoded {
                Decoded::Absorbed => {}
                Decoded::Failed(_) => {
                    self.broken = true;
                    return Some(decoded);
                }
                Decoded::Message(_) => return Some(decoded),
            }
        }
        None
    }

    /// Steps send envelopes (`{topic, payload…}`, `{subscribe}`, `{unsubscribe}`): never as JSON text.
    fn sends_json_as_is(&self) -> bool {
        false
    }

    fn encode(&mut self, envelope: Value, out: &mut Vec<Message>) -> Result<(), String> {
        let packet = envelope::outgoing(&envelope)?;
        out.push(binary(&packet, self.options.version));
        Ok(())
    }

    fn tick_every(&self) -> Option<Duration> {
        let seconds = self.options.keepalive;
        (self.connected && seconds > 0).then(|| Duration::from_secs(u64::from(seconds)))
    }

    fn tick(&mut self, out: &mut Vec<Message>) {
        out.push(binary(&Packet::PingReq, self.options.version));
    }

    fn farewell(&mut self, out: &mut Vec<Message>) {
        if self.connected {
            out.push(binary(
                &Packet::Disconnect { code: 0 },
                self.options.version,
            ));
        }
    }
}

#[cfg(test)]
mod tests;
