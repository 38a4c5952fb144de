//! The shared clock, transcript and message-rate counts of a request's connections.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Bytes;

use crate::report::{Direction, Frame, FrameData, Handshake, Transcript};

/// The shared clock, transcript and message-rate counts of a request.
pub struct Recorder {
    pub start: Instant,
    frames: Frames,
    rates: Vec<(Arc<str>, Vec<u32>)>,
    bucket_ms: u64,
    /// The bucket the last message was counted in (series, index, its time span), so that the
    /// next one in the same bucket is a bounds check and an add.
    last_bucket: Option<(usize, usize, Duration, Duration)>,
    progress: Option<Arc<crate::options::Progress>>,
    keep: Keep,
    handshakes: Vec<Handshake>,
}

/// What a recorder keeps.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keep {
    /// The transcript, the rates and the progress count: a request run for a report.
    All,
    /// Only the count of received messages, into `progress`: one of a load's users (thousands
    /// of users keep no transcript each).
    Count,
    /// Nothing: a Python `stream()` has no report to put anything in.
    Nothing,
}

/// Rate series never grow past this many buckets: older buckets merge pairwise instead.
const MAX_BUCKETS: u64 = 600;

impl Recorder {
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
            frames: Frames::default(),
            rates: Vec::new(),
            bucket_ms: 100,
            last_bucket: None,
            progress: None,
            keep: Keep::All,
            handshakes: Vec::new(),
        }
    }

    /// A recorder that records nothing: no transcript, no rates (not even the time of a frame).
    pub fn off() -> Self {
        Self {
            keep: Keep::Nothing,
            ..Self::new()
        }
    }

    /// A recorder for one of a load's users: it only counts received messages into `counter`.
    pub fn lean(counter: Arc<crate::options::Progress>) -> Self {
        Self {
            progress: Some(counter),
            keep: Keep::Count,
            ..Self::new()
        }
    }

    /// A recorder that also counts received messages into `progress`.
    pub fn with_progress(progress: Option<Arc<crate::options::Progress>>) -> Self {
        Self {
            progress,
            ..Self::new()
        }
    }

    pub fn record(&mut self, conn: &Arc<str>, direction: Direction, data: FrameData) {
        let message = matches!(data, FrameData::Text(_) | FrameData::Binary(_));
        if let Some(at) = self.counted(conn, direction == Direction::Received && message, None) {
            self.frames.push(at, direction, conn, Payload::Frame(data));
        }
    }

    /// Records a text frame received, keeping a copy of it: the frame itself is a slice of the
    /// connection's read buffer, which it would keep from being reused (measured: 56× more
    /// `recvfrom` calls, ~8% slower on a firehose). The copy goes into the buffer of the frame
    /// it pushes out of the transcript, so a long stream allocates nothing here.
    ///
    /// `read_at` is when the read that brought it in returned (see `Conn::read_until`).
    pub fn received_text(&mut self, conn: &Arc<str>, text: &str, read_at: Instant) {
        if let Some(at) = self.counted(conn, true, Some(read_at)) {
            self.frames
                .push(at, Direction::Received, conn, Payload::Text(text));
        }
    }

    /// As [`Recorder::received_text`], for a binary frame.
    pub fn received_binary(&mut self, conn: &Arc<str>, bytes: &[u8], read_at: Instant) {
        if let Some(at) = self.counted(conn, true, Some(read_at)) {
            self.frames
                .push(at, Direction::Received, conn, Payload::Binary(bytes));
        }
    }

    /// Counts a received message, and gives the time of a frame since the request started when
    /// the frame is to be kept: `read_at`, or now.
    fn counted(
        &mut self,
        conn: &Arc<str>,
        received_message: bool,
        read_at: Option<Instant>,
    ) -> Option<Duration> {
        if self.keep == Keep::Nothing {
            return None;
        }
        if received_message {
            if let Some(p) = &self.progress {
                p.messages
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
        if self.keep == Keep::Count {
            return None;
        }
        let at = read_at.unwrap_or_else(Instant::now) - self.start;
        if received_message {
            self.count(conn, at);
        }
        Some(at)
    }

    /// The transcript recorded so far: the first [`Transcript::HEAD`] frames and the last
    /// [`Transcript::TAIL`].
    pub fn transcript(&self) -> Transcript {
        Transcript {
            handshakes: self.handshakes.clone(),
            ..self.frames.transcript()
        }
    }

    /// Keeps a connection's opening handshake for the transcript (a recorder that keeps no
    /// transcript drops it).
    pub fn handshake(&mut self, handshake: Handshake) {
        if self.keep == Keep::All {
            self.handshakes.push(handshake);
        }
    }

    fn count(&mut self, conn: &Arc<str>, at: Duration) {
        if let Some((s, i, from, to)) = self.last_bucket {
            if from <= at && at < to && Arc::ptr_eq(&self.rates[s].0, conn) {
                self.rates[s].1[i] += 1;
                return;
            }
        }
        let mut index = at.as_millis() as u64 / self.bucket_ms;
        while index >= MAX_BUCKETS {
            for (_, counts) in &mut self.rates {
                *counts = counts.chunks(2).map(|c| c.iter().sum()).collect();
            }
            self.bucket_ms *= 2;
            index /= 2;
        }
        let s = match self.rates.iter().position(|(c, _)| Arc::ptr_eq(c, conn)) {
            Some(s) => s,
            None => {
                self.rates.push((conn.clone(), Vec::new()));
                self.rates.len() - 1
            }
        };
        let from = Duration::from_millis(index * self.bucket_ms);
        let to = from + Duration::from_millis(self.bucket_ms);
        let index = index as usize;
        let series = &mut self.rates[s].1;
        if series.len() <= index {
            series.resize(index + 1, 0);
        }
        series[index] += 1;
        self.last_bucket = Some((s, index, from, to));
    }

    /// The rate series recorded so far.
    pub fn rates(&self) -> Vec<crate::report::RateSeries> {
        self.rates
            .iter()
            .map(|(c, counts)| crate::report::RateSeries {
                connection: c.clone(),
                bucket: Duration::from_millis(self.bucket_ms),
                counts: counts.clone(),
            })
            .collect()
    }
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

/// A frame's data as it comes in: a copy to make of a text or binary payload, or data kept as
/// it is.
enum Payload<'a> {
    Text(&'a str),
    Binary(&'a [u8]),
    Frame(FrameData),
}

/// A recorded frame. Copied payloads live in buffers that are reused when the frame leaves.
struct Kept {
    at: Duration,
    direction: Direction,
    connection: Arc<str>,
    data: KeptData,
}

enum KeptData {
    Text(String),
    Binary(Vec<u8>),
    Frame(FrameData),
}

impl Kept {
    fn new(at: Duration, direction: Direction, conn: &Arc<str>, payload: Payload<'_>) -> Self {
        Kept {
            at,
            direction,
            connection: conn.clone(),
            data: payload.into(),
        }
    }

    /// Takes another frame in, reusing the payload buffer when both are text or both binary.
    fn refill(
        &mut self,
        at: Duration,
        direction: Direction,
        conn: &Arc<str>,
        payload: Payload<'_>,
    ) {
        self.at = at;
        self.direction = direction;
        if !Arc::ptr_eq(&self.connection, conn) {
            self.connection = conn.clone();
        }
        match (&mut self.data, payload) {
            (KeptData::Text(buf), Payload::Text(t)) => {
                buf.clear();
                buf.push_str(t);
            }
            (KeptData::Binary(buf), Payload::Binary(b)) => {
                buf.clear();
                buf.extend_from_slice(b);
            }
            (data, payload) => *data = payload.into(),
        }
    }

    fn frame(&self) -> Frame {
        Frame {
            at: self.at,
            direction: self.direction,
            connection: self.connection.clone(),
            data: match &self.data {
                KeptData::Text(t) => FrameData::Text(t.as_str().into()),
                KeptData::Binary(b) => FrameData::Binary(Bytes::copy_from_slice(b)),
                KeptData::Frame(f) => f.clone(),
            },
        }
    }
}

impl From<Payload<'_>> for KeptData {
    fn from(payload: Payload<'_>) -> Self {
        match payload {
            Payload::Text(t) => KeptData::Text(t.to_string()),
            Payload::Binary(b) => KeptData::Binary(b.to_vec()),
            Payload::Frame(f) => KeptData::Frame(f),
        }
    }
}

/// The transcript as it is recorded: the first frames, and the last ones in a ring.
#[derive(Default)]
struct Frames {
    head: Vec<Kept>,
    /// The last frames, oldest at `next` once full: a frame that leaves is overwritten in place.
    tail: Vec<Kept>,
    next: usize,
    elided: u64,
}

impl Frames {
    fn push(&mut self, at: Duration, direction: Direction, conn: &Arc<str>, payload: Payload<'_>) {
        if self.head.len() < Transcript::HEAD {
            self.head.push(Kept::new(at, direction, conn, payload));
        } else if self.tail.len() < Transcript::TAIL {
            self.tail.push(Kept::new(at, direction, conn, payload));
        } else {
            self.elided += 1;
            self.tail[self.next].refill(at, direction, conn, payload);
            self.next = (self.next + 1) % Transcript::TAIL;
        }
    }

    fn transcript(&self) -> Transcript {
        let (newer, older) = self.tail.split_at(self.next);
        Transcript {
            head: self.head.iter().map(Kept::frame).collect(),
            tail: older.iter().chain(newer).map(Kept::frame).collect(),
            elided: self.elided,
            handshakes: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_transcript_keeps_the_first_and_last_frames_in_order_whatever_their_kind() {
        let mut rec = Recorder::new();
        let (a, b): (Arc<str>, Arc<str>) = ("a".into(), "b".into());
        for i in 0..10_000u32 {
            match i % 7 {
                0 => rec.received_binary(&b, &i.to_be_bytes(), Instant::now()),
                3 => rec.record(&a, Direction::Sent, FrameData::Text(i.to_string().into())),
                _ => rec.received_text(&a, &i.to_string(), Instant::now()),
            }
        }
        let t = rec.transcript();
        assert_eq!(
            (t.head.len(), t.tail.len()),
            (Transcript::HEAD, Transcript::TAIL)
        );
        assert_eq!(t.len(), 10_000);
        let shown: Vec<String> = t.frames().map(|f| f.data.preview(20)).collect();
        let expected = |i: u32| match i % 7 {
            0 => FrameData::Binary(Bytes::copy_from_slice(&i.to_be_bytes())).preview(20),
            _ => i.to_string(),
        };
        let kept: Vec<u32> = (0..50).chain(9_800..10_000).collect();
        assert_eq!(shown, kept.iter().map(|&i| expected(i)).collect::<Vec<_>>());
        // 9,999 was sent, 9,998 received.
        let last: Vec<_> = t.tail.iter().rev().take(2).map(|f| f.direction).collect();
        assert_eq!(last, [Direction::Sent, Direction::Received]);
        let binary = t.tail.iter().find(|f| f.data.kind() == "binary").unwrap();
        assert_eq!(&*binary.connection, "b");
        // Received messages are counted, sent ones are not.
        let counted: u32 = rec.rates().iter().flat_map(|r| r.counts.iter()).sum();
        assert_eq!(counted, (0..10_000).filter(|i| i % 7 != 3).count() as u32);
    }

    #[test]
    fn rates_count_each_message_in_its_bucket_across_connections_and_merges() {
        let mut rec = Recorder::new();
        let (a, b): (Arc<str>, Arc<str>) = ("a".into(), "b".into());
        // Times in ms, out of order across connections (frames read earlier, counted later),
        // and past 600 buckets of 100 ms, which merges buckets into 200 ms ones.
        let times = [
            0u64, 5, 99, 100, 150, 99, 250, 59_999, 60_000, 60_150, 119_999, 3,
        ];
        for (n, &ms) in times.iter().enumerate() {
            let conn = if n % 3 == 0 { &b } else { &a };
            rec.count(conn, Duration::from_millis(ms));
        }
        let rates = rec.rates();
        assert_eq!(rates[0].bucket, Duration::from_millis(200));
        let by_bucket = |conn: &str| -> Vec<(usize, u32)> {
            let r = rates.iter().find(|r| &*r.connection == conn).unwrap();
            r.counts
                .iter()
                .copied()
                .enumerate()
                .filter(|(_, c)| *c > 0)
                .collect()
        };
        let expected = |conn: usize| -> Vec<(usize, u32)> {
            let mut buckets = std::collections::BTreeMap::new();
            for (n, &ms) in times.iter().enumerate() {
                if (n % 3 == 0) == (conn == 1) {
                    *buckets.entry((ms / 200) as usize).or_insert(0) += 1;
                }
            }
            buckets.into_iter().collect()
        };
        assert_eq!(by_bucket("a"), expected(0));
        assert_eq!(by_bucket("b"), expected(1));
    }
}
