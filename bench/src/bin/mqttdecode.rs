//! MQTT PUBLISH decoding without the network: what the client side of `protocol: mqtt` spends
//! per message once a frame is in hand.
//!
//! `mqttdecode [N]` — N messages (default 1,000,000), in frames of 64 coalesced PUBLISH packets
//! (a topic of 20 bytes, a JSON payload of ~60), cut at 1,000-byte boundaries so that packets
//! also straddle frames. Prints messages/s for each variant, best of 5 passes:
//! - `codec`: `Decoder::push` per frame, then `Decoder::next_packet` until it has no whole packet;
//! - `client`: the `Mqtt` protocol's `decode` + `queued` per frame, as the connection calls
//!   them: each packet's envelope built (payload parsed as JSON), QoS 0.

use std::hint::black_box;
use std::time::Instant;

use tokio_tungstenite::tungstenite::Bytes;
use wsrun::internals::mqtt::{Decoder, Mqtt, Options, Packet, Publish, Version};
use wsrun::internals::{Decoded, Incoming, Protocol};

const PER_FRAME: usize = 64;
const CUT: usize = 1000;

fn frames() -> Vec<Bytes> {
    let mut stream = Vec::new();
    for i in 0..PER_FRAME * 16 {
        let payload = format!(r#"{{"sensor":"t-{i}","value":{}.5,"unit":"C","ok":true}}"#, i % 40);
        let p = Packet::Publish(Publish {
            topic: format!("site/7/sensors/t-{:04}", i % 1000),
            payload: payload.into(),
            qos: 0,
            retain: false,
            dup: false,
            id: None,
        });
        stream.extend(p.encode(Version::V311));
    }
    stream.chunks(CUT).map(Bytes::copy_from_slice).collect()
}

fn codec(frames: &[Bytes], n: usize) -> usize {
    let mut d = Decoder::new(Version::V311, 1 << 20);
    let mut count = 0;
    'all: loop {
        for f in frames {
            d.push(f);
            while let Some(p) = d.next_packet().expect("valid packets") {
                black_box(&p);
                count += 1;
                if count == n {
                    break 'all;
                }
            }
        }
    }
    count
}

fn client(frames: &[Bytes], n: usize) -> usize {
    let mut m = Mqtt::new(Options::default());
    let mut out = Vec::new();
    let connack = Packet::ConnAck {
        session_present: false,
        code: 0,
        reason: None,
    };
    m.decode(Incoming::Binary(connack.encode(Version::V311).into()), &mut out);
    let mut count = 0;
    let take = |d: Decoded, count: &mut usize| {
        if let Decoded::Message(Incoming::Envelope(v)) = d {
            black_box(v);
            *count += 1;
        }
    };
    'all: loop {
        for f in frames {
            take(m.decode(Incoming::Binary(f.clone()), &mut out), &mut count);
            while let Some(d) = m.queued(&mut out) {
                take(d, &mut count);
            }
            if count >= n {
                break 'all;
            }
        }
    }
    count
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(1_000_000, |a| a.parse().expect("N is a number"));
    let frames = frames();
    for (name, run) in [
        ("codec", codec as fn(&[Bytes], usize) -> usize),
        ("client", client),
    ] {
        let mut best = f64::MAX;
        for _ in 0..5 {
            let start = Instant::now();
            let count = run(&frames, n);
            let secs = start.elapsed().as_secs_f64();
            assert!(count >= n);
            best = best.min(secs / count as f64);
        }
        println!(
            "{name:>7}: {:>6.0} ns/message, {:>10.0} messages/s",
            best * 1e9,
            1.0 / best
        );
    }
}
