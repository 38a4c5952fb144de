//! MQTT steps: `publish` (at QoS 1 it waits for the PUBACK with its packet id), `subscribe`
//! (waits for the SUBACK; a refusal fails naming its code) and `unsubscribe` (waits for the
//! UNSUBACK). Each wait is a round trip (`latency_ms`); messages that arrive meanwhile stay in
//! the inbox, and the acknowledgement becomes the last matched message.

use std::time::Duration;

use serde_json::{json, Map, Value};
use tokio::time::Instant;

use super::yaml::{Publish, Subscribe, Unsubscribe};
use crate::duration::format_duration;
use crate::protocol::step::step_def;
use crate::report::Failure;
use crate::runner::conn::RecvError;
use crate::runner::steps::reply::await_json;
use crate::runner::steps::{fail, Last, State, StepResult};

/// A packet identifier for the connection: 1..=65535 (0 is none), from its fresh ids.
fn packet_id(st: &mut State<'_>, conn: usize) -> u16 {
    let id = st.conns[conn].fresh_id();
    (((id - 1) % 65_535) + 1) as u16
}

async fn publish(st: &mut State<'_>, conn: usize, p: &Publish, timeout: Duration) -> StepResult {
    let expand = |st: &State<'_>, t: &crate::template::Template| {
        t.expand(&st.scope).map_err(|e| fail(e.to_string()))
    };
    let topic = expand(st, &p.topic)?;
    let mut envelope = Map::new();
    envelope.insert("topic".into(), Value::String(topic.clone()));
    if let Some(j) = &p.json {
        let v = j.expand(&st.scope).map_err(|e| fail(e.to_string()))?;
        envelope.insert("json".into(), v);
    } else if let Some(t) = &p.text {
        envelope.insert("text".into(), Value::String(expand(st, t)?));
    } else if let Some(b) = &p.binary {
        envelope.insert("binary".into(), Value::String(expand(st, b)?));
    }
    let qos = p.qos.unwrap_or(0);
    envelope.insert("qos".into(), qos.into());
    envelope.insert("retain".into(), p.retain.into());
    let id = (qos == 1).then(|| packet_id(st, conn));
    if let Some(id) = id {
        envelope.insert("id".into(), id.into());
    }
    let what = format!("PUBLISH to `{topic}`");
    exchange(
        st,
        conn,
        Value::Object(envelope),
        id.map(|id| ("PUBACK", id)),
        &what,
        timeout,
    )
    .await
}

async fn subscribe(
    st: &mut State<'_>,
    conn: usize,
    s: &Subscribe,
    timeout: Duration,
) -> StepResult {
    let topic = s.topic.expand(&st.scope).map_err(|e| fail(e.to_string()))?;
    let id = packet_id(st, conn);
    let envelope = json!({"subscribe": topic, "qos": s.qos.unwrap_or(0), "id": id});
    let what = format!("subscription to `{topic}`");
    exchange(st, conn, envelope, Some(("SUBACK", id)), &what, timeout).await
}

async fn unsubscribe(
    st: &mut State<'_>,
    conn: usize,
    u: &Unsubscribe,
    timeout: Duration,
) -> StepResult {
    let topic = u.topic.expand(&st.scope).map_err(|e| fail(e.to_string()))?;
    let id = packet_id(st, conn);
    let envelope = json!({"unsubscribe": topic, "id": id});
    let what = format!("unsubscription from `{topic}`");
    exchange(st, conn, envelope, Some(("UNSUBACK", id)), &what, timeout).await
}

/// Sends `envelope`; with `ack`, waits for that acknowledgement with that packet id, and fails
/// when it carries a refusal (a code of 0x80 or more).
async fn exchange(
    st: &mut State<'_>,
    conn: usize,
    envelope: Value,
    ack: Option<(&'static str, u16)>,
    what: &str,
    timeout: Duration,
) -> StepResult {
    let started = Instant::now();
    st.conns[conn]
        .send_json(envelope, &mut st.rec)
        .await
        .map_err(fail)?;
    let Some((packet, id)) = ack else {
        return Ok(0);
    };
    let answer = await_json(st, conn, started + timeout, |v| {
        v["packet"] == packet && v["id"] == id
    })
    .await
    .map_err(|e| {
        fail(match e {
            RecvError::Timeout => format!(
                "no {packet} for the {what} (packet id {id}) within {}",
                format_duration(timeout)
            ),
            RecvError::Closed(c) => c.before(&format!("the {packet} for the {what}")),
        })
    })?;
    st.latency = Some(started.elapsed());
    if let Some(refused) = answer.get("refused").and_then(Value::as_str) {
        return Err((
            Failure {
                summary: format!("the broker refused the {what}: {packet} {refused}"),
                expected: Some(format!("{packet} with a code under 0x80").into()),
                message: Some(answer.to_string()),
                ..Failure::default()
            },
            1,
        ));
    }
    st.last = Last::Json(answer);
    Ok(1)
}

step_def!(Mqtt, Publish, "publish", publish, misplaced: ("topic", "MQTT's"));
step_def!(Mqtt, Subscribe, "subscribe", subscribe, misplaced: ("topic", "MQTT's"));
step_def!(Mqtt, Unsubscribe, "unsubscribe", unsubscribe, misplaced: ("topic", "MQTT's"));
