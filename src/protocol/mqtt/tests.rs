//! The MQTT client state machine, frame by frame, without a socket.

use serde_json::json;

use super::codec::Publish;
use super::*;

fn client(version: Version) -> Mqtt {
    Mqtt::new(Options {
        client_id: "c1".into(),
        username: Some("u".into()),
        password: Some("p4ss".into()),
        version,
        keepalive: 5,
        clean: true,
    })
}

fn frame(packets: &[Packet], version: Version) -> Incoming {
    let bytes: Vec<u8> = packets.iter().flat_map(|p| p.encode(version)).collect();
    Incoming::Binary(bytes.into())
}

fn connack(code: u8) -> Packet {
    Packet::ConnAck {
        session_present: false,
        code,
        reason: None,
    }
}

fn connected(version: Version) -> Mqtt {
    let mut c = client(version);
    assert!(matches!(
        c.decode(frame(&[connack(0)], version), &mut Vec::new()),
        Decoded::Absorbed
    ));
    c
}

fn publish(topic: &str, payload: &[u8], qos: u8) -> Packet {
    Packet::Publish(Publish {
        topic: topic.into(),
        payload: payload.to_vec().into(),
        qos,
        retain: qos == 1,
        dup: false,
        id: (qos == 1).then_some(9),
    })
}

fn envelope(d: Decoded) -> Value {
    match d {
        Decoded::Message(Incoming::Envelope(v)) => v,
        other => panic!("{other:?}"),
    }
}

#[test]
fn it_asks_for_the_mqtt_subprotocol_and_sends_connect_with_the_options() {
    let mut c = client(Version::V311);
    let mut subprotocols = Vec::new();
    c.prepare(&mut String::new(), &mut subprotocols).unwrap();
    assert_eq!(subprotocols, ["mqtt"]);
    let mut out = Vec::new();
    c.greet(&mut out);
    let Message::Binary(b) = &out[0] else {
        panic!("{out:?}")
    };
    let mut d = Decoder::new(Version::V311, 1000);
    d.push(b);
    let Some(Packet::Connect(connect)) = d.next_packet().unwrap() else {
        panic!()
    };
    assert_eq!(
        (
            connect.client_id.as_str(),
            connect.password.as_deref(),
            connect.keepalive
        ),
        ("c1", Some("p4ss"), 5)
    );
    assert_eq!(c.pending().as_deref(), Some("CONNACK"));
    assert_eq!(c.tick_every(), None);
}

#[test]
fn connack_ends_the_handshake_and_starts_the_keep_alives() {
    let c = connected(Version::V311);
    assert_eq!(c.pending(), None);
    assert_eq!(c.tick_every(), Some(Duration::from_secs(5)));
    let mut c = c;
    let mut out = Vec::new();
    c.tick(&mut out);
    assert_eq!(out, [Message::binary(vec![0xC0, 0])]);
    assert!(matches!(
        c.decode(frame(&[Packet::PingResp], Version::V311), &mut out),
        Decoded::Absorbed
    ));
}

#[test]
fn a_refused_connack_fails_naming_the_code_in_words() {
    let mut c = client(Version::V311);
    let Decoded::Failed(why) = c.decode(frame(&[connack(4)], Version::V311), &mut Vec::new())
    else {
        panic!()
    };
    assert_eq!(
        why,
        "the broker refused the MQTT connection: CONNACK return code 4 (bad user name or password)"
    );
    let mut c = client(Version::V5);
    let refusal = Packet::ConnAck {
        session_present: false,
        code: 0x87,
        reason: Some("no such tenant".into()),
    };
    let Decoded::Failed(why) = c.decode(frame(&[refusal], Version::V5), &mut Vec::new()) else {
        panic!()
    };
    assert_eq!(
        why,
        "the broker refused the MQTT connection: CONNACK reason code 0x87 (not authorized): no such tenant"
    );
}

#[test]
fn a_publish_is_an_envelope_with_its_payload_parsed_when_it_is_json() {
    let mut c = connected(Version::V311);
    let mut out = Vec::new();
    let v = envelope(c.decode(
        frame(&[publish("t/1", br#"{"n": 1}"#, 0)], Version::V311),
        &mut out,
    ));
    assert_eq!(
        v,
        json!({"topic": "t/1", "payload": {"n": 1}, "qos": 0, "retain": false})
    );
    let v = envelope(c.decode(
        frame(&[publish("t/1", b"hello", 0)], Version::V311),
        &mut out,
    ));
    assert_eq!(v["payload"], "hello");
    let v = envelope(c.decode(
        frame(&[publish("t/1", &[0xff, 0], 0)], Version::V311),
        &mut out,
    ));
    assert_eq!(v["payload"], "/wA=");
    assert_eq!(v["binary"], true);
    assert!(out.is_empty());
}

#[test]
fn a_qos_1_publish_is_answered_with_puback() {
    let mut c = connected(Version::V5);
    let mut out = Vec::new();
    let v = envelope(c.decode(frame(&[publish("t", b"1", 1)], Version::V5), &mut out));
    assert_eq!(
        v,
        json!({"topic": "t", "payload": 1, "qos": 1, "retain": true})
    );
    assert_eq!(out, [Message::binary(vec![0x40, 2, 0, 9])]);
}

#[test]
fn packets_coalesced_in_one_frame_come_out_one_at_a_time_in_order() {
    let mut c = client(Version::V311);
    let packets = [
        connack(0),
        publish("a", b"1", 0),
        Packet::PingResp,
        publish("b", b"2", 0),
        Packet::SubAck {
            id: 3,
            codes: vec![0x80],
        },
    ];
    let v = envelope(c.decode(frame(&packets, Version::V311), &mut Vec::new()));
    assert_eq!(v["topic"], "a");
    assert_eq!(envelope(c.queued(&mut Vec::new()).unwrap())["topic"], "b");
    assert_eq!(
        envelope(c.queued(&mut Vec::new()).unwrap()),
        json!({"packet": "SUBACK", "id": 3, "codes": [128], "refused": "return code 0x80 (failure)"})
    );
    assert!(c.queued(&mut Vec::new()).is_none());
}

#[test]
fn a_packet_split_over_frames_is_one_message() {
    let mut c = connected(Version::V311);
    let bytes = publish("topic", b"[1,2]", 0).encode(Version::V311);
    for piece in bytes[..bytes.len() - 1].chunks(2) {
        let d = c.decode(Incoming::Binary(piece.to_vec().into()), &mut Vec::new());
        assert!(matches!(d, Decoded::Absorbed));
    }
    let last = Incoming::Binary(bytes[bytes.len() - 1..].to_vec().into());
    assert_eq!(
        envelope(c.decode(last, &mut Vec::new()))["payload"],
        json!([1, 2])
    );
}

#[test]
fn a_malformed_packet_after_a_good_one_is_queued_as_the_failure() {
    let mut c = connected(Version::V311);
    let mut bytes = publish("a", b"1", 0).encode(Version::V311);
    bytes.extend([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]);
    envelope(c.decode(Incoming::Binary(bytes.into()), &mut Vec::new()));
    let Some(Decoded::Failed(why)) = c.queued(&mut Vec::new()) else {
        panic!()
    };
    assert_eq!(
        why,
        "the server sent a malformed MQTT packet: its remaining length takes more than 4 bytes (received 30 ff ff ff ff)"
    );
}

#[test]
fn a_text_frame_or_a_packet_before_connack_fails_the_connection() {
    let mut c = client(Version::V311);
    let d = c.decode(Incoming::Text("hello".into()), &mut Vec::new());
    assert!(
        matches!(&d, Decoded::Failed(w) if w == "the server sent a text frame, but MQTT packets travel in binary frames: hello"),
        "{d:?}"
    );
    let mut c = client(Version::V311);
    let d = c.decode(frame(&[Packet::PingResp], Version::V311), &mut Vec::new());
    assert!(
        matches!(&d, Decoded::Failed(w) if w == "the broker sent PINGRESP before CONNACK, in answer to CONNECT"),
        "{d:?}"
    );
}

#[test]
fn envelopes_from_steps_become_publish_subscribe_and_unsubscribe() {
    let mut c = connected(Version::V311);
    let mut out = Vec::new();
    c.encode(
        json!({"topic": "t", "json": {"a": 1}, "qos": 1, "retain": true, "id": 4}),
        &mut out,
    )
    .unwrap();
    c.encode(json!({"subscribe": "s/#", "qos": 1, "id": 5}), &mut out)
        .unwrap();
    c.encode(json!({"unsubscribe": "s/#", "id": 6}), &mut out)
        .unwrap();
    let mut d = Decoder::new(Version::V311, 1000);
    for m in &out {
        d.push(&m.clone().into_data());
    }
    assert!(
        matches!(d.next_packet().unwrap(), Some(Packet::Publish(p)) if &p.payload[..] == br#"{"a":1}"# && p.retain && p.id == Some(4))
    );
    assert_eq!(
        d.next_packet().unwrap(),
        Some(Packet::Subscribe {
            id: 5,
            filters: vec![("s/#".into(), 1)]
        })
    );
    assert_eq!(
        d.next_packet().unwrap(),
        Some(Packet::Unsubscribe {
            id: 6,
            filters: vec!["s/#".into()]
        })
    );
    let e = c
        .encode(json!({"topic": "t", "qos": 2}), &mut out)
        .unwrap_err();
    assert_eq!(e, "`qos` is 0 or 1 (wsrun does not speak QoS 2), not 2");
}

#[test]
fn farewell_sends_disconnect_once_connected() {
    let mut out = Vec::new();
    client(Version::V311).farewell(&mut out);
    assert!(out.is_empty());
    connected(Version::V311).farewell(&mut out);
    assert_eq!(out, [Message::binary(vec![0xE0, 0])]);
}

#[test]
fn a_3_1_1_broker_refusing_a_5_0_connect_is_named_as_such() {
    // aedes answers a 5.0 CONNECT with 3.1.1's "unacceptable protocol version", no properties.
    let mut c = client(Version::V5);
    let d = c.decode(
        Incoming::Binary(vec![0x20, 2, 0, 1].into()),
        &mut Vec::new(),
    );
    let Decoded::Failed(why) = d else {
        panic!("{d:?}")
    };
    assert_eq!(
        why,
        "the broker refused the MQTT connection: CONNACK return code 1 (unacceptable protocol version), in MQTT 3.1.1's form: it does not speak MQTT 5.0 (`mqtt: {version: \"3.1.1\"}`)"
    );
}

#[test]
fn a_frame_of_many_packets_is_decoded_one_packet_at_a_time() {
    // Memory stays the frame's bytes: no envelope is built before a step asks for it.
    let mut c = connected(Version::V311);
    let packets: Vec<Packet> = (0..1000)
        .map(|i| publish(&format!("t/{i}"), b"1", 0))
        .collect();
    let one = packets[0].encode(Version::V311).len();
    let f = frame(&packets, Version::V311);
    assert_eq!(envelope(c.decode(f, &mut Vec::new()))["topic"], "t/0");
    assert!(c.decoder.partial() >= 999 * one);
    let mut n = 1;
    while let Some(d) = c.queued(&mut Vec::new()) {
        assert_eq!(envelope(d)["topic"], format!("t/{n}"));
        n += 1;
    }
    assert_eq!((n, c.decoder.partial()), (1000, 0));
}
