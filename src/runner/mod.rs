//! The runner: starts the mocks a planned run needs, runs its requests in file order (or `jobs`
//! at a time), and returns plain results. It never prints: an [`Observer`] watches.

pub(crate) mod check;
pub mod conn;
pub mod http;
mod iteration;
mod load;
mod load_model;
mod load_users;
pub mod mask;
pub mod partial;
pub mod proxy;
pub mod recorder;
mod request;
// Only Python drives a connection one step at a time.
#[cfg(feature = "python")]
pub mod session;
#[doc(hidden)]
pub mod steps;
mod stream;
pub mod tls;
pub(crate) mod wire;

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::collection::{Collection, Request, DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_TIMEOUT};
use crate::options::RunOptions;
use crate::plan::Prepared;
use crate::report::shard::{content_hash, CollectionId, Shard, ShardOf};
use crate::report::{CollectionReport, Failure, RequestReport, RunReport, Stop};

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

    /// Whether the handle has fired.
    pub fn is_cancelled(&self) -> bool {
        *self.0.borrow()
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
///
/// When the run stops early (Ctrl-C, `--timeout`, `--fail-fast`), every request that finished
/// is still reported; requests cut short by Ctrl-C or the deadline are reported as such, and
/// requests that had not started (or that `--fail-fast` halted) count as not run.
pub async fn run(
    prepared: &[Prepared],
    opts: &RunOptions,
    observer: &dyn Observer,
    cancel: Cancel,
) -> RunReport {
    use futures_util::StreamExt;

    let started = Instant::now();
    let mut live = Vec::with_capacity(prepared.len());
    for p in prepared {
        live.push(Live::start(p, opts).await);
    }
    let snapshots = crate::snapshot::Store::from_env(opts.update_snapshots);
    let ctxs: Vec<steps::Ctx<'_>> = prepared
        .iter()
        .zip(&live)
        .map(|(p, l)| steps::Ctx::new(&p.collection, &l.vars, opts, &l.masker, snapshots))
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
    let (halt_handle, halt) = cancel_pair();
    let stops = Stops {
        cancel,
        halt,
        // A timeout too long for the clock (Python passes any float) is no deadline, not a panic.
        deadline: opts
            .timeout
            .and_then(|t| started.checked_add(t).map(|at| (at, t))),
    };
    let one = |(ci, ri): (usize, usize)| {
        let (ctx, live, first_start) = (&ctxs[ci], &live[ci], &first_start[ci]);
        let stops = stops.clone();
        async move {
            let request = &ctx.collection.requests[ri];
            let (rr, stop) = run_one(ctx, request, live, first_start, stops).await?;
            Some((ci, rr, stop))
        }
    };
    let planned = work.len();
    if let Some(p) = &opts.progress {
        p.requests_total.store(planned, Ordering::Relaxed);
    }
    let mut results = futures_util::stream::iter(work)
        .map(one)
        .buffered(opts.jobs.max(1));
    let mut report = RunReport::default();
    let mut done = 0;
    let mut current: Option<(usize, CollectionReport, Instant)> = None;
    while let Some(result) = results.next().await {
        // `None`: never started, because the run had already stopped.
        let Some((ci, rr, stop)) = result else {
            continue;
        };
        if current.as_ref().is_none_or(|(c, _, _)| *c != ci) {
            finish_collection(&mut report, current.take());
            let p = &prepared[ci];
            observer.collection_started(&p.collection, p.env.as_deref());
            let began = first_start[ci].get().copied().unwrap_or_else(Instant::now);
            current = Some((ci, collection_report(p), began));
        }
        observer.request_finished(&prepared[ci].collection, &rr);
        done += 1;
        if let Some(p) = &opts.progress {
            p.requests_done.store(done, Ordering::Relaxed);
        }
        let failed = !rr.passed();
        if let Some((_, c, _)) = current.as_mut() {
            c.requests.push(rr);
        }
        if report.stopped.is_none() && (stop.is_some() || (failed && opts.fail_fast)) {
            report.stopped = stop.or(Some(Stop::FailFast));
            // Requests still running or not yet started stop; the finished ones are kept.
            halt_handle.cancel();
        }
    }
    drop(results);
    report.not_run = planned - done;
    finish_collection(&mut report, current.take());
    report.duration = started.elapsed();
    report.shard = shard_of(prepared, opts);
    report
}

/// Which share of the run this is: with `--shard K/N`, K and N and every collection loaded
/// (each shard loads them all, whichever requests it runs), by content hash.
fn shard_of(prepared: &[Prepared], opts: &RunOptions) -> ShardOf {
    let Some((index, count)) = opts.shard else {
        return ShardOf::Whole;
    };
    let mut collections: Vec<CollectionId> = prepared
        .iter()
        .map(|p| CollectionId {
            path: p.collection.path.display().to_string(),
            env: p.env.clone(),
            hash: content_hash(&p.collection.source),
        })
        .collect();
    collections.sort();
    collections.dedup();
    ShardOf::Part(Shard {
        index,
        count,
        collections,
    })
}

/// What can end a request before its last step: Ctrl-C, the run's deadline, or the run
/// halting after an earlier request stopped it.
#[derive(Clone)]
struct Stops {
    cancel: Cancel,
    halt: Cancel,
    deadline: Option<(Instant, Duration)>,
}

/// Runs one request unless the run has halted (`None`); a request cut short by Ctrl-C or the
/// deadline is reported with why, one halted by `--fail-fast` is not reported at all.
async fn run_one(
    ctx: &steps::Ctx<'_>,
    request: &Request,
    live: &Live,
    first_start: &std::sync::OnceLock<Instant>,
    stops: Stops,
) -> Option<(RequestReport, Option<Stop>)> {
    if stops.halt.is_cancelled() || stops.cancel.is_cancelled() {
        return None;
    }
    first_start.get_or_init(Instant::now);
    if let Some(progress) = &ctx.opts.progress {
        if let Ok(mut current) = progress.current.lock() {
            current.clone_from(&request.name);
        }
    }
    if let Some(failure) = &live.broken {
        let mut rr = stopped(request, "");
        rr.error = Some(failure.clone());
        return Some((rr, None));
    }
    let Stops {
        mut cancel,
        mut halt,
        deadline,
    } = stops;
    // Ctrl-C or the deadline, and why in words.
    let stop = async move {
        let deadline_reached = async {
            match deadline {
                Some((at, _)) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = cancel.cancelled() => (Stop::Interrupted, "interrupted (Ctrl-C)".to_string()),
            _ = deadline_reached => {
                let t = deadline.map(|(_, t)| t).unwrap_or_default();
                let why = format!(
                    "the run timed out after {} (--timeout)",
                    crate::duration::format_duration(t)
                );
                (Stop::TimedOut(Some(t)), why)
            }
        }
    };
    if let Some(load) = &request.load {
        // A load stops itself, keeping what it measured until then.
        return tokio::select! {
            (rr, why) = load::run(ctx, request, load, stop) => Some((rr, why)),
            _ = halt.cancelled() => None,
        };
    }
    tokio::select! {
        biased;
        rr = request::run_request(ctx, request) => Some((rr, None)),
        (why, text) = stop => Some((stopped(request, &text), Some(why))),
        _ = halt.cancelled() => None,
    }
}

fn finish_collection(report: &mut RunReport, current: Option<(usize, CollectionReport, Instant)>) {
    if let Some((_, mut c, t)) = current {
        c.duration = t.elapsed();
        report.collections.push(c);
    }
}

impl Live {
    /// Starts a collection's mocks and resolves its variables; a mock that cannot start makes
    /// every request of the collection fail with why.
    async fn start(p: &Prepared, opts: &RunOptions) -> Self {
        match start_mocks(p).await {
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
        }
    }
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

/// The secrets of a collection's run: every text and number in its `secrets:` variables and
/// `--secret` values, and their names (for values captured under them).
fn masker_for(p: &Prepared, vars: &HashMap<String, Value>, opts: &RunOptions) -> mask::Masker {
    let names: Vec<&String> = p
        .collection
        .secrets
        .iter()
        .chain(opts.secrets.iter().map(|(k, _)| k))
        .collect();
    let mut masker = mask::Masker::new(opts.secrets.iter().map(|(_, v)| v.clone()));
    for value in names.iter().filter_map(|name| vars.get(name.as_str())) {
        masker.extend_value(value);
    }
    masker.name_secrets(names.into_iter().cloned());
    masker
}

fn stopped(request: &Request, why: &str) -> RequestReport {
    RequestReport {
        error: Some(Failure::new(why)),
        ..RequestReport::new(request.name.clone(), request.line)
    }
}

/// Starts the mocks the run refers to and resolves the variables with their URLs.
async fn start_mocks(
    p: &Prepared,
) -> Result<(Vec<crate::mock::MockServer>, HashMap<String, Value>), Failure> {
    // Listen first: the variables may name the mocks' URLs, and the mocks' replies the variables.
    let mut bound = Vec::new();
    let mut urls = HashMap::new();
    let base = p.collection.base_dir();
    let could_not_start = |name: &str, e: crate::mock::MockError| {
        Failure::new(format!("mock `{name}` could not start: {e}"))
    };
    for name in p.mocks_used() {
        let Some((_, def)) = p.collection.mocks.iter().find(|(n, _)| *n == name) else {
            continue;
        };
        let mock = crate::mock::MockServer::bind(&name, def, &base, 0)
            .await
            .map_err(|e| could_not_start(&name, e))?;
        urls.insert(name.clone(), mock.url());
        bound.push((name, mock));
    }
    let mut vars = p.resolve(&urls).map_err(|e| Failure::new(e.to_string()))?;
    // `{{ mocks.NAME.url }}` (and `.http_url`) may also stand in a request's own URL or steps.
    let mocks: serde_json::Map<String, Value> = urls
        .into_iter()
        .map(|(name, url)| {
            let http = crate::plan::http_url(&url);
            (name, serde_json::json!({ "url": url, "http_url": http }))
        })
        .collect();
    vars.entry("mocks".to_string())
        .or_insert(Value::Object(mocks));
    let shared = std::sync::Arc::new(vars.clone());
    let mut servers = Vec::with_capacity(bound.len());
    for (name, mock) in bound {
        servers.push(
            mock.serve(shared.clone())
                .map_err(|e| could_not_start(&name, e))?,
        );
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::prepare;

    #[tokio::test]
    async fn a_run_timeout_too_long_for_the_clock_is_no_deadline_rather_than_a_panic() {
        let yaml = "mocks:\n  m: { echo: true }\nrequests:\n  - name: echo\n    url: \"{{ mocks.m.url }}\"\n    steps:\n      - send: hi\n      - expect: { text: hi }\n";
        let collection = Collection::parse(yaml, std::path::Path::new("c.yaml")).unwrap();
        let opts = RunOptions {
            timeout: Some(Duration::MAX),
            ..RunOptions::default()
        };
        let prepared = prepare(collection, &opts).unwrap();
        let report = run(&[prepared], &opts, &Quiet, Cancel::never()).await;
        assert!(report.passed(), "{report:?}");
    }
}
