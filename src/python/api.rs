//! The functions that load and run collections: `run`, `run_async`, `validate` and `inspect`.
//! Their options are parsed by [`options::parse`], their results are [`PyReport`]s.

use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use super::errors::collection_error;
use super::options::{self, Function, Options};
use super::report::PyReport;
use super::runtime::{asyncio_runtime, local_runtime, python_signal};
use super::source::{load_sources, prepare_all, sources_arg};
use crate::plan::Prepared;
use crate::runner::{self, Quiet};

/// Reads `source` and `options`, then loads and prepares the collections (without the GIL).
/// `update_hint` is how the caller asks for a snapshot update (the pytest plugin's option).
fn prepare(
    py: Python<'_>,
    function: Function,
    source: &Bound<'_, PyAny>,
    options: Option<&Bound<'_, PyDict>>,
    update_hint: Option<String>,
) -> PyResult<(Vec<Prepared>, Options)> {
    let mut opts = options::parse(function, options)?;
    if update_hint.is_some() {
        opts.run.update_hint = update_hint;
    }
    let sources = sources_arg(source)?;
    let prepared = py
        .detach(|| prepare_all(&sources, &opts.run))
        .map_err(|e| collection_error(py, &e))?;
    Ok((prepared, opts))
}

/// Runs collections; returns the run's `_Report` (wrapped by `wsrun.Report`).
#[pyfunction]
#[pyo3(signature = (source, *, update_hint=None, **options))]
fn run(
    py: Python<'_>,
    source: &Bound<'_, PyAny>,
    update_hint: Option<String>,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<PyReport> {
    let (prepared, opts) = prepare(py, Function::Run, source, options, update_hint)?;
    let opts = opts.run;
    let (handle, cancel) = runner::cancel_pair();
    py.detach(|| {
        local_runtime(|rt| {
            rt.block_on(async {
                let mut fut = std::pin::pin!(runner::run(&prepared, &opts, &Quiet, cancel));
                tokio::select! {
                    report = &mut fut => Ok(PyReport::from(report)),
                    e = python_signal() => {
                        // Let the run stop cleanly (connections closed, mocks stopped), briefly.
                        handle.cancel();
                        let _ = tokio::time::timeout(Duration::from_secs(2), fut).await;
                        Err(e)
                    }
                }
            })
        })
    })
}

/// `run` for asyncio: an awaitable of the `_Report`, on the shared runtime.
#[pyfunction]
#[pyo3(signature = (source, *, update_hint=None, **options))]
fn run_async<'py>(
    py: Python<'py>,
    source: &Bound<'py, PyAny>,
    update_hint: Option<String>,
    options: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    let (prepared, opts) = prepare(py, Function::Run, source, options, update_hint)?;
    let opts = opts.run;
    asyncio_runtime();
    pyo3_async_runtimes::tokio::future_into_py(py, async move {
        // Cancelling the asyncio task drops this future, which stops the run.
        let report = runner::run(&prepared, &opts, &Quiet, runner::Cancel::never()).await;
        Ok(PyReport::from(report))
    })
}

/// Checks collections without connecting; returns how many requests they hold.
#[pyfunction]
#[pyo3(signature = (source, **options))]
fn validate(
    py: Python<'_>,
    source: &Bound<'_, PyAny>,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<usize> {
    let (prepared, _) = prepare(py, Function::Validate, source, options, None)?;
    Ok(prepared.iter().map(|p| p.selected.len()).sum())
}

/// The collections at `source` and their requests, parsed but not prepared (for the pytest
/// plugin): `[{path, name, environments, requests: [{name, line, description}]}]`.
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
        let environments: Vec<&str> = c.environments.iter().map(|(n, _)| n.as_str()).collect();
        d.set_item("environments", environments)?;
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

/// Whether the YAML file at `path` is a collection (a top-level `requests` list of maps), for
/// the pytest plugin; raises `CollectionError` when it cannot be read or parsed.
#[pyfunction]
fn is_collection(py: Python<'_>, path: std::path::PathBuf) -> PyResult<bool> {
    py.detach(|| crate::discover::is_collection(&path))
        .map_err(|e| collection_error(py, &e))
}

/// Adds the functions and their option tables to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(run_async, m)?)?;
    m.add_function(wrap_pyfunction!(validate, m)?)?;
    m.add_function(wrap_pyfunction!(inspect, m)?)?;
    m.add_function(wrap_pyfunction!(is_collection, m)?)?;
    m.add("RUN_OPTIONS", options::table(py, Function::Run)?)?;
    m.add("VALIDATE_OPTIONS", options::table(py, Function::Validate)?)?;
    Ok(())
}
