//! The wire's side of permessage-deflate: a compressed message from the server is inflated
//! piece by piece as it arrives and passed on to tungstenite as an uncompressed message, cut
//! into frames as the pieces come (a fragmented message, which tungstenite collects).

use std::io;

use tokio::io::ReadBuf;

use super::deflate::{Agreed, Inflater, RSV1};
use super::{State, Wire};

impl<S> Wire<S> {
    /// What the server agreed on in its handshake answer (`None`: nothing). Called before the
    /// first frame is read: the handshake's read stops where the response ends.
    pub fn agree(&mut self, agreed: Option<Agreed>) {
        self.agreed = agreed;
    }

    /// Whether a compressed message is being inflated: its continuations need a closer look.
    pub(super) fn inflating(&self) -> bool {
        self.inflater.as_ref().is_some_and(|i| i.in_message)
    }

    /// The header of an unmasked data frame: `true` when it starts or continues a compressed
    /// message (its payload is then inflated), `false` when it passes as it is.
    pub(super) fn inflate_frame(&mut self, head: &[u8], len: u64) -> io::Result<bool> {
        let first = head[0];
        let (fin, compressed, opcode) = (first & 0x80 != 0, first & RSV1 != 0, first & 0x0f);
        let inflating = self.inflating();
        let peer = if self.server { "client" } else { "server" };
        match (compressed, opcode, inflating) {
            (false, 0, true) => {}
            (false, _, _) => return Ok(false),
            (true, _, _) if self.agreed.is_none() => {
                return Err(protocol_error(format!(
                    "the {peer} sent a compressed frame (RSV1 set) on a connection where no compression was negotiated"
                )))
            }
            (true, 0, _) => {
                return Err(protocol_error(format!(
                    "the {peer} set RSV1 on a continuation frame (only a message's first frame may carry it)"
                )))
            }
            (true, _, true) => {
                return Err(protocol_error(format!(
                    "the {peer} began a new message before its compressed message ended"
                )))
            }
            (true, _, false) => {
                let max = self.max_message_size;
                let inflater = self
                    .inflater
                    .get_or_insert_with(|| Box::new(Inflater::new(max)));
                inflater.in_message = true;
                inflater.opcode = opcode;
            }
        }
        // A client's frame ends with its masking key.
        let mut mask = [0u8; 4];
        if self.server {
            mask.copy_from_slice(&head[head.len() - 4..]);
        }
        if len == 0 {
            self.inflate_piece(0, 0, fin, mask)?;
        } else {
            self.state = State::Inflate {
                left: len,
                fin,
                mask,
            };
        }
        Ok(true)
    }

    /// Inflates the next `n` of the frame's `left` payload bytes (from `buf`), and passes on
    /// what came out as a frame of its own (the message's last when the final frame ends).
    pub(super) fn inflate_piece(
        &mut self,
        n: usize,
        left: u64,
        fin: bool,
        mut mask: [u8; 4],
    ) -> io::Result<()> {
        let Some(inflater) = self.inflater.as_mut() else {
            return Err(protocol_error(
                "a compressed frame without a decompressor".into(),
            ));
        };
        let piece = &mut self.buf[self.start..self.start + n];
        if mask != [0; 4] {
            for (i, b) in piece.iter_mut().enumerate() {
                *b ^= mask[i % 4];
            }
            mask.rotate_left(n % 4);
        }
        inflater.inflate(piece)?;
        self.start += n;
        let left = left - n as u64;
        let last = left == 0 && fin;
        if last {
            inflater.finish()?;
        }
        self.state = if left == 0 {
            State::header()
        } else {
            State::Inflate { left, fin, mask }
        };
        let len = (inflater.end - inflater.pos) as u64;
        if len > 0 || last {
            let first = if last { 0x80 } else { 0 } | std::mem::take(&mut inflater.opcode);
            inflater.in_message = !last;
            self.emit_header(first, len);
            if self.server {
                // tungstenite takes only masked frames from a client: a zero key masks nothing.
                self.out[1] |= 0x80;
                self.out_end += 4;
                self.out[self.out_end - 4..self.out_end].fill(0);
            }
        }
        Ok(())
    }
}

impl Inflater {
    /// Passes on as much of the inflated bytes as `dst` has room for.
    pub(super) fn pass_on(&mut self, dst: &mut ReadBuf<'_>) {
        let n = (self.end - self.pos).min(dst.remaining());
        dst.put_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        if self.pos == self.end {
            self.pos = 0;
            self.end = 0;
        }
    }
}

fn protocol_error(text: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, text)
}
