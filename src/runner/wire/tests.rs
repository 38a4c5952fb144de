//! The wire, read by a server that hands its bytes out a few at a time.

use super::*;
use tokio::io::AsyncReadExt;

/// Hands out `data` a few bytes per read, so headers are split across reads.
struct Trickle {
    data: Vec<u8>,
    pos: usize,
    step: usize,
}

impl AsyncRead for Trickle {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = self
            .step
            .min(self.data.len() - self.pos)
            .min(buf.remaining());
        let from = self.pos;
        buf.put_slice(&self.data[from..from + n]);
        self.pos += n;
        Poll::Ready(Ok(()))
    }
}

const HANDSHAKE: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";

fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let (head, n) = encode_header(first, payload.len() as u64);
    [&head[..n], payload].concat()
}

/// Everything `Wire` passes on when the server sends `data`, read with `step`-byte reads.
async fn through(data: Vec<u8>, step: usize, max: usize) -> io::Result<Vec<u8>> {
    let mut wire = Wire::new(Trickle { data, pos: 0, step }, max);
    let mut out = Vec::new();
    wire.read_to_end(&mut out).await?;
    Ok(out)
}

/// Splits frames back apart: (first header byte, payload) each.
fn frames(mut bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let n = header_len(bytes);
        let len = payload_len(bytes) as usize;
        out.push((bytes[0], bytes[n..n + len].to_vec()));
        bytes = &bytes[n + len..];
    }
    out
}

#[tokio::test]
async fn a_frame_larger_than_a_chunk_is_cut_into_continuations() {
    let big: Vec<u8> = (0..2 * CHUNK as usize + 5).map(|i| i as u8).collect();
    let sent = [HANDSHAKE, &frame(0x81, b"hi"), &frame(0x82, &big)].concat();
    for step in [1, 7, 1 << 20] {
        let out = through(sent.clone(), step, 64 << 20).await.unwrap();
        assert_eq!(&out[..HANDSHAKE.len()], HANDSHAKE);
        let got = frames(&out[HANDSHAKE.len()..]);
        let firsts: Vec<u8> = got.iter().map(|(f, _)| *f).collect();
        assert_eq!(firsts, [0x81, 0x02, 0x00, 0x80], "read by {step}");
        let lens: Vec<usize> = got.iter().map(|(_, p)| p.len()).collect();
        assert_eq!(lens, [2, CHUNK as usize, CHUNK as usize, 5]);
        assert_eq!(
            got[1..]
                .iter()
                .flat_map(|(_, p)| p.clone())
                .collect::<Vec<_>>(),
            big
        );
    }
}

#[tokio::test]
async fn a_frame_over_max_message_size_is_passed_on_whole_for_tungstenite_to_refuse() {
    let big = vec![1u8; 2 * CHUNK as usize];
    let sent = [HANDSHAKE, &frame(0x82, &big)].concat();
    let out = through(sent.clone(), 4096, CHUNK as usize).await.unwrap();
    assert_eq!(out, sent);
}

#[tokio::test]
async fn an_oversized_control_frame_is_refused() {
    let sent = [HANDSHAKE, &frame(0x89, &[0; 126])].concat();
    let err = through(sent, 3, 64 << 20).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "the server sent a control frame of 126 bytes (a control frame carries at most 125)"
    );
}

#[tokio::test]
async fn a_close_frame_is_kept_as_sent() {
    let mut wire = Wire::new(
        Trickle {
            data: [HANDSHAKE, &frame(0x81, b"x"), &frame(0x88, b"\x03\xe7bye")].concat(),
            pos: 0,
            step: 3,
        },
        64 << 20,
    );
    let mut out = Vec::new();
    wire.read_to_end(&mut out).await.unwrap();
    assert_eq!(wire.close_frame(), Some((999, "bye".to_string())));
}

#[tokio::test]
async fn a_refused_upgrade_passes_through_untouched() {
    // A body that would read as a frame header announcing 2^63 bytes.
    let sent = b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 10\r\n\r\n\x89\x7f\x7f\xff\xff\xff\xff\xff\xff\xff".to_vec();
    assert_eq!(through(sent.clone(), 5, 64 << 20).await.unwrap(), sent);
}

#[tokio::test]
async fn frames_pass_unchanged_whatever_the_reads_and_the_room_to_read_into() {
    // Small frames, a ping, a frame split by reads, a masked one; then a close.
    let mut sent = HANDSHAKE.to_vec();
    for i in 0..300u32 {
        let text = format!("{{\"n\":{i}}}").repeat(1 + (i as usize % 7) * 40);
        sent.extend(frame(0x81, text.as_bytes()));
        if i % 50 == 0 {
            sent.extend(frame(0x89, b"ping"));
        }
    }
    sent.extend(frame(0x88, b"\x03\xe8done"));
    for step in [1, 2, 3, 7, 64, 1000, 4096, 1 << 20] {
        // `read_to_end` reads into room that grows; a fixed room as tungstenite's also.
        assert_eq!(
            through(sent.clone(), step, 64 << 20).await.unwrap(),
            sent,
            "by {step}"
        );
        let mut wire = Wire::with_buffer(
            Trickle {
                data: sent.clone(),
                pos: 0,
                step,
            },
            64 << 20,
            4096,
        );
        let mut out = Vec::new();
        let mut room = [0u8; 4096];
        loop {
            let mut dst = ReadBuf::new(&mut room);
            std::future::poll_fn(|cx| Pin::new(&mut wire).poll_read(cx, &mut dst))
                .await
                .unwrap();
            if dst.filled().is_empty() {
                break;
            }
            out.extend_from_slice(dst.filled());
        }
        assert_eq!(out, sent, "by {step} into 4096 bytes");
        assert_eq!(wire.close_frame(), Some((1000, "done".to_string())));
    }
}

/// Messages put back together from frames: (opcode, payload) each, control frames skipped.
fn messages(bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out: Vec<(u8, Vec<u8>)> = Vec::new();
    let mut open = false;
    for (first, payload) in frames(bytes) {
        assert_eq!(
            first & 0x70,
            0,
            "a reserved bit reached tungstenite: {first:#x} {}",
            payload.len()
        );
        match first & 0x0f {
            0 => out
                .last_mut()
                .expect("a continuation after a start")
                .1
                .extend(payload),
            op @ (1 | 2) => {
                assert!(!open, "a new message inside another");
                out.push((op, payload));
            }
            _ => continue,
        }
        open = first & 0x80 == 0;
    }
    out
}

#[tokio::test]
async fn compressed_messages_come_out_inflated_whatever_the_reads() {
    let agreed = deflate::Agreed::default();
    let mut deflater = deflate::Deflater::new(&agreed);
    let texts: Vec<String> = (0..40)
        .map(|i| format!("{{\"n\":{i},\"pad\":\"{}\"}}", "ab".repeat(i * 37)))
        .collect();
    let mut sent = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        let compressed = deflater.compress(text.as_bytes()).unwrap();
        if i % 3 == 0 {
            // Fragmented: RSV1 on the first frame only, a ping between the pieces.
            let (a, b) = compressed.split_at(compressed.len() / 2);
            sent.extend(frame(0x41, a));
            sent.extend(frame(0x89, b"ping"));
            sent.extend(frame(0x80, b));
        } else {
            sent.extend(frame(0xc1, &compressed));
        }
        sent.extend(frame(0x82, &[i as u8]));
    }
    for step in [1, 2, 3, 7, 64, 4096] {
        let data = [HANDSHAKE, &sent].concat();
        let mut wire = Wire::new(Trickle { data, pos: 0, step }, 64 << 20);
        let mut out = vec![0u8; HANDSHAKE.len()];
        // The handshake's read stops where the response ends, so the agreement comes first.
        wire.read_exact(&mut out).await.unwrap();
        assert_eq!(out, HANDSHAKE);
        wire.agree(Some(agreed.clone()));
        out.clear();
        wire.read_to_end(&mut out).await.unwrap();
        let got = messages(&out);
        assert_eq!(got.len(), 80, "by {step}");
        for (i, text) in texts.iter().enumerate() {
            assert_eq!(got[2 * i], (1, text.as_bytes().to_vec()), "by {step}");
            assert_eq!(got[2 * i + 1], (2, vec![i as u8]), "by {step}");
        }
    }
}
