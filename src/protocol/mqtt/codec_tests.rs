//! The MQTT codec: each packet round-trips, streams cut anywhere decode to the same packets,
//! and malformed bytes are errors that name MQTT and quote what was received.

use super::*;

fn publish(topic: &str, payload: &[u8], qos: u8, retain: bool) -> Packet {
    Packet::Publish(Publish {
        topic: topic.into(),
        payload: Bytes::copy_from_slice(payload),
        qos,
        retain,
        dup: false,
        id: (qos > 0).then_some(7),
    })
}

fn samples() -> Vec<Packet> {
    vec![
        Packet::Connect(Connect {
            version: Version::V311,
            client_id: "wsrun-1".into(),
            username: Some("alice".into()),
            password: Some("s3cret".into()),
            keepalive: 30,
            clean: true,
        }),
        Packet::ConnAck {
            session_present: false,
            code: 0,
            reason: None,
        },
        publish("a/b", br#"{"n":1}"#, 0, false),
        publish("a/c", &[0xff; 200], 1, true),
        Packet::PubAck { id: 7, code: 0 },
        Packet::Subscribe {
            id: 1,
            filters: vec![("a/+".into(), 1), ("#".into(), 0)],
        },
        Packet::SubAck {
            id: 1,
            codes: vec![1, 0x80],
        },
        Packet::Unsubscribe {
            id: 2,
            filters: vec!["a/+".into()],
        },
        Packet::UnsubAck {
            id: 2,
            codes: vec![],
        },
        Packet::PingReq,
        Packet::PingResp,
        Packet::Disconnect { code: 0 },
    ]
}

fn decode_all(version: Version, bytes: &[u8]) -> Result<Vec<Packet>, MqttError> {
    let mut d = Decoder::new(version, 1 << 20);
    d.push(bytes);
    let mut out = Vec::new();
    while let Some(p) = d.next_packet()? {
        out.push(p);
    }
    Ok(out)
}

#[test]
fn every_packet_round_trips_in_3_1_1() {
    for p in samples() {
        let bytes = p.encode(Version::V311);
        assert_eq!(decode_all(Version::V311, &bytes).unwrap(), vec![p]);
    }
}

#[test]
fn every_packet_round_trips_in_5_0_with_empty_properties() {
    for mut p in samples() {
        if let Packet::Connect(c) = &mut p {
            c.version = Version::V5;
        }
        if let Packet::UnsubAck { codes, .. } = &mut p {
            *codes = vec![0];
        }
        let bytes = p.encode(Version::V5);
        assert_eq!(decode_all(Version::V5, &bytes).unwrap(), vec![p]);
    }
}

#[test]
fn connect_is_encoded_byte_for_byte_as_the_standard_shows() {
    let c = Packet::Connect(Connect {
        version: Version::V311,
        client_id: "c".into(),
        username: None,
        password: None,
        keepalive: 60,
        clean: true,
    });
    assert_eq!(
        c.encode(Version::V311),
        [0x10, 13, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60, 0, 1, b'c']
    );
}

#[test]
fn a_v5_connack_refusal_carries_its_reason_string_past_other_properties() {
    // Session expiry (4 bytes), a user property, then the reason string.
    let mut props = vec![0x11, 0, 0, 0, 10, 0x26, 0, 1, b'k', 0, 1, b'v', 0x1F, 0, 3];
    props.extend_from_slice(b"bad");
    let mut bytes = vec![0x20, (3 + props.len()) as u8, 0, 0x86, props.len() as u8];
    bytes.extend_from_slice(&props);
    assert_eq!(
        decode_all(Version::V5, &bytes).unwrap(),
        vec![Packet::ConnAck {
            session_present: false,
            code: 0x86,
            reason: Some("bad".into())
        }]
    );
}

#[test]
fn a_v5_publish_skips_its_properties() {
    // Topic "t", packet id 5, properties: payload format 1 and content type "x".
    let bytes = [
        0x32, 14, 0, 1, b't', 0, 5, 6, 0x01, 1, 0x03, 0, 1, b'x', b'{', b'}',
    ];
    let p = decode_all(Version::V5, &bytes).unwrap();
    let Packet::Publish(p) = &p[0] else {
        panic!("{p:?}")
    };
    assert_eq!(
        (p.topic.as_str(), &p.payload[..], p.id),
        ("t", &b"{}"[..], Some(5))
    );
}

/// A small deterministic generator (xorshift): the splits differ per case, the test does not.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

#[test]
fn a_stream_cut_at_random_places_decodes_to_the_same_packets() {
    let mut stream = Vec::new();
    let mut expected = Vec::new();
    for (i, p) in samples().into_iter().cycle().take(60).enumerate() {
        // Large packets too: remaining lengths of two and three bytes.
        let p = if i % 7 == 0 {
            publish("big", &vec![b'x'; 200 * i], 1, false)
        } else {
            p
        };
        stream.extend(p.encode(Version::V311));
        expected.push(p);
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..300 {
        let mut d = Decoder::new(Version::V311, 1 << 20);
        let mut got = Vec::new();
        let mut at = 0;
        while at < stream.len() {
            // Mostly small pieces (splits inside headers), sometimes many packets at once.
            let n = if rng.below(4) == 0 {
                rng.below(5000)
            } else {
                rng.below(6)
            } + 1;
            let end = (at + n).min(stream.len());
            d.push(&stream[at..end]);
            at = end;
            while let Some(p) = d.next_packet().unwrap() {
                got.push(p);
            }
        }
        assert_eq!(got, expected);
        assert_eq!(d.partial(), 0);
    }
}

#[test]
fn random_bytes_never_panic_and_errors_name_mqtt() {
    let mut rng = Rng(42);
    for _ in 0..20_000 {
        let len = rng.below(40);
        let bytes: Vec<u8> = (0..len).map(|_| rng.below(256) as u8).collect();
        for version in [Version::V311, Version::V5] {
            if let Err(e) = decode_all(version, &bytes) {
                assert!(e.to_string().contains("MQTT"), "{e}");
            }
        }
    }
}

#[test]
fn a_remaining_length_over_4_bytes_is_an_error_quoting_the_bytes() {
    let e = decode_all(Version::V311, &[0x30, 0xff, 0xff, 0xff, 0xff, 0x01]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "a malformed MQTT packet: its remaining length takes more than 4 bytes (received 30 ff ff ff ff)"
    );
}

#[test]
fn a_topic_longer_than_its_packet_is_malformed() {
    let e = decode_all(Version::V311, &[0x30, 3, 0, 9, b'a']).unwrap_err();
    assert_eq!(
        e.to_string(),
        "a malformed MQTT PUBLISH packet: the topic goes past the packet's end (remaining length 3) (received 30 03 00 09 61)"
    );
}

#[test]
fn a_suback_without_codes_and_a_qos_3_publish_are_malformed() {
    let e = decode_all(Version::V311, &[0x90, 2, 0, 1]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "a malformed MQTT SUBACK packet: no return code (received 90 02 00 01)"
    );
    let e = decode_all(Version::V311, &[0x36, 3, 0, 1, b't']).unwrap_err();
    assert!(e.to_string().contains("MQTT PUBLISH packet: QoS 3"), "{e}");
}

#[test]
fn qos_2_packets_are_refused_by_name() {
    let e = decode_all(Version::V311, &[0x50, 2, 0, 1]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "an MQTT PUBREC packet, which wsrun does not speak (received 50 02 00 01)"
    );
}

#[test]
fn a_packet_over_the_limit_is_refused_before_it_is_buffered() {
    let mut d = Decoder::new(Version::V311, 100);
    d.push(&[0x30, 0xff, 0x7f]);
    let e = d.next_packet().unwrap_err();
    assert_eq!(
        e.to_string(),
        "an MQTT packet of 16386 bytes, over the limit of 100 (received 30 ff 7f)"
    );
}

#[test]
fn a_split_packet_waits_for_its_rest() {
    let bytes = publish("t", b"hi", 0, false).encode(Version::V311);
    let mut d = Decoder::new(Version::V311, 1 << 20);
    d.push(&bytes[..1]);
    assert_eq!(d.next_packet().unwrap(), None);
    d.push(&bytes[1..4]);
    assert_eq!(d.next_packet().unwrap(), None);
    assert_eq!(d.partial(), 4);
    d.push(&bytes[4..]);
    assert!(matches!(d.next_packet().unwrap(), Some(Packet::Publish(_))));
}
