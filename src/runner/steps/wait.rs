//! `no_message` (nothing arrives for a while) and `sleep`.

use std::time::Duration;

use tokio::time::Instant;

use super::{fail, State, StepResult};
use crate::duration::format_duration;
use crate::report::Failure;
use crate::runner::check::preview;
use crate::runner::conn::RecvError;

pub(super) async fn no_message(st: &mut State<'_>, conn: usize, within: Duration) -> StepResult {
    let deadline = Instant::now() + within;
    match st.conns[conn].recv(deadline, &mut st.rec).await {
        Err(RecvError::Timeout) => Ok(0),
        Ok(m) => Err((
            Failure {
                summary: format!(
                    "expected no message for {}, but one arrived",
                    format_duration(within)
                ),
                expected: Some("no message".into()),
                message: Some(preview(&m)),
                ..Failure::default()
            },
            1,
        )),
        Err(RecvError::Closed(c)) => Err(fail(format!(
            "expected no message for {}, but {}",
            format_duration(within),
            c.describe()
        ))),
    }
}

/// Sleeps; connections whose protocol sends heart-beats (STOMP) keep sending them meanwhile,
/// since a broker drops a client that falls silent. Nothing is read: frames wait in the socket.
pub(super) async fn sleep(st: &mut State<'_>, d: Duration) -> StepResult {
    let until = Instant::now() + d;
    loop {
        let next = st.conns.iter().filter_map(|c| c.next_tick()).min();
        match next.filter(|at| *at < until) {
            None => {
                tokio::time::sleep_until(until).await;
                return Ok(0);
            }
            Some(at) => {
                tokio::time::sleep_until(at).await;
                for conn in &mut st.conns {
                    conn.tick_if_due(&mut st.rec).await;
                }
            }
        }
    }
}
