//! `expect` (the next message, or the next `count`, or every message `during` a time, must match)
//! and `wait_for` (skip messages until one matches), within the step's timeout or the window
//! `within`; then the window's `stream:` properties.

use std::time::Duration;

use tokio::time::Instant;

use super::{fail, Last, State, StepResult};
use crate::collection::Expect;
use crate::duration::format_duration;
use crate::jsonpath::JsonPath;
use crate::matcher::{Matcher, Resolved, Subject};
use crate::report::{Failure, Shown};
use crate::runner::check::{self, Mismatch, Ready};
use crate::runner::conn::{Incoming, RecvError};
use crate::runner::partial::Partial;
use crate::stream::Window;

/// `expect` (the next message, or the next `count`) and `wait_for` (skip until one matches).
pub(super) async fn run(
    st: &mut State<'_>,
    conn: usize,
    e: &Expect,
    timeout: Duration,
    wait: bool,
) -> StepResult {
    let ready = Ready::resolve(e, &st.scope).map_err(|e| fail(e.to_string()))?;
    let window = match &e.stream {
        Some(spec) => Some(Window::new(spec, &st.scope).map_err(|e| fail(e.to_string()))?),
        None => None,
    };
    // Every message is parsed once, only as far as the step's paths read (the check's and the
    // window's); `capture` reads the last matched one later, parsing it whole if it must.
    let window_paths = e.stream.iter().flat_map(|s| s.paths.iter().map(|(p, _)| p));
    let json = Box::new(Partial::for_paths(ready.paths().chain(window_paths)));
    let mut reading = Reading {
        ready: &ready,
        json,
        window,
        wait,
        consumed: 0,
        matched: 0,
        last: None,
        last_mismatch: None,
    };
    let outcome = match e.during {
        Some(d) => {
            let count = match &e.during_count {
                Some(m) => m.resolve(&st.scope),
                // Without `count`, an empty window fails: `{gte: 1}`, a literal that compiles.
                None => Matcher::from_value(serde_json::json!({ "gte": 1 }))
                    .expect("`{gte: 1}` is a valid matcher")
                    .resolve(&st.scope),
            }
            .map_err(|e| fail(e.to_string()))?;
            during(st, conn, &mut reading, d.0, &count).await
        }
        None => counted(st, conn, e, &mut reading, timeout).await,
    };
    let consumed = reading.consumed;
    if let Some(last) = reading.last {
        st.last = last;
    }
    outcome.map(|()| consumed).map_err(|f| (f, consumed))
}

/// What a step has read so far.
struct Reading<'r> {
    ready: &'r Ready,
    /// Parses each message for the check and the window. Boxed, as `last_mismatch`: the
    /// step's future is held by every load user while it waits for a message, and these are
    /// its largest parts (bench/RESULTS.md, "Memory per held connection").
    json: Box<Partial>,
    window: Option<Window>,
    wait: bool,
    consumed: u64,
    matched: u64,
    /// The last matched message, for `capture` (its text copied into a buffer reused from one
    /// message to the next: the message itself may hold on to the connection's read buffer).
    last: Option<Last>,
    /// `wait_for`: the last skipped message and why it did not match.
    last_mismatch: Option<Box<(Mismatch, Incoming)>>,
}

impl Reading<'_> {
    /// Takes one message: a match goes into the window; a mismatch fails an `expect` (`Err`,
    /// with `which` naming the message) and is skipped by `wait_for`.
    fn take(&mut self, message: Incoming, which: &dyn Fn(u64) -> String) -> Result<(), Failure> {
        self.consumed += 1;
        match self.ready.check(&message, &mut self.json) {
            Ok(()) => {
                self.matched += 1;
                if let Some(w) = &mut self.window {
                    let json = &mut self.json;
                    let parsed = match &message {
                        // Parsed by the check just now, for the window's paths too.
                        Incoming::Text(_) if self.ready.parses() => true,
                        Incoming::Text(t) if w.needs_json() => json.parse(t.as_str()).is_ok(),
                        _ => false,
                    };
                    let json = &*json;
                    let select = |path: &JsonPath| match &message {
                        Incoming::Envelope(doc) => path.walk(doc).flatten(),
                        // The window's paths select one node each: `select` answers them all.
                        _ if parsed => json.select(path).flatten(),
                        _ => None,
                    };
                    w.observe(&select, &|| check::preview(&message));
                }
                keep(&mut self.last, message);
                Ok(())
            }
            Err(mismatch) if self.wait => {
                // One allocation per step, reused for every message skipped after the first.
                match &mut self.last_mismatch {
                    Some(last) => **last = (mismatch, message),
                    None => self.last_mismatch = Some(Box::new((mismatch, message))),
                }
                Ok(())
            }
            Err(mismatch) => {
                let mut failure = mismatch.into_failure(&message);
                failure.summary = format!("{}{}", which(self.matched + 1), failure.summary);
                Err(failure)
            }
        }
    }

    /// The window's properties, over `elapsed`.
    fn stream_failure(&self, elapsed: Duration) -> Result<(), Failure> {
        let Some(w) = &self.window else { return Ok(()) };
        let violations = w.violations(elapsed);
        if violations.is_empty() {
            Ok(())
        } else {
            Err(crate::stream::failure(violations))
        }
    }
}

/// Keeps `message` as the last matched one, reusing the buffer of the one before.
fn keep(last: &mut Option<Last>, message: Incoming) {
    match (last, message) {
        (Some(Last::Text(kept)), Incoming::Text(t)) => {
            kept.clear();
            kept.push_str(t.as_str());
        }
        (last, Incoming::Text(t)) => *last = Some(Last::Text(t.as_str().to_string())),
        (last, Incoming::Envelope(doc)) => *last = Some(Last::Json(doc)),
        (last, Incoming::Binary(_)) => *last = Some(Last::Nothing),
    }
}

/// A window of `count` messages (one by default), within the timeout or `within`.
async fn counted(
    st: &mut State<'_>,
    conn: usize,
    e: &Expect,
    r: &mut Reading<'_>,
    timeout: Duration,
) -> Result<(), Failure> {
    let started = Instant::now();
    let window = e.within.map(|d| d.0).unwrap_or(timeout);
    let deadline = started + window;
    let count = e.count.unwrap_or(1);
    let conn = &mut st.conns[conn];
    let mut span = Span::new(started, r);
    let which = |n: u64| {
        if count > 1 {
            format!("message {n} of {count}: ")
        } else {
            String::new()
        }
    };
    while r.matched < count {
        let message = match conn.recv(deadline, &mut st.rec).await {
            Ok(m) => m,
            Err(err) => return Err(counted_failure(r, &err, count, window)),
        };
        let before = r.matched;
        r.take(message, &which)?;
        if r.matched > before {
            span.arrived(conn);
        }
    }
    r.stream_failure(span.last - span.start)
}

/// The time a window's messages span, for its `rate`: from the step's start, or from the first
/// message's arrival when that was earlier (messages kept in the inbox while a `sleep` ran), to
/// the last one's arrival. A message read from the socket arrived when it was read.
struct Span {
    /// Whether a rate needs it: the clock is read per message only then.
    timed: bool,
    start: Instant,
    last: Instant,
}

impl Span {
    fn new(started: Instant, r: &Reading<'_>) -> Self {
        Self {
            timed: r.window.as_ref().is_some_and(Window::has_rate),
            start: started,
            last: started,
        }
    }

    /// Notes the arrival of the message `conn` just gave the window.
    fn arrived(&mut self, conn: &crate::runner::conn::Conn) {
        if !self.timed {
            return;
        }
        let at = conn.arrived().unwrap_or_else(Instant::now);
        self.start = self.start.min(at);
        self.last = self.last.max(at);
    }
}

/// Why a counted window ended short: a timeout or a close, and for `wait_for` why the last
/// skipped message did not match.
fn counted_failure(r: &mut Reading<'_>, err: &RecvError, count: u64, window: Duration) -> Failure {
    let matched = r.matched;
    let within = format_duration(window);
    let waited = if r.wait {
        format!("no matching message within {within}")
    } else if count > 1 {
        format!("received {matched} of {count} messages within {within}")
    } else {
        format!("no message within {within}")
    };
    let summary = match err {
        RecvError::Timeout => waited,
        RecvError::Closed(c) if count > 1 => {
            format!("{}; received {matched} of {count} messages", c.describe())
        }
        RecvError::Closed(c) => c.before_a_message(),
    };
    match r.last_mismatch.take() {
        None => Failure::new(summary),
        Some(last) => {
            let (mismatch, msg) = *last;
            // wait_for: show why the last skipped message did not match.
            let mut failure = mismatch.into_failure(&msg);
            failure.summary = format!(
                "{}; {} message(s) skipped, the last one: {}",
                match err {
                    RecvError::Timeout => format!("no matching message within {within}"),
                    RecvError::Closed(c) => c.describe(),
                },
                r.consumed,
                failure.summary
            );
            failure
        }
    }
}

/// A window of every message that arrives for `length`; their number must match `count`.
async fn during(
    st: &mut State<'_>,
    conn: usize,
    r: &mut Reading<'_>,
    length: Duration,
    count: &Resolved,
) -> Result<(), Failure> {
    let started = Instant::now();
    let deadline = started + length;
    let conn = &mut st.conns[conn];
    let mut span = Span::new(started, r);
    let shown = crate::stream::short_duration(length);
    let which = |n: u64| format!("message {n} (during {shown}): ");
    loop {
        match conn.recv(deadline, &mut st.rec).await {
            Ok(message) => {
                let before = r.matched;
                r.take(message, &which)?;
                if r.matched > before {
                    span.arrived(conn);
                }
            }
            Err(RecvError::Timeout) => break,
            // A connection that broke says why on its own; one that ended reads before "during".
            Err(RecvError::Closed(c)) if c.broken => {
                return Err(Failure::new(format!(
                    "{}, after {} message(s) of the {shown} window",
                    c.describe(),
                    r.matched
                )))
            }
            Err(RecvError::Closed(c)) => {
                return Err(Failure::new(format!(
                    "{} during the {shown} window, after {} messages",
                    c.describe(),
                    r.matched
                )))
            }
        }
    }
    let n = serde_json::Value::from(r.matched);
    if let Some(expected) = count.mismatch(Subject::Json(&n)) {
        let summary = if r.wait {
            format!(
                "{} of {} messages matched during {shown}",
                r.matched, r.consumed
            )
        } else {
            format!("received {} messages during {shown}", r.matched)
        };
        let mut failure = Failure {
            summary,
            expected: Some(Shown::Text(format!("count {expected}"))),
            actual: Some(Shown::Value(n)),
            ..Failure::default()
        };
        if let Some(last) = r.last_mismatch.take() {
            let (mismatch, msg) = *last;
            failure.message = Some(check::preview(&msg));
            failure.detail = Some(format!("the last skipped message: {}", mismatch.summary));
        }
        return Err(failure);
    }
    // Messages kept from before the step widen the window back to the first one's arrival.
    r.stream_failure(deadline - span.start)
}
