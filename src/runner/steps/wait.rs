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
        // A connection that broke says why on its own; one that ended reads after "but".
        Err(RecvError::Closed(c)) if c.broken => Err(fail(c.describe())),
        Err(RecvError::Closed(c)) => Err(fail(format!(
            "expected no message for {}, but {}",
            format_duration(within),
            c.describe()
        ))),
    }
}

/// Waits, while the connections keep being served: a protocol's keep-alives are answered, so a
/// sleep longer than a server's ping timeout does not lose the connection.
pub(super) async fn sleep(st: &mut State<'_>, d: Duration) -> StepResult {
    crate::runner::conn::serve_until(&mut st.conns, Instant::now() + d, &mut st.rec).await;
    Ok(0)
}
