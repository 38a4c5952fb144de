//! The steps of a request, one file per family, behind one dispatch: `send` (with `reply`:
//! `reply.rs`), `expect` and `wait_for`, `no_message` and `sleep`, `capture`, `snapshot`,
//! `set`, `ping`, `close`, `expect_close` and `connect`; `http` lives in `runner::http`; a
//! protocol's own steps run from its folder (`src/protocol/<name>/run.rs`) through the same
//! state, timeouts and reports.

mod capture;
mod close;
mod connect;
mod expect;
mod ping;
pub(crate) mod reply;
mod send;
mod set;
mod snapshot;
mod wait;

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;

use super::conn::{Conn, Recorder};
use super::mask::Masker;
use crate::collection::{Collection, Request, Step, StepKind};
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
pub type StepResult = Result<u64, (Failure, u64)>;

/// A failure that consumed no message.
pub(crate) fn fail(summary: impl Into<String>) -> (Failure, u64) {
    (Failure::new(summary), 0)
}

/// The state steps share within a request.
pub struct State<'a> {
    pub(crate) scope: Scope<'a>,
    pub(crate) conns: Vec<Conn>,
    pub(crate) rec: Recorder,
    /// The last message an `expect`/`wait_for`, `reply` or `call` matched, for `capture`.
    pub(crate) last: Last,
    pub(crate) several: bool,
    /// The round-trip time of the step that just ran, if it waited for an answer.
    pub(crate) latency: Option<Duration>,
    /// This request's secrets: the collection's, its header credentials, its secret captures.
    /// Every step that writes something out and the request's report mask with this one.
    pub(crate) masker: Masker,
    /// The connections opened between steps since a load last counted them: how long each
    /// took to open, and whether it added a connection (rather than replacing a closed socket).
    pub opened_late: Vec<(Duration, bool)>,
    /// The cookies `http` steps were given, sent on later `http` steps and handshakes.
    pub jar: super::http::CookieJar,
}

/// The message `capture` reads: the last one matched. An `expect`/`wait_for` keeps its text and
/// it is parsed only if a `capture` reads it; an answer (`reply`, `call`) is JSON already.
#[derive(Debug, Default)]
pub(crate) enum Last {
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

pub(super) use connect::after_step;

/// Runs one step on the connection it names (the first one when it names none).
pub(crate) async fn run(
    ctx: &Ctx<'_>,
    request: &Request,
    step: &Step,
    st: &mut State<'_>,
) -> StepResult {
    let name = step
        .kind
        .conn()
        .unwrap_or(request.connections[0].name.as_str());
    let slot = st.conns.iter().position(|c| c.base_name() == name);
    let conn = match (&step.kind, slot) {
        (StepKind::Connect(c), _) => {
            return connect::run(ctx, request, st, c.conn.as_deref()).await
        }
        (_, Some(slot)) => slot,
        // The loader rejects a step on a connection before it opens; a load's user that could
        // not open one stops before its steps.
        (kind, None) if kind.uses_connection() => {
            return Err(fail(format!("connection `{name}` is not open")))
        }
        (_, None) => 0,
    };
    let timeout = |own: Option<Duration>| super::step_timeout(own, request, ctx.collection);
    // Each step that waits or sends is boxed: a load user's future is as large as the largest
    // step it holds inline, whichever step it is in, and a held user mostly sleeps
    // (bench/RESULTS.md, "Memory per held connection"). A box costs one allocation per step.
    match &step.kind {
        StepKind::Send(s) => {
            Box::pin(send::run(st, conn, s, timeout(s.timeout.map(|d| d.0)))).await
        }
        StepKind::Expect(e) => {
            Box::pin(expect::run(
                st,
                conn,
                e,
                timeout(e.timeout.map(|d| d.0)),
                false,
            ))
            .await
        }
        StepKind::WaitFor(e) => {
            Box::pin(expect::run(
                st,
                conn,
                e,
                timeout(e.timeout.map(|d| d.0)),
                true,
            ))
            .await
        }
        StepKind::NoMessage(n) => Box::pin(wait::no_message(st, conn, n.within.0)).await,
        StepKind::Sleep(d) => wait::sleep(st, d.0).await,
        StepKind::Capture(c) => capture::run(st, c),
        StepKind::Set(s) => set::run(st, s),
        StepKind::Snapshot(s) => {
            let t = timeout(s.timeout.map(|d| d.0));
            Box::pin(snapshot::run(ctx, request, step, s, st, conn, t)).await
        }
        StepKind::Ping(p) => {
            Box::pin(ping::run(st, conn, p, timeout(p.timeout.map(|d| d.0)))).await
        }
        StepKind::Close(c) => {
            Box::pin(close::close(st, conn, c, timeout(c.timeout.map(|d| d.0)))).await
        }
        StepKind::ExpectClose(c) => {
            Box::pin(close::expect_close(
                st,
                conn,
                c,
                timeout(c.timeout.map(|d| d.0)),
            ))
            .await
        }
        StepKind::Protocol(p) => match p.ready() {
            Some(p) => p.run(st, conn, timeout(p.timeout())).await,
            // The loader reads every protocol step before a collection runs.
            None => Err(fail(format!(
                "`{}` was not read for its connection's protocol",
                p.keyword()
            ))),
        },
        // Answered above, before a slot is needed.
        StepKind::Connect(c) => connect::run(ctx, request, st, c.conn.as_deref()).await,
        StepKind::Http(h) => {
            let t = timeout(h.timeout.map(|d| d.0));
            Box::pin(super::http::run(ctx, request, h, st, t)).await
        }
    }
}
