//! `protocol: phoenix` (Phoenix Channels, serializer 2.0.0): the URL gets `vsn=2.0.0` (and the
//! socket's `params`) in its query as phoenix.js does, a `heartbeat` goes to topic `phoenix`
//! every period and its `phx_reply` is absorbed, and every other message reaches the steps as
//! the envelope `{topic, event, payload}` (with `ref` on replies). Messages the steps send in
//! envelope form get a fresh ref, and the `join_ref` of their topic's `phx_join`.

pub(crate) mod mock;
pub(crate) mod run;
pub mod wire;
pub mod yaml;

/// Its reference page.
pub const DOCS: &str = "docs/protocols/phoenix.md";

/// Its own steps.
pub const STEPS: &[&str] = &["join", "push", "leave"];

/// The client side, `phoenix: {params, heartbeat}` expanded.
pub fn client(o: &yaml::PhoenixOptions, scope: &dyn Lookup) -> Result<Box<dyn Protocol>, String> {
    let mut params = Vec::new();
    for (key, value) in &o.params.0 {
        let value = value.expand(scope);
        params.push((
            key.clone(),
            value.map_err(|e| format!("phoenix.params.{key}: {e}"))?,
        ));
    }
    let heartbeat = o.heartbeat.map_or(HEARTBEAT_EVERY, |d| d.0);
    let heartbeat = (!heartbeat.is_zero()).then_some(heartbeat);
    Ok(Box::new(Phoenix::new(params, heartbeat)))
}

/// A mock's side: a Phoenix endpoint, one socket per client.
pub(crate) fn mock(
    _def: &crate::collection::MockDef,
) -> Result<Box<dyn crate::mock::protocol::Speaker>, String> {
    Ok(Box::new(mock::Endpoint))
}

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::Duration;

use serde_json::{Map, Value};
use tokio_tungstenite::tungstenite::Message;

use super::{Decoded, Incoming, Protocol};
use crate::template::Lookup;
use wire::Msg;

/// How many unanswered heart-beats are remembered: a server that never answers them costs no
/// more than this (a reply to an older one reaches the steps as a message).
const BEATS_REMEMBERED: usize = 16;

/// phoenix.js's default heart-beat period.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(30);

/// One Phoenix socket.
pub struct Phoenix {
    /// Socket params, added to the URL's query (`token`…).
    params: Vec<(String, String)>,
    /// `None`: no heart-beats.
    heartbeat: Option<Duration>,
    /// The `join_ref` of every topic joined, by topic.
    joined: HashMap<String, String>,
    /// The refs of heart-beats whose reply has not come yet, oldest first.
    beating: VecDeque<String>,
    /// Numeric refs sent on this connection: fresh refs skip them.
    used: BTreeSet<u64>,
}

impl Phoenix {
    /// A socket with these params that heart-beats every `heartbeat` (`None`: never).
    pub fn new(params: Vec<(String, String)>, heartbeat: Option<Duration>) -> Self {
        Self {
            params,
            heartbeat,
            joined: HashMap::new(),
            beating: VecDeque::new(),
            used: BTreeSet::new(),
        }
    }

    /// A ref no message of this connection carries yet.
    fn own_ref(&mut self) -> String {
        let id = self.used.last().map_or(1, |last| last + 1);
        self.used.insert(id);
        // Heart-beats alone would grow the set for ever; refs this far back are long answered.
        self.used = self.used.split_off(&id.saturating_sub(1024));
        id.to_string()
    }

    /// The `join_ref` a message on `topic` carries: its join's, if it was joined.
    pub fn join_ref(&self, topic: &str) -> Option<&str> {
        self.joined.get(topic).map(String::as_str)
    }
}

impl Protocol for Phoenix {
    fn name(&self) -> &'static str {
        "phoenix"
    }

    fn prepare(&self, url: &mut String, _subprotocols: &mut Vec<String>) -> Result<(), String> {
        *url = wire::with_query(url, &self.params)?;
        Ok(())
    }

    fn decode(&mut self, frame: Incoming, _out: &mut Vec<Message>) -> Decoded {
        let text = match &frame {
            Incoming::Text(t) => t.as_str(),
            // The binary serializer's frames (binary payloads) reach the steps as they are.
            Incoming::Binary(_) | Incoming::Envelope(_) => return Decoded::Message(frame),
        };
        let msg = match wire::decode(text) {
            Ok(msg) => msg,
            Err(why) => return Decoded::Failed(why),
        };
        if msg.topic == wire::SOCKET_TOPIC && msg.event == wire::REPLY {
            if let Some(r) = &msg.r#ref {
                if let Some(at) = self.beating.iter().position(|b| b == r) {
                    self.beating.remove(at);
                    return Decoded::Absorbed;
                }
            }
        }
        if msg.event == wire::CLOSE && self.join_ref(&msg.topic) == msg.join_ref.as_deref() {
            self.joined.remove(&msg.topic);
        }
        Decoded::Message(Incoming::Envelope(msg.envelope()))
    }

    fn sends_json_as_is(&self) -> bool {
        false
    }

    /// `{topic, event, payload, ref?, join_ref?}` as `[join_ref, ref, topic, event, payload]`.
    fn encode(&mut self, envelope: Value, out: &mut Vec<Message>) -> Result<(), String> {
        let msg = self.message(envelope)?;
        if msg.event == wire::JOIN {
            if let Some(r) = &msg.r#ref {
                self.joined.insert(msg.topic.clone(), r.clone());
            }
        }
        out.push(Message::text(msg.encode()));
        Ok(())
    }

    fn sent(&mut self, text: &str) {
        if let Ok(msg) = wire::decode(text) {
            if let Some(id) = msg.r#ref.and_then(|r| r.parse().ok()) {
                self.used.insert(id);
            }
        }
    }

    fn taken(&mut self, id: u64) -> bool {
        // Asked with ever larger ids: the smaller ones are forgotten.
        self.used = self.used.split_off(&id);
        self.used.contains(&id)
    }

    fn tick_every(&self) -> Option<Duration> {
        self.heartbeat
    }

    fn tick(&mut self, out: &mut Vec<Message>) {
        let r = self.own_ref();
        self.beating.push_back(r.clone());
        if self.beating.len() > BEATS_REMEMBERED {
            self.beating.pop_front();
        }
        let beat = Msg {
            join_ref: None,
            r#ref: Some(r),
            topic: wire::SOCKET_TOPIC.into(),
            event: wire::HEARTBEAT.into(),
            payload: Value::Object(Map::new()),
        };
        out.push(Message::text(beat.encode()));
    }
}

impl Phoenix {
    /// A step's message in envelope form: the ref it names or a fresh one, and the join_ref of
    /// its topic (its own ref, for a `phx_join`).
    fn message(&mut self, envelope: Value) -> Result<Msg, String> {
        let shape = "a Phoenix message is `{topic, event, payload}`";
        let Value::Object(mut fields) = envelope else {
            return Err(format!("{shape}, not {envelope}"));
        };
        let mut text = |key: &str| match fields.remove(key) {
            Some(Value::String(s)) => Ok(Some(s)),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            None | Some(Value::Null) => Ok(None),
            Some(other) => Err(format!(
                "{shape}: its `{key}` must be a string, not {other}"
            )),
        };
        let topic = text("topic")?.ok_or_else(|| format!("{shape}: it has no `topic`"))?;
        let event = text("event")?.ok_or_else(|| format!("{shape}: it has no `event`"))?;
        let r#ref = match text("ref")? {
            Some(r) => r,
            None => self.own_ref(),
        };
        let join_ref = match text("join_ref")? {
            Some(j) => Some(j),
            None if event == wire::JOIN => Some(r#ref.clone()),
            None => self.joined.get(&topic).cloned(),
        };
        let payload = fields
            .remove("payload")
            .unwrap_or_else(|| Value::Object(Map::new()));
        if let Some(key) = fields.keys().next() {
            return Err(format!("{shape}: `{key}` is none of its fields"));
        }
        Ok(Msg {
            join_ref,
            r#ref: Some(r#ref),
            topic,
            event,
            payload,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn text(frame: &str) -> Incoming {
        Incoming::Text(frame.to_string().into())
    }

    fn sent(p: &mut Phoenix, envelope: Value) -> String {
        let mut out = Vec::new();
        p.encode(envelope, &mut out).unwrap();
        let text = out[0].to_text().unwrap().to_string();
        p.sent(&text);
        text
    }

    #[test]
    fn the_url_asks_for_serializer_2_with_the_socket_params() {
        let p = Phoenix::new(vec![("token".into(), "t1".into())], None);
        let mut url = "ws://h/socket/websocket".to_string();
        p.prepare(&mut url, &mut Vec::new()).unwrap();
        assert_eq!(url, "ws://h/socket/websocket?token=t1&vsn=2.0.0");
        let mut v1 = "ws://h/socket/websocket?vsn=1.0.0".to_string();
        assert_eq!(
            p.prepare(&mut v1, &mut Vec::new()).unwrap_err(),
            "the URL asks for Phoenix serializer vsn=1.0.0, but wsrun speaks 2.0.0 (arrays); leave `vsn` out of the URL"
        );
    }

    #[test]
    fn a_join_carries_its_ref_as_join_ref_and_later_pushes_carry_it_too() {
        let mut p = Phoenix::new(vec![], None);
        let join = json!({"topic": "room:1", "event": "phx_join", "payload": {}, "ref": "4"});
        assert_eq!(sent(&mut p, join), r#"["4","4","room:1","phx_join",{}]"#);
        let push = json!({"topic": "room:1", "event": "shout", "payload": {"b": 1}, "ref": 5});
        assert_eq!(sent(&mut p, push), r#"["4","5","room:1","shout",{"b":1}]"#);
        // Without a ref: one that no message of this connection used.
        let other = json!({"topic": "room:2", "event": "x"});
        assert_eq!(sent(&mut p, other), r#"[null,"6","room:2","x",{}]"#);
        assert!(p.taken(6));
        assert!(!p.taken(7));
    }

    #[test]
    fn heart_beats_go_to_topic_phoenix_and_their_replies_are_absorbed() {
        let mut p = Phoenix::new(vec![], Some(Duration::from_secs(1)));
        assert_eq!(p.tick_every(), Some(Duration::from_secs(1)));
        let mut out = Vec::new();
        p.tick(&mut out);
        assert_eq!(
            out[0].to_text().unwrap(),
            r#"[null,"1","phoenix","heartbeat",{}]"#
        );
        let reply = r#"[null,"1","phoenix","phx_reply",{"status":"ok","response":{}}]"#;
        assert!(matches!(p.decode(text(reply), &mut out), Decoded::Absorbed));
        // A reply to no heart-beat of ours is a message like any other.
        assert!(matches!(
            p.decode(text(reply), &mut out),
            Decoded::Message(Incoming::Envelope(_))
        ));
        // A server that never answers: only the latest beats are remembered.
        for _ in 0..100 {
            p.tick(&mut out);
        }
        assert_eq!(p.beating.len(), BEATS_REMEMBERED);
        for _ in 0..2000 {
            p.tick(&mut out);
        }
        assert!(p.used.len() <= 1025, "{}", p.used.len());
    }

    #[test]
    fn a_broken_frame_fails_the_connection_naming_phoenix() {
        let mut p = Phoenix::new(vec![], None);
        let Decoded::Failed(why) = p.decode(text(r#"["1","1"]"#), &mut Vec::new()) else {
            panic!("not a failure")
        };
        assert!(why.starts_with("the server sent a frame that is not a Phoenix message (an array of 2 items, not 5;"), "{why}");
    }

    #[test]
    fn an_envelope_without_topic_or_with_stray_keys_is_refused() {
        let mut p = Phoenix::new(vec![], None);
        let mut out = Vec::new();
        assert_eq!(
            p.encode(json!({"event": "x"}), &mut out).unwrap_err(),
            "a Phoenix message is `{topic, event, payload}`: it has no `topic`"
        );
        assert_eq!(
            p.encode(json!({"topic": "t", "event": "x", "body": 1}), &mut out)
                .unwrap_err(),
            "a Phoenix message is `{topic, event, payload}`: `body` is none of its fields"
        );
    }
}
