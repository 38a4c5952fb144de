//! The runner: prepares collections (environment, variables, name checks), starts the mocks a
//! run needs, runs requests in file order, and returns plain results.

mod check;
pub mod conn;
mod exec;
pub mod tls;

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
}

/// What a snapshot step needs to know about its run.
pub struct StepCtx<'a> {
    pub collection_path: &'a std::path::Path,
    pub update: bool,
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
        serde_saphyr::from_str(&text).map_err(|e| LoadError::from_yaml(path, &text, &e))?;
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
    let selected: Vec<usize> = collection
        .requests
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            filter
                .as_ref()
                .is_none_or(|f| r.name.to_lowercase().contains(f))
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

/// Runs prepared collections one after another, requests in file order.
pub async fn run(
    prepared: &[Prepared],
    opts: &RunOptions,
    observer: &dyn Observer,
    cancel: Cancel,
) -> RunReport {
    let started = Instant::now();
    let deadline = opts.timeout.map(|t| started + t);
    let mut report = RunReport::default();
    'collections: for p in prepared {
        let c_started = Instant::now();
        observer.collection_started(&p.collection, p.env.as_deref());
        let mut creport = CollectionReport {
            path: p.collection.path.display().to_string(),
            name: p.collection.name.clone(),
            env: p.env.clone(),
            requests: Vec::new(),
            duration: Duration::ZERO,
        };
        let (servers, vars) = match start_mocks(p).await {
            Ok(ok) => ok,
            Err(failure) => {
                // Every selected request fails the same way: its mock could not start.
                for &i in &p.selected {
                    let r = &p.collection.requests[i];
                    let rr = RequestReport {
                        name: r.name.clone(),
                        line: r.line,
                        duration: Duration::ZERO,
                        error: Some(failure.clone()),
                        steps: Vec::new(),
                        transcript: Default::default(),
                    };
                    observer.request_finished(&p.collection, &rr);
                    creport.requests.push(rr);
                }
                creport.duration = c_started.elapsed();
                report.collections.push(creport);
                continue;
            }
        };
        let ctx = exec::Ctx::new(&p.collection, &vars, opts);
        for &i in &p.selected {
            let request = &p.collection.requests[i];
            let mut cancel = cancel.clone();
            let deadline_reached = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            let (rr, stop) = tokio::select! {
                rr = exec::run_request(&ctx, request) => (rr, None),
                _ = cancel.cancelled() => (stopped(request, "interrupted (Ctrl-C)"), Some(Stop::Interrupted)),
                _ = deadline_reached => {
                    let t = opts.timeout.unwrap_or_default();
                    let why = format!("the run timed out after {} (--timeout)", crate::duration::format_duration(t));
                    (stopped(request, &why), Some(Stop::TimedOut(t)))
                }
            };
            observer.request_finished(&p.collection, &rr);
            let failed = !rr.passed();
            creport.requests.push(rr);
            if stop.is_some() || (failed && opts.fail_fast) {
                report.stopped = stop.or(Some(Stop::FailFast));
                creport.duration = c_started.elapsed();
                report.collections.push(creport);
                drop(servers);
                break 'collections;
            }
        }
        drop(servers);
        creport.duration = c_started.elapsed();
        report.collections.push(creport);
    }
    report.duration = started.elapsed();
    report
}

fn stopped(request: &Request, why: &str) -> RequestReport {
    RequestReport {
        name: request.name.clone(),
        line: request.line,
        duration: Duration::ZERO,
        error: Some(Failure::new(why)),
        steps: Vec::new(),
        transcript: Default::default(),
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
    let vars = p.resolve(&urls).map_err(|e| Failure::new(e.to_string()))?;
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
