//! `send`: one text, JSON or binary frame, templates expanded; a JSON message goes through the
//! connection's protocol, and with `reply:` the step waits for its answer (`reply.rs`); with a
//! `destination`, it is a STOMP `SEND` (`src/protocol/stomp/run.rs`).

use std::time::Duration;

use base64::Engine as _;
use tokio_tungstenite::tungstenite::Message;

use super::{fail, State, StepResult};
use crate::collection::{Payload, Send};

pub(super) async fn run(
    st: &mut State<'_>,
    conn: usize,
    send: &Send,
    timeout: Duration,
) -> StepResult {
    // The waits below are boxed: held inline, the largest of them would size every load
    // user's future for its whole life, whichever step it waits in (bench/RESULTS.md, "Memory
    // per held connection"); a box costs one allocation per step.
    if let Some(invocation) = &send.signalr {
        return Box::pin(crate::protocol::signalr::run::send(st, conn, invocation)).await;
    }
    if let Some(stomp) = &send.stomp {
        return Box::pin(crate::protocol::stomp::run::send(
            st, conn, send, stomp, timeout,
        ))
        .await;
    }
    let message = match &send.payload {
        Payload::Text(t) => Message::text(t.expand(&st.scope).map_err(|e| fail(e.to_string()))?),
        Payload::Json(j) => {
            let v = j.expand(&st.scope).map_err(|e| fail(e.to_string()))?;
            // Long numbers go out as the collection wrote them, not as doubles.
            let written = match j.has_exact() {
                true => Some(j.expand_json(&st.scope).map_err(|e| fail(e.to_string()))?),
                false => None,
            };
            if let Some(reply) = &send.reply {
                return Box::pin(super::reply::run(st, conn, (v, written), reply, timeout)).await;
            }
            st.conns[conn]
                .send_json_as_written(v, written, &mut st.rec)
                .await
                .map_err(fail)?;
            return Ok(0);
        }
        Payload::Binary(b) => {
            let text = b.expand(&st.scope).map_err(|e| fail(e.to_string()))?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|e| fail(format!("`binary` is not valid base64: {e}")))?;
            Message::binary(bytes)
        }
    };
    st.conns[conn]
        .send(message, &mut st.rec)
        .await
        .map_err(fail)?;
    Ok(0)
}
