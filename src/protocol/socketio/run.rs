//! Socket.IO's `emit`: an event, and with `ack:` the wait for the ack that answers it (other
//! messages stay in the inbox) and its check.

use std::time::Duration;

use serde_json::{Map, Value};
use tokio::time::Instant;

use super::yaml::Emit;
use crate::duration::format_duration;
use crate::runner::check::Ready;
use crate::runner::conn::RecvError;
use crate::runner::steps::reply::{await_json, failure};
use crate::runner::steps::{fail, Last, State, StepResult};
use futures_util::future::BoxFuture;

use crate::protocol::{ProtocolName, StepDef};
use crate::template::VarRef;

pub(crate) async fn emit(
    st: &mut State<'_>,
    conn: usize,
    e: &Emit,
    timeout: Duration,
) -> StepResult {
    let event = e.event.expand(&st.scope).map_err(|e| fail(e.to_string()))?;
    let args = match &e.args {
        Some(a) => a.expand(&st.scope).map_err(|e| fail(e.to_string()))?,
        None => Value::Array(Vec::new()),
    };
    let ready = match e.ack.as_ref().and_then(|a| a.json.as_ref()) {
        Some(map) => Ready::json(map, &st.scope).map_err(|e| fail(e.to_string()))?,
        None => Ready::Any,
    };
    let mut envelope = Map::new();
    envelope.insert("event".into(), Value::String(event.clone()));
    envelope.insert("args".into(), args);
    let Some(_) = &e.ack else {
        st.conns[conn]
            .send_json(Value::Object(envelope), &mut st.rec)
            .await
            .map_err(fail)?;
        return Ok(0);
    };
    let id = st.conns[conn].fresh_id();
    envelope.insert("id".into(), id.into());
    let started = Instant::now();
    st.conns[conn]
        .send_json(Value::Object(envelope), &mut st.rec)
        .await
        .map_err(fail)?;
    let is_ack = |m: &Value| m.get("event").is_none() && m.get("ack") == Some(&Value::from(id));
    let ack = await_json(st, conn, started + timeout, is_ack)
        .await
        .map_err(|err| {
            fail(match err {
                RecvError::Timeout => format!(
                    "no ack for `{event}` (ack id {id}) within {}",
                    format_duration(timeout)
                ),
                RecvError::Closed(c) => c.before(&format!("the ack for `{event}` (ack id {id})")),
            })
        })?;
    st.latency = Some(started.elapsed());
    if let Err(mismatch) = ready.check_doc(&ack) {
        return Err((failure(&format!("ack for `{event}`"), mismatch, &ack), 1));
    }
    st.last = Last::Json(ack);
    Ok(1)
}

impl StepDef for Emit {
    fn protocol(&self) -> ProtocolName {
        ProtocolName::SocketIo
    }

    fn keyword(&self) -> &'static str {
        "emit"
    }

    fn conn(&self) -> Option<&str> {
        self.conn.as_deref()
    }

    fn timeout(&self) -> Option<Duration> {
        self.timeout.map(|d| d.0)
    }

    fn vars(&self, out: &mut Vec<VarRef>) {
        Emit::vars(self, out)
    }

    fn run<'a>(
        &'a self,
        st: &'a mut State<'_>,
        conn: usize,
        timeout: Duration,
    ) -> BoxFuture<'a, StepResult> {
        Box::pin(emit(st, conn, self, timeout))
    }

    fn boxed(&self) -> Box<dyn StepDef> {
        Box::new(self.clone())
    }
}
