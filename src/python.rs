//! The `wsrun` Python module (`wsrun._wsrun`, built by maturin with `--features python`).
//!
//! The same engine as the CLI: `run`/`run_async` return reports as plain Python dicts (wrapped in
//! small classes by `python/wsrun/__init__.py`), `stream` reads a WebSocket into Python with
//! backpressure, `query` is RFC 9535 JSONPath over Python data, `validate` checks a collection,
//! `cli_main` is the whole command line (the `wsrun` console script).
//!
//! Concurrency: one process-wide multi-thread tokio runtime (shared with pyo3-async-runtimes).
//! The GIL is released while the engine works, and every blocking wait polls
//! `check_signals` every 50 ms so Ctrl-C raises `KeyboardInterrupt` promptly.

use std::collections::VecDeque;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use pyo3::exceptions::{PyException, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple, PyType};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use tokio::runtime::Runtime;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::{Bytes, Message, Utf8Bytes};

use crate::collection::{Collection, LoadError, Tls};
use crate::jsonpath::JsonPath;
use crate::options::RunOptions;
use crate::plan::{self, Prepared};
use crate::report::human::{self, Style};
use crate::report::{
    Direction, Failure, FrameData, Outcome, RequestReport, RunReport, StepReport, Stop,
};
use crate::runner::conn::{Conn, ConnectSpec, Incoming, Recorder, RecvError};
use crate::runner::{self, Quiet};

// ---------------------------------------------------------------------------------------------
// Exceptions
// ---------------------------------------------------------------------------------------------

pyo3::create_exception!(
    wsrun,
    WsrunError,
    PyException,
    "Base class of every error wsrun raises."
);
pyo3::create_exception!(
    wsrun,
    CollectionError,
    WsrunError,
    "A collection could not be used: `.path`, `.line`, `.column` (or None) and `.message`."
);
pyo3::create_exception!(
    wsrun,
    StreamTimeout,
    WsrunError,
    "`stream(timeout=…)` passed without a message."
);

/// `ConnectionFailed(WsrunError, ConnectionError)` and `JsonPathError(WsrunError, ValueError)`:
/// `create_exception!` takes one base, these need two, so they are made with `type()`.
static CONNECTION_FAILED: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static JSONPATH_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();

fn two_base_exception(
    py: Python<'_>,
    name: &str,
    second: Bound<'_, PyType>,
    doc: &str,
) -> PyResult<Py<PyType>> {
    let bases = PyTuple::new(py, [py.get_type::<WsrunError>(), second])?;
    let dict = PyDict::new(py);
    dict.set_item("__module__", "wsrun")?;
    dict.set_item("__doc__", doc)?;
    let ty = py
        .get_type::<PyType>()
        .call1((name, bases, dict))?
        .cast_into::<PyType>()?;
    Ok(ty.unbind())
}

fn connection_failed_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    CONNECTION_FAILED
        .get_or_try_init(py, || {
            two_base_exception(
                py,
                "ConnectionFailed",
                py.get_type::<pyo3::exceptions::PyConnectionError>(),
                "A WebSocket connection could not be opened, or was lost.",
            )
        })
        .map(|t| t.bind(py))
}

fn jsonpath_error_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    JSONPATH_ERROR
        .get_or_try_init(py, || {
            two_base_exception(
                py,
                "JsonPathError",
                py.get_type::<PyValueError>(),
                "A query that is not valid RFC 9535 JSONPath.",
            )
        })
        .map(|t| t.bind(py))
}

fn connection_failed(py: Python<'_>, message: String) -> PyErr {
    match connection_failed_type(py) {
        Ok(ty) => PyErr::from_type(ty.clone(), message),
        Err(e) => e,
    }
}

fn collection_error(py: Python<'_>, e: &LoadError) -> PyErr {
    let err = CollectionError::new_err(e.to_string());
    let value = err.value(py);
    let _ = value.setattr("path", e.path.display().to_string());
    let _ = value.setattr("line", e.line);
    let _ = value.setattr("column", e.column);
    let _ = value.setattr("message", e.message.as_str());
    let _ = value.setattr("snippet", e.snippet.as_deref());
    err
}

// ---------------------------------------------------------------------------------------------
// Runtime and Ctrl-C
// ---------------------------------------------------------------------------------------------

/// The process-wide runtime: built once, shared by every call and by asyncio futures.
fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("wsrun")
            .build()
            .unwrap_or_else(|e| {
                // No runtime means no module at all; there is nothing better to do.
                eprintln!("wsrun: cannot start the async runtime: {e}");
                std::process::abort()
            })
    })
}

/// Runs `f` with this thread's single-threaded runtime, built on the thread's first `run()` and
/// reused after. A blocking `run()` then drives its sockets on the calling thread instead of
/// waking it from the shared runtime's workers. Measured in bench/ (1M messages, before LTO and
/// mimalloc): 1.16× the CLI's time this way, 1.21× awaited on the shared runtime, 1.52× spawned
/// onto its workers. `run_async` and `stream` keep using the shared runtime.
fn local_runtime<T>(f: impl FnOnce(&Runtime) -> PyResult<T>) -> PyResult<T> {
    thread_local! {
        static LOCAL: Option<Runtime> = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok();
    }
    LOCAL.with(|rt| match rt {
        Some(rt) => f(rt),
        None => Err(WsrunError::new_err("cannot start the async runtime")),
    })
}

/// Makes asyncio futures (pyo3-async-runtimes) run on [`runtime`]. Lazy, like the runtime: a
/// plain `import wsrun` starts no threads (and so stays safe to fork).
fn asyncio_runtime() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Err means it was set already: it is ours either way.
        let _ = pyo3_async_runtimes::tokio::init_with_runtime(runtime());
    });
}

/// Resolves when Python has a pending signal (Ctrl-C), with its exception.
async fn python_signal() -> PyErr {
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = Python::attach(|py| py.check_signals()) {
            return e;
        }
    }
}

/// Runs `fut` on the shared runtime with the GIL released; a signal (Ctrl-C) drops the future and
/// raises the signal's exception (`KeyboardInterrupt`).
fn block_interruptibly<F>(py: Python<'_>, fut: F) -> PyResult<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    py.detach(|| {
        runtime().block_on(async {
            tokio::select! {
                out = fut => Ok(out),
                e = python_signal() => Err(e),
            }
        })
    })
}

// ---------------------------------------------------------------------------------------------
// Python data <-> JSON
// ---------------------------------------------------------------------------------------------

fn py_to_json(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::from(i));
        }
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(Value::from(u));
        }
        let f: f64 = obj.extract()?;
        return Ok(Value::from(f));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return serde_json::Number::from_f64(f.value())
            .map(Value::Number)
            .ok_or_else(|| PyValueError::new_err(format!("{} is not valid JSON", f.value())));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.to_cow()?.into_owned()));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut map = serde_json::Map::new();
        for (k, v) in d.iter() {
            let key = match k.cast::<PyString>() {
                Ok(s) => s.to_cow()?.into_owned(),
                Err(_) => k.str()?.to_cow()?.into_owned(),
            };
            map.insert(key, py_to_json(&v)?);
        }
        return Ok(Value::Object(map));
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let mut out = Vec::new();
        for item in obj.try_iter()? {
            out.push(py_to_json(&item?)?);
        }
        return Ok(Value::Array(out));
    }
    // Other mappings (e.g. OrderedDict subclasses are dicts already; this catches the rest).
    if let Ok(items) = obj.call_method0("items") {
        let mut map = serde_json::Map::new();
        for pair in items.try_iter()? {
            let (k, v): (Bound<'_, PyAny>, Bound<'_, PyAny>) = pair?.extract()?;
            map.insert(k.str()?.to_cow()?.into_owned(), py_to_json(&v)?);
        }
        return Ok(Value::Object(map));
    }
    Err(PyTypeError::new_err(format!(
        "cannot use a `{}` as JSON (expected dict, list, str, int, float, bool or None)",
        obj.get_type().name()?
    )))
}

fn json_to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(a) => {
            let list = PyList::empty(py);
            for item in a {
                list.append(json_to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(m) => {
            let dict = PyDict::new(py);
            for (k, item) in m {
                dict.set_item(k, json_to_py(py, item)?)?;
            }
            dict.into_any()
        }
    })
}

/// JSON parsed off the GIL with the objects' key order kept (serde_json's `Map` sorts keys).
#[derive(Debug, Clone)]
enum JVal {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Arr(Vec<JVal>),
    Obj(Vec<(String, JVal)>),
}

impl<'de> Deserialize<'de> for JVal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = JVal;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_unit<E>(self) -> Result<JVal, E> {
                Ok(JVal::Null)
            }
            fn visit_none<E>(self) -> Result<JVal, E> {
                Ok(JVal::Null)
            }
            fn visit_bool<E>(self, v: bool) -> Result<JVal, E> {
                Ok(JVal::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<JVal, E> {
                Ok(JVal::Int(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<JVal, E> {
                Ok(JVal::UInt(v))
            }
            fn visit_f64<E>(self, v: f64) -> Result<JVal, E> {
                Ok(JVal::Float(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<JVal, E> {
                Ok(JVal::Str(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<JVal, E> {
                Ok(JVal::Str(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<JVal, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(v) = seq.next_element()? {
                    out.push(v);
                }
                Ok(JVal::Arr(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JVal, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some((k, v)) = map.next_entry::<String, JVal>()? {
                    out.push((k, v));
                }
                Ok(JVal::Obj(out))
            }
        }
        d.deserialize_any(V)
    }
}

fn jval_to_py<'py>(py: Python<'py>, v: &JVal) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        JVal::Null => py.None().into_bound(py),
        JVal::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        JVal::Int(i) => i.into_pyobject(py)?.into_any(),
        JVal::UInt(u) => u.into_pyobject(py)?.into_any(),
        JVal::Float(f) => f.into_pyobject(py)?.into_any(),
        JVal::Str(s) => PyString::new(py, s).into_any(),
        JVal::Arr(a) => {
            let list = PyList::empty(py);
            for item in a {
                list.append(jval_to_py(py, item)?)?;
            }
            list.into_any()
        }
        JVal::Obj(m) => {
            let dict = PyDict::new(py);
            for (k, item) in m {
                dict.set_item(k, jval_to_py(py, item)?)?;
            }
            dict.into_any()
        }
    })
}

/// `json.dumps(obj)`: Python's own serializer keeps dict order (collections, sent messages).
fn dumps(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    let py = obj.py();
    let json = py.import("json")?;
    json.call_method1("dumps", (obj,))?.extract()
}

// ---------------------------------------------------------------------------------------------
// Arguments
// ---------------------------------------------------------------------------------------------

/// A duration argument: seconds (int/float) or text such as `"5s"`/`"250ms"`.
fn duration_arg(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Duration>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(None);
    };
    if let Ok(s) = obj.cast::<PyString>() {
        return crate::duration::parse_duration(&s.to_cow()?)
            .map(Some)
            .map_err(PyValueError::new_err);
    }
    let secs: f64 = obj.extract().map_err(|_| {
        PyTypeError::new_err("a duration is a number of seconds or a text such as \"5s\"")
    })?;
    Duration::try_from_secs_f64(secs)
        .map(Some)
        .map_err(|_| PyValueError::new_err(format!("invalid duration: {secs} seconds")))
}

/// `{"K": V}` → `[("K", "V")]`: strings as they are, other values as JSON (`1`, `true`).
fn pairs_arg(obj: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Vec<(String, String)>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(Vec::new());
    };
    let dict = obj
        .cast::<PyDict>()
        .map_err(|_| PyTypeError::new_err(format!("`{what}` must be a dict of names to values")))?;
    let mut out = Vec::new();
    for (k, v) in dict.iter() {
        let key: String = k.str()?.extract()?;
        let value = match v.cast::<PyString>() {
            Ok(s) => s.to_cow()?.into_owned(),
            Err(_) => py_to_json(&v)?.to_string(),
        };
        out.push((key, value));
    }
    Ok(out)
}

/// Where collections come from.
enum Source {
    /// Files or folders (searched for collections like the CLI does).
    Path(PathBuf),
    /// Collection text, named by a pseudo path for errors and relative files.
    Text { text: String, path: PathBuf },
}

fn is_collection_text(s: &str) -> bool {
    s.contains('\n') || s.trim_start().starts_with("requests:")
}

fn sources_arg(obj: &Bound<'_, PyAny>) -> PyResult<Vec<Source>> {
    if let Ok(s) = obj.cast::<PyString>() {
        let s = &*s.to_cow()?;
        return Ok(vec![if is_collection_text(s) {
            Source::Text {
                text: s.to_string(),
                path: PathBuf::from("<string>"),
            }
        } else {
            Source::Path(PathBuf::from(s))
        }]);
    }
    if obj.is_instance_of::<PyDict>() {
        return Ok(vec![Source::Text {
            text: dumps(obj)?,
            path: PathBuf::from("<dict>"),
        }]);
    }
    if obj.hasattr("__fspath__")? {
        let os = obj.py().import("os")?;
        let p: PathBuf = os.call_method1("fspath", (obj,))?.extract()?;
        return Ok(vec![Source::Path(p)]);
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let mut out = Vec::new();
        for item in obj.try_iter()? {
            out.extend(sources_arg(&item?)?);
        }
        return Ok(out);
    }
    Err(PyTypeError::new_err(
        "a collection is a path (str or os.PathLike), YAML text, a dict, or a list of these",
    ))
}

fn load_sources(sources: &[Source]) -> Result<Vec<Collection>, LoadError> {
    let mut out = Vec::new();
    for s in sources {
        match s {
            Source::Path(p) => {
                for file in crate::discover::collection_files(std::slice::from_ref(p))? {
                    out.push(Collection::load(&file)?);
                }
            }
            Source::Text { text, path } => out.push(Collection::parse(text, path)?),
        }
    }
    Ok(out)
}

/// Loads and prepares; `only` keeps the requests with exactly these names.
fn prepare_all(
    sources: &[Source],
    opts: &RunOptions,
    only: Option<&[String]>,
) -> Result<Vec<Prepared>, LoadError> {
    let mut out = Vec::new();
    for mut c in load_sources(sources)? {
        if let Some(names) = only {
            // Dropped before `prepare`, so only the chosen requests are checked (their
            // variables may be given for them alone).
            c.requests.retain(|r| names.contains(&r.name));
        }
        out.push(plan::prepare(c, opts)?);
    }
    Ok(out)
}

struct RunArgs {
    sources: Vec<Source>,
    opts: RunOptions,
    only: Option<Vec<String>>,
}

#[allow(clippy::too_many_arguments)]
fn run_args(
    source: &Bound<'_, PyAny>,
    env: Option<String>,
    vars: Option<&Bound<'_, PyAny>>,
    secrets: Option<&Bound<'_, PyAny>>,
    update_snapshots: bool,
    timeout: Option<&Bound<'_, PyAny>>,
    filter: Option<String>,
    requests: Option<Vec<String>>,
    fail_fast: bool,
    vars_files: Option<Vec<PathBuf>>,
    jobs: usize,
) -> PyResult<RunArgs> {
    let opts = RunOptions {
        env,
        vars: pairs_arg(vars, "vars")?,
        vars_files: vars_files.unwrap_or_default(),
        secrets: pairs_arg(secrets, "secrets")?,
        filter,
        fail_fast,
        timeout: duration_arg(timeout)?,
        update_snapshots,
        jobs,
        ..RunOptions::default()
    };
    Ok(RunArgs {
        sources: sources_arg(source)?,
        opts,
        only: requests,
    })
}

// ---------------------------------------------------------------------------------------------
// Reports → dicts
// ---------------------------------------------------------------------------------------------

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn failure_fields(dict: &Bound<'_, PyDict>, f: Option<&Failure>) -> PyResult<()> {
    dict.set_item("error", f.map(|f| f.summary.as_str()))?;
    dict.set_item("connection", f.and_then(|f| f.connection.as_deref()))?;
    dict.set_item("path", f.and_then(|f| f.path.as_deref()))?;
    dict.set_item(
        "expected",
        f.and_then(|f| f.expected.as_ref()).map(ToString::to_string),
    )?;
    dict.set_item(
        "actual",
        f.and_then(|f| f.actual.as_ref()).map(ToString::to_string),
    )?;
    dict.set_item("message", f.and_then(|f| f.message.as_deref()))?;
    dict.set_item("detail", f.and_then(|f| f.detail.as_deref()))?;
    Ok(())
}

/// The CLI indents failure text under the request line; alone, it reads better flush left.
fn dedent(text: &str) -> String {
    let indent = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start_matches(' ').len())
        .min()
        .unwrap_or(0);
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        out.push_str(line.get(indent..).unwrap_or(line.trim_start()));
        out.push('\n');
    }
    out
}

fn step_to_py<'py>(py: Python<'py>, s: &StepReport) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("index", s.index)?;
    d.set_item("keyword", s.keyword)?;
    d.set_item("line", s.line)?;
    let (passed, status, failure) = match &s.outcome {
        Outcome::Passed => (true, "passed", None),
        Outcome::Failed(f) => (false, "failed", Some(f)),
        Outcome::Skipped => (false, "skipped", None),
    };
    d.set_item("passed", passed)?;
    d.set_item("status", status)?;
    d.set_item("duration", secs(s.duration))?;
    d.set_item("messages", s.messages)?;
    failure_fields(&d, failure)?;
    Ok(d)
}

fn frame_payload<'py>(py: Python<'py>, data: &FrameData) -> PyResult<Bound<'py, PyAny>> {
    Ok(match data {
        FrameData::Text(t) => PyString::new(py, t.as_str()).into_any(),
        FrameData::Binary(b) | FrameData::Ping(b) | FrameData::Pong(b) => {
            PyBytes::new(py, b).into_any()
        }
        FrameData::Close(code, reason) => {
            let d = PyDict::new(py);
            d.set_item("code", *code)?;
            d.set_item("reason", reason)?;
            d.into_any()
        }
        FrameData::Lost(why) => PyString::new(py, why).into_any(),
    })
}

fn request_to_py<'py>(
    py: Python<'py>,
    path: &str,
    r: &RequestReport,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("name", &r.name)?;
    d.set_item("line", r.line)?;
    d.set_item("passed", r.passed())?;
    d.set_item("duration", secs(r.duration))?;
    d.set_item("error", r.error.as_ref().map(|f| f.summary.as_str()))?;
    let failure = r.failure();
    d.set_item(
        "failure_text",
        failure.map(|(step, f)| dedent(&human::failure_text(&Style::default(), path, step, f))),
    )?;
    let steps = PyList::empty(py);
    for s in &r.steps {
        steps.append(step_to_py(py, s)?)?;
    }
    d.set_item("steps", steps)?;
    let transcript = PyList::empty(py);
    for frame in r.transcript.frames() {
        let f = PyDict::new(py);
        f.set_item("at", secs(frame.at))?;
        f.set_item(
            "direction",
            match frame.direction {
                Direction::Sent => "sent",
                Direction::Received => "received",
            },
        )?;
        f.set_item("connection", &*frame.connection)?;
        f.set_item("kind", frame.data.kind())?;
        f.set_item("payload", frame_payload(py, &frame.data)?)?;
        transcript.append(f)?;
    }
    d.set_item("transcript", transcript)?;
    d.set_item("transcript_elided", r.transcript.elided)?;
    Ok(d)
}

fn report_to_py<'py>(py: Python<'py>, report: &RunReport) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("passed", report.passed())?;
    d.set_item("duration", secs(report.duration))?;
    d.set_item(
        "stopped",
        report.stopped.map(|s| match s {
            Stop::Interrupted => "interrupted",
            Stop::TimedOut(_) => "timed_out",
            Stop::FailFast => "fail_fast",
        }),
    )?;
    let collections = PyList::empty(py);
    for c in &report.collections {
        let cd = PyDict::new(py);
        cd.set_item("path", &c.path)?;
        cd.set_item("name", &c.name)?;
        cd.set_item("env", c.env.as_deref())?;
        cd.set_item("passed", c.passed())?;
        cd.set_item("duration", secs(c.duration))?;
        let requests = PyList::empty(py);
        for r in &c.requests {
            requests.append(request_to_py(py, &c.path, r)?)?;
        }
        cd.set_item("requests", requests)?;
        collections.append(cd)?;
    }
    d.set_item("collections", collections)?;
    Ok(d)
}

/// A finished run on its way to Python (asyncio futures convert it under the GIL).
struct ReportOut(RunReport);

impl<'py> IntoPyObject<'py> for ReportOut {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> Result<Self::Output, Self::Error> {
        report_to_py(py, &self.0).map(Bound::into_any)
    }
}

// ---------------------------------------------------------------------------------------------
// run / run_async / validate / inspect
// ---------------------------------------------------------------------------------------------

/// Runs collections; returns the report as a dict (see `wsrun.Report`).
#[pyfunction]
#[pyo3(signature = (source, *, env=None, vars=None, secrets=None, update_snapshots=false,
    timeout=None, filter=None, requests=None, fail_fast=false, vars_files=None, jobs=1))]
#[allow(clippy::too_many_arguments)]
fn run<'py>(
    py: Python<'py>,
    source: &Bound<'py, PyAny>,
    env: Option<String>,
    vars: Option<&Bound<'py, PyAny>>,
    secrets: Option<&Bound<'py, PyAny>>,
    update_snapshots: bool,
    timeout: Option<&Bound<'py, PyAny>>,
    filter: Option<String>,
    requests: Option<Vec<String>>,
    fail_fast: bool,
    vars_files: Option<Vec<PathBuf>>,
    jobs: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let args = run_args(
        source,
        env,
        vars,
        secrets,
        update_snapshots,
        timeout,
        filter,
        requests,
        fail_fast,
        vars_files,
        jobs,
    )?;
    let prepared = py
        .detach(|| prepare_all(&args.sources, &args.opts, args.only.as_deref()))
        .map_err(|e| collection_error(py, &e))?;
    let opts = args.opts;
    let (handle, cancel) = runner::cancel_pair();
    let outcome: Result<RunReport, PyErr> = py.detach(|| {
        local_runtime(|rt| {
            rt.block_on(async {
                let mut fut = std::pin::pin!(runner::run(&prepared, &opts, &Quiet, cancel));
                tokio::select! {
                    report = &mut fut => Ok(report),
                    e = python_signal() => {
                        // Let the run stop cleanly (connections closed, mocks stopped), briefly.
                        handle.cancel();
                        let _ = tokio::time::timeout(Duration::from_secs(2), fut).await;
                        Err(e)
                    }
                }
            })
        })
    });
    report_to_py(py, &outcome?)
}

/// `run` for asyncio: an awaitable of the report dict, on the shared runtime.
#[pyfunction]
#[pyo3(signature = (source, *, env=None, vars=None, secrets=None, update_snapshots=false,
    timeout=None, filter=None, requests=None, fail_fast=false, vars_files=None, jobs=1))]
#[allow(clippy::too_many_arguments)]
fn run_async<'py>(
    py: Python<'py>,
    source: &Bound<'py, PyAny>,
    env: Option<String>,
    vars: Option<&Bound<'py, PyAny>>,
    secrets: Option<&Bound<'py, PyAny>>,
    update_snapshots: bool,
    timeout: Option<&Bound<'py, PyAny>>,
    filter: Option<String>,
    requests: Option<Vec<String>>,
    fail_fast: bool,
    vars_files: Option<Vec<PathBuf>>,
    jobs: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let args = run_args(
        source,
        env,
        vars,
        secrets,
        update_snapshots,
        timeout,
        filter,
        requests,
        fail_fast,
        vars_files,
        jobs,
    )?;
    let prepared = py
        .detach(|| prepare_all(&args.sources, &args.opts, args.only.as_deref()))
        .map_err(|e| collection_error(py, &e))?;
    let opts = args.opts;
    asyncio_runtime();
    pyo3_async_runtimes::tokio::future_into_py(py, async move {
        // Cancelling the asyncio task drops this future, which stops the run.
        let report = runner::run(&prepared, &opts, &Quiet, runner::Cancel::never()).await;
        Ok(ReportOut(report))
    })
}

/// Checks collections without connecting; returns how many requests they hold.
#[pyfunction]
#[pyo3(signature = (source, *, env=None, vars=None, secrets=None, vars_files=None))]
fn validate(
    py: Python<'_>,
    source: &Bound<'_, PyAny>,
    env: Option<String>,
    vars: Option<&Bound<'_, PyAny>>,
    secrets: Option<&Bound<'_, PyAny>>,
    vars_files: Option<Vec<PathBuf>>,
) -> PyResult<usize> {
    let sources = sources_arg(source)?;
    let opts = RunOptions {
        env,
        vars: pairs_arg(vars, "vars")?,
        secrets: pairs_arg(secrets, "secrets")?,
        vars_files: vars_files.unwrap_or_default(),
        ..RunOptions::default()
    };
    let prepared = py
        .detach(|| prepare_all(&sources, &opts, None))
        .map_err(|e| collection_error(py, &e))?;
    Ok(prepared.iter().map(|p| p.selected.len()).sum())
}

/// The collections at `source` and their requests, parsed but not prepared (for the pytest
/// plugin): `[{path, name, requests: [{name, line, description}]}]`.
#[pyfunction]
fn inspect<'py>(py: Python<'py>, source: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
    let sources = sources_arg(source)?;
    let collections = py
        .detach(|| load_sources(&sources))
        .map_err(|e| collection_error(py, &e))?;
    let out = PyList::empty(py);
    for c in &collections {
        let d = PyDict::new(py);
        d.set_item("path", c.path.display().to_string())?;
        d.set_item("name", &c.name)?;
        let requests = PyList::empty(py);
        for r in &c.requests {
            let rd = PyDict::new(py);
            rd.set_item("name", &r.name)?;
            rd.set_item("line", r.line)?;
            rd.set_item("description", r.description.as_deref())?;
            requests.append(rd)?;
        }
        d.set_item("requests", requests)?;
        out.append(d)?;
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// query / cli_main
// ---------------------------------------------------------------------------------------------

/// RFC 9535 JSONPath over Python data: the list of selected values.
#[pyfunction]
fn query<'py>(
    py: Python<'py>,
    path: &str,
    obj: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyList>> {
    let compiled = JsonPath::parse(path).map_err(|e| match jsonpath_error_type(py) {
        Ok(ty) => PyErr::from_type(ty.clone(), e.to_string()),
        Err(err) => err,
    })?;
    let value = py_to_json(obj)?;
    let out = PyList::empty(py);
    for node in compiled.query(&value) {
        out.append(json_to_py(py, node)?)?;
    }
    Ok(out)
}

/// The `wsrun` command line (`argv` with the program name first); returns the exit code.
#[pyfunction]
fn cli_main(py: Python<'_>, argv: Vec<String>) -> i32 {
    py.detach(|| crate::cli::main_with_args(argv))
}

// ---------------------------------------------------------------------------------------------
// stream
// ---------------------------------------------------------------------------------------------

/// How many messages may wait between the socket and Python: beyond this the reader stops
/// reading, and TCP pushes back on the server.
const STREAM_CAPACITY: usize = 1024;
/// How many waiting messages one trip across the GIL boundary takes.
const STREAM_BATCH: usize = 256;

enum Item {
    Json(JVal),
    Text(Utf8Bytes),
    Binary(Bytes),
    /// The end: `None` for a clean close, else what went wrong.
    End(Option<String>),
}

fn to_item(m: Incoming) -> Item {
    match m {
        Incoming::Text(t) => {
            let s = t.as_str().trim_start();
            if s.starts_with('{') || s.starts_with('[') {
                if let Ok(v) = serde_json::from_str::<JVal>(t.as_str()) {
                    return Item::Json(v);
                }
            }
            Item::Text(t)
        }
        Incoming::Binary(b) => Item::Binary(b),
    }
}

#[derive(Default)]
struct StreamState {
    buf: VecDeque<Item>,
    delivered: u64,
    finished: bool,
}

struct StreamShared {
    rx: tokio::sync::Mutex<mpsc::Receiver<Item>>,
    state: Mutex<StreamState>,
}

enum FillError {
    Timeout(Duration),
}

impl FillError {
    fn into_pyerr(self) -> PyErr {
        match self {
            FillError::Timeout(t) => StreamTimeout::new_err(format!(
                "no message within {}",
                crate::duration::format_duration(t)
            )),
        }
    }
}

/// Waits for at least one message (or the end) and moves up to `max` waiting ones into the
/// buffer.
async fn fill(
    shared: Arc<StreamShared>,
    timeout: Option<Duration>,
    max: usize,
) -> Result<(), FillError> {
    let mut rx = shared.rx.lock().await;
    {
        let state = shared.state.lock().unwrap_or_else(|p| p.into_inner());
        if !state.buf.is_empty() || state.finished {
            return Ok(());
        }
    }
    let first = match timeout {
        Some(t) => tokio::time::timeout(t, rx.recv())
            .await
            .map_err(|_| FillError::Timeout(t))?,
        None => rx.recv().await,
    };
    let mut batch = Vec::with_capacity(max.min(STREAM_BATCH));
    match first {
        // The reader is gone without saying why (aborted): a plain end.
        None => batch.push(Item::End(None)),
        Some(item) => {
            let mut end = matches!(item, Item::End(_));
            batch.push(item);
            while !end && batch.len() < max {
                match rx.try_recv() {
                    Ok(item) => {
                        end = matches!(item, Item::End(_));
                        batch.push(item);
                    }
                    Err(_) => break,
                }
            }
        }
    }
    let mut state = shared.state.lock().unwrap_or_else(|p| p.into_inner());
    state.buf.extend(batch);
    Ok(())
}

/// Reads the socket into the channel until it closes, the consumer goes away, or `close`.
async fn pump(
    mut conn: Conn,
    mut rec: Recorder,
    tx: mpsc::Sender<Item>,
    mut close_rx: oneshot::Receiver<()>,
) {
    let far = || tokio::time::Instant::now() + Duration::from_secs(365 * 24 * 3600);
    loop {
        // The transcript is not needed here; keep the recorder from holding frames.
        rec.transcript = Default::default();
        tokio::select! {
            biased;
            _ = &mut close_rx => break,
            r = conn.recv(far(), &mut rec) => match r {
                Ok(m) => {
                    let item = to_item(m);
                    tokio::select! {
                        biased;
                        _ = &mut close_rx => break,
                        sent = tx.send(item) => if sent.is_err() { break },
                    }
                }
                Err(RecvError::Timeout) => continue,
                Err(RecvError::Closed(c)) => {
                    let why = (!c.clean).then(|| c.describe());
                    let _ = tx.send(Item::End(why)).await;
                    return;
                }
            }
        }
    }
    conn.shutdown(&mut rec).await;
}

/// A live WebSocket read into Python: `for msg in stream` / `async for msg in stream`.
#[pyclass(subclass, module = "wsrun._wsrun", name = "_Stream")]
struct PyStream {
    url: String,
    shared: Arc<StreamShared>,
    limit: Option<u64>,
    timeout: Option<Duration>,
    close_tx: Mutex<Option<oneshot::Sender<()>>>,
}

/// What `_pop` found.
enum Popped<'py> {
    Item(Bound<'py, PyAny>),
    Empty,
    Done,
}

impl PyStream {
    fn batch_size(&self, delivered: u64) -> usize {
        match self.limit {
            Some(l) => (l.saturating_sub(delivered) as usize).clamp(1, STREAM_BATCH),
            None => STREAM_BATCH,
        }
    }

    fn pop<'py>(&self, py: Python<'py>) -> PyResult<Popped<'py>> {
        let item = {
            let mut state = self.shared.state.lock().unwrap_or_else(|p| p.into_inner());
            if state.finished {
                return Ok(Popped::Done);
            }
            if self.limit.is_some_and(|l| state.delivered >= l) {
                state.finished = true;
                drop(state);
                self.shutdown();
                return Ok(Popped::Done);
            }
            match state.buf.pop_front() {
                None => return Ok(Popped::Empty),
                Some(Item::End(why)) => {
                    state.finished = true;
                    state.buf.clear();
                    drop(state);
                    self.shutdown();
                    return match why {
                        None => Ok(Popped::Done),
                        Some(why) => Err(connection_failed(py, format!("{}: {why}", self.url))),
                    };
                }
                Some(item) => {
                    state.delivered += 1;
                    item
                }
            }
        };
        Ok(Popped::Item(match &item {
            Item::Json(v) => jval_to_py(py, v)?,
            Item::Text(t) => PyString::new(py, t.as_str()).into_any(),
            Item::Binary(b) => PyBytes::new(py, b).into_any(),
            Item::End(_) => unreachable!("handled above"),
        }))
    }

    fn delivered(&self) -> u64 {
        self.shared
            .state
            .lock()
            .map(|s| s.delivered)
            .unwrap_or_default()
    }

    /// Tells the reader to close the connection politely and stop.
    fn shutdown(&self) {
        if let Some(tx) = self.close_tx.lock().ok().and_then(|mut g| g.take()) {
            let _ = tx.send(());
        }
    }
}

fn send_arg(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<Message>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(Vec::new());
    };
    let one = |o: &Bound<'_, PyAny>| -> PyResult<Message> {
        if let Ok(s) = o.cast::<PyString>() {
            return Ok(Message::text(s.to_cow()?.into_owned()));
        }
        if let Ok(b) = o.cast::<PyBytes>() {
            return Ok(Message::binary(b.as_bytes().to_vec()));
        }
        Ok(Message::text(dumps(o)?))
    };
    // A list of messages, or one message (a dict, a str, bytes).
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        obj.try_iter()?.map(|o| one(&o?)).collect()
    } else {
        Ok(vec![one(obj)?])
    }
}

fn headers_arg(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<(String, String)>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(Vec::new());
    };
    if let Ok(d) = obj.cast::<PyDict>() {
        return d
            .iter()
            .map(|(k, v)| Ok((k.str()?.extract()?, v.str()?.extract()?)))
            .collect();
    }
    obj.extract::<Vec<(String, String)>>()
        .map_err(|_| PyTypeError::new_err("`headers` is a dict or a list of (name, value) pairs"))
}

#[pymethods]
impl PyStream {
    #[new]
    #[pyo3(signature = (url, *, send=None, headers=None, subprotocols=None, limit=None,
        timeout=None, connect_timeout=None, insecure=false, max_message_size=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        url: String,
        send: Option<&Bound<'_, PyAny>>,
        headers: Option<&Bound<'_, PyAny>>,
        subprotocols: Option<Vec<String>>,
        limit: Option<u64>,
        timeout: Option<&Bound<'_, PyAny>>,
        connect_timeout: Option<&Bound<'_, PyAny>>,
        insecure: bool,
        max_message_size: Option<usize>,
    ) -> PyResult<Self> {
        let timeout = duration_arg(timeout)?;
        let tls = crate::runner::tls::client_config(&Tls { ca: None, insecure }, Path::new("."))
            .map_err(|e| connection_failed(py, e))?;
        let spec = ConnectSpec {
            name: "stream".into(),
            url: url.clone(),
            headers: headers_arg(headers)?,
            subprotocols: subprotocols.unwrap_or_default(),
            tls,
            connect_timeout: duration_arg(connect_timeout)?
                .or(timeout)
                .unwrap_or(Duration::from_secs(10)),
            max_message_size: max_message_size
                .unwrap_or(crate::collection::DEFAULT_MAX_MESSAGE_SIZE),
        };
        let messages = send_arg(send)?;
        let opened = block_interruptibly(py, async move {
            let mut rec = Recorder::new();
            let mut conn = Conn::open(&spec).await?;
            for m in messages {
                conn.send(m, &mut rec).await?;
            }
            Ok::<_, String>((conn, rec))
        })?;
        let (conn, rec) = opened.map_err(|e| connection_failed(py, e))?;
        let (tx, rx) = mpsc::channel(STREAM_CAPACITY);
        let (close_tx, close_rx) = oneshot::channel();
        runtime().spawn(pump(conn, rec, tx, close_rx));
        Ok(PyStream {
            url,
            shared: Arc::new(StreamShared {
                rx: tokio::sync::Mutex::new(rx),
                state: Mutex::new(StreamState::default()),
            }),
            limit,
            timeout,
            close_tx: Mutex::new(Some(close_tx)),
        })
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        loop {
            match self.pop(py)? {
                Popped::Item(o) => return Ok(Some(o)),
                Popped::Done => return Ok(None),
                Popped::Empty => {}
            }
            let max = self.batch_size(self.delivered());
            let shared = self.shared.clone();
            block_interruptibly(py, fill(shared, self.timeout, max))?
                .map_err(FillError::into_pyerr)?;
        }
    }

    /// The next buffered message, `empty` when none is buffered; raises `StopAsyncIteration` at
    /// the end. (For `__anext__`, in Python.)
    fn _pop<'py>(&self, py: Python<'py>, empty: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        match self.pop(py)? {
            Popped::Item(o) => Ok(o),
            Popped::Empty => Ok(empty),
            Popped::Done => Err(pyo3::exceptions::PyStopAsyncIteration::new_err(())),
        }
    }

    /// An awaitable that waits for messages (or the end) without blocking the event loop.
    fn _fill_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let max = self.batch_size(self.delivered());
        let shared = self.shared.clone();
        let timeout = self.timeout;
        asyncio_runtime();
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            fill(shared, timeout, max)
                .await
                .map_err(FillError::into_pyerr)
        })
    }

    /// Closes the connection; iteration ends.
    fn close(&self) {
        {
            let mut state = self.shared.state.lock().unwrap_or_else(|p| p.into_inner());
            state.finished = true;
            state.buf.clear();
        }
        self.shutdown();
    }

    /// Whether the stream has ended (closed, limit reached, or the server closed).
    #[getter]
    fn closed(&self) -> bool {
        self.shared.state.lock().map(|s| s.finished).unwrap_or(true)
    }

    /// Messages handed to Python so far.
    #[getter]
    fn count(&self) -> u64 {
        self.delivered()
    }

    #[getter]
    fn url(&self) -> &str {
        &self.url
    }

    fn __repr__(&self) -> String {
        format!(
            "<wsrun.Stream {} ({} messages{})>",
            self.url,
            self.delivered(),
            if self.closed() { ", closed" } else { "" }
        )
    }
}

impl Drop for PyStream {
    fn drop(&mut self) {
        // Garbage collected: the reader closes the connection and ends.
        self.shutdown();
    }
}

// ---------------------------------------------------------------------------------------------
// The module
// ---------------------------------------------------------------------------------------------

#[pymodule(name = "_wsrun")]
fn wsrun_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    crate::runner::tls::install_crypto_provider();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("WsrunError", py.get_type::<WsrunError>())?;
    m.add("CollectionError", py.get_type::<CollectionError>())?;
    m.add("StreamTimeout", py.get_type::<StreamTimeout>())?;
    m.add("ConnectionFailed", connection_failed_type(py)?)?;
    m.add("JsonPathError", jsonpath_error_type(py)?)?;
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(run_async, m)?)?;
    m.add_function(wrap_pyfunction!(validate, m)?)?;
    m.add_function(wrap_pyfunction!(inspect, m)?)?;
    m.add_function(wrap_pyfunction!(query, m)?)?;
    m.add_function(wrap_pyfunction!(cli_main, m)?)?;
    m.add_class::<PyStream>()?;
    Ok(())
}
