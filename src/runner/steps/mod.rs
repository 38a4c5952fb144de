//! The steps of a request, one file per family, behind one dispatch: `send` (with `reply`:
//! `reply.rs`), `expect` and `wait_for`, `no_message` and `sleep`, `capture`, `snapshot`,
//! `set`, `ping`, `close` and `expect_close`, JSON-RPC's `call`, `calls` and `notify` (`rpc.rs`), and
//! graphql-ws's `subscribe` and `complete` (`graphql_ws.rs`), Socket.IO's `emit` (`socketio.rs`),
//! and STOMP's `subscribe`, `unsubscribe` and `send` with a `destination` (`stomp.rs`).

mod capture;
mod close;
mod expect;
mod graphql_ws;
mod ping;
mod reply;
mod rpc;
mod send;
mod set;
mod snapshot;
mod socketio;
mod stomp;
mod wait;

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;

use super::conn::{Conn, Recorder};
use super::mask::Masker;
use crate::collection::{Collection, Request, Step, StepKind, Subscribe};
use crate::options::RunOptions;
use crate::report::Failure;
use crate::snapshot::Store;
use crate::template::Scope;

/// What every request of a collection shares.
pub struct Ctx<'a> {
    pub collection: &'a Collection,
    pub vars: &'a HashMap<String, Value>,
    pub opts: &'a RunOptions,
    /// The collection's secrets; each request masks with its own copy, [`State::masker`].
    pub masker: &'a Masker,
    /// Whether snapshots may be written, decided once for the run.
    pub snapshots: Store,
}

impl<'a> Ctx<'a> {
    pub fn new(
        collection: &'a Collection,
        vars: &'a HashMap<String, Value>,
        opts: &'a RunOptions,
        masker: &'a Masker,
        snapshots: Store,
    ) -> Self {
        Self {
            collection,
            vars,
            opts,
            masker,
            snapshots,
        }
    }
}

/// A step's outcome: the messages it consumed, or its failure and the messages consumed so far.
pub(super) type StepResult = Result<u64, (Failure, u64)>;

/// A failure that consumed no message.
fn fail(summary: impl Into<String>) -> (Failure, u64) {
    (Failure::new(summary), 0)
}

/// The state steps share within a request.
pub(super) struct State<'a> {
    pub scope: Scope<'a>,
    pub conns: Vec<Conn>,
    pub rec: Recorder,
    /// The last message an `expect`/`wait_for`, `reply` or `call` matched, for `capture`.
    pub last: Last,
    pub several: bool,
    /// The round-trip time of the step that just ran, if it waited for an answer.
    pub latency: Option<Duration>,
    /// This request's secrets: the collection's, its header credentials, its secret captures.
    /// Every step that writes something out and the request's report mask with this one.
    pub masker: Masker,
}

/// The message `capture` reads: the last one matched. An `expect`/`wait_for` keeps its text and
/// it is parsed only if a `capture` reads it; an answer (`reply`, `call`) is JSON already.
#[derive(Debug, Default)]
pub(super) enum Last {
    #[default]
    Nothing,
    Text(String),
    Json(Value),
}

impl Last {
    /// Its JSON, parsed on first use; `None` when nothing matched yet or it is not JSON.
    pub fn json(&mut self) -> Option<&Value> {
        if let Last::Text(text) = self {
            *self = match serde_json::from_str(text) {
                Ok(doc) => Last::Json(doc),
                Err(_) => Last::Nothing,
            };
        }
        match self {
            Last::Json(doc) => Some(doc),
            _ => None,
        }
    }

    /// Its JSON, parsed if need be.
    #[cfg(feature = "python")]
    pub fn into_json(mut self) -> Option<Value> {
        self.json();
        match self {
            Last::Json(doc) => Some(doc),
            _ => None,
        }
    }
}

/// Runs one step on the connection it names (the first one when it names none).
pub(super) async fn run(
    ctx: &Ctx<'_>,
    request: &Request,
    step: &Step,
    st: &mut State<'_>,
) -> StepResult {
    let conn = step
        .kind
        .conn()
        .and_then(|n| request.connections.iter().position(|c| c.name == n))
        .unwrap_or(0);
    let timeout = |own: Option<Duration>| super::step_timeout(own, request, ctx.collection);
    match &step.kind {
        StepKind::Send(s) => send::run(st, conn, s, timeout(s.timeout.map(|d| d.0))).await,
        StepKind::Expect(e) => {
            expect::run(st, conn, e, timeout(e.timeout.map(|d| d.0)), false).await
        }
        StepKind::WaitFor(e) => {
            expect::run(st, conn, e, timeout(e.timeout.map(|d| d.0)), true).await
        }
        StepKind::NoMessage(n) => wait::no_message(st, conn, n.within.0).await,
        StepKind::Sleep(d) => wait::sleep(st, d.0).await,
        StepKind::Capture(c) => capture::run(st, c),
        StepKind::Set(s) => set::run(st, s),
        StepKind::Snapshot(s) => {
            let t = timeout(s.timeout.map(|d| d.0));
            snapshot::run(ctx, request, step, s, st, conn, t).await
        }
        StepKind::Ping(p) => ping::run(st, conn, p, timeout(p.timeout.map(|d| d.0))).await,
        StepKind::Close(c) => close::close(st, conn, c, timeout(c.timeout.map(|d| d.0))).await,
        StepKind::ExpectClose(c) => {
            close::expect_close(st, conn, c, timeout(c.timeout.map(|d| d.0))).await
        }
        StepKind::Call(c) => rpc::call(st, conn, c, timeout(c.timeout.map(|d| d.0))).await,
        StepKind::Calls(c) => rpc::calls(st, conn, c, timeout(c.timeout.map(|d| d.0))).await,
        StepKind::Notify(n) => rpc::notify(st, conn, n).await,
        StepKind::Subscribe(Subscribe::Graphql(s)) => graphql_ws::subscribe(st, conn, s).await,
        StepKind::Complete(c) => graphql_ws::complete(st, conn, c).await,
        StepKind::Emit(e) => socketio::emit(st, conn, e, timeout(e.timeout.map(|d| d.0))).await,
        StepKind::Subscribe(Subscribe::Stomp(s)) => {
            stomp::subscribe(st, conn, s, timeout(s.timeout.map(|d| d.0))).await
        }
        StepKind::Unsubscribe(u) => {
            stomp::unsubscribe(st, conn, u, timeout(u.timeout.map(|d| d.0))).await
        }
    }
}
