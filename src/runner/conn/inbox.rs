//! A connection's inbox: messages read ahead of the step that takes them (while a `sleep` runs,
//! or a step waits for one particular message), each with the time it arrived, so that a
//! window's `rate` counts them from then rather than from when a step took them.

use std::collections::VecDeque;

use tokio::time::Instant;

use super::Incoming;

#[derive(Default)]
pub(super) struct Inbox {
    items: VecDeque<(Instant, Incoming)>,
}

impl Inbox {
    /// Keeps a message that has just been read.
    pub fn push_back(&mut self, m: Incoming) {
        self.items.push_back((Instant::now(), m));
    }

    /// The oldest message and when it arrived.
    pub fn pop_front(&mut self) -> Option<(Instant, Incoming)> {
        self.items.pop_front()
    }

    /// The oldest message `wanted` accepts, taken out; the others keep their order.
    pub fn take_where(
        &mut self,
        mut wanted: impl FnMut(&Incoming) -> bool,
    ) -> Option<(Instant, Incoming)> {
        let pos = self.items.iter().position(|(_, m)| wanted(m))?;
        self.items.remove(pos)
    }

    /// The messages held, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Incoming> {
        self.items.iter().map(|(_, m)| m)
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }
}
