//! The server's bytes on their way to tungstenite: frames too large to buffer at once are cut
//! into continuation frames, oversized control frames are refused, close frames are kept as sent.
//!
//! tungstenite reserves a frame's whole announced length as soon as it reads the header, so a
//! 14-byte header announcing 10 GiB (within a raised `max_message_size`) made it allocate 10 GiB
//! before any of it arrived, and abort where memory is limited. Cut into frames of at most
//! [`CHUNK`] bytes, the same message is collected by tungstenite as a fragmented one, and its
//! buffer grows with the data that actually arrives. A frame over `max_message_size` is passed on
//! whole, so tungstenite still refuses it from its header.
//!
//! tungstenite turns a close frame with an invalid code (999, or 1005 on the wire) into 1002
//! "Protocol violation" before anyone sees it; [`Wire::close_frame`] keeps it as it was sent.
//!
//! tungstenite knows no extensions: once permessage-deflate is agreed ([`Wire::agree`]), the
//! server's compressed messages are inflated here and passed on as plain ones (`inflate.rs`).

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

/// The largest frame passed to tungstenite in one piece: what it may reserve ahead of the data.
pub const CHUNK: u64 = 1 << 20;

/// How much is read from the socket at once (tungstenite's own read size).
pub const READ_SIZE: usize = 128 << 10;

/// A stream that passes the server's bytes on with frames of at most [`CHUNK`] bytes.
pub struct Wire<S> {
    inner: S,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    state: State,
    /// A frame header (the server's, or one written here) waiting to be passed on.
    out: [u8; 14],
    out_start: usize,
    out_end: usize,
    max_message_size: u64,
    /// The payload of the server's last close frame so far (at most 125 bytes), as sent.
    /// Boxed: made once per connection, at its end, and inline it would be 136 bytes of every
    /// held connection.
    close: Option<Box<([u8; 125], usize)>>,
    /// When the last read from the socket returned data.
    read_at: Instant,
    /// What the server agreed on for permessage-deflate, if it did.
    agreed: Option<deflate::Agreed>,
    /// The decompressor, made with the first compressed message.
    inflater: Option<Box<deflate::Inflater>>,
    /// A mock's side: the bytes are a client's (a request, then masked frames).
    server: bool,
}

#[derive(Debug, Clone, Copy)]
enum State {
    /// The HTTP response: `seen` bytes so far, the status code's digits, and how much of the
    /// blank line that ends it has been matched.
    Handshake {
        seen: usize,
        status: [u8; 3],
        matched: usize,
    },
    /// Not a WebSocket (the upgrade was refused): everything passes untouched.
    Plain,
    /// Collecting a frame header.
    Header { head: [u8; 14], len: usize },
    /// Passing on `left` payload bytes of the current frame (or chunk of a cut frame).
    Payload {
        left: u64,
        /// Bytes of the cut frame after this chunk, and whether it was final.
        rest: u64,
        fin: bool,
        /// A close frame: its payload is copied into `Wire::close` on the way.
        close: bool,
    },
    /// Inflating `left` payload bytes of a frame of a compressed message (`inflate.rs`),
    /// unmasked with `mask` (turned to where the next byte is; zero from a server).
    Inflate { left: u64, fin: bool, mask: [u8; 4] },
}

impl State {
    fn header() -> Self {
        State::Header {
            head: [0; 14],
            len: 0,
        }
    }
}

impl<S> Wire<S> {
    #[cfg(test)]
    pub fn new(inner: S, max_message_size: usize) -> Self {
        Self::with_buffer(inner, max_message_size, READ_SIZE)
    }

    /// A wire reading at most `read_size` bytes at once: small for a load's many connections.
    pub fn with_buffer(inner: S, max_message_size: usize, read_size: usize) -> Self {
        Self {
            inner,
            // The header state needs a whole frame header (14 bytes) to fit.
            buf: vec![0; read_size.max(64)].into_boxed_slice(),
            start: 0,
            end: 0,
            state: State::Handshake {
                seen: 0,
                status: [0; 3],
                matched: 0,
            },
            out: [0; 14],
            out_start: 0,
            out_end: 0,
            max_message_size: max_message_size as u64,
            close: None,
            read_at: Instant::now(),
            agreed: None,
            inflater: None,
            server: false,
        }
    }

    /// A mock's wire: it reads a client's handshake request, then its masked frames, and
    /// inflates them once [`Wire::agree`] says permessage-deflate was agreed.
    pub fn server(inner: S, max_message_size: usize) -> Self {
        Self {
            server: true,
            ..Self::with_buffer(inner, max_message_size, READ_SIZE)
        }
    }

    /// When the last read from the socket returned data: the time a frame tungstenite hands
    /// over now arrived (it reads again only when its buffer holds no whole frame, so this read
    /// brought the frame's last bytes). One clock read per socket read, not per frame.
    pub fn read_at(&self) -> Instant {
        self.read_at
    }

    /// The code and reason of the server's close frame as they were on the wire, once one
    /// arrived with a code.
    pub fn close_frame(&self) -> Option<(u16, String)> {
        let (payload, len) = self.close.as_deref()?;
        let payload = &payload[..*len];
        let code = u16::from_be_bytes([*payload.first()?, *payload.get(1)?]);
        Some((code, String::from_utf8_lossy(&payload[2..]).into_owned()))
    }

    fn emit_header(&mut self, first: u8, len: u64) {
        let (out, n) = encode_header(first, len);
        self.out = out;
        self.out_start = 0;
        self.out_end = n;
    }

    /// Moves what can be moved from `buf[start..end]` along; returns the bytes to pass on, as
    /// a range of `buf` (at most `room` of them), or an error for a frame that must not reach
    /// tungstenite.
    fn step(&mut self, room: usize) -> io::Result<std::ops::Range<usize>> {
        let avail = self.end - self.start;
        match self.state {
            State::Plain => Ok(self.take(avail.min(room))),
            State::Handshake {
                mut seen,
                mut status,
                mut matched,
            } => {
                let mut n = 0;
                let mut done = false;
                for &b in &self.buf[self.start..self.start + avail.min(room)] {
                    n += 1;
                    // "HTTP/1.1 101 …": the status code is bytes 9 to 11.
                    if (9..12).contains(&seen) {
                        status[seen - 9] = b;
                    }
                    seen += 1;
                    matched = match (matched, b) {
                        (0 | 2, b'\r') | (1 | 3, b'\n') => matched + 1,
                        (_, b'\r') => 1,
                        _ => 0,
                    };
                    if matched == 4 {
                        done = true;
                        break;
                    }
                }
                self.state = match (done, &status) {
                    (false, _) => State::Handshake {
                        seen,
                        status,
                        matched,
                    },
                    (true, _) if self.server => State::header(),
                    (true, b"101") => State::header(),
                    (true, _) => State::Plain,
                };
                Ok(self.take(n))
            }
            State::Header { len: 0, .. } if avail >= 2 => {
                let (n, state) = self.scan(avail.min(room));
                if n > 0 {
                    self.state = state;
                    return Ok(self.take(n));
                }
                self.collect_header(avail)
            }
            State::Header { .. } => self.collect_header(avail),
            State::Inflate { left, fin, mask } => {
                self.inflate_piece(left.min(avail as u64) as usize, left, fin, mask)?;
                Ok(self.start..self.start)
            }
            State::Payload {
                left,
                rest,
                fin,
                close,
            } => {
                let n = left.min(avail.min(room) as u64) as usize;
                if let (true, Some(kept)) = (close, &mut self.close) {
                    let (payload, len) = &mut **kept;
                    // A close frame is at most 125 bytes: `frame` refuses longer control frames.
                    let bytes = &self.buf[self.start..self.start + n];
                    let fits = bytes.len().min(payload.len() - *len);
                    payload[*len..*len + fits].copy_from_slice(&bytes[..fits]);
                    *len += fits;
                }
                let left = left - n as u64;
                self.state = if left > 0 {
                    State::Payload {
                        left,
                        rest,
                        fin,
                        close,
                    }
                } else if rest > 0 {
                    // The next chunk of a cut frame: a continuation, final if it is the last.
                    let len = rest.min(CHUNK);
                    let last = len == rest;
                    self.emit_header(if last && fin { 0x80 } else { 0 }, len);
                    State::Payload {
                        left: len,
                        rest: rest - len,
                        fin,
                        close: false,
                    }
                } else {
                    State::header()
                };
                Ok(self.take(n))
            }
        }
    }

    /// The fast path, from a frame boundary: the longest run of frames in the next `limit` bytes
    /// that pass unchanged, and the state after it (see [`scan_frames`]).
    fn scan(&self, limit: usize) -> (usize, State) {
        scan_frames(
            &self.buf[self.start..self.start + limit],
            self.max_message_size,
            self.inflating(),
        )
    }

    /// Reads from the socket straight into `dst` when nothing is buffered here and the bytes
    /// can pass unchanged (the common case): the frames that pass stay where they were read, no
    /// copy through `buf`. From the first one that needs a closer look (a header cut off by the
    /// end of the read, a frame to cut or refuse, a close frame) the bytes move into `buf` for
    /// the slow path. `None` when it does not apply, or when nothing passed.
    fn read_direct(
        &mut self,
        cx: &mut Context<'_>,
        dst: &mut ReadBuf<'_>,
    ) -> Option<Poll<io::Result<()>>>
    where
        S: AsyncRead + Unpin,
    {
        let direct = self.start == self.end
            && self.out_start == self.out_end
            && !self.inflater.as_ref().is_some_and(|i| i.pending())
            // What is left of the read must fit in `buf`.
            && dst.remaining() <= self.buf.len()
            && match self.state {
                State::Header { len, .. } => len == 0,
                State::Payload { rest, close, .. } => rest == 0 && !close,
                State::Handshake { .. } | State::Plain | State::Inflate { .. } => false,
            };
        if !direct {
            return None;
        }
        let before = dst.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, dst) {
            Poll::Ready(Ok(())) => {}
            other => return Some(other),
        }
        let read = &dst.filled()[before..];
        if read.is_empty() {
            return Some(Poll::Ready(Ok(()))); // end of stream: passed on as such
        }
        self.read_at = Instant::now();
        // The rest of the current frame's payload passes first.
        let mut pos = 0;
        if let State::Payload { left, fin, .. } = self.state {
            let n = left.min(read.len() as u64);
            pos = n as usize;
            self.state = match left - n {
                0 => State::header(),
                left => State::Payload {
                    left,
                    rest: 0,
                    fin,
                    close: false,
                },
            };
        }
        if pos < read.len() {
            let (n, state) = scan_frames(&read[pos..], self.max_message_size, self.inflating());
            self.state = state;
            pos += n;
        }
        if pos < read.len() {
            // Into `buf` for the slow path (a read is never larger than `buf`, above).
            let k = read.len() - pos;
            self.buf[..k].copy_from_slice(&read[pos..]);
            self.start = 0;
            self.end = k;
            dst.set_filled(before + pos);
            if pos == 0 {
                return None;
            }
        }
        Some(Poll::Ready(Ok(())))
    }

    /// The slow path: a header collected byte by byte (split across reads, or to be rewritten).
    fn collect_header(&mut self, avail: usize) -> io::Result<std::ops::Range<usize>> {
        let State::Header { mut head, mut len } = self.state else {
            return Ok(self.start..self.start);
        };
        let n = (header_len(&head[..len]) - len).min(avail);
        head[len..len + n].copy_from_slice(&self.buf[self.start..self.start + n]);
        len += n;
        self.start += n;
        if len == header_len(&head[..len]) {
            self.frame(&head[..len])?;
        } else {
            self.state = State::Header { head, len };
        }
        Ok(self.start..self.start)
    }

    fn take(&mut self, n: usize) -> std::ops::Range<usize> {
        let range = self.start..self.start + n;
        self.start += n;
        range
    }

    /// A whole frame header has arrived: pass it on, cut the frame, or refuse it.
    fn frame(&mut self, head: &[u8]) -> io::Result<()> {
        let (fin, opcode, masked) = (head[0] & 0x80 != 0, head[0] & 0x0f, head[1] & 0x80 != 0);
        let len = payload_len(head);
        if opcode < 8 && masked == self.server && self.inflate_frame(head, len)? {
            return Ok(());
        }
        if opcode >= 8 && len > 125 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "the server sent a control frame of {len} bytes (a control frame carries at most 125)"
                ),
            ));
        }
        // Masked frames are passed on as they are: tungstenite refuses them from the server.
        let cut = opcode < 8 && !masked && len > CHUNK && len <= self.max_message_size;
        if cut {
            // The first chunk keeps the opcode and the reserved bits, but is not final.
            self.emit_header(head[0] & 0x7f, CHUNK);
            self.state = State::Payload {
                left: CHUNK,
                rest: len - CHUNK,
                fin,
                close: false,
            };
        } else {
            self.out[..head.len()].copy_from_slice(head);
            self.out_start = 0;
            self.out_end = head.len();
            let close = opcode == 8 && !masked;
            if close {
                self.close = Some(Box::new(([0; 125], 0)));
            }
            self.state = if len == 0 {
                State::header()
            } else {
                State::Payload {
                    left: len,
                    rest: 0,
                    fin,
                    close,
                }
            };
        }
        Ok(())
    }
}

/// The length of the header that starts with `head` (2 until its second byte is known).
fn header_len(head: &[u8]) -> usize {
    let Some(&second) = head.get(1) else {
        return 2;
    };
    let len_bytes = match second & 0x7f {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    2 + len_bytes + if second & 0x80 != 0 { 4 } else { 0 }
}

fn payload_len(head: &[u8]) -> u64 {
    match head[1] & 0x7f {
        126 => u64::from(u16::from_be_bytes([head[2], head[3]])),
        127 => u64::from_be_bytes(head[2..10].try_into().unwrap_or_default()),
        n => u64::from(n),
    }
}

/// An unmasked frame header with first byte `first` (FIN, reserved bits, opcode).
fn encode_header(first: u8, len: u64) -> ([u8; 14], usize) {
    let mut out = [0u8; 14];
    out[0] = first;
    let n = if len <= 125 {
        out[1] = len as u8;
        2
    } else if let Ok(short) = u16::try_from(len) {
        out[1] = 126;
        out[2..4].copy_from_slice(&short.to_be_bytes());
        4
    } else {
        out[1] = 127;
        out[2..10].copy_from_slice(&len.to_be_bytes());
        10
    };
    (out, n)
}

/// The fast path, from a frame boundary: the longest run of frames in `bytes` that pass
/// unchanged (the last one possibly cut short by the end of the data), and the state after it.
/// Zero when the first frame needs a closer look: a compressed one, or any data frame while a
/// compressed message is `inflating`.
fn scan_frames(bytes: &[u8], max_message_size: u64, inflating: bool) -> (usize, State) {
    let mut pos = 0;
    loop {
        let rest = &bytes[pos..];
        if rest.len() < 2 || rest.len() < header_len(rest) {
            return (pos, State::header());
        }
        let (opcode, len) = (rest[0] & 0x0f, payload_len(rest));
        let special = if opcode >= 8 {
            len > 125 || opcode == 8
        } else {
            (len > CHUNK && rest[1] & 0x80 == 0 && len <= max_message_size)
                || rest[0] & deflate::RSV1 != 0
                || inflating
        };
        if special {
            return (pos, State::header());
        }
        let whole = header_len(rest) as u64 + len;
        if whole > rest.len() as u64 {
            let left = whole - rest.len() as u64;
            let fin = rest[0] & 0x80 != 0;
            let state = State::Payload {
                left,
                rest: 0,
                fin,
                close: false,
            };
            return (bytes.len(), state);
        }
        pos += whole as usize;
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Wire<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        dst: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Some(done) = this.read_direct(cx, dst) {
            return done;
        }
        let before = dst.filled().len();
        while dst.remaining() > 0 {
            if this.out_start < this.out_end {
                let n = (this.out_end - this.out_start).min(dst.remaining());
                dst.put_slice(&this.out[this.out_start..this.out_start + n]);
                this.out_start += n;
                continue;
            }
            if let Some(inflater) = this.inflater.as_mut().filter(|i| i.pending()) {
                inflater.pass_on(dst);
                continue;
            }
            if this.start == this.end {
                if dst.filled().len() > before {
                    break;
                }
                let mut read = ReadBuf::new(&mut this.buf);
                ready!(Pin::new(&mut this.inner).poll_read(cx, &mut read))?;
                let n = read.filled().len();
                if n == 0 {
                    break; // end of stream: passed on as such
                }
                this.read_at = Instant::now();
                this.start = 0;
                this.end = n;
                continue;
            }
            let handshake = matches!(this.state, State::Handshake { .. });
            let range = this.step(dst.remaining())?;
            dst.put_slice(&this.buf[range]);
            if handshake && matches!(this.state, State::Header { .. }) {
                // The response ends here: what follows waits for `Wire::agree`, which the
                // connection calls with the response's extensions before it reads a frame.
                break;
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Wire<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

mod deflate;
mod inflate;
#[cfg(test)]
mod tests;

pub use deflate::{answer, negotiate, Agreed, Deflater, OFFER};
