//! `expect` (the next message, or the next `count`, must match) and `wait_for` (skip messages
//! until one matches), within the step's timeout or the window `within`.

use std::time::Duration;

use tokio::time::Instant;

use super::{fail, State, StepResult};
use crate::collection::Expect;
use crate::duration::format_duration;
use crate::report::Failure;
use crate::runner::check::Ready;
use crate::runner::conn::{Incoming, RecvError};

/// `expect` (the next message, or the next `count`) and `wait_for` (skip until one matches).
pub(super) async fn run(
    st: &mut State<'_>,
    conn: usize,
    e: &Expect,
    timeout: Duration,
    wait: bool,
) -> StepResult {
    let ready = Ready::resolve(e, &st.scope).map_err(|e| fail(e.to_string()))?;
    let window = e.within.map(|d| d.0).unwrap_or(timeout);
    let deadline = Instant::now() + window;
    let count = e.count.unwrap_or(1);
    let conn = &mut st.conns[conn];
    let mut consumed: u64 = 0;
    let mut matched: u64 = 0;
    let mut last_mismatch: Option<(crate::runner::check::Mismatch, Incoming)> = None;
    while matched < count {
        let message = match conn.recv(deadline, &mut st.rec).await {
            Ok(m) => m,
            Err(err) => {
                let waited = if wait {
                    format!("no matching message within {}", format_duration(window))
                } else if count > 1 {
                    format!(
                        "received {matched} of {count} messages within {}",
                        format_duration(window)
                    )
                } else {
                    format!("no message within {}", format_duration(window))
                };
                let summary = match &err {
                    RecvError::Timeout => waited,
                    RecvError::Closed(c) if count > 1 => {
                        format!("{}; received {matched} of {count} messages", c.describe())
                    }
                    RecvError::Closed(c) => c.before_a_message(),
                };
                let mut failure = Failure::new(summary);
                if let Some((mismatch, msg)) = last_mismatch {
                    // wait_for: show why the last skipped message did not match.
                    failure = mismatch.into_failure(&msg);
                    failure.summary = format!(
                        "{}; {consumed} message(s) skipped, the last one: {}",
                        match &err {
                            RecvError::Timeout =>
                                format!("no matching message within {}", format_duration(window)),
                            RecvError::Closed(c) => c.describe(),
                        },
                        failure.summary
                    );
                }
                return Err((failure, consumed));
            }
        };
        consumed += 1;
        match ready.check(&message) {
            Ok(doc) => {
                matched += 1;
                if matched == count {
                    // Only the last matched message is kept for `capture`: parse it if the
                    // check did not have to.
                    st.last = doc.or_else(|| crate::runner::check::parse(&message));
                }
            }
            Err(mismatch) if wait => last_mismatch = Some((mismatch, message)),
            Err(mismatch) => {
                let mut failure = mismatch.into_failure(&message);
                if count > 1 {
                    failure.summary =
                        format!("message {} of {count}: {}", matched + 1, failure.summary);
                }
                return Err((failure, consumed));
            }
        }
    }
    Ok(consumed)
}
