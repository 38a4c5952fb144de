//! The mock broker: matching, retained messages, fan-out, acknowledgements.

use serde_json::json;

use super::*;
use crate::protocol::mqtt::codec::Connect;

#[test]
fn wildcards_match_as_the_standard_says() {
    assert!(matches("sport/tennis/#", "sport/tennis"));
    assert!(matches("sport/tennis/#", "sport/tennis/player1/ranking"));
    assert!(matches("sport/+/player1", "sport/tennis/player1"));
    assert!(!matches("sport/+", "sport/tennis/player1"));
    assert!(matches("+/+", "/finance"));
    assert!(matches("#", "a/b"));
    assert!(!matches("#", "$SYS/uptime"));
    assert!(matches("$SYS/#", "$SYS/uptime"));
    assert!(!matches("a/b", "a/b/c"));
    assert!(valid_filter("a/+/#"));
    assert!(!valid_filter("a/#/b"));
    assert!(!valid_filter("a+/b"));
}

fn connect(version: Version) -> Vec<u8> {
    Packet::Connect(Connect {
        version,
        client_id: "x".into(),
        username: None,
        password: None,
        keepalive: 0,
        clean: true,
    })
    .encode(version)
}

fn packets(messages: &[Message], version: Version) -> Vec<Packet> {
    let mut d = Decoder::new(version, 1 << 20);
    let mut out = Vec::new();
    for m in messages {
        d.push(&m.clone().into_data());
        while let Some(p) = d.next_packet().unwrap() {
            out.push(p);
        }
    }
    out
}

fn publish(topic: &str, payload: &str, qos: u8, retain: bool) -> Vec<u8> {
    Packet::Publish(Publish {
        topic: topic.into(),
        payload: payload.to_string().into(),
        qos,
        retain,
        dup: false,
        id: (qos > 0).then_some(5),
    })
    .encode(Version::V311)
}

fn subscribe(filter: &str, qos: u8) -> Vec<u8> {
    Packet::Subscribe {
        id: 2,
        filters: vec![(filter.into(), qos)],
    }
    .encode(Version::V311)
}

#[test]
fn a_subscriber_gets_retained_messages_then_live_ones_from_another_client() {
    let broker = Broker::default();
    let (tx_a, _rx_a) = mpsc::unbounded_channel();
    let (tx_b, mut rx_b) = mpsc::unbounded_channel();
    let mut a = broker.session(tx_a);
    let mut b = broker.session(tx_b);
    let (mut out, mut seen) = (Vec::new(), Vec::new());
    a.receive(&connect(Version::V311), &mut out, &mut seen)
        .unwrap();
    a.receive(&publish("s/1", r#"{"t":20}"#, 1, true), &mut out, &mut seen)
        .unwrap();
    assert_eq!(
        packets(&out, Version::V311)[1..],
        [Packet::PubAck { id: 5, code: 0 }]
    );
    assert_eq!(
        seen,
        [json!({"topic": "s/1", "payload": {"t": 20}, "qos": 1, "retain": true})]
    );

    let mut out_b = Vec::new();
    // CONNECT and SUBSCRIBE coalesced in one frame.
    let mut both = connect(Version::V311);
    both.extend(subscribe("s/+", 1));
    b.receive(&both, &mut out_b, &mut seen).unwrap();
    let got = packets(&out_b, Version::V311);
    assert_eq!(
        got[1],
        Packet::SubAck {
            id: 2,
            codes: vec![1]
        }
    );
    let Packet::Publish(retained) = &got[2] else {
        panic!("{got:?}")
    };
    assert!(retained.retain && retained.qos == 1 && retained.topic == "s/1");

    a.receive(&publish("s/2", "hi", 0, false), &mut out, &mut seen)
        .unwrap();
    let live = packets(&[rx_b.try_recv().unwrap()], Version::V311);
    assert!(matches!(&live[0], Packet::Publish(p) if p.topic == "s/2" && !p.retain && p.qos == 0));
}

#[test]
fn an_invalid_filter_is_refused_in_suback_and_an_empty_retained_message_deletes() {
    let broker = Broker::default();
    let (tx, _rx) = mpsc::unbounded_channel();
    let mut s = broker.session(tx);
    let (mut out, mut seen) = (Vec::new(), Vec::new());
    s.receive(&connect(Version::V311), &mut out, &mut seen)
        .unwrap();
    s.receive(&subscribe("a/#/b", 0), &mut out, &mut seen)
        .unwrap();
    assert_eq!(
        packets(&out, Version::V311)[1],
        Packet::SubAck {
            id: 2,
            codes: vec![0x80]
        }
    );
    s.receive(&publish("r", "x", 0, true), &mut out, &mut seen)
        .unwrap();
    s.receive(&publish("r", "", 0, true), &mut out, &mut seen)
        .unwrap();
    assert!(broker.state().retained.is_empty());
}

#[test]
fn a_packet_before_connect_or_a_broken_one_ends_the_session() {
    let broker = Broker::default();
    let (tx, _rx) = mpsc::unbounded_channel();
    let mut s = broker.session(tx);
    let (mut out, mut seen) = (Vec::new(), Vec::new());
    assert_eq!(
        s.receive(&[0xC0, 0], &mut out, &mut seen),
        Err(End::Refused("PINGREQ before CONNECT".into()))
    );
    s.receive(&connect(Version::V5), &mut out, &mut seen)
        .unwrap();
    s.receive(&[0xC0, 0], &mut out, &mut seen).unwrap();
    assert_eq!(packets(&out, Version::V5)[1], Packet::PingResp);
    let e = s.receive(&[0x30, 0xff, 0xff, 0xff, 0xff, 1], &mut out, &mut seen);
    assert!(
        matches!(e, Err(End::Refused(why)) if why.starts_with("the client sent a malformed MQTT packet"))
    );
}
