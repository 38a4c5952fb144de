//! The runner: prepares collections (environment, variables, name checks), starts the mocks a
//! run needs, runs requests in file order, and returns plain results.

mod check;
pub mod conn;
mod exec;
pub mod mask;
pub mod tls;
mod wire;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::collection::{
    Collection, LoadError, OrderedMap, Request, DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_TIMEOUT,
};
use crate::report::{CollectionReport, Failure, RequestReport, RunReport, Stop};
use crate::template::{self, Lookup, TValue, TemplateError, VarRef};

pub use check::{Mismatch, Ready};

/// How a run is configured (the CLI flags and the Python keyword arguments).
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub env: Option<String>,
    /// `--var K=V`, highest precedence after captures.
    pub vars: Vec<(String, String)>,
    /// `--vars-file FILE`: YAML or JSON maps of variables.
    pub vars_files: Vec<PathBuf>,
    /// `--secret K=V`: variables whose values are never printed.
    pub secrets: Vec<(String, String)>,
    /// Only requests whose name contains this text (case-insensitive).
    pub filter: Option<String>,
    pub fail_fast: bool,
    /// A deadline for the whole run.
    pub timeout: Option<Duration>,
    pub update_snapshots: bool,
    /// How many requests run at once (0 or 1: one after another). Output keeps file order.
    pub jobs: usize,
    /// `--shard K/N`: run only the K-th of N stable partitions of all requests (K from 1).
    pub shard: Option<(u32, u32)>,
    /// Live counters for a progress line (the CLI shows one on a terminal).
    pub progress: Option<Arc<Progress>>,
}

/// Live counters a progress display reads while a run goes on.
#[derive(Debug, Default)]
pub struct Progress {
    /// Data messages received so far, across all requests.
    pub messages: std::sync::atomic::AtomicU64,
    pub requests_done: std::sync::atomic::AtomicUsize,
    pub requests_total: std::sync::atomic::AtomicUsize,
    /// The request that started last.
    pub current: std::sync::Mutex<String>,
}

/// Which shard (1-based) of `n` a request belongs to: a stable hash of its file and name, so
/// every CI runner computes the same partition.
pub fn shard_of(collection_path: &str, request_name: &str, n: u32) -> u32 {
    // FNV-1a: stable across Rust versions and platforms, unlike `DefaultHasher`.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in collection_path
        .bytes()
        .chain([0u8])
        .chain(request_name.bytes())
    {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash % u64::from(n.max(1))) as u32 + 1
}

/// What a snapshot step needs to know about its run.
pub struct StepCtx<'a> {
    pub collection_path: &'a std::path::Path,
    pub update: bool,
    pub masker: &'a mask::Masker,
}

/// A collection checked against the options and ready to run.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub collection: Arc<Collection>,
    pub env: Option<String>,
    /// Indices of the requests the filter selected.
    pub selected: Vec<usize>,
    layers: Vec<Vec<(String, TValue)>>,
}

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

/// Names outside the variables: built-ins, `env.X`, `mocks.NAME.url`.
struct Builtins<'a> {
    mocks: &'a HashMap<String, String>,
    mock_names: Vec<&'a str>,
}

impl Lookup for Builtins<'_> {
    fn lookup(&self, var: &VarRef) -> Result<Value, TemplateError> {
        match var.root.as_str() {
            "uuid" | "now_ms" => template::Scope::default().lookup(var),
            "env" => template::lookup_env(var),
            "mocks" => {
                let name = var.path.first().map(String::as_str).unwrap_or_default();
                let field = var.path.get(1).map(String::as_str);
                match (self.mocks.get(name), field) {
                    (Some(url), Some("url")) if var.path.len() == 2 => {
                        Ok(Value::String(url.clone()))
                    }
                    (Some(_), _) => Err(TemplateError::NoField {
                        name: format!("mocks.{name}"),
                        field: var.path[1..].join("."),
                    }),
                    (None, _) => Err(TemplateError::Unknown {
                        name: format!("mocks.{name}"),
                        hint: match template::closest(name, self.mock_names.iter().copied()) {
                            Some(s) => format!(" (did you mean `mocks.{s}`?)"),
                            None if self.mock_names.is_empty() => {
                                " (the collection defines no `mocks`)".into()
                            }
                            None => format!(" (mocks: {})", self.mock_names.join(", ")),
                        },
                    }),
                }
            }
            _ => Err(TemplateError::Unknown {
                name: var.root.clone(),
                hint: String::new(),
            }),
        }
    }
}

fn parse_kv(pairs: &[(String, String)]) -> Vec<(String, TValue)> {
    pairs
        .iter()
        .map(|(k, v)| (k.clone(), TValue::Literal(Value::String(v.clone()))))
        .collect()
}

fn load_vars_file(path: &PathBuf) -> Result<Vec<(String, TValue)>, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|e| LoadError::io(path, &e))?;
    let map: OrderedMap<String, TValue> =
        serde_saphyr::from_str_with_options(&text, crate::collection::yaml_options())
            .map_err(|e| LoadError::from_yaml(path, &text, &e))?;
    Ok(map.0)
}

/// Checks a collection against the options without connecting: the environment exists, every
/// template name is defined (or captured earlier in its request), variables have no cycles.
pub fn prepare(collection: Collection, opts: &RunOptions) -> Result<Prepared, LoadError> {
    let env = collection
        .select_env(opts.env.as_deref())?
        .map(str::to_string);
    let mut files = Vec::new();
    for f in &opts.vars_files {
        files.extend(load_vars_file(f)?);
    }
    let layers = vec![
        collection.vars.clone(),
        collection.env_vars(env.as_deref()).to_vec(),
        files,
        parse_kv(&opts.vars),
        parse_kv(&opts.secrets),
    ];
    let filter = opts.filter.as_ref().map(|f| f.to_lowercase());
    let path_text = collection.path.display().to_string();
    let selected: Vec<usize> = collection
        .requests
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            filter
                .as_ref()
                .is_none_or(|f| r.name.to_lowercase().contains(f))
        })
        .filter(|(_, r)| {
            opts.shard
                .is_none_or(|(k, n)| shard_of(&path_text, &r.name, n) == k)
        })
        .map(|(i, _)| i)
        .collect();
    let prepared = Prepared {
        collection: Arc::new(collection),
        env,
        selected,
        layers,
    };
    // Resolve with placeholder mock URLs: the names are checked, nothing is started.
    let placeholders: HashMap<String, String> = prepared
        .collection
        .mocks
        .iter()
        .map(|(n, _)| (n.clone(), "ws://127.0.0.1:0".to_string()))
        .collect();
    let vars = prepared.resolve(&placeholders)?;
    for &i in &prepared.selected {
        check_request_names(
            &prepared.collection,
            &prepared.collection.requests[i],
            &vars,
            &placeholders,
        )?;
    }
    Ok(prepared)
}

fn check_request_names(
    collection: &Collection,
    request: &Request,
    vars: &HashMap<String, Value>,
    mocks: &HashMap<String, String>,
) -> Result<(), LoadError> {
    let captured = request.captured_names();
    let builtins = Builtins {
        mocks,
        mock_names: collection.mocks.iter().map(|(n, _)| n.as_str()).collect(),
    };
    for (line, var) in request.free_vars() {
        if vars.contains_key(&var.root) || captured.contains(&var.root.as_str()) {
            continue;
        }
        if let Err(e) = builtins.lookup(&var) {
            let e = match e {
                TemplateError::Unknown { name, hint } if hint.is_empty() => {
                    let known = vars
                        .keys()
                        .map(String::as_str)
                        .chain(captured.iter().copied());
                    template::unknown(&name, known)
                }
                other => other,
            };
            return Err(collection.error_at(line, format!("{e} in request `{}`", request.name)));
        }
    }
    Ok(())
}

impl Prepared {
    /// The variables, resolved through each other, with these mock URLs.
    fn resolve(
        &self,
        mocks: &HashMap<String, String>,
    ) -> Result<HashMap<String, Value>, LoadError> {
        let builtins = Builtins {
            mocks,
            mock_names: self
                .collection
                .mocks
                .iter()
                .map(|(n, _)| n.as_str())
                .collect(),
        };
        let layers: Vec<&[(String, TValue)]> = self.layers.iter().map(Vec::as_slice).collect();
        template::resolve_vars(&layers, &builtins).map_err(|(name, e)| {
            let line = var_line(&self.collection.source, &name);
            let message = format!("{e} (in variable `{name}`)");
            match line {
                Some(l) => self.collection.error_at(l, message),
                None => LoadError::plain(&self.collection.path, message),
            }
        })
    }

    /// The mocks this run refers to (`{{ mocks.NAME.url }}` anywhere it uses).
    pub fn mocks_used(&self) -> Vec<String> {
        let mut refs = Vec::new();
        for layer in &self.layers {
            for (_, v) in layer {
                v.vars(&mut refs);
            }
        }
        for &i in &self.selected {
            refs.extend(
                self.collection.requests[i]
                    .free_vars()
                    .into_iter()
                    .map(|(_, v)| v),
            );
        }
        let mut names: Vec<String> = refs
            .into_iter()
            .filter(|v| v.root == "mocks")
            .filter_map(|v| v.path.first().cloned())
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

/// The line where a variable is defined (`  name: …`), for error messages.
fn var_line(source: &str, name: &str) -> Option<usize> {
    source
        .lines()
        .position(|l| {
            let t = l.trim_start().trim_start_matches(['{', ' ']);
            t.starts_with(&format!("{name}:"))
        })
        .map(|i| i + 1)
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
    // A timeout too long for the clock (Python passes any float) is no deadline, not a panic.
    let deadline = opts.timeout.and_then(|t| started.checked_add(t));
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
    let ctxs: Vec<exec::Ctx<'_>> = prepared
        .iter()
        .zip(&live)
        .map(|(p, l)| exec::Ctx::new(&p.collection, &l.vars, opts, &l.masker))
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
                rr = exec::run_request(ctx, request) => (rr, None),
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

#[cfg(test)]
mod tests {
    use super::*;

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
