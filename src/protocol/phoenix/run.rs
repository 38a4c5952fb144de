//! Phoenix's steps: `join`, `push` and `leave`, each waiting for the `phx_reply` with its ref
//! (other messages stay in the inbox; a `status` other than `ok` fails the step with the
//! server's response); the reply is the last matched message and its round trip the latency.

use std::time::Duration;

use serde_json::{json, Map, Value};
use tokio::time::Instant;

use super::yaml::{Join, Leave, Push};
use crate::duration::format_duration;
use crate::protocol::step::step_def;
use crate::report::{truncate, Failure};
use crate::runner::check::PREVIEW;
use crate::runner::conn::RecvError;
use crate::runner::steps::reply::await_json;
use crate::runner::steps::{fail, Last, State, StepResult};
use crate::template::TValue;

step_def!(Phoenix, Join, "join", join);
step_def!(Phoenix, Push, "push", push);
step_def!(Phoenix, Leave, "leave", leave);

async fn join(st: &mut State<'_>, conn: usize, j: &Join, timeout: Duration) -> StepResult {
    let topic = j.topic.expand(&st.scope).map_err(|e| fail(e.to_string()))?;
    let payload = expand_map(st, j.payload.as_ref(), "join", "payload")?;
    let what = format!("the join of `{topic}`");
    round_trip(st, conn, topic, "phx_join", payload, &what, timeout).await
}

async fn push(st: &mut State<'_>, conn: usize, p: &Push, timeout: Duration) -> StepResult {
    let topic = p.topic.expand(&st.scope).map_err(|e| fail(e.to_string()))?;
    let event = p.event.expand(&st.scope).map_err(|e| fail(e.to_string()))?;
    let payload = expand_map(st, p.payload.as_ref(), "push", "payload")?;
    if !p.reply {
        let envelope = json!({"topic": topic, "event": event, "payload": payload});
        st.conns[conn]
            .send_json(envelope, &mut st.rec)
            .await
            .map_err(fail)?;
        return Ok(0);
    }
    let what = format!("the push `{event}` on `{topic}`");
    round_trip(st, conn, topic, &event, payload, &what, timeout).await
}

async fn leave(st: &mut State<'_>, conn: usize, l: &Leave, timeout: Duration) -> StepResult {
    let topic = l.topic.expand(&st.scope).map_err(|e| fail(e.to_string()))?;
    let what = format!("the leave of `{topic}`");
    round_trip(st, conn, topic, "phx_leave", json!({}), &what, timeout).await
}

/// Sends `event` on `topic` with a fresh ref and waits for the `phx_reply` with that ref,
/// which becomes the last matched message.
async fn round_trip(
    st: &mut State<'_>,
    conn: usize,
    topic: String,
    event: &str,
    payload: Value,
    what: &str,
    timeout: Duration,
) -> StepResult {
    let r = st.conns[conn].fresh_id().to_string();
    let envelope = json!({"topic": topic, "event": event, "payload": payload, "ref": r});
    let started = Instant::now();
    st.conns[conn]
        .send_json(envelope, &mut st.rec)
        .await
        .map_err(fail)?;
    let answers = |v: &Value| {
        v["event"] == "phx_reply" && v["ref"] == r.as_str() && v["topic"] == topic.as_str()
    };
    let reply = await_json(st, conn, started + timeout, answers)
        .await
        .map_err(|e| {
            fail(match e {
                RecvError::Timeout => format!(
                    "no phx_reply to {what} (ref {r}) within {}",
                    format_duration(timeout)
                ),
                RecvError::Closed(c) => c.before(&format!("the phx_reply to {what} (ref {r})")),
            })
        })?;
    st.latency = Some(started.elapsed());
    let status = reply["payload"]["status"]
        .as_str()
        .unwrap_or("(none)")
        .to_string();
    if status != "ok" {
        let response = &reply["payload"]["response"];
        return Err((
            Failure {
                summary: format!(
                    "the server answered {what} with status {status}: {}",
                    truncate(&response.to_string(), PREVIEW)
                ),
                expected: Some("status ok".to_string().into()),
                message: Some(truncate(&reply.to_string(), PREVIEW)),
                ..Failure::default()
            },
            1,
        ));
    }
    st.last = Last::Json(reply);
    Ok(1)
}

/// A step's map option, expanded (`{}` when not given).
pub(crate) fn expand_map(
    st: &State<'_>,
    value: Option<&TValue>,
    step: &str,
    key: &str,
) -> Result<Value, (Failure, u64)> {
    let Some(value) = value else {
        return Ok(Value::Object(Map::new()));
    };
    match value.expand(&st.scope).map_err(|e| fail(e.to_string()))? {
        v @ Value::Object(_) => Ok(v),
        other => Err(fail(format!(
            "the `{key}` of a `{step}` must be a map, not {}",
            crate::value::type_name(&other)
        ))),
    }
}
