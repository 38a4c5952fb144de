//! Running one request: open its connections, run its steps in order (`steps/`), record what
//! happened.

use std::path::Path;
use std::time::Duration;

use tokio::time::Instant;

use super::conn::{Conn, ConnectSpec, Recorder};
use super::mask::{is_secret_header, Masker};
use super::max_message_size;
use super::steps::Ctx;
use crate::collection::Request;
use crate::report::{Failure, Outcome, RequestReport, StepReport};
use crate::template::Scope;

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
    let mut state = super::steps::State {
        scope: Scope {
            vars: Some(ctx.vars),
            ..Scope::default()
        },
        conns: Vec::new(),
        rec: Recorder::with_progress(ctx.opts.progress.clone()),
        last: None,
        several: request.connections.len() > 1,
        masker: ctx.masker.clone(),
        latency: None,
    };
    header_secrets(request, &state.scope, &mut state.masker);
    match open_all(ctx, request, &state.scope, &mut state.rec).await {
        Ok(mut conns) => {
            if let Some(contract) = &request.contract {
                for c in &mut conns {
                    c.contract = Some(crate::contract::Watch::new(contract.0.clone()));
                }
            }
            state.conns = conns
        }
        Err(failure) => {
            report.error = Some(failure);
            report.steps = skipped(request, 0);
            // A protocol's handshake may have gone some way: show how far (`-v`).
            report.transcript = std::mem::take(&mut state.rec.transcript);
            report.duration = started.elapsed();
            state.masker.request(&mut report);
            return report;
        }
    }
    for (i, step) in request.steps.iter().enumerate() {
        let step_started = Instant::now();
        let result = super::steps::run(ctx, request, step, &mut state).await;
        let (outcome, messages) = match contract_violation(&mut state, result) {
            Ok(n) => (Outcome::Passed, n),
            Err((mut failure, n)) => {
                if state.several && failure.connection.is_none() {
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
            latency: state.latency.take(),
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
    state.masker.request(&mut report);
    report
}

/// Credentials in headers are secrets too, for this request.
pub(super) fn header_secrets(request: &Request, scope: &Scope<'_>, masker: &mut Masker) {
    for c in &request.connections {
        for (name, value) in &c.headers {
            if is_secret_header(name) {
                if let Ok(v) = value.expand(scope) {
                    // `Bearer abc…`: mask the credential, and the whole value.
                    let credential = v.split_whitespace().last().unwrap_or_default().to_string();
                    masker.extend([v, credential]);
                }
            }
        }
    }
}

/// A message that broke the request's contract during the step fails it, whatever the step
/// itself found: the contract's failure explains what the step saw.
fn contract_violation(
    state: &mut super::steps::State<'_>,
    result: Result<u64, (Failure, u64)>,
) -> Result<u64, (Failure, u64)> {
    let several = state.several;
    let broken = state.conns.iter_mut().find_map(|c| {
        let mut failure = c.contract.as_mut()?.take()?;
        if several {
            failure.connection = Some(c.name.to_string());
        }
        Some(failure)
    });
    match (broken, result) {
        (None, result) => result,
        (Some(failure), Ok(n)) => Err((failure, n)),
        (Some(mut failure), Err((own, n))) => {
            let also = format!("the step also failed: {}", own.summary);
            failure.detail = Some(match failure.detail {
                Some(d) => format!("{d}\n{also}"),
                None => also,
            });
            Err((failure, n))
        }
    }
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
            latency: None,
        })
        .collect()
}

/// Opens every connection of the request at once, then does each one's protocol handshake;
/// all must succeed before the first step.
pub(super) async fn open_all(
    ctx: &Ctx<'_>,
    request: &Request,
    scope: &Scope<'_>,
    rec: &mut Recorder,
) -> Result<Vec<Conn>, Failure> {
    let base = ctx.collection.base_dir();
    let mut specs = Vec::new();
    let mut protocols = Vec::new();
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
        let subprotocols = c
            .subprotocols
            .iter()
            .map(|p| p.expand(scope))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| fail(e.to_string()))?;
        let ca = match &c.tls.ca {
            Some(ca) => Some(ca.value.expand(scope).map_err(|e| fail(e.to_string()))?),
            None => None,
        };
        let tls = super::tls::client_config(ca.as_deref().map(Path::new), c.tls.insecure, &base)
            .map_err(fail)?;
        protocols.push(crate::protocol::build(&c.protocol, scope).map_err(fail)?);
        specs.push(ConnectSpec {
            name: c.name.clone(),
            url,
            headers,
            subprotocols,
            tls,
            connect_timeout: c
                .connect_timeout
                .or(ctx.collection.defaults.connect_timeout.map(|d| d.0))
                .unwrap_or(crate::collection::DEFAULT_TIMEOUT),
            max_message_size: max_message_size(ctx.collection),
        });
    }
    let opening = specs
        .iter()
        .zip(protocols)
        .map(|(spec, protocol)| Conn::open_with(spec, protocol));
    let results = futures_util::future::join_all(opening).await;
    let mut conns = Vec::with_capacity(results.len());
    for (spec, result) in specs.iter().zip(results) {
        let result = match result {
            Ok(mut conn) => conn
                .handshake(spec.connect_timeout, rec)
                .await
                .map(|()| conn),
            Err(e) => Err(e),
        };
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
