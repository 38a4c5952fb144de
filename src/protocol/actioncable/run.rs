//! Action Cable's steps: `subscribe: {channel, params}`, waiting for the subscription's
//! `confirm_subscription` (a `reject_subscription` fails it), and `perform`, which waits for
//! nothing (what the channel broadcasts arrives as messages).

use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::{json, Value};
use tokio::time::Instant;

use super::yaml::{CableSubscribe, Perform};
use crate::duration::format_duration;
use crate::protocol::phoenix::run::expand_map;
use crate::protocol::{ProtocolName, StepDef};
use crate::report::{truncate, Failure};
use crate::runner::check::PREVIEW;
use crate::runner::conn::RecvError;
use crate::runner::steps::reply::await_json;
use crate::runner::steps::{fail, Last, State, StepResult};
use crate::template::VarRef;

impl StepDef for CableSubscribe {
    fn protocol(&self) -> ProtocolName {
        ProtocolName::ActionCable
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
        CableSubscribe::vars(self, out)
    }

    fn misplaced(&self, conn: &str, speaks: ProtocolName) -> Option<String> {
        Some(format!(
            "`subscribe` with a `channel` is Action Cable's, but connection `{conn}` speaks `{}`: add `protocol: actioncable` to the request or the connection",
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

impl StepDef for Perform {
    fn protocol(&self) -> ProtocolName {
        ProtocolName::ActionCable
    }

    fn keyword(&self) -> &'static str {
        "perform"
    }

    fn conn(&self) -> Option<&str> {
        self.conn.as_deref()
    }

    fn vars(&self, out: &mut Vec<VarRef>) {
        Perform::vars(self, out)
    }

    fn run<'a>(
        &'a self,
        st: &'a mut State<'_>,
        conn: usize,
        _timeout: Duration,
    ) -> BoxFuture<'a, StepResult> {
        Box::pin(perform(st, conn, self))
    }

    fn boxed(&self) -> Box<dyn StepDef> {
        Box::new(self.clone())
    }
}

async fn subscribe(
    st: &mut State<'_>,
    conn: usize,
    s: &CableSubscribe,
    timeout: Duration,
) -> StepResult {
    let channel = s
        .channel
        .expand(&st.scope)
        .map_err(|e| fail(e.to_string()))?;
    let params = expand_map(st, s.params.as_ref(), "subscribe", "params")?;
    let envelope = json!({"command": "subscribe", "channel": channel, "params": params});
    let started = Instant::now();
    st.conns[conn]
        .send_json(envelope, &mut st.rec)
        .await
        .map_err(fail)?;
    let answers = |v: &Value| {
        matches!(
            v["type"].as_str(),
            Some("confirm_subscription" | "reject_subscription")
        ) && v["channel"] == channel.as_str()
            && v["params"] == params
    };
    let answer = await_json(st, conn, started + timeout, answers)
        .await
        .map_err(|e| {
            fail(match e {
                RecvError::Timeout => format!(
                    "no confirm_subscription for `{channel}` within {}",
                    format_duration(timeout)
                ),
                RecvError::Closed(c) => {
                    c.before(&format!("the confirm_subscription for `{channel}`"))
                }
            })
        })?;
    st.latency = Some(started.elapsed());
    if answer["type"] == "reject_subscription" {
        return Err((
            Failure {
                summary: format!(
                    "the server rejected the subscription to `{channel}` (reject_subscription)"
                ),
                expected: Some("confirm_subscription".to_string().into()),
                message: Some(truncate(&answer.to_string(), PREVIEW)),
                ..Failure::default()
            },
            1,
        ));
    }
    st.last = Last::Json(answer);
    Ok(1)
}

async fn perform(st: &mut State<'_>, conn: usize, p: &Perform) -> StepResult {
    let channel = p
        .channel
        .expand(&st.scope)
        .map_err(|e| fail(e.to_string()))?;
    let action = p
        .action
        .expand(&st.scope)
        .map_err(|e| fail(e.to_string()))?;
    let data = expand_map(st, p.data.as_ref(), "perform", "data")?;
    let mut envelope =
        json!({"command": "message", "channel": channel, "action": action, "data": data});
    if p.params.is_some() {
        envelope["params"] = expand_map(st, p.params.as_ref(), "perform", "params")?;
    }
    st.conns[conn]
        .send_json(envelope, &mut st.rec)
        .await
        .map_err(fail)?;
    Ok(0)
}
