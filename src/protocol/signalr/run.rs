//! SignalR steps: `invoke` (an invocation with an id, waiting for its completion: a round trip)
//! and `send` with a `target` (an invocation without an id, not waited for).

use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use super::wire::{self, COMPLETION};
use super::yaml::{Invoke, SendInvocation};
use crate::duration::format_duration;
use crate::protocol::step::step_def;
use crate::report::{truncate, Failure, Shown};
use crate::runner::check::{Ready, PREVIEW};
use crate::runner::conn::RecvError;
use crate::runner::steps::reply::{await_json, failure};
use crate::runner::steps::{fail, Last, State, StepResult};
use crate::template::{TValue, Template};

/// The target and arguments, expanded.
fn invocation(
    st: &State<'_>,
    target: &Template,
    args: &[TValue],
) -> Result<(String, Vec<Value>), (Failure, u64)> {
    let target = target.expand(&st.scope).map_err(|e| fail(e.to_string()))?;
    let args: Result<Vec<Value>, _> = args.iter().map(|a| a.expand(&st.scope)).collect();
    Ok((target, args.map_err(|e| fail(e.to_string()))?))
}

/// Whether `v` is the completion of invocation `id`.
fn completes(v: &Value, id: &str) -> bool {
    v.get("type").and_then(Value::as_u64) == Some(COMPLETION)
        && v.get("invocationId").and_then(Value::as_str) == Some(id)
}

pub(crate) async fn invoke(
    st: &mut State<'_>,
    conn: usize,
    i: &Invoke,
    timeout: Duration,
) -> StepResult {
    let (target, args) = invocation(st, &i.target, &i.args)?;
    let ready = |m: &Option<crate::collection::MatcherMap>| {
        m.as_ref()
            .map(|m| Ready::json(m, &st.scope))
            .transpose()
            .map_err(|e| fail(e.to_string()))
    };
    let (result, error) = (ready(&i.result)?, ready(&i.error)?);
    let id = st.conns[conn].fresh_id().to_string();
    let started = Instant::now();
    st.conns[conn]
        .send_json(wire::invocation(Some(&id), &target, args), &mut st.rec)
        .await
        .map_err(fail)?;
    let got = await_json(st, conn, started + timeout, |v| completes(v, &id)).await;
    let completion = got.map_err(|e| {
        let summary = match e {
            RecvError::Timeout => format!(
                "no completion of `{target}` (invocationId \"{id}\") within {}",
                format_duration(timeout)
            ),
            RecvError::Closed(c) => c.before(&format!(
                "the completion of `{target}` (invocationId \"{id}\")"
            )),
        };
        (Failure::new(summary), 0)
    })?;
    st.latency = Some(started.elapsed());
    check(&target, &completion, result.as_ref(), error.as_ref()).map_err(|f| (f, 1))?;
    st.last = Last::Json(completion);
    Ok(1)
}

/// A completion against what the step expects: a result (checked by `result:`), or with
/// `error:`, an error (checked by it).
fn check(
    target: &str,
    completion: &Value,
    result: Option<&Ready>,
    error: Option<&Ready>,
) -> Result<(), Failure> {
    let message = || Some(truncate(&completion.to_string(), PREVIEW));
    let null = Value::Null;
    match (completion.get("error"), error) {
        (None, None) => match result {
            Some(ready) => ready
                .check_doc(completion.get("result").unwrap_or(&null))
                .map_err(|m| failure(&format!("invoke `{target}` result"), m, completion)),
            None => Ok(()),
        },
        (Some(e), Some(ready)) => ready
            .check_doc(e)
            .map_err(|m| failure(&format!("invoke `{target}` error"), m, completion)),
        (Some(e), None) => Err(Failure {
            summary: format!(
                "invoke `{target}` failed: {}",
                e.as_str().map_or_else(|| e.to_string(), str::to_string)
            ),
            expected: Some("a result".into()),
            actual: Some(Shown::node(e)),
            message: message(),
            ..Failure::default()
        }),
        (None, Some(_)) => Err(Failure {
            summary: format!("invoke `{target}` returned a result, but an error was expected"),
            expected: Some("an error".into()),
            actual: Some(Shown::node(completion.get("result").unwrap_or(&null))),
            message: message(),
            ..Failure::default()
        }),
    }
}

pub(crate) async fn send(st: &mut State<'_>, conn: usize, s: &SendInvocation) -> StepResult {
    let (target, args) = invocation(st, &s.target, &s.args)?;
    st.conns[conn]
        .send_json(wire::invocation(None, &target, args), &mut st.rec)
        .await
        .map_err(fail)?;
    Ok(0)
}

step_def!(SignalR, Invoke, "invoke", invoke);
