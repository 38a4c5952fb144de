//! A small MQTT broker, the mock side of `protocol: mqtt`: CONNECT gets CONNACK, SUBSCRIBE
//! (with `+` and `#` wildcards) gets SUBACK and the retained messages its filter matches,
//! PUBLISH is acknowledged at QoS 1, kept when retained, and delivered to every client
//! subscribed (the sender too), PINGREQ gets PINGRESP. Without I/O: a client's session turns
//! its bytes into answers for it and deliveries for the others, through their channels.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use super::codec::{Decoder, Packet, Publish, Version};
use super::{binary, envelope, MAX_PACKET};

/// The broker of one mock: every client's subscriptions and the retained messages.
#[derive(Default)]
pub struct Broker {
    state: Mutex<State>,
    next_client: AtomicU64,
}

#[derive(Default)]
struct State {
    subscriptions: Vec<Subscription>,
    /// The last retained message per topic.
    retained: BTreeMap<String, Publish>,
}

struct Subscription {
    filter: String,
    qos: u8,
    to: Arc<Link>,
}

/// The way to one client: its connection's channel, its protocol version and packet ids.
struct Link {
    client: u64,
    version: Version,
    to: mpsc::UnboundedSender<Message>,
    next_id: AtomicU16,
}

impl Link {
    /// `p` for this client: its QoS at most `qos`, a packet id of its own at QoS 1.
    fn deliver(&self, p: &Publish, qos: u8, retain: bool) -> Message {
        let qos = qos.min(p.qos);
        let id = (qos > 0).then(|| {
            // Ids run 1..=65535: 0 is no packet identifier.
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            if id == 0 {
                self.next_id.fetch_add(1, Ordering::Relaxed)
            } else {
                id
            }
        });
        let delivered = Publish {
            topic: p.topic.clone(),
            payload: p.payload.clone(),
            qos,
            retain,
            dup: false,
            id,
        };
        binary(&Packet::Publish(delivered), self.version)
    }
}

impl Broker {
    fn state(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means another client's session panicked; the state is intact.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A session for a new client; `to` reaches its connection (deliveries from others).
    pub fn session(&self, to: mpsc::UnboundedSender<Message>) -> Session<'_> {
        Session {
            broker: self,
            client: self.next_client.fetch_add(1, Ordering::Relaxed),
            decoder: Decoder::new(Version::V311, MAX_PACKET),
            link: None,
            to,
        }
    }
}

/// One client's conversation with the broker.
pub struct Session<'a> {
    broker: &'a Broker,
    client: u64,
    decoder: Decoder,
    /// Set by CONNECT.
    link: Option<Arc<Link>>,
    to: mpsc::UnboundedSender<Message>,
}

/// What ends a client's connection: a broken or unexpected packet, or its DISCONNECT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    Disconnected,
    /// A protocol error, in words (the close frame's reason).
    Refused(String),
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        let client = self.client;
        self.broker
            .state()
            .subscriptions
            .retain(|s| s.to.client != client);
    }
}

impl Session<'_> {
    /// The version the client connected with (3.1.1 until CONNECT).
    pub fn version(&self) -> Version {
        self.link.as_ref().map_or(Version::V311, |l| l.version)
    }

    /// Bytes from the client (a binary frame): answers go in `out`, each PUBLISH's envelope in
    /// `published` (what the mock's `on:` rules see).
    pub fn receive(
        &mut self,
        bytes: &[u8],
        out: &mut Vec<Message>,
        published: &mut Vec<Value>,
    ) -> Result<(), End> {
        self.decoder.push(bytes);
        loop {
            let packet = match self.decoder.next_packet() {
                Ok(Some(p)) => p,
                Ok(None) => return Ok(()),
                Err(e) => return Err(End::Refused(format!("the client sent {e}"))),
            };
            self.packet(packet, out, published)?;
        }
    }

    fn packet(
        &mut self,
        packet: Packet,
        out: &mut Vec<Message>,
        published: &mut Vec<Value>,
    ) -> Result<(), End> {
        let Some(link) = self.link.clone() else {
            let Packet::Connect(c) = packet else {
                return Err(End::Refused(format!(
                    "{} before CONNECT",
                    envelope::name(&packet)
                )));
            };
            self.decoder.set_version(c.version);
            self.link = Some(Arc::new(Link {
                client: self.client,
                version: c.version,
                to: self.to.clone(),
                next_id: AtomicU16::new(1),
            }));
            let connack = Packet::ConnAck {
                session_present: false,
                code: 0,
                reason: None,
            };
            out.push(binary(&connack, c.version));
            return Ok(());
        };
        let version = link.version;
        match packet {
            Packet::Publish(p) => {
                if p.topic.contains(['+', '#']) || p.topic.is_empty() {
                    return Err(End::Refused(format!(
                        "PUBLISH to {:?}, not a topic name",
                        p.topic
                    )));
                }
                if let (1, Some(id)) = (p.qos, p.id) {
                    out.push(binary(&Packet::PubAck { id, code: 0 }, version));
                }
                published.push(envelope::publish(&p));
                self.publish(p, out);
            }
            Packet::Subscribe { id, filters } => self.subscribe(&link, id, filters, out),
            Packet::Unsubscribe { id, filters } => {
                let mut state = self.broker.state();
                let mut codes = Vec::new();
                for f in &filters {
                    let before = state.subscriptions.len();
                    state
                        .subscriptions
                        .retain(|s| !(s.to.client == self.client && &s.filter == f));
                    // 5.0: success, or "no subscription existed".
                    codes.push(if state.subscriptions.len() < before {
                        0
                    } else {
                        0x11
                    });
                }
                drop(state);
                out.push(binary(&Packet::UnsubAck { id, codes }, version));
            }
            Packet::PingReq => out.push(binary(&Packet::PingResp, version)),
            Packet::PubAck { .. } => {}
            Packet::Disconnect { .. } => return Err(End::Disconnected),
            other => {
                return Err(End::Refused(format!(
                    "{}, a packet only a broker sends",
                    envelope::name(&other)
                )))
            }
        }
        Ok(())
    }

    /// SUBACK (a malformed filter refused), then the retained messages the filters match.
    fn subscribe(
        &mut self,
        link: &Arc<Link>,
        id: u16,
        filters: Vec<(String, u8)>,
        out: &mut Vec<Message>,
    ) {
        let version = link.version;
        let mut codes = Vec::with_capacity(filters.len());
        let mut retained = Vec::new();
        let mut state = self.broker.state();
        for (filter, qos) in filters {
            if !valid_filter(&filter) {
                // 3.1.1's failure; 5.0's "topic filter invalid".
                codes.push(if version == Version::V5 { 0x8F } else { 0x80 });
                continue;
            }
            let qos = qos.min(1);
            codes.push(qos);
            for p in state.retained.values() {
                if matches(&filter, &p.topic) {
                    retained.push(link.deliver(p, qos, true));
                }
            }
            state
                .subscriptions
                .retain(|s| !(s.to.client == self.client && s.filter == filter));
            state.subscriptions.push(Subscription {
                filter,
                qos,
                to: link.clone(),
            });
        }
        drop(state);
        out.push(binary(&Packet::SubAck { id, codes }, version));
        out.extend(retained);
    }

    /// Keeps a retained message (an empty one deletes it) and delivers `p` to every client
    /// subscribed to its topic, once each, at the highest QoS its matching filters grant.
    fn publish(&mut self, p: Publish, out: &mut Vec<Message>) {
        let mut state = self.broker.state();
        let mut to: Vec<(Arc<Link>, u8)> = Vec::new();
        for s in state
            .subscriptions
            .iter()
            .filter(|s| matches(&s.filter, &p.topic))
        {
            match to.iter_mut().find(|(l, _)| l.client == s.to.client) {
                Some((_, qos)) => *qos = (*qos).max(s.qos),
                None => to.push((s.to.clone(), s.qos)),
            }
        }
        if p.retain {
            if p.payload.is_empty() {
                state.retained.remove(&p.topic);
            } else {
                state.retained.insert(p.topic.clone(), p.clone());
            }
        }
        drop(state);
        for (link, qos) in to {
            let message = link.deliver(&p, qos, false);
            if link.client == self.client {
                out.push(message);
            } else {
                // A subscriber that has gone is removed when its session ends.
                let _ = link.to.send(message);
            }
        }
    }
}

/// Whether a filter is well formed: `#` only as the last level, `+` only as a whole level.
pub fn valid_filter(filter: &str) -> bool {
    let levels: Vec<&str> = filter.split('/').collect();
    !filter.is_empty()
        && levels.iter().enumerate().all(|(i, l)| {
            (*l == "#" && i == levels.len() - 1) || *l == "+" || !l.contains(['#', '+'])
        })
}

/// Whether `topic` matches `filter` (MQTT 3.1.1 §4.7): `+` is one level, `#` the rest (the
/// parent too); topics starting with `$` are not matched by a leading wildcard.
pub fn matches(filter: &str, topic: &str) -> bool {
    if topic.starts_with('$') && filter.starts_with(['+', '#']) {
        return false;
    }
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
#[path = "broker_tests.rs"]
mod tests;
