//! The runner: starts the mocks a planned run needs, runs its requests in file order (or `jobs`
//! at a time), and returns plain results. It never prints: an [`Observer`] watches.

pub(crate) mod check;
pub mod conn;
pub mod mask;
mod request;
mod steps;
pub mod tls;

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::collection::{Collection, Request, DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_TIMEOUT};
use crate::options::RunOptions;
use crate::plan::Prepared;
use crate::report::{CollectionReport, Failure, RequestReport, RunReport, Stop};

pub use check::{Mismatch, Ready};

/// Watches a run from outside: the CLI prints as requests finish.
pub trait Observer: Send + Sync {
    fn collection_started(&self, _collection: &Collection, _env: Option<&str>) {}
    fn request_finished(&self, _collection: &Collection, _request: &RequestReport) {}
}

/// An observer that watches nothing.
pub struct Quiet;
impl Observer for Quiet {}

/// Stops a run from outside (Ctrl-C).
#[derive(Clone)]
pub struct Cancel(watch::Receiver<bool>);

/// The other end of [`Cancel`].
pub struct CancelHandle(watch::Sender<bool>);

impl CancelHandle {
    pub fn cancel(&self) {
        let _ = self.0.send(true);
    }
}

/// A cancel pair: the handle stops the run holding the `Cancel`.
pub fn cancel_pair() -> (CancelHandle, Cancel) {
    let (tx, rx) = watch::channel(false);
    (CancelHandle(tx), Cancel(rx))
}

impl Cancel {
    /// A `Cancel` that never fires.
    pub fn never() -> Self {
        cancel_pair().1
    }

    async fn cancelled(&mut self) {
        while !*self.0.borrow() {
            if self.0.changed().await.is_err() {
                // The handle is gone: nobody can cancel any more.
                std::future::pending::<()>().await;
            }
        }
    }
}

/// A collection whose mocks are up and whose variables are resolved.
struct Live {
    vars: HashMap<String, Value>,
    masker: mask::Masker,
    _servers: Vec<crate::mock::MockServer>,
    /// Set when the mocks could not start: every request fails with it.
    broken: Option<Failure>,
}

/// Runs prepared collections: requests in file order, or `jobs` at a time with results still
/// reported in file order.
pub async fn run(
    prepared: &[Prepared],
    opts: &RunOptions,
    observer: &dyn Observer,
    cancel: Cancel,
) -> RunReport {
    use futures_util::StreamExt;

    let started = Instant::now();
    let deadline = opts.timeout.map(|t| started + t);
    let mut live = Vec::with_capacity(prepared.len());
    for p in prepared {
        live.push(match start_mocks(p).await {
            Ok((servers, vars)) => Live {
                masker: masker_for(p, &vars, opts),
                vars,
                _servers: servers,
                broken: None,
            },
            Err(failure) => Live {
                vars: HashMap::new(),
                masker: mask::Masker::new(opts.secrets.iter().map(|(_, v)| v.clone())),
                _servers: Vec::new(),
                broken: Some(failure),
            },
        });
    }
    let ctxs: Vec<request::Ctx<'_>> = prepared
        .iter()
        .zip(&live)
        .map(|(p, l)| request::Ctx::new(&p.collection, &l.vars, opts, &l.masker))
        .collect();
    let work: Vec<(usize, usize)> = prepared
        .iter()
        .enumerate()
        .flat_map(|(ci, p)| p.selected.iter().map(move |&ri| (ci, ri)))
        .collect();

    // When each collection's first request started (with --jobs, before it is reported).
    let first_start: Vec<std::sync::OnceLock<Instant>> = prepared
        .iter()
        .map(|_| std::sync::OnceLock::new())
        .collect();
    let one = |(ci, ri): (usize, usize)| {
        let ctx = &ctxs[ci];
        let broken = live[ci].broken.clone();
        let mut cancel = cancel.clone();
        let first_start = &first_start[ci];
        async move {
            first_start.get_or_init(Instant::now);
            let request = &ctx.collection.requests[ri];
            if let Some(current) = opts
                .progress
                .as_ref()
                .and_then(|p| p.current.lock().ok())
                .as_mut()
            {
                current.clone_from(&request.name);
            }
            if let Some(failure) = broken {
                let mut rr = stopped(request, "");
                rr.error = Some(failure);
                return (ci, rr, None);
            }
            let deadline_reached = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            let (rr, stop) = tokio::select! {
                rr = request::run_request(ctx, request) => (rr, None),
                _ = cancel.cancelled() => (stopped(request, "interrupted (Ctrl-C)"), Some(Stop::Interrupted)),
                _ = deadline_reached => {
                    let t = opts.timeout.unwrap_or_default();
                    let why = format!("the run timed out after {} (--timeout)", crate::duration::format_duration(t));
                    (stopped(request, &why), Some(Stop::TimedOut(t)))
                }
            };
            (ci, rr, stop)
        }
    };
    let planned = work.len();
    if let Some(p) = &opts.progress {
        p.requests_total
            .store(planned, std::sync::atomic::Ordering::Relaxed);
    }
    let mut done = 0;
    let mut results = futures_util::stream::iter(work)
        .map(one)
        .buffered(opts.jobs.max(1));

    let mut report = RunReport::default();
    let mut current: Option<(usize, CollectionReport, Instant)> = None;
    let finish = |report: &mut RunReport, current: Option<(usize, CollectionReport, Instant)>| {
        if let Some((_, mut c, t)) = current {
            c.duration = t.elapsed();
            report.collections.push(c);
        }
    };
    while let Some((ci, rr, stop)) = results.next().await {
        if current.as_ref().is_none_or(|(c, _, _)| *c != ci) {
            finish(&mut report, current.take());
            // Collections with no selected request before this one still appear, empty.
            let p = &prepared[ci];
            observer.collection_started(&p.collection, p.env.as_deref());
            let began = first_start[ci].get().copied().unwrap_or_else(Instant::now);
            current = Some((ci, collection_report(p), began));
        }
        observer.request_finished(&prepared[ci].collection, &rr);
        done += 1;
        if let Some(p) = &opts.progress {
            p.requests_done
                .store(done, std::sync::atomic::Ordering::Relaxed);
        }
        let failed = !rr.passed();
        if let Some((_, c, _)) = current.as_mut() {
            c.requests.push(rr);
        }
        if stop.is_some() || (failed && opts.fail_fast) {
            report.stopped = stop.or(Some(Stop::FailFast));
            break;
        }
    }
    drop(results);
    report.not_run = planned - done;
    finish(&mut report, current.take());
    report.duration = started.elapsed();
    report
}

fn collection_report(p: &Prepared) -> CollectionReport {
    CollectionReport {
        path: p.collection.path.display().to_string(),
        name: p.collection.name.clone(),
        env: p.env.clone(),
        requests: Vec::new(),
        duration: Duration::ZERO,
    }
}

/// The secret values of a collection's run: its `secrets:` variables and `--secret` values.
fn masker_for(p: &Prepared, vars: &HashMap<String, Value>, opts: &RunOptions) -> mask::Masker {
    let named = p
        .collection
        .secrets
        .iter()
        .chain(opts.secrets.iter().map(|(k, _)| k))
        .filter_map(|name| vars.get(name))
        .map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
    mask::Masker::new(named.chain(opts.secrets.iter().map(|(_, v)| v.clone())))
}

fn stopped(request: &Request, why: &str) -> RequestReport {
    RequestReport {
        name: request.name.clone(),
        line: request.line,
        duration: Duration::ZERO,
        error: Some(Failure::new(why)),
        steps: Vec::new(),
        transcript: Default::default(),
        rates: Vec::new(),
    }
}

/// Starts the mocks the run refers to and resolves the variables with their URLs.
async fn start_mocks(
    p: &Prepared,
) -> Result<(Vec<crate::mock::MockServer>, HashMap<String, Value>), Failure> {
    let mut servers = Vec::new();
    let mut urls = HashMap::new();
    let base = p.collection.base_dir();
    for name in p.mocks_used() {
        let Some((_, def)) = p.collection.mocks.iter().find(|(n, _)| *n == name) else {
            continue;
        };
        let server = crate::mock::MockServer::start(&name, def, &base, 0)
            .await
            .map_err(|e| Failure::new(format!("mock `{name}` could not start: {e}")))?;
        urls.insert(name, server.url().to_string());
        servers.push(server);
    }
    let mut vars = p.resolve(&urls).map_err(|e| Failure::new(e.to_string()))?;
    // `{{ mocks.NAME.url }}` may also stand in a request's own URL or steps.
    let mocks: serde_json::Map<String, Value> = urls
        .into_iter()
        .map(|(name, url)| (name, serde_json::json!({ "url": url })))
        .collect();
    vars.entry("mocks".to_string())
        .or_insert(Value::Object(mocks));
    Ok((servers, vars))
}

/// The timeout of a step: its own, else the request's, else `defaults`, else 5s.
pub(crate) fn step_timeout(
    own: Option<Duration>,
    request: &Request,
    collection: &Collection,
) -> Duration {
    own.or(request.timeout)
        .or(collection.defaults.timeout.map(|d| d.0))
        .unwrap_or(DEFAULT_TIMEOUT)
}

pub(crate) fn max_message_size(collection: &Collection) -> usize {
    collection
        .defaults
        .max_message_size
        .map(|s| s.0)
        .unwrap_or(DEFAULT_MAX_MESSAGE_SIZE)
}
