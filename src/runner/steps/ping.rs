//! `ping`: send a ping, expect the pong with the same payload.

use std::time::Duration;

use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::{fail, State, StepResult};
use crate::collection::Ping;
use crate::duration::format_duration;
use crate::runner::conn::RecvError;

pub(super) async fn run(
    st: &mut State<'_>,
    conn: usize,
    p: &Ping,
    timeout: Duration,
) -> StepResult {
    let payload = p
        .payload
        .expand(&st.scope)
        .map_err(|e| fail(e.to_string()))?
        .into_bytes();
    let conn = &mut st.conns[conn];
    conn.send(Message::Ping(payload.clone().into()), &mut st.rec)
        .await
        .map_err(fail)?;
    match conn
        .await_pong(&payload, Instant::now() + timeout, &mut st.rec)
        .await
    {
        Ok(()) => Ok(0),
        Err(RecvError::Timeout) => {
            Err(fail(format!("no pong within {}", format_duration(timeout))))
        }
        Err(RecvError::Closed(c)) => Err(fail(format!("no pong: {}", c.describe()))),
    }
}
