//! A connection's protocol at work: the handshake, frames the protocol sends by itself
//! (keep-alive answers, ticks), messages sent in envelope form, and waiting for one particular
//! message (a response, a reply) while every other one stays in the inbox.

use std::time::Duration;

use tokio::time::Instant;

use super::{Closed, Conn, Elapsed, Event, Incoming, Recorder, RecvError, INBOX_LIMIT};
use crate::protocol::Decoded;
use crate::report::{Direction, FrameData};

impl Conn {
    /// The protocol's handshake: its greeting, then server frames until it has what it waits
    /// for, within `timeout`. Messages that arrive meanwhile stay in the inbox.
    pub async fn handshake(&mut self, timeout: Duration, rec: &mut Recorder) -> Result<(), String> {
        self.protocol.greet(&mut self.out);
        self.flush(rec).await?;
        let deadline = Instant::now() + timeout;
        while let Some(waiting) = self.protocol.pending() {
            if let Some(closed) = &self.closed {
                return Err(match &closed.error {
                    Some(why) => why.clone(),
                    None => self.protocol.closed_in_handshake(
                        format!(
                            "{} during the {} handshake",
                            closed.describe(),
                            self.protocol.name()
                        ),
                        closed.code,
                    ),
                });
            }
            match self.read_until(deadline, rec).await {
                Err(Elapsed) => {
                    return Err(format!(
                        "the {} handshake did not finish within {}: no {waiting} from the server",
                        self.protocol.name(),
                        crate::duration::format_duration(timeout)
                    ))
                }
                Ok(Some(m)) => self.inbox.push_back(m),
                Ok(None) => {}
            }
        }
        // Heart-beats may have been negotiated by the handshake (STOMP's `CONNECTED`).
        self.tick_at = self
            .protocol
            .tick_every()
            .map(|every| Instant::now() + every);
        Ok(())
    }

    /// When the protocol's next tick (a heart-beat) is due, if it has one and is open.
    pub fn next_tick(&self) -> Option<Instant> {
        self.tick_at
            .filter(|_| self.closed.is_none() && !self.close_sent)
    }

    /// Runs the protocol's tick if it is due: what keeps a connection alive while no step
    /// reads from it (`sleep`).
    pub async fn tick_if_due(&mut self, rec: &mut Recorder) {
        if self.next_tick().is_some_and(|at| at <= Instant::now()) {
            self.tick(rec).await;
        }
    }

    /// A fresh id for a message this connection sends (a JSON-RPC id): 1, 2, 3…, skipping the
    /// ids its protocol saw in use (a `send` by hand with `"id": 1`).
    pub fn fresh_id(&mut self) -> u64 {
        self.last_id += 1;
        while self.protocol.taken(self.last_id) {
            self.last_id += 1;
        }
        self.last_id
    }

    /// The messages read but not consumed by a step yet, oldest first.
    pub fn unread(&self) -> impl Iterator<Item = &Incoming> {
        self.inbox.iter()
    }

    /// Sends a message given in envelope form, as the protocol encodes it.
    pub async fn send_json(
        &mut self,
        envelope: serde_json::Value,
        rec: &mut Recorder,
    ) -> Result<(), String> {
        self.protocol.encode(envelope, &mut self.out)?;
        self.flush(rec).await
    }

    /// [`Conn::send_json`] for a message that has its text as the collection wrote it (long
    /// numbers): that text, where the protocol sends JSON messages as they are.
    pub async fn send_json_as_written(
        &mut self,
        envelope: serde_json::Value,
        written: Option<String>,
        rec: &mut Recorder,
    ) -> Result<(), String> {
        match written {
            Some(text) if self.protocol.sends_json_as_is() => {
                self.out
                    .push(tokio_tungstenite::tungstenite::Message::text(text));
                self.flush(rec).await
            }
            _ => self.send_json(envelope, rec).await,
        }
    }

    /// The first message `wanted` accepts — from the inbox, else as it arrives — waiting until
    /// `deadline`; every other message stays in the inbox, in order.
    pub async fn recv_where(
        &mut self,
        deadline: Instant,
        rec: &mut Recorder,
        mut wanted: impl FnMut(&Incoming) -> bool,
    ) -> Result<Incoming, RecvError> {
        if let Some((at, m)) = self.inbox.take_where(&mut wanted) {
            self.arrived = Some(at);
            return Ok(m);
        }
        self.arrived = None;
        loop {
            if let Some(closed) = &self.closed {
                return Err(RecvError::Closed(closed.clone()));
            }
            match self.read_until(deadline, rec).await {
                Err(Elapsed) => return Err(RecvError::Timeout),
                Ok(Some(m)) if wanted(&m) => return Ok(m),
                Ok(Some(m)) => {
                    if self.inbox.len() >= INBOX_LIMIT {
                        return Err(RecvError::Closed(overflow()));
                    }
                    self.inbox.push_back(m);
                }
                Ok(None) => {}
            }
        }
    }

    /// A text or binary frame, already recorded, through the protocol: the message for the
    /// steps, or `None` when the protocol absorbed it or failed on it. Its answers wait in
    /// `out` for [`Conn::answer`].
    pub(super) fn decode(&mut self, frame: Incoming, rec: &mut Recorder) -> Option<Incoming> {
        let decoded = self.protocol.decode(frame, &mut self.out);
        self.decoded(decoded, rec)
    }

    /// The next message the protocol holds from a frame already read (several MQTT packets or
    /// SignalR records in one frame), if any: `Some(None)` when it was absorbed or failed the connection.
    pub(super) fn queued(&mut self, rec: &mut Recorder) -> Option<Option<Incoming>> {
        let decoded = self.protocol.queued(&mut self.out)?;
        Some(self.decoded(decoded, rec))
    }

    fn decoded(&mut self, decoded: Decoded, rec: &mut Recorder) -> Option<Incoming> {
        match decoded {
            Decoded::Message(m) => Some(m),
            Decoded::Absorbed => None,
            Decoded::Failed(why) => {
                rec.record(
                    &self.name,
                    Direction::Received,
                    FrameData::Lost(why.clone()),
                );
                self.closed = Some(Closed {
                    code: None,
                    reason: String::new(),
                    clean: false,
                    by_us: false,
                    error: Some(why),
                    broken: true,
                });
                None
            }
        }
    }

    /// The protocol's tick (heart-beats), and the next one scheduled.
    pub(super) async fn tick(&mut self, rec: &mut Recorder) {
        self.protocol.tick(&mut self.out);
        let _ = self.flush(rec).await;
        self.tick_at = self
            .protocol
            .tick_every()
            .map(|every| Instant::now() + every);
    }

    /// Sends the answers the protocol has for the frames read (keep-alives). A failed answer
    /// shows up as the connection's failure on the next read.
    pub(super) async fn answer(&mut self, rec: &mut Recorder) {
        if !self.out.is_empty() {
            // Boxed, as `tick` in `read_until`: rare, and inline it would grow every read's
            // future, which a load's users hold while they wait (bench/RESULTS.md, "Memory per
            // held connection").
            let _ = Box::pin(self.flush(rec)).await;
        }
    }

    /// Sends the frames the protocol asked for.
    pub(super) async fn flush(&mut self, rec: &mut Recorder) -> Result<(), String> {
        for message in std::mem::take(&mut self.out) {
            self.send(message, rec).await?;
        }
        Ok(())
    }
}

/// Serves every connection until `deadline` while no step reads (`sleep`): keep-alives are
/// answered and heart-beats sent, messages kept in the inbox (up to its limit), a close noted.
pub async fn serve_until(conns: &mut [Conn], deadline: Instant, rec: &mut Recorder) {
    use futures_util::FutureExt;
    loop {
        let reading: Vec<_> = conns
            .iter_mut()
            .enumerate()
            .filter(|(_, c)| c.closed.is_none() && c.inbox.len() < INBOX_LIMIT)
            .map(|(i, c)| async move { (i, c.next_event().await) }.boxed())
            .collect();
        if reading.is_empty() {
            tokio::time::sleep_until(deadline).await;
            return;
        }
        let first = tokio::time::timeout_at(deadline, futures_util::future::select_all(reading));
        let Ok(((i, event), _, others)) = first.await else {
            return;
        };
        // The other connections' reads are dropped; their frames wait in their streams.
        drop(others);
        let conn = &mut conns[i];
        match event {
            Event::Tick => Box::pin(conn.tick(rec)).await,
            Event::Frame(next) => {
                let taken = conn.take(next, rec);
                conn.answer(rec).await;
                if let Some(m) = taken {
                    conn.inbox.push_back(m);
                }
                // The rest of the frame, up to the inbox's limit (what is left stays with the
                // protocol, ahead of any later frame).
                while conn.inbox.len() < INBOX_LIMIT {
                    match conn.queued(rec) {
                        Some(Some(m)) => conn.inbox.push_back(m),
                        Some(None) => {}
                        None => break,
                    }
                }
                conn.answer(rec).await;
            }
        }
    }
}

/// The inbox is full while a step waits for one message (the step names which).
pub(super) fn overflow() -> Closed {
    Closed {
        code: None,
        reason: String::new(),
        clean: false,
        by_us: false,
        error: Some(format!(
            "more than {INBOX_LIMIT} messages arrived and were left unread"
        )),
        broken: true,
    }
}
