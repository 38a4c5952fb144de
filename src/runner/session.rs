//! A live connection driven one step at a time (Python's `wsrun.connect`): each step is a
//! collection step map, parsed by the collection loader and run through the runner's own
//! dispatch, so matchers, timeouts and failures are exactly the engine's.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use super::conn::{Conn, Incoming, Recorder, RecvError};
use super::mask::Masker;
use super::steps::{self, Ctx, Last, State};
use crate::collection::{Collection, LoadError, ProtocolName, Step, StepKind};
use crate::options::RunOptions;
use crate::report::{Failure, Outcome, StepReport};
use crate::snapshot::Store;
use crate::template::Scope;

/// One open connection and what its steps share: captures, the last matched message, the
/// transcript. Built from a collection holding one request with one connection (its URL,
/// headers, protocol) and no steps; its `defaults` set the timeouts.
pub struct Session {
    collection: Arc<Collection>,
    vars: HashMap<String, Value>,
    opts: RunOptions,
    store: Store,
    /// The collection's secrets and the header credentials; captured secrets are added.
    masker: Masker,
    conns: Vec<Conn>,
    rec: Recorder,
    captures: HashMap<String, Value>,
    last: Option<Value>,
    /// Steps run so far: the next one is `ran + 1` in failure texts.
    ran: usize,
}

/// What one step did: its report (the outcome, the messages it consumed, its latency) and the
/// message it matched, when it matched one (`expect`, `wait_for`, `call`, a `reply`).
pub struct Stepped {
    pub report: StepReport,
    pub matched: Option<Value>,
}

impl Session {
    /// Opens the connection of `collection`'s first request and does its protocol handshake.
    pub async fn open(collection: Collection, opts: RunOptions) -> Result<Session, Failure> {
        let collection = Arc::new(collection);
        if collection.requests.is_empty() {
            return Err(Failure::new("a session needs a request with a connection"));
        }
        let vars = HashMap::new();
        let store = Store::from_env(opts.update_snapshots);
        let mut masker = Masker::new(opts.secrets.iter().map(|(_, v)| v.clone()));
        let mut rec = Recorder::new();
        let conns = {
            let scope = Scope {
                vars: Some(&vars),
                ..Scope::default()
            };
            let request = &collection.requests[0];
            super::request::header_secrets(&collection, request, &scope, &mut masker);
            let ctx = Ctx::new(&collection, &vars, &opts, &masker, store);
            super::request::open_all(&ctx, request, &scope, &Default::default(), &mut rec).await?
        };
        Ok(Session {
            collection,
            vars,
            opts,
            store,
            masker,
            conns,
            rec,
            captures: HashMap::new(),
            last: None,
            ran: 0,
        })
    }

    /// Runs one step on the connection. A step cut short (its future dropped) loses the
    /// connection: later steps fail saying so.
    pub async fn step(&mut self, step: &Step) -> Stepped {
        self.ran += 1;
        let started = Instant::now();
        let keyword = step.kind.keyword();
        let report = |outcome, messages, latency| StepReport {
            latencies: None,
            index: self.ran,
            keyword,
            line: step.line,
            duration: started.elapsed(),
            outcome,
            messages,
            latency,
        };
        if self.conns.is_empty() {
            let f = Failure::new("the connection is gone: an earlier step was interrupted");
            return Stepped {
                report: report(Outcome::Failed(f), 0, None),
                matched: None,
            };
        }
        // Only `capture` reads the last matched message; every other step starts without one,
        // so a step that matched leaves its message there.
        let capture = matches!(step.kind, StepKind::Capture(_));
        let previous = if capture { None } else { self.last.take() };
        let ctx = Ctx::new(
            &self.collection,
            &self.vars,
            &self.opts,
            &self.masker,
            self.store,
        );
        let mut st = State {
            scope: Scope {
                vars: Some(&self.vars),
                captures: std::mem::take(&mut self.captures),
                ..Scope::default()
            },
            conns: std::mem::take(&mut self.conns),
            rec: std::mem::take(&mut self.rec),
            last: match capture {
                true => self.last.take().map_or(Last::Nothing, Last::Json),
                false => Last::Nothing,
            },
            several: false,
            masker: self.masker.clone(),
            latency: None,
            opened_late: Vec::new(),
            jar: Default::default(),
        };
        let result = steps::run(&ctx, &self.collection.requests[0], step, &mut st).await;
        self.captures = st.scope.captures;
        self.conns = st.conns;
        self.rec = st.rec;
        self.masker = st.masker;
        let last = st.last.into_json();
        let matched = if capture { None } else { last.clone() };
        self.last = last.or(previous);
        let (outcome, messages) = match result {
            Ok(n) => (Outcome::Passed, n),
            Err((mut f, n)) => {
                self.masker.failure(&mut f);
                (Outcome::Failed(f), n)
            }
        };
        Stepped {
            report: report(outcome, messages, st.latency),
            matched,
        }
    }

    /// The next message, whatever it is, within `timeout` (it becomes the last message, for
    /// `capture`).
    pub async fn recv(&mut self, timeout: Duration) -> Result<Incoming, Failure> {
        let Some(conn) = self.conns.first_mut() else {
            return Err(Failure::new(
                "the connection is gone: an earlier step was interrupted",
            ));
        };
        match conn.recv(Instant::now() + timeout, &mut self.rec).await {
            Ok(m) => {
                self.last = super::check::parse(&m);
                Ok(m)
            }
            Err(RecvError::Timeout) => Err(Failure::new(format!(
                "no message within {}",
                crate::duration::format_duration(timeout)
            ))),
            Err(RecvError::Closed(c)) => Err(Failure::new(c.before_a_message())),
        }
    }

    /// The timeout of a step that names none: the session's default.
    pub fn timeout(&self) -> Duration {
        super::step_timeout(None, &self.collection.requests[0], &self.collection)
    }

    /// The close code the server sent, once it closed (or answered our close).
    pub fn close_code(&self) -> Option<u16> {
        self.conns.first()?.closed()?.code
    }

    /// Whether the connection has ended.
    pub fn closed(&self) -> bool {
        self.conns.first().is_none_or(|c| c.closed().is_some())
    }

    /// The open connection itself, for a reader that takes over (Python's `stream`); the
    /// session's captures and transcript go with the rest of it.
    pub fn into_conn(mut self) -> Option<Conn> {
        self.conns.drain(..).next()
    }

    /// Closes politely without waiting long for the server's answer.
    pub async fn shutdown(&mut self) {
        for conn in std::mem::take(&mut self.conns) {
            conn.shutdown(&mut self.rec).await;
        }
    }
}

/// Parses one step map (JSON text, as a collection would hold it) for a connection speaking
/// `protocol`. Errors point into `step` itself, as `<step>:1:COLUMN`.
pub fn parse_step(step: &str, protocol: ProtocolName) -> Result<Step, LoadError> {
    let text = format!(
        "{{\"requests\": [{{\"name\": \"step\", \"url\": \"ws://step\", \"protocol\": \"{}\", \"steps\": [\n{}\n]}}]}}",
        protocol.as_str(),
        step.replace('\n', " ")
    );
    let here = Path::new("<step>");
    let mut collection = Collection::parse(&text, here).map_err(|e| match e.line {
        Some(2) => LoadError::at(here, step, 1, e.column.unwrap_or(0), e.message),
        _ => LoadError::plain(here, e.message),
    })?;
    let mut steps = collection
        .requests
        .pop()
        .map(|r| r.steps)
        .unwrap_or_default();
    match (steps.pop(), steps.is_empty()) {
        (Some(mut one), true) => {
            one.line = 0;
            Ok(one)
        }
        _ => Err(LoadError::plain(here, "expected one step map")),
    }
}
