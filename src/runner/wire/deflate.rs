//! permessage-deflate (RFC 7692): the offer, the server's answer checked against it, and the
//! compressor (what wsrun sends) and decompressor (what the server sends) of a connection.

use std::io;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::Message;

/// The extension wsrun offers, as browsers do: the server may ask for a smaller client window.
pub const OFFER: &str = "permessage-deflate; client_max_window_bits";

/// The name of the extension, as it appears in the headers.
const NAME: &str = "permessage-deflate";

/// The reserved bit that marks the first frame of a compressed message.
pub const RSV1: u8 = 0x40;

/// Every message ends with this empty stored block, which the sender leaves out (§7.2.1).
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// How much the decompressor's output grows at a time: the cap on a message is checked this
/// often, so a decompression bomb is refused within this much of `max_message_size`.
const OUT_STEP: usize = 64 << 10;

/// What a server agreed on in its `Sec-WebSocket-Extensions` answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Agreed {
    pub server_no_context_takeover: bool,
    pub client_no_context_takeover: bool,
    pub server_max_window_bits: Option<u8>,
    pub client_max_window_bits: Option<u8>,
}

impl Agreed {
    /// Whether wsrun compresses what it sends. Its compressor (miniz_oxide) always uses a
    /// 15-bit window; a server that asks for a smaller one gets messages uncompressed, which
    /// RFC 7692 §6.1 lets a sender do for any message.
    pub fn compresses_outgoing(&self) -> bool {
        self.client_max_window_bits.is_none_or(|bits| bits == 15)
    }
}

/// A server's answer that does not fit what was offered: the handshake fails with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NegotiationError {
    #[error("the server agreed on extension `{0}`, which wsrun did not offer")]
    NotOffered(String),
    #[error(
        "the server agreed on permessage-deflate, which was not offered (`compression: false`)"
    )]
    CompressionOff,
    #[error("the server agreed on permessage-deflate with {0}, which wsrun did not offer")]
    Parameter(String),
    #[error("the server agreed on permessage-deflate more than once")]
    Twice,
}

/// Checks the values of the server's `Sec-WebSocket-Extensions` headers against the offer
/// (`offered`: whether [`OFFER`] was sent): what was agreed, or why the answer is refused.
pub fn negotiate<'a>(
    values: impl IntoIterator<Item = &'a str>,
    offered: bool,
) -> Result<Option<Agreed>, NegotiationError> {
    let mut agreed = None;
    for extension in values.into_iter().flat_map(|v| v.split(',')) {
        let mut parts = extension.split(';').map(str::trim);
        let name = parts.next().unwrap_or_default();
        if name.is_empty() {
            continue;
        }
        if !name.eq_ignore_ascii_case(NAME) {
            return Err(NegotiationError::NotOffered(name.to_string()));
        }
        if !offered {
            return Err(NegotiationError::CompressionOff);
        }
        if agreed.is_some() {
            return Err(NegotiationError::Twice);
        }
        agreed = Some(parameters(parts)?);
    }
    Ok(agreed)
}

/// The parameters of one `permessage-deflate` answer.
fn parameters<'a>(params: impl Iterator<Item = &'a str>) -> Result<Agreed, NegotiationError> {
    let mut agreed = Agreed::default();
    let mut seen: Vec<String> = Vec::new();
    for param in params.filter(|p| !p.is_empty()) {
        let (key, value) = match param.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v.trim().trim_matches('"'))),
            None => (param, None),
        };
        let key = key.to_ascii_lowercase();
        if seen.contains(&key) {
            return Err(NegotiationError::Parameter(format!("`{key}` twice")));
        }
        let bad = || NegotiationError::Parameter(format!("`{param}`"));
        let bits = |v: Option<&str>| {
            v.and_then(|v| v.parse::<u8>().ok())
                .filter(|b| (8..=15).contains(b))
                .ok_or_else(bad)
        };
        match (key.as_str(), value) {
            ("server_no_context_takeover", None) => agreed.server_no_context_takeover = true,
            ("client_no_context_takeover", None) => agreed.client_no_context_takeover = true,
            // A server may limit its own window unasked (§7.1.2.1).
            ("server_max_window_bits", v) => agreed.server_max_window_bits = Some(bits(v)?),
            ("client_max_window_bits", v) => agreed.client_max_window_bits = Some(bits(v)?),
            _ => return Err(bad()),
        }
        seen.push(key);
    }
    Ok(agreed)
}

/// A mock's answer to a client's offers (the values of its `Sec-WebSocket-Extensions`
/// headers): the header to send back and what the mock then does, seen from its own side
/// (`client_*` is the mock's sending, `server_*` the client's), or `None` to agree on nothing.
/// An offer that asks the mock for a window under 15 bits, or that has a parameter this does
/// not know, is passed over, as RFC 7692 §5 lets a server do.
pub fn answer<'a>(offers: impl IntoIterator<Item = &'a str>) -> Option<(String, Agreed)> {
    'offers: for offer in offers.into_iter().flat_map(|v| v.split(',')) {
        let mut parts = offer.split(';').map(str::trim);
        if !parts.next().is_some_and(|n| n.eq_ignore_ascii_case(NAME)) {
            continue;
        }
        let mut header = NAME.to_string();
        let mut local = Agreed::default();
        for param in parts.filter(|p| !p.is_empty()) {
            let (key, value) = match param.split_once('=') {
                Some((k, v)) => (k.trim(), Some(v.trim().trim_matches('"'))),
                None => (param, None),
            };
            match (key.to_ascii_lowercase().as_str(), value) {
                ("server_no_context_takeover", None) => {
                    header.push_str("; server_no_context_takeover");
                    local.client_no_context_takeover = true;
                }
                ("client_no_context_takeover", None) => {
                    header.push_str("; client_no_context_takeover");
                    local.server_no_context_takeover = true;
                }
                ("server_max_window_bits", Some("15")) | ("client_max_window_bits", _) => {}
                _ => continue 'offers,
            }
        }
        return Some((header, local));
    }
    None
}

/// The decompressor of the server's messages, with the output it has not passed on yet.
pub struct Inflater {
    inflate: Decompress,
    /// Inflated bytes of the message in progress, against `max`.
    total: u64,
    max: u64,
    /// The server ended its deflate stream (a final block): the next message starts afresh.
    ended: bool,
    /// Inflated bytes waiting to be passed on: `out[pos..end]`. `out` only grows (zeroed once):
    /// zeroing 64 KiB of room for every call cost 10× the inflating itself on a stream of
    /// small messages (bench/RESULTS.md, "Round 3").
    pub out: Vec<u8>,
    pub pos: usize,
    pub end: usize,
    /// Within a compressed message: its continuation frames are inflated too.
    pub in_message: bool,
    /// The message's opcode, until the first frame passed on has carried it (then 0).
    pub opcode: u8,
}

impl Inflater {
    pub fn new(max_message_size: u64) -> Self {
        Self {
            inflate: Decompress::new(false),
            total: 0,
            max: max_message_size,
            ended: false,
            out: Vec::new(),
            pos: 0,
            end: 0,
            in_message: false,
            opcode: 0,
        }
    }

    /// Inflates the whole of `input` (a piece of a compressed message) onto `out`, at most
    /// [`OUT_STEP`] bytes at a time, so that the cap is checked as the message grows.
    pub fn inflate(&mut self, input: &[u8]) -> io::Result<()> {
        let mut pos = 0;
        loop {
            let start = self.end;
            // One byte past the cap is enough to know the message is too large.
            let step = (self.max + 1 - self.total).min(OUT_STEP as u64) as usize;
            if self.out.len() < start + step {
                self.out.resize(start + step, 0);
            }
            let in_before = self.inflate.total_in();
            let out_before = self.inflate.total_out();
            let status = self.inflate.decompress(
                &input[pos..],
                &mut self.out[start..start + step],
                FlushDecompress::None,
            );
            let consumed = (self.inflate.total_in() - in_before) as usize;
            let produced = (self.inflate.total_out() - out_before) as usize;
            self.end = start + produced;
            let status = status.map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "the server sent a compressed message that is not valid deflate data ({e})"
                    ),
                )
            })?;
            pos += consumed;
            self.total += produced as u64;
            if self.total > self.max {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "a compressed message inflates past max_message_size ({}); raise `defaults.max_message_size` if messages this large are expected",
                        crate::runner::conn::human_size(self.max as usize)
                    ),
                ));
            }
            if status == Status::StreamEnd {
                self.ended = true;
                return Ok(());
            }
            // Done when the input is used up and the output did not fill its room, or when a
            // call moves nothing. Not when it consumed nothing but produced: with its output
            // full, miniz_oxide keeps the rest of a long match, and its next call only hands
            // that over and returns, input untouched (stopping there once lost a message's
            // tail). What it still holds comes out with the next piece, or the tail.
            if (pos == input.len() && produced < step) || (consumed == 0 && produced == 0) {
                return Ok(());
            }
        }
    }

    /// The message's last piece has been inflated: the tail the server left out, then a fresh
    /// window when the server keeps none between messages.
    pub fn finish(&mut self) -> io::Result<()> {
        if !self.ended {
            self.inflate(&TAIL)?;
        }
        // `server_no_context_takeover` needs no reset here: the server refers to nothing
        // before the message, so the window it leaves is never read (and a reset would clear
        // 32 KiB per message). A stream the server ended must start again, though.
        if self.ended {
            self.inflate.reset(false);
            self.ended = false;
        }
        self.total = 0;
        Ok(())
    }

    /// Whether inflated bytes are waiting to be passed on.
    pub fn pending(&self) -> bool {
        self.pos < self.end
    }
}

/// The compressor of the messages wsrun sends.
pub struct Deflater {
    deflate: Compress,
    /// `client_no_context_takeover`: each message starts from an empty window.
    reset: bool,
}

impl Deflater {
    pub fn new(agreed: &Agreed) -> Self {
        Self {
            deflate: Compress::new(Compression::fast(), false),
            reset: agreed.client_no_context_takeover,
        }
    }

    /// A text or binary message compressed: a frame with RSV1 set (anything else, or a
    /// message the compressor failed on, as it is).
    pub fn message(&mut self, message: Message) -> Message {
        let (payload, opcode) = match &message {
            Message::Text(t) => (t.as_bytes(), Data::Text),
            Message::Binary(b) => (b.as_ref(), Data::Binary),
            _ => return message,
        };
        let Some(compressed) = self.compress(payload) else {
            return message;
        };
        let mut frame = Frame::message(compressed, OpCode::Data(opcode), true);
        frame.header_mut().rsv1 = true;
        Message::Frame(frame)
    }

    /// The compressed payload of one message, without the tail (§7.2.1); `None` if the
    /// compressor failed, and the message goes uncompressed.
    pub fn compress(&mut self, data: &[u8]) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(data.len() / 2 + 64);
        let mut pos = 0;
        loop {
            if out.len() == out.capacity() {
                out.reserve(out.capacity());
            }
            let before = self.deflate.total_in();
            let done = self
                .deflate
                .compress_vec(&data[pos..], &mut out, FlushCompress::Sync);
            if done.is_err() {
                self.deflate.reset();
                return None;
            }
            pos += (self.deflate.total_in() - before) as usize;
            // The sync flush is complete when it did not fill the output.
            if pos == data.len() && out.len() < out.capacity() {
                break;
            }
        }
        if out.ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        }
        if self.reset {
            self.deflate.reset();
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agreed(header: &str) -> Result<Option<Agreed>, NegotiationError> {
        negotiate([header], true)
    }

    #[test]
    fn a_mock_answers_the_offers_it_can_honour() {
        assert_eq!(answer([]), None);
        assert_eq!(
            answer(["permessage-deflate; client_max_window_bits"]),
            Some(("permessage-deflate".into(), Agreed::default()))
        );
        let (header, local) = answer([
            "permessage-deflate; server_max_window_bits=10, permessage-deflate; server_no_context_takeover",
        ])
        .unwrap();
        assert_eq!(header, "permessage-deflate; server_no_context_takeover");
        assert!(local.client_no_context_takeover && local.compresses_outgoing());
        assert_eq!(
            answer(["x-webkit-deflate-frame", "permessage-deflate; x=1"]),
            None
        );
    }

    #[test]
    fn no_extension_header_agrees_on_nothing() {
        assert_eq!(negotiate([], true), Ok(None));
        assert_eq!(negotiate([""], false), Ok(None));
    }

    #[test]
    fn the_parameters_a_server_may_answer_are_read() {
        let a = agreed("permessage-deflate; server_no_context_takeover; client_max_window_bits=12; server_max_window_bits=\"10\"")
            .unwrap()
            .unwrap();
        assert!(a.server_no_context_takeover && !a.client_no_context_takeover);
        assert_eq!(
            (a.server_max_window_bits, a.client_max_window_bits),
            (Some(10), Some(12))
        );
        assert!(!a.compresses_outgoing());
    }

    #[test]
    fn an_answer_wsrun_did_not_offer_is_refused() {
        assert_eq!(
            agreed("x-webkit-deflate-frame").unwrap_err().to_string(),
            "the server agreed on extension `x-webkit-deflate-frame`, which wsrun did not offer"
        );
        assert_eq!(
            negotiate(["permessage-deflate"], false).unwrap_err(),
            NegotiationError::CompressionOff
        );
        assert_eq!(
            agreed("permessage-deflate, permessage-deflate").unwrap_err(),
            NegotiationError::Twice
        );
        for (header, named) in [
            ("permessage-deflate; colour=blue", "`colour=blue`"),
            (
                "permessage-deflate; client_max_window_bits",
                "`client_max_window_bits`",
            ),
            (
                "permessage-deflate; server_max_window_bits=16",
                "`server_max_window_bits=16`",
            ),
            (
                "permessage-deflate; server_no_context_takeover=1",
                "`server_no_context_takeover=1`",
            ),
            (
                "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
                "`server_no_context_takeover` twice",
            ),
        ] {
            assert_eq!(
                agreed(header).unwrap_err().to_string(),
                format!("the server agreed on permessage-deflate with {named}, which wsrun did not offer"),
                "{header}"
            );
        }
    }

    fn inflate_all(inflater: &mut Inflater, compressed: &[u8]) -> io::Result<Vec<u8>> {
        inflater.inflate(compressed)?;
        inflater.finish()?;
        let out = inflater.out[inflater.pos..inflater.end].to_vec();
        inflater.pos = 0;
        inflater.end = 0;
        Ok(out)
    }

    #[test]
    fn messages_round_trip_with_and_without_context_takeover() {
        for header in [
            "permessage-deflate",
            "permessage-deflate; client_no_context_takeover; server_no_context_takeover",
        ] {
            let agreed = agreed(header).unwrap().unwrap();
            let mut deflater = Deflater::new(&agreed);
            // A decoder keeps its window either way: without context takeover the sender
            // just never refers to it.
            let mut inflater = Inflater::new(1 << 20);
            for text in ["hello hello hello", "hello hello hello", "", "other"] {
                let compressed = deflater.compress(text.as_bytes()).unwrap();
                assert_eq!(
                    inflate_all(&mut inflater, &compressed).unwrap(),
                    text.as_bytes()
                );
            }
        }
    }

    #[test]
    fn a_message_larger_than_an_output_step_inflates_whole_after_others() {
        let agreed = Agreed::default();
        let mut deflater = Deflater::new(&agreed);
        let mut inflater = Inflater::new(1 << 20);
        let big = "x".repeat(100_000);
        let mut reference = Decompress::new(false);
        for text in ["hello", big.as_str(), "hello", big.as_str()] {
            let compressed = deflater.compress(text.as_bytes()).unwrap();
            let mut whole = Vec::with_capacity(1 << 20);
            reference
                .decompress_vec(
                    &[&compressed[..], &TAIL].concat(),
                    &mut whole,
                    FlushDecompress::Sync,
                )
                .expect("the compressor's output inflates in one go");
            assert_eq!(whole.len(), text.len(), "the compressor");
            let got = inflate_all(&mut inflater, &compressed).unwrap();
            assert_eq!(got.len(), text.len());
            assert!(got == text.as_bytes());
        }
    }

    #[test]
    fn a_bomb_is_refused_once_it_passes_the_cap_and_corrupt_data_is_named() {
        let agreed = Agreed::default();
        let bomb = Deflater::new(&agreed)
            .compress(&vec![0u8; 4 << 20])
            .unwrap();
        assert!(bomb.len() < 64 << 10, "{}", bomb.len());
        let mut inflater = Inflater::new(1 << 20);
        let e = inflater.inflate(&bomb).unwrap_err();
        assert_eq!(
            e.to_string(),
            "a compressed message inflates past max_message_size (1 MiB); raise `defaults.max_message_size` if messages this large are expected"
        );
        assert!(inflater.out.capacity() <= 2 << 20);
        let mut inflater = Inflater::new(1 << 20);
        let e = inflate_all(&mut inflater, &[0xff, 0xff, 0xff]).unwrap_err();
        assert!(
            e.to_string().starts_with(
                "the server sent a compressed message that is not valid deflate data ("
            ),
            "{e}"
        );
    }
}
