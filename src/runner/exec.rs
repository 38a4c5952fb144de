//! Running one request: open its connections, run its steps in order, record what happened.

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::check::{preview, Ready};
use super::conn::{Conn, ConnectSpec, Incoming, Recorder, RecvError};
use super::mask::{is_secret_header, Masker};
use super::{max_message_size, step_timeout, RunOptions};
use crate::collection::{Collection, Expect, Payload, Request, Step, StepKind};
use crate::duration::format_duration;
use crate::report::{Failure, Outcome, RequestReport, StepReport};
use crate::template::Scope;

/// What every request of a collection shares.
pub struct Ctx<'a> {
    pub collection: &'a Collection,
    pub vars: &'a HashMap<String, Value>,
    pub opts: &'a RunOptions,
    pub masker: &'a Masker,
}

impl<'a> Ctx<'a> {
    pub fn new(
        collection: &'a Collection,
        vars: &'a HashMap<String, Value>,
        opts: &'a RunOptions,
        masker: &'a Masker,
    ) -> Self {
        Self {
            collection,
            vars,
            opts,
            masker,
        }
    }
}

/// The state steps share within a request.
struct State<'a> {
    scope: Scope<'a>,
    conns: Vec<Conn>,
    rec: Recorder,
    /// The last message an `expect`/`wait_for` matched, parsed, for `capture`.
    last: Option<Value>,
    several: bool,
}

pub async fn run_request(ctx: &Ctx<'_>, request: &Request) -> RequestReport {
    let started = Instant::now();
    let mut report = RequestReport {
        name: request.name.clone(),
        line: request.line,
        duration: Duration::ZERO,
        error: None,
        steps: Vec::new(),
        transcript: Default::default(),
        rates: Vec::new(),
    };
    let mut state = State {
        scope: Scope {
            vars: Some(ctx.vars),
            ..Scope::default()
        },
        conns: Vec::new(),
        rec: Recorder::with_progress(ctx.opts.progress.clone()),
        last: None,
        several: request.connections.len() > 1,
    };
    // Credentials in headers are secrets too, for this request.
    let mut masker = ctx.masker.clone();
    for c in &request.connections {
        for (name, value) in &c.headers {
            if is_secret_header(name) {
                if let Ok(v) = value.expand(&state.scope) {
                    // `Bearer abc…`: mask the credential, and the whole value.
                    let credential = v.split_whitespace().last().unwrap_or_default().to_string();
                    masker.extend([v, credential]);
                }
            }
        }
    }
    match open_all(ctx, request, &state.scope).await {
        Ok(conns) => state.conns = conns,
        Err(failure) => {
            report.error = Some(failure);
            report.steps = skipped(request, 0);
            report.duration = started.elapsed();
            masker.request(&mut report);
            return report;
        }
    }
    for (i, step) in request.steps.iter().enumerate() {
        let step_started = Instant::now();
        let (outcome, messages) = match run_step(ctx, request, step, &mut state).await {
            Ok(n) => (Outcome::Passed, n),
            Err((mut failure, n)) => {
                if state.several {
                    failure.connection = step.kind.conn().map(str::to_string);
                }
                (Outcome::Failed(failure), n)
            }
        };
        let failed = matches!(outcome, Outcome::Failed(_));
        report.steps.push(StepReport {
            index: i + 1,
            keyword: step.kind.keyword(),
            line: step.line,
            duration: step_started.elapsed(),
            outcome,
            messages,
        });
        if failed {
            report.steps.extend(skipped(request, i + 1));
            break;
        }
    }
    let mut rec = state.rec;
    for conn in state.conns {
        conn.shutdown(&mut rec).await;
    }
    report.rates = rec.rates();
    report.transcript = rec.transcript;
    report.duration = started.elapsed();
    masker.request(&mut report);
    report
}

fn skipped(request: &Request, from: usize) -> Vec<StepReport> {
    request.steps[from..]
        .iter()
        .enumerate()
        .map(|(j, s)| StepReport {
            index: from + j + 1,
            keyword: s.kind.keyword(),
            line: s.line,
            duration: Duration::ZERO,
            outcome: Outcome::Skipped,
            messages: 0,
        })
        .collect()
}

/// Opens every connection of the request at once; all must succeed before the first step.
async fn open_all(
    ctx: &Ctx<'_>,
    request: &Request,
    scope: &Scope<'_>,
) -> Result<Vec<Conn>, Failure> {
    let base = ctx.collection.base_dir();
    let mut specs = Vec::new();
    for c in &request.connections {
        let fail = |e: String| Failure {
            summary: e,
            connection: Some(c.name.clone()),
            ..Failure::default()
        };
        let url = c.url.expand(scope).map_err(|e| fail(e.to_string()))?;
        let headers = c
            .headers
            .iter()
            .map(|(k, v)| Ok((k.clone(), v.expand(scope)?)))
            .collect::<Result<Vec<_>, crate::template::TemplateError>>()
            .map_err(|e| fail(e.to_string()))?;
        let tls = super::tls::client_config(&c.tls, &base).map_err(fail)?;
        specs.push(ConnectSpec {
            name: c.name.clone(),
            url,
            headers,
            subprotocols: c.subprotocols.clone(),
            tls,
            connect_timeout: c
                .connect_timeout
                .or(ctx.collection.defaults.connect_timeout.map(|d| d.0))
                .unwrap_or(crate::collection::DEFAULT_TIMEOUT),
            max_message_size: max_message_size(ctx.collection),
        });
    }
    let results = futures_util::future::join_all(specs.iter().map(Conn::open)).await;
    let mut conns = Vec::with_capacity(results.len());
    for (spec, result) in specs.iter().zip(results) {
        match result {
            Ok(conn) => conns.push(conn),
            Err(e) => {
                return Err(Failure {
                    summary: e,
                    connection: Some(spec.name.clone()),
                    line: request
                        .connections
                        .iter()
                        .find(|c| c.name == spec.name)
                        .map(|c| c.line),
                    ..Failure::default()
                })
            }
        }
    }
    Ok(conns)
}

type StepResult = Result<u64, (Failure, u64)>;

fn fail(summary: impl Into<String>) -> (Failure, u64) {
    (Failure::new(summary), 0)
}

async fn run_step(ctx: &Ctx<'_>, request: &Request, step: &Step, st: &mut State<'_>) -> StepResult {
    let conn_index = step
        .kind
        .conn()
        .and_then(|n| request.connections.iter().position(|c| c.name == n))
        .unwrap_or(0);
    let timeout = |own: Option<Duration>| step_timeout(own, request, ctx.collection);
    match &step.kind {
        StepKind::Send(send) => {
            let message = match &send.payload {
                Payload::Text(t) => {
                    Message::text(t.expand(&st.scope).map_err(|e| fail(e.to_string()))?)
                }
                Payload::Json(j) => {
                    let v = j.expand(&st.scope).map_err(|e| fail(e.to_string()))?;
                    Message::text(v.to_string())
                }
                Payload::Binary(b) => {
                    let text = b.expand(&st.scope).map_err(|e| fail(e.to_string()))?;
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(text.trim())
                        .map_err(|e| fail(format!("`binary` is not valid base64: {e}")))?;
                    Message::binary(bytes)
                }
            };
            st.conns[conn_index]
                .send(message, &mut st.rec)
                .await
                .map_err(fail)?;
            Ok(0)
        }
        StepKind::Expect(e) => {
            expect(st, conn_index, e, timeout(e.timeout.map(|d| d.0)), false).await
        }
        StepKind::WaitFor(e) => {
            expect(st, conn_index, e, timeout(e.timeout.map(|d| d.0)), true).await
        }
        StepKind::NoMessage(n) => {
            let conn = &mut st.conns[conn_index];
            let deadline = Instant::now() + n.within.0;
            match conn.recv(deadline, &mut st.rec).await {
                Err(RecvError::Timeout) => Ok(0),
                Ok(m) => Err((
                    Failure {
                        summary: format!(
                            "expected no message for {}, but one arrived",
                            format_duration(n.within.0)
                        ),
                        expected: Some("no message".into()),
                        message: Some(preview(&m)),
                        ..Failure::default()
                    },
                    1,
                )),
                Err(RecvError::Closed(c)) => Err(fail(format!(
                    "expected no message for {}, but {}",
                    format_duration(n.within.0),
                    c.describe()
                ))),
            }
        }
        StepKind::Capture(captures) => {
            let Some(doc) = &st.last else {
                return Err(fail(
                    "nothing to capture from: no JSON message has been matched yet (capture reads the message the last `expect`/`wait_for` matched)",
                ));
            };
            for (name, path) in &captures.0 {
                let nodes = path.query(doc);
                let value = match nodes.as_slice() {
                    [] => {
                        return Err((
                            Failure {
                                summary: format!("capture `{name}`: {path} selected nothing in the last matched message"),
                                path: Some(path.to_string()),
                                message: Some(crate::report::truncate(&doc.to_string(), super::check::PREVIEW)),
                                ..Failure::default()
                            },
                            0,
                        ))
                    }
                    [one] => (*one).clone(),
                    many => Value::Array(many.iter().map(|v| (*v).clone()).collect()),
                };
                st.scope.captures.insert(name.clone(), value);
            }
            Ok(0)
        }
        StepKind::Snapshot(s) => {
            let sctx = super::StepCtx {
                collection_path: &ctx.collection.path,
                update: ctx.opts.update_snapshots,
                masker: ctx.masker,
            };
            let t = timeout(s.timeout.map(|d| d.0));
            crate::snapshot::run_step(
                &sctx,
                request,
                step,
                s,
                &mut st.conns[conn_index],
                &mut st.rec,
                t,
            )
            .await
        }
        StepKind::Ping(p) => {
            let conn = &mut st.conns[conn_index];
            let payload = p.payload.clone().into_bytes();
            conn.send(Message::Ping(payload.clone().into()), &mut st.rec)
                .await
                .map_err(fail)?;
            let t = timeout(p.timeout.map(|d| d.0));
            match conn
                .await_pong(&payload, Instant::now() + t, &mut st.rec)
                .await
            {
                Ok(()) => Ok(0),
                Err(RecvError::Timeout) => {
                    Err(fail(format!("no pong within {}", format_duration(t))))
                }
                Err(RecvError::Closed(c)) => Err(fail(format!("no pong: {}", c.describe()))),
            }
        }
        StepKind::Sleep(d) => {
            tokio::time::sleep(d.0).await;
            Ok(0)
        }
        StepKind::Close(c) => {
            let conn = &mut st.conns[conn_index];
            if conn.closed().is_some() {
                return Err(fail(format!(
                    "cannot close: {}",
                    conn.closed().map(|c| c.describe()).unwrap_or_default()
                )));
            }
            conn.close(
                c.code.unwrap_or(1000),
                c.reason.as_deref().unwrap_or(""),
                &mut st.rec,
            )
            .await
            .map_err(fail)?;
            // Drain until the server answers the close (messages in flight are skipped).
            let deadline = Instant::now() + timeout(c.timeout.map(|d| d.0));
            let mut skipped = 0;
            loop {
                match conn.recv(deadline, &mut st.rec).await {
                    Ok(_) => skipped += 1,
                    Err(RecvError::Closed(_)) => return Ok(skipped),
                    Err(RecvError::Timeout) => {
                        return Err((
                            Failure::new(format!(
                                "the server did not answer the close within {} ({skipped} message(s) arrived meanwhile)",
                                format_duration(timeout(c.timeout.map(|d| d.0)))
                            )),
                            skipped,
                        ))
                    }
                }
            }
        }
        StepKind::ExpectClose(c) => {
            let conn = &mut st.conns[conn_index];
            let t = timeout(c.timeout.map(|d| d.0));
            let deadline = Instant::now() + t;
            let mut skipped = 0;
            loop {
                match conn.recv(deadline, &mut st.rec).await {
                    Ok(_) => skipped += 1,
                    Err(RecvError::Timeout) => {
                        return Err((
                            Failure::new(format!(
                                "the server did not close the connection within {}",
                                format_duration(t)
                            )),
                            skipped,
                        ))
                    }
                    Err(RecvError::Closed(closed)) => {
                        if !closed.clean {
                            return Err((
                                Failure {
                                    summary: closed.describe(),
                                    expected: Some(match c.code {
                                        Some(code) => format!("a close frame with code {code}"),
                                        None => "a close frame".into(),
                                    }),
                                    actual: Some(closed.received()),
                                    ..Failure::default()
                                },
                                skipped,
                            ));
                        }
                        return match c.code {
                            Some(code) if closed.code != Some(code) => Err((
                                Failure {
                                    summary: "the server closed with another code".into(),
                                    expected: Some(format!("close code {code}")),
                                    actual: Some(match closed.code {
                                        Some(got) => format!("close code {got}"),
                                        None => "no close code".into(),
                                    }),
                                    ..Failure::default()
                                },
                                skipped,
                            )),
                            _ => Ok(skipped),
                        };
                    }
                }
            }
        }
    }
}

/// `expect` (the next message, or the next `count`) and `wait_for` (skip until one matches).
async fn expect(
    st: &mut State<'_>,
    conn_index: usize,
    e: &Expect,
    timeout: Duration,
    wait: bool,
) -> StepResult {
    let ready = Ready::resolve(e, &st.scope).map_err(|e| fail(e.to_string()))?;
    let window = e.within.map(|d| d.0).unwrap_or(timeout);
    let deadline = Instant::now() + window;
    let count = e.count.unwrap_or(1);
    let conn = &mut st.conns[conn_index];
    let mut consumed: u64 = 0;
    let mut matched: u64 = 0;
    let mut last_mismatch: Option<(super::check::Mismatch, Incoming)> = None;
    while matched < count {
        let message = match conn.recv(deadline, &mut st.rec).await {
            Ok(m) => m,
            Err(err) => {
                let waited = if wait {
                    format!("no matching message within {}", format_duration(window))
                } else if count > 1 {
                    format!(
                        "received {matched} of {count} messages within {}",
                        format_duration(window)
                    )
                } else {
                    format!("no message within {}", format_duration(window))
                };
                let summary = match &err {
                    RecvError::Timeout => waited,
                    RecvError::Closed(c) if count > 1 => {
                        format!("{}; received {matched} of {count} messages", c.describe())
                    }
                    RecvError::Closed(c) => c.before_a_message(),
                };
                let mut failure = Failure::new(summary);
                if let Some((mismatch, msg)) = last_mismatch {
                    // wait_for: show why the last skipped message did not match.
                    failure = mismatch.into_failure(&msg);
                    failure.summary = format!(
                        "{}; {consumed} message(s) skipped, the last one: {}",
                        match &err {
                            RecvError::Timeout =>
                                format!("no matching message within {}", format_duration(window)),
                            RecvError::Closed(c) => c.describe(),
                        },
                        failure.summary
                    );
                }
                return Err((failure, consumed));
            }
        };
        consumed += 1;
        match ready.check(&message) {
            Ok(doc) => {
                matched += 1;
                if matched == count {
                    // Only the last matched message is kept for `capture`: parse it if the
                    // check did not have to.
                    st.last = doc.or_else(|| super::check::parse(&message));
                }
            }
            Err(mismatch) if wait => last_mismatch = Some((mismatch, message)),
            Err(mismatch) => {
                let mut failure = mismatch.into_failure(&message);
                if count > 1 {
                    failure.summary =
                        format!("message {} of {count}: {}", matched + 1, failure.summary);
                }
                return Err((failure, consumed));
            }
        }
    }
    Ok(consumed)
}
