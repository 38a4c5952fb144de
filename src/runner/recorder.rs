//! The shared clock, transcript and message-rate counts of a request's connections.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::report::{Direction, Frame, FrameData, Transcript};

/// The shared clock, transcript and message-rate counts of a request.
pub struct Recorder {
    pub start: Instant,
    pub transcript: Transcript,
    rates: Vec<(Arc<str>, Vec<u32>)>,
    bucket_ms: u64,
    progress: Option<Arc<crate::options::Progress>>,
    /// Whether frames go into the transcript (a Python `stream()` has no report to put them in).
    keep_frames: bool,
}

/// Rate series never grow past this many buckets: older buckets merge pairwise instead.
const MAX_BUCKETS: u64 = 600;

impl Recorder {
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
            transcript: Transcript::default(),
            rates: Vec::new(),
            bucket_ms: 100,
            progress: None,
            keep_frames: true,
        }
    }

    /// A recorder that counts messages but keeps no transcript.
    pub fn without_transcript() -> Self {
        Self {
            keep_frames: false,
            ..Self::new()
        }
    }

    /// Whether recorded frames are kept: when not, a caller need not build the frame's data.
    pub fn keeps_frames(&self) -> bool {
        self.keep_frames
    }

    /// A recorder that also counts received messages into `progress`.
    pub fn with_progress(progress: Option<Arc<crate::options::Progress>>) -> Self {
        Self {
            progress,
            ..Self::new()
        }
    }

    pub fn record(&mut self, conn: &Arc<str>, direction: Direction, data: FrameData) {
        let at = self.start.elapsed();
        if direction == Direction::Received
            && matches!(data, FrameData::Text(_) | FrameData::Binary(_))
        {
            self.count(conn, at);
            if let Some(p) = &self.progress {
                p.messages
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
        if !self.keep_frames {
            return;
        }
        self.transcript.push(Frame {
            at,
            direction,
            connection: conn.clone(),
            data,
        });
    }

    fn count(&mut self, conn: &Arc<str>, at: Duration) {
        let mut index = at.as_millis() as u64 / self.bucket_ms;
        while index >= MAX_BUCKETS {
            for (_, counts) in &mut self.rates {
                *counts = counts.chunks(2).map(|c| c.iter().sum()).collect();
            }
            self.bucket_ms *= 2;
            index /= 2;
        }
        let series = match self.rates.iter().position(|(c, _)| Arc::ptr_eq(c, conn)) {
            Some(i) => &mut self.rates[i].1,
            None => {
                self.rates.push((conn.clone(), Vec::new()));
                &mut self.rates.last_mut().expect("just pushed").1
            }
        };
        let index = index as usize;
        if series.len() <= index {
            series.resize(index + 1, 0);
        }
        series[index] += 1;
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
