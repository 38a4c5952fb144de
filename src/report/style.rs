//! How terminal output is painted: colour, verbosity, timings.

use std::time::Duration;

use crate::duration::format_duration;

/// How to print.
#[derive(Debug, Clone, Copy, Default)]
pub struct Style {
    pub color: bool,
    pub verbose: bool,
    pub quiet: bool,
    /// Print durations (off in snapshot tests, where they would vary).
    pub timings: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    pub(crate) fn green(&self, t: &str) -> String {
        self.paint("32", t)
    }
    pub(crate) fn red(&self, t: &str) -> String {
        self.paint("31", t)
    }
    pub(crate) fn dim(&self, t: &str) -> String {
        self.paint("2", t)
    }
    pub(crate) fn bold(&self, t: &str) -> String {
        self.paint("1", t)
    }
    pub(crate) fn time(&self, d: Duration) -> String {
        if self.timings {
            format!("  {}", self.dim(&format_duration(d)))
        } else {
            String::new()
        }
    }
}
