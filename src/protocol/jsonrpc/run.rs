//! JSON-RPC steps: `call` (one request, waiting for its response), `calls` (several at once,
//! their responses in any order) and `notify` (no id, no response).

use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use super::yaml::{Call, CallItem, Calls, Notify};
use crate::collection::MatcherMap;
use crate::duration::format_duration;
use crate::protocol::jsonrpc::{self, describe_error, Outcome};
use crate::report::{truncate, Failure, Shown};
use crate::runner::check::{Ready, PREVIEW};
use crate::runner::conn::{Incoming, RecvError};
use crate::runner::steps::reply::{await_json, failure};
use crate::runner::steps::{fail, Last, State, StepResult};
use crate::template::{TValue, Template};
use futures_util::future::BoxFuture;

use crate::protocol::{ProtocolName, StepDef};
use crate::template::VarRef;

/// One call as `call` and `calls` write it.
struct Spec<'a> {
    method: &'a Template,
    params: &'a Option<TValue>,
    result: &'a Option<MatcherMap>,
    error: &'a Option<MatcherMap>,
}

impl<'a> From<&'a Call> for Spec<'a> {
    fn from(c: &'a Call) -> Self {
        Spec {
            method: &c.method,
            params: &c.params,
            result: &c.result,
            error: &c.error,
        }
    }
}

impl<'a> From<&'a CallItem> for Spec<'a> {
    fn from(c: &'a CallItem) -> Self {
        Spec {
            method: &c.method,
            params: &c.params,
            result: &c.result,
            error: &c.error,
        }
    }
}

/// A call ready to send: its request, and what its response must hold.
struct Pending {
    method: String,
    params: Option<Value>,
    id: u64,
    result: Option<Ready>,
    error: Option<Ready>,
}

pub(crate) async fn call(
    st: &mut State<'_>,
    conn: usize,
    c: &Call,
    timeout: Duration,
) -> StepResult {
    let mut responses = exchange(st, conn, &[Spec::from(c)], timeout).await?;
    st.last = responses.pop().map_or(Last::Nothing, Last::Json);
    Ok(1)
}

/// `calls`: the responses, in the order of the list, are the last matched message (an array).
pub(crate) async fn calls(
    st: &mut State<'_>,
    conn: usize,
    c: &Calls,
    timeout: Duration,
) -> StepResult {
    let specs: Vec<Spec<'_>> = c.list.iter().map(Spec::from).collect();
    let responses = exchange(st, conn, &specs, timeout).await?;
    let n = responses.len() as u64;
    st.last = Last::Json(Value::Array(responses));
    Ok(n)
}

pub(crate) async fn notify(st: &mut State<'_>, conn: usize, n: &Notify) -> StepResult {
    let method = n
        .method
        .expand(&st.scope)
        .map_err(|e| fail(e.to_string()))?;
    let params = expand_params(n.params.as_ref(), st)?;
    let message = jsonrpc::request(None, method, params);
    st.conns[conn]
        .send_json(message, &mut st.rec)
        .await
        .map_err(fail)?;
    Ok(0)
}

fn expand_params(params: Option<&TValue>, st: &State<'_>) -> Result<Option<Value>, (Failure, u64)> {
    params
        .map(|p| p.expand(&st.scope))
        .transpose()
        .map_err(|e| fail(e.to_string()))
}

/// Sends every call at once, waits for every response (in any order), then checks them in the
/// order of `specs`; returns the responses in that order.
async fn exchange(
    st: &mut State<'_>,
    conn: usize,
    specs: &[Spec<'_>],
    timeout: Duration,
) -> Result<Vec<Value>, (Failure, u64)> {
    let mut pending = Vec::with_capacity(specs.len());
    for spec in specs {
        let ready = |m: &Option<MatcherMap>| {
            m.as_ref()
                .map(|m| Ready::json(m, &st.scope))
                .transpose()
                .map_err(|e| fail(e.to_string()))
        };
        pending.push(Pending {
            method: spec
                .method
                .expand(&st.scope)
                .map_err(|e| fail(e.to_string()))?,
            params: expand_params(spec.params.as_ref(), st)?,
            id: 0,
            result: ready(spec.result)?,
            error: ready(spec.error)?,
        });
    }
    let started = Instant::now();
    for p in &mut pending {
        p.id = st.conns[conn].fresh_id();
        let request = jsonrpc::request(Some(p.id), p.method.clone(), p.params.take());
        st.conns[conn]
            .send_json(request, &mut st.rec)
            .await
            .map_err(fail)?;
    }
    let mut responses: Vec<Option<Value>> = vec![None; pending.len()];
    let deadline = started + timeout;
    let mut received = 0u64;
    while let Some(waiting) = responses.iter().position(Option::is_none) {
        let open = |v: &Value| {
            pending
                .iter()
                .zip(&responses)
                .any(|(p, r)| r.is_none() && jsonrpc::answers(v, p.id))
        };
        let got = await_json(st, conn, deadline, open).await;
        let response = got.map_err(|e| {
            let p = &pending[waiting];
            let summary = match e {
                RecvError::Timeout => format!(
                    "no response to `{}` (id {}) within {}{}",
                    p.method,
                    p.id,
                    format_duration(timeout),
                    near_misses(st.conns[conn].unread(), p.id)
                ),
                RecvError::Closed(c) => {
                    c.before(&format!("the response to `{}` (id {})", p.method, p.id))
                }
            };
            (Failure::new(summary), received)
        })?;
        received += 1;
        if let Some(slot) = pending
            .iter()
            .position(|p| jsonrpc::answers(&response, p.id))
        {
            responses[slot] = Some(response);
        }
    }
    st.latency = Some(started.elapsed());
    let responses: Vec<Value> = responses.into_iter().flatten().collect();
    for (p, response) in pending.iter().zip(&responses) {
        check(p, response).map_err(|f| (f, received))?;
    }
    Ok(responses)
}

/// How many near misses a timeout names; more are counted.
const NEAR_MISSES: usize = 3;

/// "; near misses: a response with id \"1\" (a string), …" for the unread messages that look
/// like the response to `id` but are not, or nothing.
fn near_misses<'a>(unread: impl Iterator<Item = &'a Incoming>, id: u64) -> String {
    let mut found: Vec<String> = Vec::new();
    let mut more = 0;
    for message in unread {
        let miss = match message {
            Incoming::Envelope(v) => jsonrpc::near_miss(v, id),
            Incoming::Text(t) => serde_json::from_str::<Value>(t.as_str())
                .ok()
                .and_then(|v| jsonrpc::near_miss(&v, id)),
            Incoming::Binary(_) => None,
        };
        match miss {
            Some(m) if found.len() < NEAR_MISSES => found.push(truncate(&m, PREVIEW)),
            Some(_) => more += 1,
            None => {}
        }
    }
    if found.is_empty() {
        return String::new();
    }
    let more = match more {
        0 => String::new(),
        n => format!(", and {n} more"),
    };
    format!("; near misses: {}{more}", found.join(", "))
}

/// A response against what its call expects: a result (checked by `result:`), or with
/// `error:`, an error (checked by it).
fn check(p: &Pending, response: &Value) -> Result<(), Failure> {
    let name = &p.method;
    let message = || Some(truncate(&response.to_string(), PREVIEW));
    match (jsonrpc::outcome(response), &p.error) {
        (Outcome::Result(r), None) => match &p.result {
            Some(ready) => ready
                .check_doc(r)
                .map_err(|m| failure(&format!("call `{name}` result"), m, response)),
            None => Ok(()),
        },
        (Outcome::Error(e), Some(ready)) => ready
            .check_doc(e)
            .map_err(|m| failure(&format!("call `{name}` error"), m, response)),
        (Outcome::Error(e), None) => Err(Failure {
            summary: format!("call `{name}` failed: error {}", describe_error(e)),
            expected: Some("a result".into()),
            actual: Some(Shown::node(e)),
            message: message(),
            ..Failure::default()
        }),
        (Outcome::Result(r), Some(_)) => Err(Failure {
            summary: format!("call `{name}` returned a result, but an error was expected"),
            expected: Some("an error".into()),
            actual: Some(Shown::node(r)),
            message: message(),
            ..Failure::default()
        }),
        (Outcome::Invalid(why), _) => Err(Failure {
            summary: format!("call `{name}`: the response is not a JSON-RPC response: {why}"),
            message: message(),
            ..Failure::default()
        }),
    }
}

impl StepDef for Call {
    fn protocol(&self) -> ProtocolName {
        ProtocolName::JsonRpc
    }

    fn keyword(&self) -> &'static str {
        "call"
    }

    fn conn(&self) -> Option<&str> {
        self.conn.as_deref()
    }

    fn timeout(&self) -> Option<Duration> {
        self.timeout.map(|d| d.0)
    }

    fn vars(&self, out: &mut Vec<VarRef>) {
        super::yaml::call_vars(&self.method, &self.params, &self.result, &self.error, out)
    }

    fn run<'a>(
        &'a self,
        st: &'a mut State<'_>,
        conn: usize,
        timeout: Duration,
    ) -> BoxFuture<'a, StepResult> {
        Box::pin(call(st, conn, self, timeout))
    }

    fn boxed(&self) -> Box<dyn StepDef> {
        Box::new(self.clone())
    }
}

impl StepDef for Calls {
    fn protocol(&self) -> ProtocolName {
        ProtocolName::JsonRpc
    }

    fn keyword(&self) -> &'static str {
        "calls"
    }

    fn conn(&self) -> Option<&str> {
        self.conn.as_deref()
    }

    fn timeout(&self) -> Option<Duration> {
        self.timeout.map(|d| d.0)
    }

    fn vars(&self, out: &mut Vec<VarRef>) {
        for c in &self.list {
            super::yaml::call_vars(&c.method, &c.params, &c.result, &c.error, out);
        }
    }

    fn run<'a>(
        &'a self,
        st: &'a mut State<'_>,
        conn: usize,
        timeout: Duration,
    ) -> BoxFuture<'a, StepResult> {
        Box::pin(calls(st, conn, self, timeout))
    }

    fn boxed(&self) -> Box<dyn StepDef> {
        Box::new(self.clone())
    }
}

impl StepDef for Notify {
    fn protocol(&self) -> ProtocolName {
        ProtocolName::JsonRpc
    }

    fn keyword(&self) -> &'static str {
        "notify"
    }

    fn conn(&self) -> Option<&str> {
        self.conn.as_deref()
    }

    fn vars(&self, out: &mut Vec<VarRef>) {
        super::yaml::call_vars(&self.method, &self.params, &None, &None, out)
    }

    fn run<'a>(
        &'a self,
        st: &'a mut State<'_>,
        conn: usize,
        timeout: Duration,
    ) -> BoxFuture<'a, StepResult> {
        let _ = timeout;
        Box::pin(notify(st, conn, self))
    }

    fn boxed(&self) -> Box<dyn StepDef> {
        Box::new(self.clone())
    }
}
