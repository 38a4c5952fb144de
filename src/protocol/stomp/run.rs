//! STOMP steps: `subscribe`, `unsubscribe`, and `send` with a `destination` (a `SEND` frame);
//! with `receipt: true` each asks for a `RECEIPT` and waits for it (other frames stay in the
//! inbox), and the `RECEIPT` becomes the last matched message.

use std::time::Duration;

use serde_json::{json, Map, Value};
use tokio::time::Instant;

use super::yaml::{Ack, StompSend, StompSubscribe, Unsubscribe};
use crate::collection::{OrderedMap, Payload, Send, LAST_ID};
use crate::duration::format_duration;
use crate::protocol::stomp::describe_error;
use crate::report::{truncate, Failure};
use crate::runner::check::PREVIEW;
use crate::runner::conn::RecvError;
use crate::runner::steps::reply::await_json;
use crate::runner::steps::{fail, Last, State, StepResult};
use crate::template::Template;
use futures_util::future::BoxFuture;

use crate::protocol::{ProtocolName, StepDef};
use crate::template::VarRef;

/// A frame being built, in envelope form (`{command, headers, body}`), as the connection's
/// protocol encodes it.
struct Frame {
    command: &'static str,
    headers: Map<String, Value>,
    body: String,
}

impl Frame {
    fn new(command: &'static str) -> Self {
        Self {
            command,
            headers: Map::new(),
            body: String::new(),
        }
    }

    fn header(&mut self, name: &str, value: String) {
        self.headers.insert(name.to_string(), Value::String(value));
    }

    /// The step's own `headers:`, expanded; they may replace the ones the step sets.
    fn extra(
        &mut self,
        st: &State<'_>,
        headers: &OrderedMap<String, Template>,
    ) -> Result<(), String> {
        for (name, value) in &headers.0 {
            let value = value.expand(&st.scope).map_err(|e| e.to_string())?;
            self.header(name, value);
        }
        Ok(())
    }

    fn envelope(self) -> Value {
        json!({ "command": self.command, "headers": self.headers, "body": self.body })
    }
}

pub(crate) async fn subscribe(
    st: &mut State<'_>,
    conn: usize,
    s: &StompSubscribe,
    timeout: Duration,
) -> StepResult {
    let id = match &s.id {
        Some(id) => id.expand(&st.scope).map_err(|e| fail(e.to_string()))?,
        None => format!("sub-{}", st.conns[conn].fresh_id()),
    };
    let mut frame = Frame::new("SUBSCRIBE");
    frame.header("id", id.clone());
    let destination = s
        .destination
        .expand(&st.scope)
        .map_err(|e| fail(e.to_string()))?;
    frame.header("destination", destination);
    if let Some(ack) = s.ack {
        frame.header("ack", ack.as_str().to_string());
    }
    frame.extra(st, &s.headers).map_err(fail)?;
    let consumed = exchange(st, conn, frame, s.receipt, timeout).await?;
    st.scope.captures.insert(LAST_ID.into(), Value::String(id));
    Ok(consumed)
}

pub(crate) async fn unsubscribe(
    st: &mut State<'_>,
    conn: usize,
    u: &Unsubscribe,
    timeout: Duration,
) -> StepResult {
    let mut frame = Frame::new("UNSUBSCRIBE");
    let id = u.id.expand(&st.scope).map_err(|e| fail(e.to_string()))?;
    frame.header("id", id);
    frame.extra(st, &u.headers).map_err(fail)?;
    exchange(st, conn, frame, u.receipt, timeout).await
}

/// `ack` / `nack`: an `ACK` (or `NACK`) whose `id` is the given one, else the `ack` header of the
/// last matched MESSAGE.
pub(crate) async fn ack(st: &mut State<'_>, conn: usize, a: &Ack, timeout: Duration) -> StepResult {
    let command = if a.nack { "NACK" } else { "ACK" };
    let keyword = if a.nack { "nack" } else { "ack" };
    let id = match &a.id {
        Some(id) => id.expand(&st.scope).map_err(|e| fail(e.to_string()))?,
        None => last_ack_header(&mut st.last).map_err(|why| {
            fail(format!(
                "`{keyword}` without an `id` answers the last matched MESSAGE, but {why}: match the MESSAGE first (`wait_for: {{json: {{$.command: MESSAGE}}}}`), on a subscription with `ack: client` or `client-individual`"
            ))
        })?,
    };
    let mut frame = Frame::new(command);
    frame.header("id", id);
    frame.extra(st, &a.headers).map_err(fail)?;
    exchange(st, conn, frame, a.receipt, timeout).await
}

/// The `ack` header of the last matched message, or why there is none.
fn last_ack_header(last: &mut Last) -> Result<String, &'static str> {
    let Some(envelope) = last.json() else {
        return Err("no message was matched before it");
    };
    if envelope["command"] != "MESSAGE" {
        return Err("the last matched message is not a MESSAGE");
    }
    match envelope["headers"]["ack"].as_str() {
        Some(id) => Ok(id.to_string()),
        None => {
            Err("that MESSAGE has no `ack` header (its subscription acknowledges automatically)")
        }
    }
}

/// `send` with a `destination`: a `SEND` whose body is the `json` (as JSON text, with
/// `content-type: application/json` unless `headers` say otherwise) or the `text`.
pub(crate) async fn send(
    st: &mut State<'_>,
    conn: usize,
    send: &Send,
    stomp: &StompSend,
    timeout: Duration,
) -> StepResult {
    let mut frame = Frame::new("SEND");
    let destination = stomp
        .destination
        .expand(&st.scope)
        .map_err(|e| fail(e.to_string()))?;
    frame.header("destination", destination);
    match &send.payload {
        Payload::Json(j) => {
            let v = j.expand(&st.scope).map_err(|e| fail(e.to_string()))?;
            frame.header("content-type", "application/json".into());
            frame.body = v.to_string();
        }
        Payload::Text(t) => frame.body = t.expand(&st.scope).map_err(|e| fail(e.to_string()))?,
        // Loading refuses `binary` with a `destination`.
        Payload::Binary(_) => return Err(fail("a STOMP `send` carries `json` or `text`")),
    }
    frame.extra(st, &stomp.headers).map_err(fail)?;
    exchange(st, conn, frame, stomp.receipt, timeout).await
}

/// Sends `frame`; with `receipt`, adds a `receipt` header with a fresh id and waits for the
/// `RECEIPT` that names it (an `ERROR` instead fails the step, naming its message).
async fn exchange(
    st: &mut State<'_>,
    conn: usize,
    mut frame: Frame,
    receipt: bool,
    timeout: Duration,
) -> StepResult {
    let command = frame.command;
    let receipt_id = receipt.then(|| format!("receipt-{}", st.conns[conn].fresh_id()));
    if let Some(id) = &receipt_id {
        frame.header("receipt", id.clone());
    }
    let started = Instant::now();
    st.conns[conn]
        .send_json(frame.envelope(), &mut st.rec)
        .await
        .map_err(fail)?;
    let Some(id) = receipt_id else {
        return Ok(0);
    };
    let answer = await_json(st, conn, started + timeout, |v| answers(v, &id))
        .await
        .map_err(|e| {
            fail(match e {
                RecvError::Timeout => format!(
                    "no RECEIPT for the {command} (receipt {id}) within {}",
                    format_duration(timeout)
                ),
                RecvError::Closed(c) => c.before(&format!("the RECEIPT for the {command}")),
            })
        })?;
    st.latency = Some(started.elapsed());
    if answer["command"] == "ERROR" {
        return Err((
            Failure {
                summary: format!(
                    "the server answered the {command} with {}",
                    describe_error(&answer)
                ),
                expected: Some(format!("RECEIPT {id}").into()),
                message: Some(truncate(&answer.to_string(), PREVIEW)),
                ..Failure::default()
            },
            1,
        ));
    }
    st.last = Last::Json(answer);
    Ok(1)
}

/// The `RECEIPT` for receipt `id`, or an `ERROR` (after which a server closes the connection,
/// so no `RECEIPT` can follow).
fn answers(envelope: &Value, id: &str) -> bool {
    match envelope["command"].as_str() {
        Some("RECEIPT") => envelope["headers"]["receipt-id"] == id,
        Some("ERROR") => true,
        _ => false,
    }
}

impl StepDef for StompSubscribe {
    fn protocol(&self) -> ProtocolName {
        ProtocolName::Stomp
    }

    fn keyword(&self) -> &'static str {
        "subscribe"
    }

    fn conn(&self) -> Option<&str> {
        self.conn.as_deref()
    }

    fn timeout(&self) -> Option<Duration> {
        self.timeout.map(|d| d.0)
    }

    fn vars(&self, out: &mut Vec<VarRef>) {
        StompSubscribe::vars(self, out)
    }

    fn sets_last_id(&self) -> bool {
        true
    }

    fn misplaced(&self, conn: &str, speaks: ProtocolName) -> Option<String> {
        Some(format!(
            "`subscribe` with a `destination` is STOMP's, but connection `{conn}` speaks `{}`: add `protocol: stomp` to the request or the connection",
            speaks.as_str()
        ))
    }

    fn run<'a>(
        &'a self,
        st: &'a mut State<'_>,
        conn: usize,
        timeout: Duration,
    ) -> BoxFuture<'a, StepResult> {
        Box::pin(subscribe(st, conn, self, timeout))
    }

    fn boxed(&self) -> Box<dyn StepDef> {
        Box::new(self.clone())
    }
}

impl StepDef for Unsubscribe {
    fn protocol(&self) -> ProtocolName {
        ProtocolName::Stomp
    }

    fn keyword(&self) -> &'static str {
        "unsubscribe"
    }

    fn conn(&self) -> Option<&str> {
        self.conn.as_deref()
    }

    fn timeout(&self) -> Option<Duration> {
        self.timeout.map(|d| d.0)
    }

    fn vars(&self, out: &mut Vec<VarRef>) {
        Unsubscribe::vars(self, out)
    }

    fn run<'a>(
        &'a self,
        st: &'a mut State<'_>,
        conn: usize,
        timeout: Duration,
    ) -> BoxFuture<'a, StepResult> {
        Box::pin(unsubscribe(st, conn, self, timeout))
    }

    fn boxed(&self) -> Box<dyn StepDef> {
        Box::new(self.clone())
    }
}

impl StepDef for Ack {
    fn protocol(&self) -> ProtocolName {
        ProtocolName::Stomp
    }

    fn keyword(&self) -> &'static str {
        if self.nack {
            "nack"
        } else {
            "ack"
        }
    }

    fn conn(&self) -> Option<&str> {
        self.conn.as_deref()
    }

    fn timeout(&self) -> Option<Duration> {
        self.timeout.map(|d| d.0)
    }

    fn vars(&self, out: &mut Vec<VarRef>) {
        Ack::vars(self, out)
    }

    fn run<'a>(
        &'a self,
        st: &'a mut State<'_>,
        conn: usize,
        timeout: Duration,
    ) -> BoxFuture<'a, StepResult> {
        Box::pin(ack(st, conn, self, timeout))
    }

    fn boxed(&self) -> Box<dyn StepDef> {
        Box::new(self.clone())
    }
}
