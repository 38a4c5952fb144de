//! `close` (close ourselves and wait for the server's answer) and `expect_close` (the server
//! must close): both skip the messages still in flight until the close arrives.

use std::time::Duration;

use tokio::time::Instant;

use super::{fail, State, StepResult};
use crate::collection::{Close, ExpectClose};
use crate::duration::format_duration;
use crate::report::Failure;
use crate::runner::conn::{Closed, RecvError};

/// Skips messages until the connection closes or `timeout` passes: how many were skipped, and
/// how the connection ended (`None`: it was still open at the deadline).
async fn drain(st: &mut State<'_>, conn: usize, timeout: Duration) -> (u64, Option<Closed>) {
    let deadline = Instant::now() + timeout;
    let mut skipped = 0;
    loop {
        match st.conns[conn].recv(deadline, &mut st.rec).await {
            Ok(_) => skipped += 1,
            Err(RecvError::Closed(closed)) => return (skipped, Some(closed)),
            Err(RecvError::Timeout) => return (skipped, None),
        }
    }
}

pub(super) async fn close(
    st: &mut State<'_>,
    conn: usize,
    c: &Close,
    timeout: Duration,
) -> StepResult {
    if let Some(closed) = st.conns[conn].closed() {
        return Err(fail(format!("cannot close: {}", closed.describe())));
    }
    let reason = match &c.reason {
        Some(r) => r.expand(&st.scope).map_err(|e| fail(e.to_string()))?,
        None => String::new(),
    };
    st.conns[conn]
        .close(c.code.unwrap_or(1000), &reason, &mut st.rec)
        .await
        .map_err(fail)?;
    match drain(st, conn, timeout).await {
        (skipped, Some(_)) => {
            st.conns[conn].release().await;
            Ok(skipped)
        }
        (skipped, None) => Err((
            Failure::new(format!(
                "the server did not answer the close within {} ({skipped} message(s) arrived meanwhile)",
                format_duration(timeout)
            )),
            skipped,
        )),
    }
}

pub(super) async fn expect_close(
    st: &mut State<'_>,
    conn: usize,
    c: &ExpectClose,
    timeout: Duration,
) -> StepResult {
    let (skipped, closed) = drain(st, conn, timeout).await;
    let Some(closed) = closed else {
        return Err((
            Failure::new(format!(
                "the server did not close the connection within {}",
                format_duration(timeout)
            )),
            skipped,
        ));
    };
    if !closed.clean {
        return Err((
            Failure {
                summary: closed.describe(),
                expected: Some(
                    match c.code {
                        Some(code) => format!("a close frame with code {code}"),
                        None => "a close frame".into(),
                    }
                    .into(),
                ),
                actual: Some(closed.received().into()),
                ..Failure::default()
            },
            skipped,
        ));
    }
    match c.code {
        Some(code) if closed.code != Some(code) => Err((
            Failure {
                summary: "the server closed with another code".into(),
                expected: Some(format!("close code {code}").into()),
                actual: Some(
                    match closed.code {
                        Some(got) => format!("close code {got}"),
                        None => "no close code".into(),
                    }
                    .into(),
                ),
                ..Failure::default()
            },
            skipped,
        )),
        _ => Ok(skipped),
    }
}
