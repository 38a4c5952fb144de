//! Transport fidelity against small hand-written servers: a `close` that ends the TCP
//! connection, binary frames in `-v`, and permessage-deflate (offered, negotiated, refused).

#[allow(dead_code)]
#[path = "common/cli.rs"]
mod cli;
mod transport {
    pub mod servers;
}

use cli::Workspace;
use transport::servers;

#[test]
fn close_ends_the_tcp_connection_while_the_request_goes_on() {
    let addr = servers::presence();
    let ws = Workspace::new();
    let run = ws.run_collection(
        &format!(
            r#"requests:
  - name: alice leaves, bob stays
    connections:
      alice: {{url: "ws://{addr}"}}
      bob: {{url: "ws://{addr}"}}
    steps:
      - close: {{conn: alice}}
      - expect: {{conn: bob, timeout: 2s, text: left}}
"#
        ),
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.output());
    assert!(
        run.stdout.contains("✓ alice leaves, bob stays"),
        "{}",
        run.output()
    );
}

/// A message compressed as a permessage-deflate sender does: a sync flush, its tail cut off.
/// `deflate` keeps its window between messages (context takeover) unless it is reset.
fn compress(deflate: &mut flate2::Compress, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 64);
    deflate
        .compress_vec(data, &mut out, flate2::FlushCompress::Sync)
        .expect("compress");
    assert!(
        out.ends_with(&[0, 0, 0xff, 0xff]),
        "the output is larger than its room"
    );
    out.truncate(out.len() - 4);
    out
}

fn collection(addr: std::net::SocketAddr, extra: &str, steps: &str) -> String {
    format!("{extra}requests:\n  - name: deflate\n    url: \"ws://{addr}\"\n    steps:\n{steps}")
}

#[test]
fn compressed_messages_are_inflated_whole_fragmented_and_with_context_takeover() {
    let mut deflate = flate2::Compress::new(flate2::Compression::default(), false);
    let first = compress(&mut deflate, br#"{"n":1,"text":"hello hello hello"}"#);
    // The same text again: with the window kept, it compresses to a back-reference.
    let second = compress(&mut deflate, br#"{"n":2,"text":"hello hello hello"}"#);
    let (a, b) = second.split_at(second.len() / 2);
    let binary = compress(&mut deflate, &[0, 1, 2, 255]);
    let frames = vec![
        servers::frame(0x80 | 0x40 | 0x1, &first),
        // A compressed message in three frames: RSV1 on the first only, an empty one between.
        servers::frame(0x40 | 0x1, a),
        servers::frame(0x0, &[]),
        servers::frame(0x80, b),
        servers::frame(0x80 | 0x40 | 0x2, &binary),
        servers::frame(0x81, b"plain"),
    ];
    let (tx, rx) = std::sync::mpsc::channel();
    let addr = servers::raw("permessage-deflate", frames, Some(tx));
    let run = Workspace::new().run_collection(
        &collection(
            addr,
            "",
            "      - expect: {json: {$.n: 1, $.text: hello hello hello}}\n      - expect: {json: {$.n: 2, $.text: hello hello hello}}\n      - expect: {binary: {eq: AAEC/w==}}\n      - expect: {text: plain}\n",
        ),
        &["-v"],
    );
    assert_eq!(run.code, 0, "{}", run.output());
    assert!(
        run.stdout
            .contains(r#"default ← {"n":2,"text":"hello hello hello"}"#),
        "{}",
        run.output()
    );
    let request = rx.recv().expect("the server saw the handshake");
    assert!(
        request
            .to_ascii_lowercase()
            .contains("sec-websocket-extensions: permessage-deflate; client_max_window_bits\r\n"),
        "{request}"
    );
}

/// Runs one `expect` against a raw server answering with `extensions` and sending `frames`.
fn expect_against(extensions: &'static str, frames: Vec<Vec<u8>>, extra: &str) -> cli::Run {
    let addr = servers::raw(extensions, frames, None);
    Workspace::new().run_collection(
        &collection(addr, extra, "      - expect: {timeout: 2s}\n"),
        &[],
    )
}

#[test]
fn a_compressed_frame_without_an_agreement_is_a_protocol_error_naming_rsv1() {
    let run = expect_against("", vec![servers::frame(0xc1, b"\x01\x02")], "");
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stdout.contains("the server sent a compressed frame (RSV1 set) on a connection where no compression was negotiated"),
        "{}",
        run.output()
    );
}

#[test]
fn an_extension_that_was_not_offered_fails_the_handshake() {
    let run = expect_against("x-webkit-deflate-frame", vec![], "");
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stdout.contains(
            ": the server agreed on extension `x-webkit-deflate-frame`, which wsrun did not offer"
        ),
        "{}",
        run.output()
    );
    let run = expect_against("permessage-deflate; client_max_window_bits", vec![], "");
    assert!(
        run.stdout.contains("the server agreed on permessage-deflate with `client_max_window_bits`, which wsrun did not offer"),
        "{}",
        run.output()
    );
}

#[test]
fn compression_false_offers_nothing_and_refuses_a_server_that_compresses_anyway() {
    let (tx, rx) = std::sync::mpsc::channel();
    let addr = servers::raw("permessage-deflate", vec![], Some(tx));
    let run = Workspace::new().run_collection(
        &collection(
            addr,
            "defaults: {compression: false}\n",
            "      - expect: {timeout: 2s}\n",
        ),
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stdout.contains(
            "the server agreed on permessage-deflate, which was not offered (`compression: false`)"
        ),
        "{}",
        run.output()
    );
    let request = rx.recv().expect("the server saw the handshake");
    assert!(
        !request
            .to_ascii_lowercase()
            .contains("sec-websocket-extensions"),
        "{request}"
    );
}

#[test]
fn a_corrupt_deflate_stream_fails_clearly() {
    let run = expect_against(
        "permessage-deflate",
        vec![servers::frame(0xc1, &[0xff, 0xff, 0xff, 0xff])],
        "",
    );
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stdout
            .contains("the server sent a compressed message that is not valid deflate data ("),
        "{}",
        run.output()
    );
}

#[test]
fn a_decompression_bomb_is_refused_at_max_message_size() {
    let mut deflate = flate2::Compress::new(flate2::Compression::best(), false);
    // 256 MiB of zeros in ~256 KB: inflated whole, it would take 256 MiB.
    let mut bomb = Vec::with_capacity(1 << 20);
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..256 {
        deflate
            .compress_vec(&zeros, &mut bomb, flate2::FlushCompress::None)
            .expect("compress");
    }
    bomb.reserve(1 << 16);
    deflate
        .compress_vec(&[], &mut bomb, flate2::FlushCompress::Sync)
        .expect("compress");
    let run = expect_against(
        "permessage-deflate",
        vec![servers::frame(0xc2, &bomb)],
        "defaults: {max_message_size: 1MiB}\n",
    );
    assert_eq!(run.code, 1, "{}", run.output());
    assert!(
        run.stdout
            .contains("a compressed message inflates past max_message_size (1 MiB)"),
        "{}",
        run.output()
    );
}

#[test]
fn watch_and_record_offer_deflate_unless_told_not_to() {
    for (command, flags) in [
        ("watch", &["--count", "1"][..]),
        ("record", &["--count", "1", "--out", "r.jsonl"][..]),
    ] {
        for off in [false, true] {
            let (tx, rx) = std::sync::mpsc::channel();
            let addr = servers::raw("", vec![servers::frame(0x81, b"{\"n\":1}")], Some(tx));
            let url = format!("ws://{addr}");
            let mut args = vec![command, url.as_str()];
            args.extend_from_slice(flags);
            if off {
                args.push("--no-compression");
            }
            let run = Workspace::new().wsrun(&args);
            assert_eq!(run.code, 0, "{args:?}: {}", run.output());
            let request = rx
                .recv()
                .expect("the server saw the handshake")
                .to_ascii_lowercase();
            assert_eq!(
                request.contains("sec-websocket-extensions: permessage-deflate"),
                !off,
                "{args:?}: {request}"
            );
        }
    }
}
