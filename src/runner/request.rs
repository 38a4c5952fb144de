//! Running one request: open its connections, run its steps in order (`steps/`), `repeat`
//! times, and record what happened; a request with `load:` is run by `load.rs`.

use std::time::Duration;

use tokio::time::Instant;

use super::conn::{Conn, ConnectSpec, Recorder};
use super::iteration::{run_steps, Sink, StepRun};
use super::mask::{is_secret_header, Masker};
use super::max_message_size;
use super::proxy::Proxy;
use super::steps::{Ctx, State};
use crate::collection::{latency_check, Opens, Request};
use crate::latency::{format_ms, Bounds, Latency, Stat, Unit};
use crate::protocol::Protocol;
use crate::report::{Failure, Outcome, RequestReport, StepReport};
use crate::template::Scope;

/// Runs one request once (or `repeat` times); a request with `load:` runs in `runner::load`.
pub async fn run_request(ctx: &Ctx<'_>, request: &Request) -> RequestReport {
    let started = Instant::now();
    let mut report = RequestReport::new(request.name.clone(), request.line);
    let mut state = new_state(
        ctx,
        request,
        Recorder::with_progress(ctx.opts.progress.clone()),
    );
    match open_all(ctx, request, &state.scope, &state.jar, &mut state.rec).await {
        Ok(mut conns) => {
            watch_contract(request, &mut conns);
            state.conns = conns
        }
        Err(failure) => {
            report.error = Some(failure);
            report.steps = skipped(request, 0);
            // A protocol's handshake may have gone some way: show how far (`-v`).
            report.transcript = state.rec.transcript();
            report.duration = started.elapsed();
            state.masker.request(&mut report);
            return report;
        }
    }
    let mut steps = Steps {
        reports: skipped(request, 0),
        repeat: request.repeat,
        iteration: 0,
    };
    for iteration in 1..=request.repeat {
        steps.iteration = iteration;
        if let Some(data) = &request.data {
            // Under `repeat`, each iteration takes the next row.
            state.scope.row = Some(data.row(iteration - 1));
        }
        // Only a load counts the connections opened between steps.
        state.opened_late.clear();
        if !run_steps(ctx, request, &mut state, &mut steps).await {
            break;
        }
    }
    report.steps = steps.finish(request);
    let mut captures: Vec<_> = std::mem::take(&mut state.scope.captures)
        .into_iter()
        .collect();
    captures.sort_by(|a, b| a.0.cmp(&b.0));
    report.captures = captures;
    let mut rec = state.rec;
    for conn in state.conns {
        conn.shutdown(&mut rec).await;
    }
    report.rates = rec.rates();
    report.transcript = rec.transcript();
    report.duration = started.elapsed();
    state.masker.request(&mut report);
    report
}

/// The state of a request about to open its connections: its variables, and its masker with the
/// credentials of its headers added.
pub(super) fn new_state<'a>(ctx: &Ctx<'a>, request: &Request, rec: Recorder) -> State<'a> {
    let mut state = State {
        scope: Scope {
            vars: Some(ctx.vars),
            row: request.data.as_ref().map(|d| d.row(0)),
            ..Scope::default()
        },
        conns: Vec::new(),
        rec,
        last: Default::default(),
        several: request.connections.len() > 1,
        latency: None,
        masker: ctx.masker.clone(),
        opened_late: Vec::new(),
        jar: Default::default(),
    };
    header_secrets(ctx.collection, request, &state.scope, &mut state.masker);
    state
}

/// Credentials in headers and proxy URLs are secrets too, for this request.
pub(super) fn header_secrets(
    collection: &crate::collection::Collection,
    request: &Request,
    scope: &Scope<'_>,
    masker: &mut Masker,
) {
    for c in &request.connections {
        // An access token is a credential, whether or not its variable is a secret.
        if let crate::protocol::ProtocolConfig::SignalR(o) = &c.protocol {
            masker.extend(o.secrets(scope));
            if let Ok(url) = c.url.expand(scope) {
                masker.extend(crate::protocol::signalr::query_tokens(&url));
            }
        }
        connection_secrets(collection, c, scope, masker);
    }
}

/// The credentials in connection `c`'s headers and proxy URL, as far as `scope` expands them (a
/// connection that waits for a captured value adds its own when it opens).
pub(super) fn connection_secrets(
    collection: &crate::collection::Collection,
    c: &crate::collection::Connection,
    scope: &Scope<'_>,
    masker: &mut Masker,
) {
    // A proxy's credentials: a bad URL or proxy is reported when the connection opens.
    if let Ok(url) = c.url.expand(scope) {
        if let Ok(Some(proxy)) = proxy_for(collection, c, &url, scope) {
            masker.extend(proxy.secrets());
        }
        // A protocol's credentials (MQTT's password, sent inside CONNECT).
        masker.extend(c.protocol.secrets(scope));
    }
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

/// The proxy connection `c` goes through to `url`: its `proxy:` (or its request's), else the
/// collection's `defaults.proxy`, else the environment's.
fn proxy_for(
    collection: &crate::collection::Collection,
    c: &crate::collection::Connection,
    url: &str,
    scope: &Scope<'_>,
) -> Result<Option<Proxy>, String> {
    let setting = match c.proxy.as_ref().or(collection.defaults.proxy.as_ref()) {
        Some(p) => Some(p.value.expand(scope).map_err(|e| e.to_string())?),
        None => None,
    };
    super::proxy::choose(setting.as_deref(), url, |name| std::env::var(name).ok())
        .map_err(|e| e.to_string())
}

/// Every connection of a request with a `contract:` checks each message it reads against it.
pub(super) fn watch_contract(request: &Request, conns: &mut [Conn]) {
    if let Some(contract) = &request.contract {
        for c in conns {
            c.contract = Some(Box::new(crate::contract::Watch::new(contract.0.clone())));
        }
    }
}

/// The step reports of a request run `repeat` times: durations and messages summed, every
/// round trip of a repeated step in its distribution, the first failure with its iteration.
struct Steps {
    reports: Vec<StepReport>,
    repeat: u64,
    iteration: u64,
}

impl Sink for Steps {
    fn step(&mut self, run: StepRun) {
        let r = &mut self.reports[run.index];
        r.duration += run.duration;
        r.messages += run.messages;
        if let Some(took) = run.latency {
            r.latency = Some(took);
            if self.repeat > 1 {
                r.latencies.get_or_insert_with(Latency::new).record(took);
            }
        }
        match run.failure {
            Some(mut f) => {
                if self.repeat > 1 {
                    f.summary = format!(
                        "iteration {} of {}: {}",
                        self.iteration, self.repeat, f.summary
                    );
                }
                r.outcome = Outcome::Failed(f);
            }
            None if matches!(r.outcome, Outcome::Skipped) => r.outcome = Outcome::Passed,
            None => {}
        }
    }
}

impl Steps {
    /// The reports, with each step's limits on statistics of its round trips checked, and a
    /// repeated step's `latency` its median.
    fn finish(mut self, request: &Request) -> Vec<StepReport> {
        for (r, step) in self.reports.iter_mut().zip(&request.steps) {
            if let Some(l) = &r.latencies {
                r.latency = l
                    .stat_ms(Stat::Percentile(50.0))
                    .map(|ms| Duration::from_secs_f64(ms / 1000.0));
            }
            let Some(check) = latency_check(&step.kind) else {
                continue;
            };
            if !matches!(r.outcome, Outcome::Passed) || check.stats.is_empty() {
                continue;
            }
            let one;
            let dist = match (&r.latencies, r.latency) {
                (Some(l), _) => l,
                (None, Some(took)) => {
                    one = {
                        let mut l = Latency::new();
                        l.record(took);
                        l
                    };
                    &one
                }
                (None, None) => continue,
            };
            if let Some(failure) = check_stats(&check.stats, dist) {
                r.outcome = Outcome::Failed(failure);
            }
        }
        self.reports
    }
}

/// A failure naming each statistic outside its limits, with its value.
pub(super) fn check_stats(stats: &[(Stat, Bounds)], dist: &Latency) -> Option<Failure> {
    let broken: Vec<String> = stats
        .iter()
        .filter_map(|(stat, bounds)| {
            let ms = dist.stat_ms(*stat)?;
            (!bounds.holds(ms)).then(|| {
                format!(
                    "latency {stat} was {}, wanted {}",
                    format_ms(ms),
                    bounds.describe(Unit::Ms)
                )
            })
        })
        .collect();
    (!broken.is_empty()).then(|| {
        Failure::new(format!(
            "{} (over {} round trip{})",
            broken.join("; "),
            dist.count(),
            if dist.count() == 1 { "" } else { "s" }
        ))
    })
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
            latencies: None,
        })
        .collect()
}

/// Opens every connection of the request at once, then does each one's protocol handshake;
/// all must succeed before the first step.
pub(super) async fn open_all(
    ctx: &Ctx<'_>,
    request: &Request,
    scope: &Scope<'_>,
    jar: &super::http::CookieJar,
    rec: &mut Recorder,
) -> Result<Vec<Conn>, Failure> {
    let mut specs = connect_specs(ctx, request, scope)?;
    super::http::add_cookies(jar, &mut specs);
    let protocols = protocols(request, scope)?;
    let opening = specs
        .iter()
        .zip(protocols)
        .map(|(spec, protocol)| Conn::open_with(spec, protocol));
    let results = futures_util::future::join_all(opening).await;
    let mut conns = Vec::with_capacity(results.len());
    for (spec, result) in specs.iter().zip(results) {
        let result = match result {
            Ok(mut conn) => {
                if let Some(h) = conn.take_handshake() {
                    rec.handshake(h);
                }
                conn.handshake(spec.connect_timeout, rec)
                    .await
                    .map(|()| conn)
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(conn) => conns.push(conn),
            Err(e) => return Err(open_failure(request, spec, e)),
        }
    }
    Ok(conns)
}

/// The connections of the request that open before its first step (the others wait for a
/// value a step provides, or for their `connect`).
pub(super) fn at_start(request: &Request) -> impl Iterator<Item = &crate::collection::Connection> {
    request
        .connections
        .iter()
        .zip(&request.opens)
        .filter(|(_, o)| **o == Opens::Start)
        .map(|(c, _)| c)
}

/// What opening each connection of the request that opens at the start needs, its templates
/// expanded with `scope`.
pub(super) fn connect_specs(
    ctx: &Ctx<'_>,
    request: &Request,
    scope: &Scope<'_>,
) -> Result<Vec<ConnectSpec>, Failure> {
    at_start(request)
        .map(|c| connect_spec(ctx, c, scope))
        .collect()
}

/// What opening connection `c` needs, its templates expanded with `scope`.
pub(super) fn connect_spec(
    ctx: &Ctx<'_>,
    c: &crate::collection::Connection,
    scope: &Scope<'_>,
) -> Result<ConnectSpec, Failure> {
    let base = ctx.collection.base_dir();
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
    let proxy = proxy_for(ctx.collection, c, &url, scope).map_err(fail)?;
    let files = c.tls.files(scope).map_err(|e| fail(e.to_string()))?;
    let tls = super::tls::client_config(&files, &base).map_err(fail)?;
    Ok(ConnectSpec {
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
        proxy,
        compression: c
            .compression
            .or(ctx.collection.defaults.compression)
            .unwrap_or(true),
    })
}

/// The protocol each connection of the request that opens at the start speaks, its templates
/// expanded with `scope`.
pub(super) fn protocols(
    request: &Request,
    scope: &Scope<'_>,
) -> Result<Vec<Box<dyn Protocol>>, Failure> {
    at_start(request).map(|c| protocol(c, scope)).collect()
}

/// The protocol connection `c` speaks, its templates expanded with `scope`.
pub(super) fn protocol(
    c: &crate::collection::Connection,
    scope: &Scope<'_>,
) -> Result<Box<dyn Protocol>, Failure> {
    crate::protocol::build(&c.protocol, scope).map_err(|e| Failure {
        summary: e,
        connection: Some(c.name.clone()),
        ..Failure::default()
    })
}

/// The failure of a connection that could not open, at its line.
pub(super) fn open_failure(request: &Request, spec: &ConnectSpec, error: String) -> Failure {
    Failure {
        summary: error,
        connection: Some(spec.name.clone()),
        line: request
            .connections
            .iter()
            .find(|c| c.name == spec.name)
            .map(|c| c.line),
        ..Failure::default()
    }
}
