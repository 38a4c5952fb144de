//! Correlation, for any protocol: waiting for the one JSON message that answers something sent
//! (a `reply`, a JSON-RPC response) while every other message stays in the inbox.

use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use super::{fail, Last, State, StepResult};
use crate::collection::Reply;
use crate::duration::format_duration;
use crate::jsonpath::JsonPath;
use crate::matcher::loosely_equal;
use crate::report::{truncate, Failure};
use crate::runner::check::{Mismatch, Ready, PREVIEW};
use crate::runner::conn::{Incoming, RecvError};

/// The first JSON message (an envelope, or a JSON text) that `wanted` accepts, parsed; other
/// messages stay in the inbox, in order.
pub(crate) async fn await_json(
    st: &mut State<'_>,
    conn: usize,
    deadline: Instant,
    mut wanted: impl FnMut(&Value) -> bool,
) -> Result<Value, RecvError> {
    let found = st.conns[conn]
        .recv_where(deadline, &mut st.rec, |m| match m {
            Incoming::Envelope(v) => wanted(v),
            Incoming::Text(t) => {
                serde_json::from_str::<Value>(t.as_str()).is_ok_and(|v| wanted(&v))
            }
            Incoming::Binary(_) => false,
        })
        .await?;
    Ok(match found {
        Incoming::Envelope(v) => v,
        // Accepted above, so it parses.
        other => crate::runner::check::parse(&other).unwrap_or(Value::Null),
    })
}

/// Whether `message` holds `key` at `path` (numbers by value).
pub(crate) fn holds_at(message: &Value, path: &JsonPath, key: &Value) -> bool {
    let mut found = false;
    path.for_each(message, |node| {
        found = loosely_equal(node, key);
        !found
    });
    found
}

/// `send: {json: …, reply: {match, json}}`: sends `message` (as its written text, if it has
/// one), then waits for the first message whose value at `match` equals the sent one's, checks
/// it, and makes it the last matched one.
pub(crate) async fn run(
    st: &mut State<'_>,
    conn: usize,
    (message, written): (Value, Option<String>),
    reply: &Reply,
    timeout: Duration,
) -> StepResult {
    let ready = match &reply.json {
        Some(map) => Ready::json(map, &st.scope).map_err(|e| fail(e.to_string()))?,
        None => Ready::Any,
    };
    let key = match reply.matches.query(&message).as_slice() {
        [one] => (*one).clone(),
        [] => {
            return Err(fail(format!(
                "`reply` matches on {}, which selects nothing in the sent message",
                reply.matches
            )))
        }
        _ => {
            return Err(fail(format!(
                "`reply` matches on {}, which selects several values in the sent message",
                reply.matches
            )))
        }
    };
    let started = Instant::now();
    st.conns[conn]
        .send_json_as_written(message, written, &mut st.rec)
        .await
        .map_err(fail)?;
    let path = &reply.matches;
    let answer = await_json(st, conn, started + timeout, |m| holds_at(m, path, &key))
        .await
        .map_err(|e| {
            let what = format!("the reply with {path} = {key}");
            fail(match e {
                RecvError::Timeout => format!(
                    "no reply with {path} = {key} within {}",
                    format_duration(timeout)
                ),
                RecvError::Closed(c) => c.before(&what),
            })
        })?;
    st.latency = Some(started.elapsed());
    let checked = ready.check_doc(&answer);
    let consumed = 1;
    if let Err(mismatch) = checked {
        return Err((failure("reply", mismatch, &answer), consumed));
    }
    st.last = Last::Json(answer);
    Ok(consumed)
}

/// A mismatch in an answer (`reply`, a response's `result`), named by `what`, with the whole
/// answer as the message.
pub(crate) fn failure(what: &str, mismatch: Mismatch, answer: &Value) -> Failure {
    Failure {
        summary: format!("{what}: {}", mismatch.summary),
        path: mismatch.path,
        expected: mismatch.expected,
        actual: mismatch.actual,
        message: Some(truncate(&answer.to_string(), PREVIEW)),
        ..Failure::default()
    }
}
