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
    /// A load's user: count received messages into `progress`, keep no frames and no rates.
    lean: bool,
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
            lean: false,
        }
    }

    /// A recorder for one of a load's users: it only counts received messages into `counter`
    /// (thousands of users keep no transcript each).
    pub fn lean(counter: Arc<crate::options::Progress>) -> Self {
        Self {
            progress: Some(counter),
            lean: true,
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
        if self.lean {
            if direction == Direction::Received
                && matches!(data, FrameData::Text(_) | FrameData::Binary(_))
            {
                if let Some(p) = &self.progress {
                    p.messages
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
            return;
        }
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
