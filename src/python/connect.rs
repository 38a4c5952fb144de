//! `connect(url)`: a live connection driven one step at a time from Python, through the
//! engine's [`Session`] (the runner's own steps, matchers, timeouts and failure text). It
//! starts connecting at once, in the background; blocking methods wait with the GIL released
//! (Ctrl-C stops them), the `_async` ones are awaitables that leave the event loop free.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;
use serde_json::Value;
use tokio::task::JoinHandle;

use super::convert::{duration_arg, json_to_py, KeyCache};
use super::errors::{assertion_failed, collection_error, connection_failed};
use super::message::Item;
use super::runtime::{asyncio_runtime, block_interruptibly, runtime};
use crate::collection::{Collection, LoadError, ProtocolName, Step};
use crate::options::RunOptions;
use crate::report::human::{self, Style};
use crate::report::{json, Failure, Outcome, StepReport};
use crate::runner::session::{self, Session};

/// Where the session is: opening in the background, open, or gone.
enum Slot {
    Opening(JoinHandle<Result<Session, Failure>>),
    Open(Box<Session>),
    Failed(String),
    Closed,
}

/// Why a call did not return a value, turned into the Python exception with the GIL.
enum Problem {
    Connect(String),
    Step { text: String, failure: Value },
}

impl Problem {
    fn into_pyerr(self, py: Python<'_>) -> PyErr {
        match self {
            Problem::Connect(e) => connection_failed(py, e),
            Problem::Step { text, failure } => {
                assertion_failed(py, text, json_to_py(py, &failure).ok())
            }
        }
    }
}

type Shared = Arc<tokio::sync::Mutex<Slot>>;

/// The open session, after waiting for the connection if it is still opening.
async fn ready(slot: &mut Slot) -> Result<&mut Session, Problem> {
    if let Slot::Opening(handle) = slot {
        *slot = match handle.await {
            Ok(Ok(session)) => Slot::Open(Box::new(session)),
            Ok(Err(f)) => Slot::Failed(f.summary),
            Err(e) => Slot::Failed(format!("the connection task failed: {e}")),
        };
    }
    match slot {
        Slot::Open(session) => Ok(session),
        Slot::Failed(e) => Err(Problem::Connect(e.clone())),
        Slot::Closed => Err(Problem::Connect("the connection is closed".into())),
        Slot::Opening(_) => Err(Problem::Connect("the connection is still opening".into())),
    }
}

/// A failed step as the CLI prints it, its first line naming the step and the URL.
fn failure_text(url: &str, step: &StepReport, f: &Failure) -> String {
    let rows = human::failure_text(&Style::default(), url, None, f);
    let mut out = format!(
        "step {} {} ({url}): {}\n",
        step.index,
        step.keyword,
        crate::report::printable(&f.summary)
    );
    for line in super::report::dedent(&rows).lines().skip(1) {
        out.push_str(line);
        out.push('\n');
    }
    out.truncate(out.trim_end().len());
    out
}

/// What a step gave back: the message it matched, and the round trip it measured (`call`,
/// `emit` with an ack, `send` with a reply: any step whose report has a latency).
type Answer = (Option<Value>, Option<Duration>);

/// The answer as Python's `(value, latency in seconds or None)`.
fn answer_to_py<'py>(py: Python<'py>, (value, latency): Answer) -> PyResult<Bound<'py, PyAny>> {
    let value = match value {
        Some(v) => json_to_py(py, &v)?,
        None => py.None().into_bound(py),
    };
    (value, latency.map(|d| d.as_secs_f64()))
        .into_pyobject(py)
        .map(Bound::into_any)
}

async fn run_step(shared: Shared, url: String, step: Step) -> Result<Answer, Problem> {
    let mut slot = shared.lock().await;
    let session = ready(&mut slot).await?;
    let stepped = session.step(&step).await;
    match &stepped.report.outcome {
        Outcome::Failed(f) => Err(Problem::Step {
            text: failure_text(&url, &stepped.report, f),
            failure: json::failure(f),
        }),
        _ => Ok((stepped.matched, stepped.report.latency)),
    }
}

async fn recv(shared: Shared, url: String, timeout: Option<Duration>) -> Result<Item, Problem> {
    let mut slot = shared.lock().await;
    let session = ready(&mut slot).await?;
    let timeout = timeout.unwrap_or_else(|| session.timeout());
    session
        .recv(timeout)
        .await
        .map(Item::from_incoming)
        .map_err(|f| {
            let step = StepReport {
                index: 0,
                keyword: "recv",
                line: 0,
                duration: Duration::ZERO,
                outcome: Outcome::Passed,
                messages: 0,
                latency: None,
                latencies: None,
            };
            let text = failure_text(&url, &step, &f).replacen("step 0 recv", "recv", 1);
            Problem::Step {
                text,
                failure: json::failure(&f),
            }
        })
}

async fn shutdown(shared: Shared) {
    let mut slot = shared.lock().await;
    if let Ok(session) = ready(&mut slot).await {
        session.shutdown().await;
    }
    if !matches!(*slot, Slot::Failed(_)) {
        *slot = Slot::Closed;
    }
}

/// A live connection; `wsrun.Connection` and `wsrun.AsyncConnection` drive it.
#[pyclass(frozen, module = "wsrun._wsrun", name = "_Connection")]
pub struct PyConnection {
    url: String,
    protocol: ProtocolName,
    shared: Shared,
    /// The last close code seen, kept once the session is gone.
    close_code: std::sync::Mutex<Option<u16>>,
}

impl PyConnection {
    fn parse(&self, py: Python<'_>, step: &str) -> PyResult<Step> {
        session::parse_step(step, self.protocol).map_err(|e: LoadError| collection_error(py, &e))
    }

    fn remember_close(&self) {
        if let Ok(slot) = self.shared.try_lock() {
            if let Slot::Open(s) = &*slot {
                if let Ok(mut code) = self.close_code.lock() {
                    *code = s.close_code().or(*code);
                }
            }
        }
    }
}

#[pymethods]
impl PyConnection {
    /// `collection`: JSON text of a collection with one request (the connection) and no steps.
    #[new]
    fn new(py: Python<'_>, collection: &str, url: String) -> PyResult<Self> {
        let collection = Collection::parse(collection, Path::new("connect"))
            .map_err(|e| collection_error(py, &e))?;
        let protocol = collection.requests[0].connections[0].protocol.name();
        let opts = RunOptions {
            update_hint: Some("update_snapshots=True".into()),
            ..RunOptions::default()
        };
        let handle = runtime().spawn(Session::open(collection, opts));
        Ok(PyConnection {
            url,
            protocol,
            shared: Arc::new(tokio::sync::Mutex::new(Slot::Opening(handle))),
            close_code: std::sync::Mutex::new(None),
        })
    }

    /// Waits until the connection is open; raises `ConnectionFailed` when it cannot open.
    fn wait_open(&self, py: Python<'_>) -> PyResult<()> {
        let shared = self.shared.clone();
        block_interruptibly(py, async move {
            ready(&mut *shared.lock().await).await.map(|_| ())
        })?
        .map_err(|p| p.into_pyerr(py))
    }

    /// `wait_open` as an awaitable.
    fn open_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let shared = self.shared.clone();
        asyncio_runtime();
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            let result = ready(&mut *shared.lock().await).await.map(|_| ());
            result.map_err(|p| Python::attach(|py| p.into_pyerr(py)))
        })
    }

    /// Runs one step map (JSON text); returns `(matched message or None, round trip in
    /// seconds or None)`.
    fn step<'py>(&self, py: Python<'py>, step: &str) -> PyResult<Bound<'py, PyAny>> {
        let step = self.parse(py, step)?;
        let fut = run_step(self.shared.clone(), self.url.clone(), step);
        let result = block_interruptibly(py, fut)?;
        self.remember_close();
        answer_to_py(py, result.map_err(|p| p.into_pyerr(py))?)
    }

    /// `step` as an awaitable.
    fn step_async<'py>(slf: Py<Self>, py: Python<'py>, step: &str) -> PyResult<Bound<'py, PyAny>> {
        let this = slf.get();
        let step = this.parse(py, step)?;
        let fut = run_step(this.shared.clone(), this.url.clone(), step);
        asyncio_runtime();
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            let result = fut.await;
            Python::attach(|py| {
                slf.get().remember_close();
                let answer = result.map_err(|p| p.into_pyerr(py))?;
                answer_to_py(py, answer).map(Bound::unbind)
            })
        })
    }

    /// The next message, whatever it is (`timeout`: seconds or text; default the session's).
    #[pyo3(signature = (timeout=None))]
    fn recv<'py>(
        &self,
        py: Python<'py>,
        timeout: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let fut = recv(
            self.shared.clone(),
            self.url.clone(),
            duration_arg(timeout)?,
        );
        let result = block_interruptibly(py, fut)?;
        self.remember_close();
        result
            .map_err(|p| p.into_pyerr(py))?
            .to_py(py, &mut KeyCache::new())
    }

    /// `recv` as an awaitable.
    #[pyo3(signature = (timeout=None))]
    fn recv_async<'py>(
        slf: Py<Self>,
        py: Python<'py>,
        timeout: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let this = slf.get();
        let fut = recv(
            this.shared.clone(),
            this.url.clone(),
            duration_arg(timeout)?,
        );
        asyncio_runtime();
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            let result = fut.await;
            Python::attach(|py| {
                slf.get().remember_close();
                match result {
                    Ok(item) => item.to_py(py, &mut KeyCache::new()).map(Bound::unbind),
                    Err(p) => Err(p.into_pyerr(py)),
                }
            })
        })
    }

    /// Closes politely (not waiting long for the server) and ends the session.
    fn shutdown(&self, py: Python<'_>) -> PyResult<()> {
        self.remember_close();
        block_interruptibly(py, shutdown(self.shared.clone()))
    }

    /// `shutdown` as an awaitable.
    fn shutdown_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.remember_close();
        let shared = self.shared.clone();
        asyncio_runtime();
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            shutdown(shared).await;
            Ok(())
        })
    }

    /// The close code the server sent (or answered our close with); None while open.
    #[getter]
    fn close_code(&self) -> Option<u16> {
        self.remember_close();
        self.close_code.lock().ok().and_then(|c| *c)
    }

    /// Whether the connection has ended (closed by either side, lost, or never opened).
    #[getter]
    fn closed(&self) -> bool {
        match self.shared.try_lock() {
            Ok(slot) => match &*slot {
                Slot::Open(s) => s.closed(),
                Slot::Opening(_) => false,
                Slot::Failed(_) | Slot::Closed => true,
            },
            // A step is running on it.
            Err(_) => false,
        }
    }

    #[getter]
    fn url(&self) -> &str {
        &self.url
    }

    #[getter]
    fn protocol(&self) -> &'static str {
        self.protocol.as_str()
    }
}

impl Drop for PyConnection {
    fn drop(&mut self) {
        // Garbage collected: close politely in the background.
        let shared = self.shared.clone();
        runtime().spawn(shutdown(shared));
    }
}
