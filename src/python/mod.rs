//! The `wsrun` Python module (`wsrun._wsrun`, built by maturin with `--features python`): a thin
//! layer over the engine, re-exported by `python/wsrun/__init__.py`.
//!
//! `run`/`run_async` return the engine's own result (`_Report`, rendered by the same renderers as
//! the CLI's `--report`), `stream` reads a WebSocket into Python with backpressure, `query` is
//! RFC 9535 JSONPath over Python data, `validate` checks a collection, `cli_main` is the whole
//! command line (the `wsrun` console script).
//!
//! - `errors`: the exception classes;  `runtime`: tokio runtimes and Ctrl-C;
//! - `convert`: Python data ⇄ JSON;  `options`: the run options, defined once;
//! - `source`: the `source` argument;  `api`: run / run_async / validate / inspect;
//! - `report`: `_Report`;  `stream`: `_Stream`;  `message`: received and sent messages;
//! - `connect`: `_Connection` (steps one at a time);  `serve`: `_MockServer`.

mod api;
mod connect;
mod convert;
mod errors;
mod message;
mod options;
mod report;
mod runtime;
mod serve;
mod source;
mod stream;

use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::jsonpath::JsonPath;

/// RFC 9535 JSONPath over Python data: the list of selected values.
#[pyfunction]
fn query<'py>(
    py: Python<'py>,
    path: &str,
    obj: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyList>> {
    let compiled = JsonPath::parse(path).map_err(|e| errors::jsonpath_error(py, e.to_string()))?;
    let value = convert::py_to_json(obj)?;
    let out = PyList::empty(py);
    for node in compiled.query(&value) {
        out.append(convert::json_to_py(py, node)?)?;
    }
    Ok(out)
}

/// The `wsrun` command line (`argv` with the program name first); returns the exit code.
#[pyfunction]
fn cli_main(py: Python<'_>, argv: Vec<String>) -> i32 {
    py.detach(|| crate::cli::main_with_args(argv))
}

#[pymodule(name = "_wsrun")]
fn wsrun_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    crate::runner::tls::install_crypto_provider();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    errors::register(m)?;
    api::register(m)?;
    m.add_function(wrap_pyfunction!(query, m)?)?;
    m.add_function(wrap_pyfunction!(cli_main, m)?)?;
    m.add_class::<report::PyReport>()?;
    m.add_class::<stream::PyStream>()?;
    m.add_class::<message::PyMessage>()?;
    m.add_class::<connect::PyConnection>()?;
    m.add_class::<serve::PyMockServer>()?;
    Ok(())
}
